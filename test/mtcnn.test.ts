// The MTCNN detector: pure helpers, then the cascade on real photos (wasm backend) against the
// product's acceptance rule, landmark sanity, tight gallery crops and tensor hygiene.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor3D } from '../src/vision/tf.ts';
import { selectBackend } from '../src/vision/backend.ts';
import { decodeImage, imageToTensor, padImage } from '../src/vision/image.ts';
import type { DetectedFace, Detector } from '../src/vision/types.ts';
import { haveFixtures, inside, sameFace, type LabelledImage } from './helpers/fixtures.ts';
import {
  createMtcnnDetector,
  DEFAULT_MTCNN_OPTIONS,
  nonMaxSuppression,
  pyramidScales,
} from '../src/vision/detectors/mtcnn.ts';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const HAVE_FIXTURES = haveFixtures('mtcnn.test.ts: photo tests', '.');
const GROUP = join(FIXTURES, 'faces', 'group');
const GALLERY = join(FIXTURES, 'faces', 'gallery');


const win = (x1: number, y1: number, x2: number, y2: number, score: number) => ({ x1, y1, x2, y2, score });

// ---------------------------------------------------------------------------------------------
// Pure helpers: no weights, no fixtures.

describe('mtcnn helpers', () => {
  it('NMS by union keeps the best of overlapping boxes', () => {
    const a = win(0, 0, 10, 10, 0.9);
    const b = win(1, 1, 11, 11, 0.8); // IoU with a: 81 / 119 ≈ 0.68
    const c = win(20, 20, 30, 30, 0.7);
    expect(nonMaxSuppression([c, b, a], 0.5, 'union')).toEqual([a, c]);
    expect(nonMaxSuppression([c, b, a], 0.7, 'union')).toEqual([a, b, c]);
  });

  it('NMS by the smaller box drops a small box inside a larger face', () => {
    const big = win(0, 0, 100, 100, 0.99);
    const small = win(10, 10, 40, 40, 0.8); // IoU 0.09, but wholly inside
    expect(nonMaxSuppression([small, big], 0.7, 'union')).toEqual([big, small]);
    expect(nonMaxSuppression([small, big], 0.7, 'min')).toEqual([big]);
  });

  it('NMS agrees with the plain greedy loop on many random boxes', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const boxes = Array.from({ length: 800 }, () => {
      const x = rnd() * 600 - 50;
      const y = rnd() * 400 - 50;
      const s = 5 + rnd() ** 3 * 200;
      return win(x, y, x + s, y + s * (0.8 + 0.4 * rnd()), rnd());
    });
    const area = (b: ReturnType<typeof win>): number => (b.x2 - b.x1) * (b.y2 - b.y1);
    for (const mode of ['union', 'min'] as const) {
      const ov = (a: ReturnType<typeof win>, b: ReturnType<typeof win>): number => {
        const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
        const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
        if (iw <= 0 || ih <= 0) return 0;
        return (iw * ih) / (mode === 'union' ? area(a) + area(b) - iw * ih : Math.min(area(a), area(b)));
      };
      const plain: typeof boxes = [];
      for (const b of [...boxes].sort((p, q) => q.score - p.score)) if (plain.every((k) => ov(k, b) <= 0.5)) plain.push(b);
      expect(nonMaxSuppression(boxes, 0.5, mode)).toEqual(plain);
    }
  });

  it('builds the pyramid from minFaceSize down to a 12-pixel shorter side', () => {
    const scales = pyramidScales(360, 640, 20, 0.709);
    expect(scales[0]).toBeCloseTo(0.6);
    expect(scales[1]! / scales[0]!).toBeCloseTo(0.709);
    expect(360 * scales.at(-1)!).toBeGreaterThanOrEqual(12);
    expect(360 * scales.at(-1)! * 0.709).toBeLessThan(12);
    expect(pyramidScales(10, 10, 20, 0.709)).toEqual([]);
  });

  it('has the paper defaults and rejects bad options', async () => {
    expect(DEFAULT_MTCNN_OPTIONS.minFaceSize).toBe(20);
    expect(DEFAULT_MTCNN_OPTIONS.scaleFactor).toBe(0.709);
    expect(DEFAULT_MTCNN_OPTIONS.thresholds).toEqual([0.6, 0.7, 0.7]);
    await expect(createMtcnnDetector({ scaleFactor: 1 })).rejects.toThrow(RangeError);
    await expect(createMtcnnDetector({ thresholds: [0.6, 0.7, 1.5] })).rejects.toThrow(RangeError);
    await expect(createMtcnnDetector({ batchSize: 0 })).rejects.toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------
// The cascade on real photos.

describe.skipIf(!HAVE_FIXTURES)('mtcnn on real photos (wasm)', () => {
  let detector: Detector;
  const labels = HAVE_FIXTURES
    ? (JSON.parse(readFileSync(join(GROUP, 'labels.json'), 'utf8')) as Record<string, LabelledImage>)
    : {};
  const found = new Map<string, DetectedFace[]>();

  async function detectFile(path: string): Promise<DetectedFace[]> {
    const image = imageToTensor(await decodeImage(path));
    try {
      return await detector.detect(image);
    } finally {
      image.dispose();
    }
  }

  beforeAll(async () => {
    await selectBackend('wasm');
    detector = await createMtcnnDetector();
    for (const file of Object.keys(labels)) found.set(file, await detectFile(join(GROUP, file)));
  }, 60_000);

  afterAll(() => detector?.dispose());

  it('finds all 23 labelled faces in the group photos with at most 2 extra detections', () => {
    const missed: string[] = [];
    let extras = 0;
    for (const [file, info] of Object.entries(labels)) {
      const faces = found.get(file)!;
      const matched = new Set<number>();
      for (const label of info.faces) {
        const i = faces.findIndex((f) => sameFace(f.box, label.box));
        if (i < 0) missed.push(`${file}: ${label.name ?? 'unnamed'} ${JSON.stringify(label.box)}`);
        else matched.add(i);
      }
      extras += faces.length - matched.size;
    }
    expect(Object.values(labels).reduce((n, l) => n + l.faces.length, 0)).toBe(23);
    expect(missed).toEqual([]);
    expect(extras).toBeLessThanOrEqual(2);
  });

  it('gives scores in (0, 1], sorted, and landmarks inside their box in a face-like layout', () => {
    for (const [file, faces] of found) {
      expect(faces.length, file).toBeGreaterThan(0);
      faces.forEach((f, i) => {
        expect(f.score).toBeGreaterThanOrEqual(DEFAULT_MTCNN_OPTIONS.thresholds[2]);
        expect(f.score).toBeLessThanOrEqual(1);
        if (i > 0) expect(f.score).toBeLessThanOrEqual(faces[i - 1]!.score);
        const [leftEye, rightEye, nose, mouthLeft, mouthRight] = f.landmarks;
        for (const p of f.landmarks) expect(inside(p, f.box), `${file} ${JSON.stringify(f)}`).toBe(true);
        // Left/right in image order (smaller x first).
        expect(leftEye[0]).toBeLessThan(rightEye[0]);
        expect(mouthLeft[0]).toBeLessThan(mouthRight[0]);
        // Eyes above the nose above the mouth, eyes well apart: catches swapped or interleaved x/y outputs.
        expect((leftEye[1] + rightEye[1]) / 2).toBeLessThan(nose[1]);
        expect(nose[1]).toBeLessThan((mouthLeft[1] + mouthRight[1]) / 2);
        expect(rightEye[0] - leftEye[0]).toBeGreaterThan(0.2 * f.box[2]);
      });
    }
  });

  it('finds exactly one face in each tight gallery crop once padded', async () => {
    const counts: string[] = [];
    for (const person of readdirSync(GALLERY).sort()) {
      for (const file of readdirSync(join(GALLERY, person)).filter((f) => f.endsWith('.png')).sort()) {
        const { image } = await padImage(await decodeImage(join(GALLERY, person, file)), 0.3);
        const t = imageToTensor(image);
        const faces = await detector.detect(t);
        t.dispose();
        if (faces.length !== 1) counts.push(`${file}: ${faces.length}`);
      }
    }
    expect(counts).toEqual([]);
  }, 30_000);

  it('leaves no tensors behind, with faces, without faces and on tiny images', async () => {
    const images: Tensor3D[] = [
      imageToTensor(await decodeImage(join(GROUP, 'bbt3.jpg'))),
      tf.fill([240, 320, 3], 128, 'int32') as Tensor3D,
      tf.zeros([8, 8, 3], 'int32') as Tensor3D,
      tf.fill([100, 150, 3], 200.5, 'float32') as Tensor3D,
    ];
    try {
      for (const image of images) {
        const before = tf.memory().numTensors;
        await detector.detect(image);
        expect(tf.memory().numTensors).toBe(before);
      }
    } finally {
      tf.dispose(images);
    }
  });

  it('maps results back when maxInputSide downscales the image', async () => {
    const small = await createMtcnnDetector({ maxInputSide: 800 });
    try {
      const image = imageToTensor(await decodeImage(join(GROUP, 'bbt1.jpg')));
      const before = tf.memory().numTensors;
      const faces = await small.detect(image);
      expect(tf.memory().numTensors).toBe(before);
      image.dispose();
      for (const label of labels['bbt1.jpg']!.faces) expect(faces.some((f) => sameFace(f.box, label.box)), label.name ?? '').toBe(true);
    } finally {
      small.dispose();
    }
  });
});
