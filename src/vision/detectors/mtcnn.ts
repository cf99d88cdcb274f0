// MTCNN face detector (Zhang et al. 2016, "Joint Face Detection and Alignment using Multi-task
// Cascaded Convolutional Networks"): P-Net proposes windows over an image pyramid, R-Net and O-Net
// re-score and refine them on batched crops, O-Net adds five landmarks. The nets live in
// mtcnnNets.ts, which also records the input conventions of the weights.
//
// Geometry is kept in continuous pixel coordinates: a box [x1, y1, x2, y2) covers x1 <= x < x2,
// and pixel k spans [k, k + 1) with its centre at k + 0.5.
import { tf, type Tensor2D, type Tensor3D, type Tensor4D } from '../tf.ts';
import type { DetectedFace, Detector, Landmarks5, Point } from '../types.ts';
import { loadWeights } from '../weights.ts';
import {
  buildNets,
  HEAD,
  ONET_SIZE,
  PNET_CELL,
  PNET_STRIDE,
  RNET_SIZE,
  runONet,
  runPNet,
  runRNet,
  type MtcnnNets,
} from './mtcnnNets.ts';

export interface MtcnnOptions {
  /** Smallest face side, in pixels of the input image, that the pyramid looks for; smaller is slower. */
  minFaceSize: number;
  /** Ratio between the sides of consecutive pyramid levels, 0 < f < 1 (0.709 ≈ 1/√2 in the paper); closer to 1 is slower. */
  scaleFactor: number;
  /** Face-probability thresholds for P-Net, R-Net and O-Net: a window scoring below its stage's threshold is dropped. */
  thresholds: [pnet: number, rnet: number, onet: number];
  /**
   * Non-maximum-suppression overlap thresholds (a box overlapping a better one by more is dropped):
   * P-Net windows within one pyramid level and then across levels, and R-Net boxes, by intersection
   * over union; O-Net boxes by intersection over the smaller box, as in the paper's code, so a small
   * box lying inside a larger face is dropped too.
   */
  nmsThresholds: { pnetPerScale: number; pnetAcrossScales: number; rnet: number; onet: number };
  /**
   * Downscale images whose longer side exceeds this many pixels before detection (0 = never); results
   * are mapped back. The pyramid, and so most of the time, is set by minFaceSize relative to the
   * image, so this saves time only where it raises the smallest findable face: faces under 12 pixels
   * after the downscale (12 / scale in the original) are not found.
   */
  maxInputSide: number;
  /** Most crops sent through R-Net or O-Net in one forward pass; bounds memory on cluttered images. */
  batchSize: number;
}

export const DEFAULT_MTCNN_OPTIONS: MtcnnOptions = {
  minFaceSize: 20,
  scaleFactor: 0.709,
  thresholds: [0.6, 0.7, 0.7],
  nmsThresholds: { pnetPerScale: 0.5, pnetAcrossScales: 0.7, rnet: 0.7, onet: 0.7 },
  maxInputSide: 0,
  batchSize: 256,
};

/** A window in input-image pixels with its latest face probability. */
interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}
interface Scored extends Candidate {
  /** The offsets its net proposed for it: dx1, dy1, dx2, dy2 as fractions of its width and height. */
  offsets: ArrayLike<number>;
}

// ---------------------------------------------------------------------------------------------
// Box geometry and non-maximum suppression, in plain JS on downloaded arrays.

export type Overlap = 'union' | 'min';

function area(b: Candidate): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

function overlap(a: Candidate, b: Candidate, mode: Overlap): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const denom = mode === 'union' ? area(a) + area(b) - inter : Math.min(area(a), area(b));
  return denom > 0 ? inter / denom : 0;
}

/** Grid cells are addressed gx · 2^20 + gy; |gy| stays far below 2^19 for any image tfjs can hold. */
function gridKeys(b: Candidate, cell: number): number[] {
  const keys: number[] = [];
  for (let gx = Math.floor(b.x1 / cell); gx <= Math.floor(b.x2 / cell); gx++) {
    for (let gy = Math.floor(b.y1 / cell); gy <= Math.floor(b.y2 / cell); gy++) keys.push(gx * 1048576 + gy);
  }
  return keys;
}

/**
 * Greedy NMS: keeps the best-scoring box, drops every box overlapping it by more than `threshold`,
 * repeats. Kept boxes are filed in a grid of median-box-sized cells so each box is compared only
 * with kept boxes it touches: P-Net proposes thousands of windows on a large image, where a plain
 * O(n·kept) loop, or tfjs's own NMS, takes hundreds of milliseconds.
 */
export function nonMaxSuppression<T extends Candidate>(boxes: T[], threshold: number, mode: Overlap): T[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const sides = sorted.map((b) => Math.max(b.x2 - b.x1, b.y2 - b.y1)).sort((a, b) => a - b);
  const cell = Math.max(1, sides[sides.length >> 1] ?? 1);
  const grid = new Map<number, T[]>();
  const kept: T[] = [];
  for (const box of sorted) {
    const keys = gridKeys(box, cell);
    if (keys.some((k) => grid.get(k)?.some((other) => overlap(other, box, mode) > threshold))) continue;
    kept.push(box);
    for (const k of keys) {
      const list = grid.get(k);
      if (list) list.push(box);
      else grid.set(k, [box]);
    }
  }
  return kept;
}

/** Moves each edge by the window's own offsets (fractions of its width and height). */
function regress(w: Scored): Candidate {
  const [dx1, dy1, dx2, dy2] = [w.offsets[0]!, w.offsets[1]!, w.offsets[2]!, w.offsets[3]!];
  const width = w.x2 - w.x1;
  const height = w.y2 - w.y1;
  return { x1: w.x1 + dx1 * width, y1: w.y1 + dy1 * height, x2: w.x2 + dx2 * width, y2: w.y2 + dy2 * height, score: w.score };
}

/** Grows the shorter side to the longer about the centre: R-Net and O-Net take square crops. */
function square(b: Candidate): Candidate {
  const side = Math.max(b.x2 - b.x1, b.y2 - b.y1);
  const cx = (b.x1 + b.x2) / 2;
  const cy = (b.y1 + b.y2) / 2;
  return { x1: cx - side / 2, y1: cy - side / 2, x2: cx + side / 2, y2: cy + side / 2, score: b.score };
}

/** Face probability: the face entry of the two-way softmax over (non-face, face) logits. */
function faceProbability(out: ArrayLike<number>, offset = 0): number {
  return 1 / (1 + Math.exp(out[offset + HEAD.nonFace]! - out[offset + HEAD.face]!));
}

// ---------------------------------------------------------------------------------------------
// Stage 1: P-Net over the image pyramid.

/** The factor that brings the longer side down to maxInputSide, or 1. */
function inputScaleFor(height: number, width: number, maxInputSide: number): number {
  const longer = Math.max(height, width);
  return maxInputSide > 0 && longer > maxInputSide ? maxInputSide / longer : 1;
}

/**
 * minFaceSize in pixels of the (possibly downscaled) working image. A downscale is asked for to save
 * time, so it never leads to upsampling again: faces under P-Net's 12-pixel window after the
 * downscale are given up. Without a downscale a minFaceSize below 12 upsamples, as asked.
 */
function workingMinFaceSize(minFaceSize: number, inputScale: number): number {
  return inputScale < 1 ? Math.max(PNET_CELL, minFaceSize * inputScale) : minFaceSize;
}

/** Pyramid scales: the first maps minFaceSize onto P-Net's 12-pixel window, the last keeps the shorter side ≥ 12. */
export function pyramidScales(height: number, width: number, minFaceSize: number, scaleFactor: number): number[] {
  const scales: number[] = [];
  for (let scale = PNET_CELL / minFaceSize; Math.min(height, width) * scale >= PNET_CELL; scale *= scaleFactor) {
    scales.push(scale);
  }
  return scales;
}

interface LevelOutput {
  /** P-Net's output, [rows, cols, 6]. */
  out: Tensor4D;
  /** Level size over input size, per axis (sizes are rounded, so the two differ slightly). */
  sx: number;
  sy: number;
}

/**
 * Runs P-Net on every level. Each level is resized from the previous one: bilinear resizing does not
 * low-pass, and one jump straight to a small level aliases enough to lose large faces.
 */
function runPyramid(input: Tensor4D, scales: number[], nets: MtcnnNets): LevelOutput[] {
  const [, h, w] = input.shape;
  const levels: LevelOutput[] = [];
  let level = input;
  try {
    for (const scale of scales) {
      const size: [number, number] = [Math.ceil(h * scale), Math.ceil(w * scale)];
      const next = tf.image.resizeBilinear(level, size, false, true);
      if (level !== input) level.dispose();
      level = next;
      levels.push({ out: runPNet(level, nets.pnet), sx: size[1] / w, sy: size[0] / h });
    }
    return levels;
  } catch (err) {
    tf.dispose(levels.map((l) => l.out));
    throw err;
  } finally {
    if (level !== input) level.dispose();
  }
}

/** Windows of one level whose face probability reaches the threshold, in input-image pixels. */
function levelWindows(data: Float32Array, rows: number, cols: number, sx: number, sy: number, threshold: number): Scored[] {
  // Compare logit differences, not probabilities: one exp per passing window instead of per cell.
  const minLogit = Math.log(threshold / (1 - threshold));
  const found: Scored[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const o = (r * cols + c) * 6;
      if (data[o + HEAD.face]! - data[o + HEAD.nonFace]! < minLogit) continue;
      found.push({
        x1: (c * PNET_STRIDE) / sx,
        y1: (r * PNET_STRIDE) / sy,
        x2: (c * PNET_STRIDE + PNET_CELL) / sx,
        y2: (r * PNET_STRIDE + PNET_CELL) / sy,
        score: faceProbability(data, o),
        offsets: data.subarray(o + HEAD.box, o + HEAD.box + 4),
      });
    }
  }
  return found;
}

/** Square candidate boxes from P-Net, NMS'd per level and across levels, then regressed. */
async function proposeWindows(input: Tensor4D, nets: MtcnnNets, opts: MtcnnOptions, minFaceSize: number): Promise<Candidate[]> {
  const [, h, w] = input.shape;
  const scales = pyramidScales(h, w, minFaceSize, opts.scaleFactor);
  const levels = runPyramid(input, scales, nets);
  try {
    const datas = await Promise.all(levels.map((l) => l.out.data<'float32'>()));
    const perLevel = levels.map(({ out, sx, sy }, i) => {
      const windows = levelWindows(datas[i]!, out.shape[1], out.shape[2], sx, sy, opts.thresholds[0]);
      return nonMaxSuppression(windows, opts.nmsThresholds.pnetPerScale, 'union');
    });
    const kept = nonMaxSuppression(perLevel.flat(), opts.nmsThresholds.pnetAcrossScales, 'union');
    return kept.map((win) => square(regress(win)));
  } finally {
    tf.dispose(levels.map((l) => l.out));
  }
}

// ---------------------------------------------------------------------------------------------
// Stages 2 and 3: R-Net and O-Net on batched crops.

/**
 * cropAndResize boxes [y1, x1, y2, x2], normalised so 0 and 1 are the first and last pixel centres,
 * whose size×size samples fall on the centres of a size×size grid laid over each box, where an
 * ordinary resize of the cut-out box would sample.
 */
function cropBoxes(boxes: Candidate[], height: number, width: number, size: number): number[][] {
  const norm = (v: number, extent: number): number => (extent > 1 ? v / (extent - 1) : 0);
  return boxes.map((b) => {
    const hx = (b.x2 - b.x1) / (2 * size);
    const hy = (b.y2 - b.y1) / (2 * size);
    return [norm(b.y1 + hy - 0.5, height), norm(b.x1 + hx - 0.5, width), norm(b.y2 - hy - 0.5, height), norm(b.x2 - hx - 0.5, width)];
  });
}

/**
 * Crops every box to size×size and runs the net on them, batchSize crops per pass; returns one
 * output row per box. Samples beyond the image edge are black (0), as the paper zero-pads crops.
 */
async function runOnCrops(
  input: Tensor4D,
  boxes: Candidate[],
  size: number,
  net: (crops: Tensor4D) => Tensor2D,
  batchSize: number,
): Promise<Float32Array[]> {
  const [, h, w] = input.shape;
  const rows: Float32Array[] = [];
  for (let start = 0; start < boxes.length; start += batchSize) {
    const batch = boxes.slice(start, start + batchSize);
    const out = tf.tidy(() =>
      net(tf.image.cropAndResize(input, cropBoxes(batch, h, w, size), new Array<number>(batch.length).fill(0), [size, size], 'bilinear', 0)),
    );
    const data = await out.data<'float32'>();
    const cols = out.shape[1];
    out.dispose();
    for (let i = 0; i < batch.length; i++) rows.push(data.subarray(i * cols, (i + 1) * cols));
  }
  return rows;
}

/** R-Net: re-scores the proposals, keeps those above its threshold, NMS, regresses, squares. */
async function refineWindows(input: Tensor4D, nets: MtcnnNets, opts: MtcnnOptions, boxes: Candidate[]): Promise<Candidate[]> {
  const outs = await runOnCrops(input, boxes, RNET_SIZE, (x) => runRNet(x, nets.rnet), opts.batchSize);
  const passed: Scored[] = [];
  boxes.forEach((b, i) => {
    const score = faceProbability(outs[i]!);
    if (score >= opts.thresholds[1]) passed.push({ ...b, score, offsets: outs[i]!.subarray(HEAD.box, HEAD.box + 4) });
  });
  return nonMaxSuppression(passed, opts.nmsThresholds.rnet, 'union').map((win) => square(regress(win)));
}

interface Face extends Candidate {
  landmarks: Landmarks5;
}

/** Landmarks come as fractions of the crop O-Net saw, i.e. of the box before its own regression. */
function landmarksIn(b: Candidate, out: Float32Array): Landmarks5 {
  const point = (i: number): Point => [
    b.x1 + out[HEAD.pointsX + i]! * (b.x2 - b.x1),
    b.y1 + out[HEAD.pointsY + i]! * (b.y2 - b.y1),
  ];
  return [point(0), point(1), point(2), point(3), point(4)];
}

/** O-Net: final score, box and landmarks; NMS by overlap of the smaller box. */
async function finishFaces(input: Tensor4D, nets: MtcnnNets, opts: MtcnnOptions, boxes: Candidate[]): Promise<Face[]> {
  const outs = await runOnCrops(input, boxes, ONET_SIZE, (x) => runONet(x, nets.onet), opts.batchSize);
  const faces: Face[] = [];
  boxes.forEach((b, i) => {
    const out = outs[i]!;
    const score = faceProbability(out);
    if (score < opts.thresholds[2]) return;
    const box = regress({ ...b, score, offsets: out.subarray(HEAD.box, HEAD.box + 4) });
    faces.push({ ...box, landmarks: landmarksIn(b, out) });
  });
  return nonMaxSuppression(faces, opts.nmsThresholds.onet, 'min');
}

// ---------------------------------------------------------------------------------------------

/**
 * Puts each eye and mouth-corner pair in image order (smaller x first), as Landmarks5 promises.
 * O-Net already does so for upright faces; this only matters for strongly rolled ones.
 */
function orderPairs([a, b, nose, c, d]: Landmarks5): Landmarks5 {
  const [leftEye, rightEye] = a[0] <= b[0] ? [a, b] : [b, a];
  const [mouthLeft, mouthRight] = c[0] <= d[0] ? [c, d] : [d, c];
  return [leftEye, rightEye, nose, mouthLeft, mouthRight];
}

/** Maps a face found on the (possibly downscaled) input back to the caller's image. */
function toDetectedFace(f: Face, inputScale: number): DetectedFace {
  const s = 1 / inputScale;
  return {
    box: [f.x1 * s, f.y1 * s, (f.x2 - f.x1) * s, (f.y2 - f.y1) * s],
    score: f.score,
    landmarks: orderPairs(f.landmarks.map(([x, y]) => [x * s, y * s]) as Landmarks5),
  };
}

class MtcnnDetector implements Detector {
  readonly name = 'mtcnn';

  constructor(
    private readonly nets: MtcnnNets,
    private readonly opts: MtcnnOptions,
  ) {}

  /**
   * Boxes are O-Net's, not squared and not clipped: a face cut by the image edge gets a box that
   * reaches past it. Faces come sorted by score, best first.
   */
  async detect(image: Tensor3D): Promise<DetectedFace[]> {
    const [height, width] = image.shape;
    const inputScale = inputScaleFor(height, width, this.opts.maxInputSide);
    const input = tf.tidy(() => {
      const x = tf.expandDims(tf.cast(image, 'float32'), 0) as Tensor4D;
      if (inputScale === 1) return x;
      const size: [number, number] = [Math.max(1, Math.round(height * inputScale)), Math.max(1, Math.round(width * inputScale))];
      return tf.image.resizeBilinear(x, size, false, true);
    });
    try {
      const proposals = await proposeWindows(input, this.nets, this.opts, workingMinFaceSize(this.opts.minFaceSize, inputScale));
      if (proposals.length === 0) return [];
      const refined = await refineWindows(input, this.nets, this.opts, proposals);
      if (refined.length === 0) return [];
      const faces = await finishFaces(input, this.nets, this.opts, refined);
      return faces.map((f) => toDetectedFace(f, inputScale)).sort((a, b) => b.score - a.score);
    } finally {
      input.dispose();
    }
  }

  dispose(): void {
    this.nets.dispose();
  }
}

function validate(o: MtcnnOptions): void {
  const problems: string[] = [];
  if (!(o.minFaceSize > 0)) problems.push('minFaceSize must be > 0');
  if (!(o.scaleFactor > 0 && o.scaleFactor < 1)) problems.push('scaleFactor must lie strictly between 0 and 1');
  if (o.thresholds.length !== 3 || o.thresholds.some((t) => !(t > 0 && t < 1))) problems.push('thresholds must be three numbers strictly between 0 and 1');
  if (Object.values(o.nmsThresholds).some((t) => !(t >= 0 && t <= 1))) problems.push('nmsThresholds must lie in [0, 1]');
  if (!(o.maxInputSide >= 0)) problems.push('maxInputSide must be ≥ 0');
  if (!(Number.isInteger(o.batchSize) && o.batchSize >= 1)) problems.push('batchSize must be an integer ≥ 1');
  if (problems.length) throw new RangeError(`invalid MTCNN options: ${problems.join('; ')}`);
}

/** Loads the MTCNN weights (face-api.js port of the Caffe models) and returns a ready detector. */
export async function createMtcnnDetector(options: Partial<MtcnnOptions> = {}): Promise<Detector> {
  const opts: MtcnnOptions = {
    ...DEFAULT_MTCNN_OPTIONS,
    ...options,
    nmsThresholds: { ...DEFAULT_MTCNN_OPTIONS.nmsThresholds, ...options.nmsThresholds },
  };
  validate(opts);
  const weights = await loadWeights('mtcnn');
  try {
    return new MtcnnDetector(buildNets(weights), opts);
  } finally {
    tf.dispose(Object.values(weights));
  }
}
