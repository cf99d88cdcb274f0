// The SSD MobileNetV1 detector with 68-point landmarks: the labelled group photos, the face-api
// demo photos, tensor hygiene, and agreement with @vladmandic/face-api's own pipeline.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor3D, type Tensor4D } from '../src/vision/tf.ts';
import { selectBackend } from '../src/vision/backend.ts';
import { decodeImage, imageToTensor } from '../src/vision/image.ts';
import { packageDir } from '../src/vision/weights.ts';
import type { Box, DetectedFace, Point } from '../src/vision/types.ts';
import { haveFixtures, inside, sameFace, type LabelledImage } from './helpers/fixtures.ts';
import { createSsdDetector, DEFAULT_SSD_OPTIONS, orderLeftRight, resolveSsdOptions, type SsdDetector, type SsdFace } from '../src/vision/detectors/ssd.ts';
import { nonMaxSuppression } from '../src/vision/detectors/ssdNet.ts';
import { detectLandmarks68, faceCrop, landmarks68Forward, loadLandmark68Net, toLandmarks5, type Landmark68Params } from '../src/vision/landmarks68.ts';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const HAVE_FIXTURES = haveFixtures('ssd.test.ts: labelled photos', '.');
const SKIP_MESSAGE = 'ssd: real-data fixtures not found (a fresh clone has no ../shared): skipped';
const GROUP = join(FIXTURES, 'faces', 'group');
const DEMO = fileURLToPath(new URL('../node_modules/@vladmandic/face-api/demo/', import.meta.url));


async function loadTensor(path: string): Promise<Tensor3D> {
  return imageToTensor(await decodeImage(path));
}

// ---------------------------------------------------------------------------------------------
// Pure helpers: no weights, no fixtures.

describe('ssd helpers', () => {
  it('NMS keeps the best of overlapping boxes and respects the score threshold', () => {
    // (ymin, xmin, ymax, xmax): 0 and 1 overlap with IoU 0.81, 2 is elsewhere, 3 scores too low.
    const boxes = [0, 0, 1, 1, 0, 0, 0.9, 0.9, 2, 2, 3, 3, 5, 5, 6, 6];
    const scores = [0.8, 0.9, 0.7, 0.4];
    expect(nonMaxSuppression(boxes, scores, { minConfidence: 0.5, maxResults: 10, iouThreshold: 0.5 })).toEqual([1, 2]);
    expect(nonMaxSuppression(boxes, scores, { minConfidence: 0.5, maxResults: 10, iouThreshold: 0.9 })).toEqual([1, 0, 2]);
    expect(nonMaxSuppression(boxes, scores, { minConfidence: 0.5, maxResults: 1, iouThreshold: 0.5 })).toEqual([1]);
  });

  it('centres a square on the clipped box', () => {
    expect(faceCrop([10, 20, 40, 80], 640, 480)).toEqual({ clip: [10, 20, 40, 80], squareX: -10, squareY: 20, side: 80 });
    // Clipped to pixel centres [0, W−1]: the square follows the visible part.
    const c = faceCrop([-20, 400, 60, 100], 640, 480);
    expect(c.clip).toEqual([0, 400, 40, 79]);
    expect(c.side).toBe(79);
  });

  it('derives five points from 68 and orders them left to right', () => {
    const pts: Point[] = Array.from({ length: 68 }, (_, i) => [i, 100 + i]);
    const l5 = toLandmarks5(pts);
    expect(l5).toEqual([[38.5, 138.5], [44.5, 144.5], [30, 130], [48, 148], [54, 154]]);
    const mirrored = orderLeftRight([[10, 0], [5, 0], [7, 5], [9, 9], [6, 9]]);
    expect(mirrored).toEqual([[5, 0], [10, 0], [7, 5], [6, 9], [9, 9]]);
  });

  it('validates options', () => {
    expect(resolveSsdOptions()).toEqual(DEFAULT_SSD_OPTIONS);
    expect(DEFAULT_SSD_OPTIONS.minConfidence).toBe(0.5);
    expect(() => resolveSsdOptions({ minConfidence: 1.5 })).toThrow(RangeError);
    expect(() => resolveSsdOptions({ maxResults: 0 })).toThrow(RangeError);
    expect(() => resolveSsdOptions({ iouThreshold: -0.1 })).toThrow(RangeError);
    expect(() => resolveSsdOptions({ minFaceSize: Number.NaN })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// The nets on real photos (wasm backend).

describe('ssd detector', () => {
  let det: SsdDetector;
  beforeAll(async () => {
    await selectBackend('wasm');
    det = await createSsdDetector();
  });
  afterAll(() => det?.dispose());

  it('finds the faces of the face-api demo photos and no others', async () => {
    // Counted by eye: every person in these photos faces the camera enough to be found.
    const expected = [3, 3, 3, 4, 5, 4];
    const got: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const img = await loadTensor(join(DEMO, `sample${i}.jpg`));
      got.push((await det.detect(img)).length);
      img.dispose();
    }
    expect(got).toEqual(expected);
  });

  it('leaves no tensors behind, also with no face in the picture', async () => {
    const img = await loadTensor(join(DEMO, 'sample1.jpg'));
    const blank = tf.zeros([200, 300, 3], 'int32') as Tensor3D;
    await det.detect(img); // first call may create backend-internal state
    const before = tf.memory().numTensors;
    expect((await det.detectWithLandmarks68(img)).length).toBe(3);
    expect(await det.detect(blank)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([img, blank]);
  });
});

describe.skipIf(!HAVE_FIXTURES)(HAVE_FIXTURES ? 'ssd detector on the labelled group photos' : SKIP_MESSAGE, () => {
  let det: SsdDetector;
  const labels = HAVE_FIXTURES ? (JSON.parse(readFileSync(join(GROUP, 'labels.json'), 'utf8')) as Record<string, LabelledImage>) : {};
  const results = new Map<string, SsdFace[]>();

  beforeAll(async () => {
    await selectBackend('wasm');
    det = await createSsdDetector();
    for (const file of Object.keys(labels)) {
      const img = await loadTensor(join(GROUP, file));
      const before = tf.memory().numTensors;
      results.set(file, await det.detectWithLandmarks68(img));
      expect(tf.memory().numTensors, `tensors leaked on ${file}`).toBe(before);
      img.dispose();
    }
  });
  afterAll(() => det?.dispose());

  it('finds all 23 labelled faces with at most 2 extra detections', () => {
    let labelled = 0;
    const missed: string[] = [];
    let extra = 0;
    for (const [file, lab] of Object.entries(labels)) {
      const faces = results.get(file)!;
      labelled += lab.faces.length;
      for (const l of lab.faces) if (!faces.some((f) => sameFace(f.box, l.box))) missed.push(`${file}:${l.name ?? '?'}`);
      extra += faces.filter((f) => !lab.faces.some((l) => sameFace(f.box, l.box))).length;
    }
    expect(labelled).toBe(23);
    expect(missed).toEqual([]);
    expect(extra).toBeLessThanOrEqual(2);
  });

  it('returns boxes inside the image, scores above minConfidence, best first', () => {
    for (const [file, lab] of Object.entries(labels)) {
      const faces = results.get(file)!;
      for (const f of faces) {
        expect(f.box[0]).toBeGreaterThanOrEqual(0);
        expect(f.box[1]).toBeGreaterThanOrEqual(0);
        expect(f.box[0] + f.box[2]).toBeLessThanOrEqual(lab.width + 1e-6);
        expect(f.box[1] + f.box[3]).toBeLessThanOrEqual(lab.height + 1e-6);
        expect(f.score).toBeGreaterThan(DEFAULT_SSD_OPTIONS.minConfidence);
      }
      const scores = faces.map((f) => f.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    }
  });

  it('puts the five landmarks inside the box left to right, eyes over nose over mouth', () => {
    for (const faces of results.values()) {
      for (const { box, landmarks, landmarks68 } of faces) {
        expect(landmarks68).toHaveLength(68);
        for (const p of landmarks) expect(inside(p, box), `landmark ${p} outside box ${box}`).toBe(true);
        const [le, re, nose, ml, mr] = landmarks;
        expect(le[0]).toBeLessThan(re[0]);
        expect(ml[0]).toBeLessThan(mr[0]);
        // Upright faces: eyes above the nose tip, which is above the mouth corners.
        expect(Math.max(le[1], re[1])).toBeLessThan(nose[1]);
        expect(nose[1]).toBeLessThan(Math.min(ml[1], mr[1]));
      }
    }
  });

  it('detect() is detectWithLandmarks68() without the 68 points', async () => {
    const img = await loadTensor(join(GROUP, 'bbt3.jpg'));
    const plain: DetectedFace[] = await det.detect(img);
    img.dispose();
    expect(plain).toEqual(results.get('bbt3.jpg')!.map(({ box, score, landmarks }) => ({ box, score, landmarks })));
  });
});

// ---------------------------------------------------------------------------------------------
// Against the reference implementation.

/** The slice of face-api's node API this test uses. */
interface FaceApi {
  nets: {
    ssdMobilenetv1: { loadFromDisk(dir: string): Promise<void> };
    faceLandmark68Net: {
      loadFromDisk(dir: string): Promise<void>;
      detectLandmarks(input: Tensor3D): Promise<{ relativePositions: Array<{ x: number; y: number }>; positions: Array<{ x: number; y: number }> }>;
    };
  };
  SsdMobilenetv1Options: new (o: { minConfidence: number }) => unknown;
  Rect: new (x: number, y: number, w: number, h: number) => unknown;
  detectAllFaces(
    input: Tensor3D,
    options: unknown,
  ): {
    withFaceLandmarks(): Promise<Array<{ detection: { score: number; box: { x: number; y: number; width: number; height: number } }; landmarks: { positions: Array<{ x: number; y: number }> } }>>;
  };
  extractFaceTensors(image: Tensor3D, boxes: unknown[]): Promise<Tensor3D[]>;
}

describe.skipIf(!HAVE_FIXTURES)(HAVE_FIXTURES ? 'ssd detector against @vladmandic/face-api' : SKIP_MESSAGE, () => {
  let det: SsdDetector;
  let lm: Landmark68Params;
  let faceapi: FaceApi;

  beforeAll(async () => {
    // wasm first: selectBackend points tfjs-backend-wasm at its local .wasm files, and face-api's
    // node-wasm build then runs on the same tfjs-core engine and backend.
    await selectBackend('wasm');
    faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const modelDir = join(packageDir('@vladmandic/face-api'), 'model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
    det = await createSsdDetector({ minConfidence: 0.3 });
    lm = await loadLandmark68Net();
  });
  afterAll(() => det?.dispose());

  it('the landmark net gives face-api\'s output on the same 112×112 input', async () => {
    const img = await loadTensor(join(GROUP, 'bbt1.jpg'));
    const crop = tf.tidy(() => tf.image.resizeBilinear(tf.cast(tf.slice(img, [63, 990, 0], [156, 156, 3]), 'float32') as Tensor3D, [112, 112]));
    const ref = await faceapi.nets.faceLandmark68Net.detectLandmarks(crop);
    const out = tf.tidy(() => landmarks68Forward(lm, tf.expandDims(crop, 0) as Tensor4D));
    const mine = await out.data();
    const diff = Math.max(...ref.relativePositions.flatMap((p, k) => [Math.abs(p.x - mine[2 * k]!), Math.abs(p.y - mine[2 * k + 1]!)]));
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([img, crop, out]);
  });

  it('crops faces like face-api: same landmarks for the same integer box', async () => {
    const img = await loadTensor(join(GROUP, 'bbt1.jpg'));
    const boxes: Box[] = (JSON.parse(readFileSync(join(GROUP, 'labels.json'), 'utf8')) as Record<string, LabelledImage>)['bbt1.jpg']!.faces.map((f) => f.box);
    const mine = await detectLandmarks68(lm, img, boxes);
    for (const [i, box] of boxes.entries()) {
      const [face] = await faceapi.extractFaceTensors(img, [new faceapi.Rect(...box)]);
      const ref = await faceapi.nets.faceLandmark68Net.detectLandmarks(face!);
      face!.dispose();
      // face-api assumes half a pixel of padding where it really pads a whole one on odd size
      // differences, and blends the padding edge slightly differently: about a pixel apart.
      const worst = Math.max(...ref.positions.map((p, k) => Math.hypot(p.x + box[0] - mine[i]![k]![0], p.y + box[1] - mine[i]![k]![1])));
      expect(worst, `face ${i}`).toBeLessThan(2);
    }
    img.dispose();
  });

  it.each(['bbt1.jpg', 'bbt4.jpg'])('detectAllFaces().withFaceLandmarks() agrees on %s', async (file) => {
    const img = await loadTensor(join(GROUP, file));
    const mine = await det.detectWithLandmarks68(img);
    const ref = await faceapi.detectAllFaces(img, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.3 })).withFaceLandmarks();
    img.dispose();
    expect(mine.length).toBe(ref.length);
    for (const r of ref) {
      const b = r.detection.box;
      const m = mine.find((f) => sameFace(f.box, [b.x, b.y, b.width, b.height]));
      expect(m, `no match for face-api box ${[b.x, b.y, b.width, b.height]}`).toBeDefined();
      // Boxes differ only by resampling (we resize, then pad; face-api pads, then resizes).
      expect(Math.abs(m!.score - r.detection.score)).toBeLessThan(0.02);
      for (const [a, e] of [[m!.box[0], b.x], [m!.box[1], b.y], [m!.box[2], b.width], [m!.box[3], b.height]] as const) {
        expect(Math.abs(a - e)).toBeLessThan(1.5);
      }
      // Landmarks also differ by face-api cutting at whole pixels (floor) and shifting back by the
      // unrounded box: a few percent of the face size at most.
      const size = Math.max(b.width, b.height);
      const dists = r.landmarks.positions.map((p, k) => Math.hypot(p.x - m!.landmarks68[k]![0], p.y - m!.landmarks68[k]![1]) / size);
      expect(Math.max(...dists)).toBeLessThan(0.04);
      expect(dists.reduce((s, d) => s + d, 0) / dists.length).toBeLessThan(0.015);
    }
  });
});
