// The three aligners: geometry against known transforms, batching, tensor hygiene, and the box
// aligner against @vladmandic/face-api's own crop.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf, type Tensor3D, type Tensor4D } from '../src/vision/tf.ts';
import { selectBackend } from '../src/vision/backend.ts';
import { PROJECT_ROOT } from '../src/vision/weights.ts';
import type { DetectedFace, Landmarks5, Point } from '../src/vision/types.ts';
import {
  applySimilarity,
  createAligner,
  estimateSimilarity,
  FACE_CHIP_TEMPLATE,
  faceApiCropSquare,
  faceChipTemplate,
  fitDisagreement,
  INNER_POINTS_68,
  MAX_FIT_DISAGREEMENT,
  innerChipTemplate,
  invertSimilarity,
  MOUTH_CENTRE_DROP,
  type Similarity,
} from '../src/vision/align.ts';

const rotScale = (deg: number, scale: number, tx: number, ty: number): Similarity => ({
  a: scale * Math.cos((deg * Math.PI) / 180),
  b: scale * Math.sin((deg * Math.PI) / 180),
  tx,
  ty,
});
const faceAt = (landmarks: Landmarks5): DetectedFace => ({ box: [0, 0, 1, 1], score: 1, landmarks });
/** The template carried into an image by a known similarity: a face whose true chip is the template. */
const placedFace = (t: Similarity): DetectedFace => faceAt(FACE_CHIP_TEMPLATE.map((p) => applySimilarity(t, p)) as Landmarks5);

/** A w×h float image, black with a bright Gaussian spot (σ 2 px) on each point. */
function spots(w: number, h: number, points: readonly Point[]): Tensor3D {
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = points.reduce((s, [px, py]) => s + Math.exp(-((x - px) ** 2 + (y - py) ** 2) / 8), 0);
      data.fill(255 * Math.min(1, v), (y * w + x) * 3, (y * w + x) * 3 + 3);
    }
  }
  return tf.tensor3d(data, [h, w, 3]);
}

/** A w×h int32 image with smooth but non-trivial content, so resampling errors show. */
function texture(w: number, h: number): Tensor3D {
  return tf.tidy(() => {
    const ys = tf.reshape(tf.range(0, h), [h, 1, 1]);
    const xs = tf.reshape(tf.range(0, w), [1, w, 1]);
    const c = tf.tensor3d([1, 2, 3], [1, 1, 3]);
    const v = tf.sin(tf.add(tf.mul(xs, tf.mul(c, 0.05)), tf.mul(ys, 0.07)));
    return tf.cast(tf.add(tf.mul(v, 120), 128), 'int32') as Tensor3D;
  });
}

/** Intensity-weighted centre of the chip within ±6 px of a point. */
function centroidNear(chip: number[][][], [px, py]: Point): Point {
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let y = Math.round(py) - 6; y <= Math.round(py) + 6; y++) {
    for (let x = Math.round(px) - 6; x <= Math.round(px) + 6; x++) {
      const v = chip[y][x][0];
      s += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return [sx / s, sy / s];
}

const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('estimateSimilarity', () => {
  it('recovers a known similarity exactly and inverts it', () => {
    const t = rotScale(-33, 0.7, 12.5, -40);
    const fitted = estimateSimilarity(FACE_CHIP_TEMPLATE, FACE_CHIP_TEMPLATE.map((p) => applySimilarity(t, p)));
    for (const k of ['a', 'b', 'tx', 'ty'] as const) expect(fitted[k]).toBeCloseTo(t[k], 9);
    const back = applySimilarity(invertSimilarity(t), applySimilarity(t, [3, 4]));
    expect(back[0]).toBeCloseTo(3, 9);
    expect(back[1]).toBeCloseTo(4, 9);
  });

  it('is the least-squares fit: no small change of it lowers the squared error', () => {
    const dst: Point[] = FACE_CHIP_TEMPLATE.map(([x, y], i) => [x * 1.1 + 5 + (i % 2 ? 1.5 : -1), y * 1.1 - 3 + (i % 3) - 1]);
    const err = (t: Similarity) => FACE_CHIP_TEMPLATE.reduce((s, p, i) => s + Math.hypot(...applySimilarity(t, p).map((v, k) => v - dst[i][k])) ** 2, 0);
    const best = estimateSimilarity(FACE_CHIP_TEMPLATE, dst);
    for (const k of ['a', 'b', 'tx', 'ty'] as const) {
      for (const d of [-1e-3, 1e-3]) expect(err({ ...best, [k]: best[k] + d })).toBeGreaterThan(err(best));
    }
  });
});

describe('FACE_CHIP_TEMPLATE', () => {
  it('is dlib’s mean face at padding 0.25 in the 150 chip, left-right symmetric', () => {
    const expected = [[47.05, 46.1], [99.98, 46.1], [73.51, 76.06], [49.91, 102.52], [97.11, 102.52]];
    FACE_CHIP_TEMPLATE.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(expected[i][0], 2);
      expect(p[1]).toBeCloseTo(expected[i][1], 2);
    });
    const mid = (FACE_CHIP_TEMPLATE[0][0] + FACE_CHIP_TEMPLATE[1][0]) / 2;
    expect(Math.abs(FACE_CHIP_TEMPLATE[2][0] - mid)).toBeLessThan(0.1);
    expect(faceChipTemplate(300)[0][0]).toBeCloseTo(2 * FACE_CHIP_TEMPLATE[0][0] + 0.5, 6);
  });
});

describe('similarity aligner', () => {
  const aligner = createAligner('similarity');

  it.each([
    ['rotated 25°, 1.3× larger', rotScale(25, 1.3, 150, 60)],
    ['rotated −40°, 0.6× smaller', rotScale(-40, 0.6, 120, 110)],
    ['rotated 90°, 3× larger (beyond the crop cap)', rotScale(90, 3, 620, 30)],
  ])('maps the landmarks onto the template within 1 px: %s', async (_, t) => {
    const face = placedFace(t);
    const image = spots(700, 520, face.landmarks);
    const chip = aligner.align(image, [face], 150);
    expect(chip.shape).toEqual([1, 150, 150, 3]);
    expect(chip.dtype).toBe('float32');
    const pixels = (await chip.array())[0];
    tf.dispose([image, chip]);
    for (const p of FACE_CHIP_TEMPLATE) {
      const [cx, cy] = centroidNear(pixels, p);
      expect(Math.hypot(cx - p[0], cy - p[1])).toBeLessThan(1);
    }
  });

  it('gives each face the same chip in a batch as alone, and leaves no tensors behind', () => {
    const image = texture(640, 480);
    const faces = [
      placedFace(rotScale(10, 1, 200, 150)),
      placedFace(rotScale(-70, 0.5, 600, 400)), // partly outside the image
      placedFace(rotScale(180, 3.5, 640, 470)), // large: sampled through the capped crop
    ];
    const before = tf.memory().numTensors;
    const batch = aligner.align(image, faces, 150);
    const singles = faces.map((f) => aligner.align(image, [f], 150));
    expect(batch.shape).toEqual([3, 150, 150, 3]);
    singles.forEach((s, i) => {
      const row = tf.slice(batch, [i, 0, 0, 0], [1, 150, 150, 3]);
      expect(maxAbsDiff(row, s)).toBeLessThan(1e-3);
      row.dispose();
    });
    tf.dispose([batch, ...singles]);
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
  });

  it('fills outside the image with black and returns an empty batch for no faces', () => {
    const image = tf.fill([100, 100, 3], 200, 'int32') as Tensor3D;
    const chip = aligner.align(image, [placedFace(rotScale(0, 1, -60, -60))], 150);
    const corner = tf.slice(chip, [0, 0, 0, 0], [1, 10, 10, 3]);
    const inside = tf.slice(chip, [0, 140, 140, 0], [1, 10, 10, 3]);
    expect(tf.max(corner).dataSync()[0]).toBe(0);
    expect(tf.min(inside).dataSync()[0]).toBeCloseTo(200, 3);
    const none = aligner.align(image, [], 150);
    expect(none.shape).toEqual([0, 150, 150, 3]);
    tf.dispose([image, chip, corner, inside, none]);
  });
});

/** The bits of face-api's node API the box tests compare against. */
interface FaceApiGeometry {
  Point: new (x: number, y: number) => unknown;
  Rect: new (x: number, y: number, w: number, h: number) => unknown;
  FaceLandmarks68: new (relative: unknown[], dims: { width: number; height: number }) => {
    align(d: null, o: { useDlibAlignment: boolean }): { x: number; y: number; width: number; height: number };
  };
  extractFaceTensors(image: Tensor3D, boxes: unknown[]): Promise<Tensor3D[]>;
  NetInput: new (inputs: Tensor3D[]) => { toBatchTensor(size: number, centre: boolean): Tensor4D };
}

/** dlib's mean face (68-scheme points 30 and 36–67), the same table align.ts takes its template from. */
const MEAN_FACE: Record<number, Point> = {
  30: [0.490127, 0.515625],
  ...Object.fromEntries(
    [
      [0.121737, 0.216423], [0.187122, 0.178758], [0.265825, 0.179852], [0.334606, 0.231733], [0.260918, 0.245099], [0.182743, 0.244077],
      [0.645647, 0.231733], [0.714428, 0.179852], [0.793132, 0.178758], [0.858516, 0.216423], [0.79751, 0.244077], [0.719335, 0.245099],
      [0.254149, 0.780233], [0.340985, 0.745405], [0.428858, 0.727388], [0.490127, 0.742578], [0.551395, 0.727388], [0.639268, 0.745405],
      [0.726104, 0.780233], [0.642159, 0.864805], [0.556721, 0.902192], [0.490127, 0.909281], [0.423532, 0.902192], [0.338094, 0.864805],
      [0.290379, 0.784792], [0.428096, 0.778746], [0.490127, 0.785343], [0.552157, 0.778746], [0.689874, 0.784792], [0.553364, 0.824182],
      [0.490127, 0.831803], [0.42689, 0.824182],
    ].map((p, k) => [36 + k, p as Point]),
  ),
};

describe('box aligner', () => {
  let faceapi: FaceApiGeometry;
  beforeAll(() => {
    faceapi = createRequire(join(PROJECT_ROOT, 'package.json'))('@vladmandic/face-api/dist/face-api.node-wasm.js');
  });

  it.each([
    ['upright', rotScale(0, 110, 140, 90)],
    ['rolled 20°', rotScale(20, 90, 260, 60)],
  ])('derives from 5 points the crop face-api aligns with 68 (within 1 px): %s', (_, t) => {
    const [w, h] = [480, 360];
    const pts68: Point[] = Array.from({ length: 68 }, (_, i) => applySimilarity(t, MEAN_FACE[i] ?? [0.5, 0.5]));
    const mean = (ids: number[]): Point => [ids.reduce((s, i) => s + pts68[i][0], 0) / ids.length, ids.reduce((s, i) => s + pts68[i][1], 0) / ids.length];
    const five: Landmarks5 = [mean([36, 37, 38, 39, 40, 41]), mean([42, 43, 44, 45, 46, 47]), pts68[30], pts68[48], pts68[54]];
    // Give the lips the typical face-api shape MOUTH_CENTRE_DROP stands for (dlib's mean face has a
    // fuller lower lip): move the 18 inner mouth points so the 20-point mean lands on it.
    const eyeMid = mean([36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47]);
    const corners = mean([48, 54]);
    const target = corners.map((c, k) => c + MOUTH_CENTRE_DROP * (c - eyeMid[k]));
    const mouth = Array.from({ length: 20 }, (_, k) => 48 + k);
    const shift = mean(mouth).map((m, k) => ((target[k] - m) * 20) / 18);
    for (const i of mouth) if (i !== 48 && i !== 54) pts68[i] = [pts68[i][0] + shift[0], pts68[i][1] + shift[1]];
    const relative = pts68.map(([x, y]) => new faceapi.Point(x / w, y / h));
    const rect = new faceapi.FaceLandmarks68(relative, { width: w, height: h }).align(null, { useDlibAlignment: true });
    const [x, y, side] = faceApiCropSquare(five, w, h);
    expect(Math.abs(x - rect.x)).toBeLessThanOrEqual(1);
    expect(Math.abs(y - rect.y)).toBeLessThanOrEqual(1);
    expect(Math.abs(side - rect.width)).toBeLessThanOrEqual(1);
  });

  it('samples the same pixels as face-api’s extractFaceTensors + toBatchTensor', async () => {
    const image = texture(400, 300);
    const face = placedFace(rotScale(0, 1.4, 90, 40));
    const [x, y, side] = faceApiCropSquare(face.landmarks, 400, 300);
    const ours = createAligner('box').align(image, [face], 150);
    const [slice] = await faceapi.extractFaceTensors(image, [new faceapi.Rect(x, y, side, side)]);
    const theirs = new faceapi.NetInput([slice]).toBatchTensor(150, true);
    // face-api clamps at the slice's last row/column where we read the next image pixel: compare the interior.
    const inner = (t: Tensor4D) => tf.slice(t, [0, 0, 0, 0], [1, 147, 147, 3]);
    const [a, b] = [inner(ours), inner(theirs)];
    expect(maxAbsDiff(a, b)).toBeLessThan(0.01);
    tf.dispose([image, ours, slice, theirs, a, b]);
  });

  it('pads a face cut by the right border with black and leaves no tensors behind', () => {
    const image = tf.fill([200, 200, 3], 90, 'int32') as Tensor3D;
    // Eyes at x ≈ 177 and 240: the face-api box runs past the right edge and is padded.
    const faces = [placedFace(rotScale(0, 1.2, 120, 20)), placedFace(rotScale(0, 1, 30, 30))];
    const before = tf.memory().numTensors;
    const chips = createAligner('box').align(image, faces, 150);
    expect(chips.shape).toEqual([2, 150, 150, 3]);
    const [lo, hi] = tf.tidy(() => [tf.min(chips).dataSync()[0], tf.max(chips).dataSync()[0]]);
    expect([lo, hi]).toEqual([0, 90]);
    chips.dispose();
    expect(tf.memory().numTensors).toBe(before);
    image.dispose();
  });
});

describe('landmarks68 aligner', () => {
  const aligner = createAligner('landmarks68');
  /** 68 points whose inner ones are dlib's mean face carried by t (the rest far off: they must not count). */
  const placed68 = (t: Similarity): Point[] => {
    const inner = innerChipTemplate(150);
    const pts: Point[] = Array.from({ length: 68 }, (): Point => [-500, 900]);
    INNER_POINTS_68.forEach((i, k) => (pts[i] = applySimilarity(t, inner[k]!)));
    return pts;
  };

  /** Largest grey-level difference between this aligner's chip of `face` and the 5-point chip of `truth`, on a 640×480 texture. */
  const diffFromFivePoint = (face: DetectedFace, truth: DetectedFace): number => {
    const image = texture(640, 480);
    const chip = aligner.align(image, [face], 150);
    const reference = createAligner('similarity').align(image, [truth], 150);
    const diff = maxAbsDiff(chip, reference);
    tf.dispose([image, chip, reference]);
    return diff;
  };

  it('fits the 41 inner points, not the 5 landmarks, and matches the 5-point warp of the same transform', async () => {
    const t = rotScale(-30, 1.4, 260, 90);
    const truth = placedFace(t);
    // Wrong 5 landmarks on purpose: the 68-point fit must ignore them.
    const face: DetectedFace = { ...truth, landmarks: truth.landmarks.map(([x, y]) => [x + 25, y - 10]) as Landmarks5, landmarks68: placed68(t) };
    expect(diffFromFivePoint(face, truth)).toBeLessThan(0.5);
  });

  it('falls back to the 5 landmarks when the 68 points disagree with them (half a face in the box)', () => {
    const t = rotScale(10, 1, 200, 120);
    const truth = placedFace(t);
    // The 68 points describe a face 80 px higher and half the size: more than a fifth of the chip off.
    const face: DetectedFace = { ...truth, landmarks68: placed68(rotScale(10, 0.5, 200, 40)) };
    const inner = innerChipTemplate(150);
    const fit68 = estimateSimilarity(inner, INNER_POINTS_68.map((i) => face.landmarks68![i]!));
    expect(fitDisagreement(fit68, face.landmarks, FACE_CHIP_TEMPLATE as Landmarks5)).toBeGreaterThan(MAX_FIT_DISAGREEMENT * 150);
    expect(fitDisagreement(estimateSimilarity(FACE_CHIP_TEMPLATE, truth.landmarks), truth.landmarks, FACE_CHIP_TEMPLATE as Landmarks5)).toBeLessThan(1e-6);
    expect(diffFromFivePoint(face, truth)).toBe(0);
  });

  it('falls back to the 5 landmarks for a face without landmarks68, and checks the 68 it gets', () => {
    const image = texture(320, 240);
    const face = placedFace(rotScale(15, 0.8, 100, 40));
    const a = aligner.align(image, [face], 150);
    const b = createAligner('similarity').align(image, [face], 150);
    const diff = maxAbsDiff(a, b);
    tf.dispose([a, b]);
    expect(diff).toBe(0);
    const broken = { ...face, landmarks68: placed68(rotScale(0, 1, 0, 0)).map(([x]): Point => [x, NaN]) };
    expect(() => aligner.align(image, [broken], 150)).toThrow(/landmarks68 must be 68 finite points/);
    expect(() => aligner.align(image, [{ ...face, landmarks68: [[1, 1]] }], 150)).toThrow(/landmarks68/);
    image.dispose();
  });

  it("puts the inner template where dlib's chip has it: eye centres of the 5-point template agree", () => {
    const inner = innerChipTemplate(150);
    const eye = (from: number) => {
      const pts = INNER_POINTS_68.flatMap((i, k) => (i >= from && i < from + 6 ? [inner[k]!] : []));
      return [pts.reduce((s, p) => s + p[0], 0) / 6, pts.reduce((s, p) => s + p[1], 0) / 6];
    };
    expect(eye(36)[0]).toBeCloseTo(FACE_CHIP_TEMPLATE[0][0], 6);
    expect(eye(42)[1]).toBeCloseTo(FACE_CHIP_TEMPLATE[1][1], 6);
    expect(INNER_POINTS_68).toHaveLength(41);
  });
});

describe('createAligner', () => {
  it('knows the three names and rejects others', () => {
    expect(createAligner('landmarks68').usesLandmarks68).toBe(true);
    expect(createAligner('similarity').usesLandmarks68).toBe(false);
    expect(createAligner('similarity').name).toBe('similarity');
    expect(createAligner('box').name).toBe('box');
    expect(() => createAligner('affine' as 'box')).toThrow(/unknown aligner/);
  });

  it('rejects landmarks that are not finite', () => {
    const image = tf.zeros([50, 50, 3]) as Tensor3D;
    const bad = faceAt([[NaN, 1], [2, 1], [1, 2], [1, 3], [2, 3]]);
    for (const name of ['landmarks68', 'similarity', 'box'] as const) expect(() => createAligner(name).align(image, [bad], 150)).toThrow(/5 finite landmarks/);
    image.dispose();
  });
});
