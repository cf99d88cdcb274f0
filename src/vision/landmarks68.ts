// The 68-point face landmark net of @vladmandic/face-api (face-api.js "FaceLandmark68Net"), in
// plain tfjs ops, batched: every face of an image is cut out by one cropAndResize and goes through
// the net in one forward pass.
//
// Layout (input 112×112×3, (RGB − mean)/255):
//   4 dense blocks of 4 convs each; the first conv of each block has stride 2:  112 → 56 → 28 → 14 → 7
//     block 0 starts with a plain 3×3 conv, every other conv is depthwise-separable 3×3
//     inside a block: out1 = relu(c0(x)), out2 = c1(out1), out3 = c2(relu(out1+out2)),
//     out4 = c3(relu(out1+out2+out3)), result relu(out1+out2+out3+out4)
//   average pool 7×7 (= global mean) → fully connected 256 → 136 = 68 × (x, y)
// The outputs are positions in the unit square of the net's input.
//
// Input crop, as face-api makes it: the face box (clipped to the image) is padded with black to a
// square, centred, and that square is resized to 112×112 (bilinear, no half-pixel offset).
import { tf, type NamedTensorMap, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Tensor4D } from './tf.ts';
import type { Box, Landmarks5, Point } from './types.ts';
import { loadWeights } from './weights.ts';

export const LANDMARK68_INPUT_SIZE = 112;
/** Per-channel RGB mean face-api subtracts before dividing by 255. */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;

interface Conv {
  filter: Tensor4D;
  bias: Tensor1D;
}
interface SeparableConv {
  depthwise: Tensor4D;
  pointwise: Tensor4D;
  bias: Tensor1D;
}
interface DenseBlock {
  /** Plain conv in block 0, separable elsewhere; stride 2 either way. */
  conv0: Conv | SeparableConv;
  rest: [SeparableConv, SeparableConv, SeparableConv];
}
export interface Landmark68Params {
  blocks: DenseBlock[];
  fc: { weights: Tensor2D; bias: Tensor1D };
  /** Every tensor above, for dispose. */
  tensors: Tensor[];
}

function weight(map: NamedTensorMap, name: string, rank: number): Tensor {
  const t = map[name];
  if (!t) throw new Error(`faceLandmark68 weights: missing tensor "${name}"`);
  if (t.rank !== rank) throw new Error(`faceLandmark68 weights: "${name}" has rank ${t.rank}, expected ${rank}`);
  return t;
}

function separable(map: NamedTensorMap, prefix: string): SeparableConv {
  return {
    depthwise: tf.clone(weight(map, `${prefix}/depthwise_filter`, 4)) as Tensor4D,
    pointwise: tf.clone(weight(map, `${prefix}/pointwise_filter`, 4)) as Tensor4D,
    bias: tf.clone(weight(map, `${prefix}/bias`, 1)) as Tensor1D,
  };
}

function denseBlock(map: NamedTensorMap, idx: number): DenseBlock {
  const p = `dense${idx}`;
  const conv0 =
    idx === 0
      ? { filter: tf.clone(weight(map, `${p}/conv0/filters`, 4)) as Tensor4D, bias: tf.clone(weight(map, `${p}/conv0/bias`, 1)) as Tensor1D }
      : separable(map, `${p}/conv0`);
  return { conv0, rest: [separable(map, `${p}/conv1`), separable(map, `${p}/conv2`), separable(map, `${p}/conv3`)] };
}

/** Builds the net from face-api's weight map (copies; the caller still owns the map). */
export function buildLandmark68Net(map: NamedTensorMap): Landmark68Params {
  const tensors: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    tensors.push(t);
    return t;
  };
  const blocks = [0, 1, 2, 3].map((i) => denseBlock(map, i));
  const fc = { weights: tf.clone(weight(map, 'fc/weights', 2)) as Tensor2D, bias: tf.clone(weight(map, 'fc/bias', 1)) as Tensor1D };
  for (const b of blocks) {
    Object.values(b.conv0).forEach(keep);
    b.rest.forEach((c) => Object.values(c).forEach(keep));
  }
  keep(fc.weights);
  keep(fc.bias);
  return { blocks, fc, tensors };
}

/** Loads the weights from the face-api package (sha256-checked) and builds the net. */
export async function loadLandmark68Net(): Promise<Landmark68Params> {
  const map = await loadWeights('faceLandmark68');
  try {
    return buildLandmark68Net(map);
  } finally {
    tf.dispose(Object.values(map));
  }
}

export function disposeLandmark68Net(params: Landmark68Params): void {
  tf.dispose(params.tensors);
}

function separableConv(x: Tensor4D, c: SeparableConv, stride: number, activation: 'linear' | 'relu'): Tensor4D {
  const dw = tf.depthwiseConv2d(x, c.depthwise, stride, 'same');
  return tf.fused.conv2d({ x: dw, filter: c.pointwise, strides: 1, pad: 'same', bias: c.bias, activation });
}

function firstConv(x: Tensor4D, c: Conv | SeparableConv): Tensor4D {
  if ('filter' in c) return tf.fused.conv2d({ x, filter: c.filter, strides: 2, pad: 'same', bias: c.bias, activation: 'relu' });
  return separableConv(x, c, 2, 'relu');
}

/** A dense block: each conv sees the sum of all earlier outputs in the block. */
function runDenseBlock(x: Tensor4D, block: DenseBlock): Tensor4D {
  const out1 = firstConv(x, block.conv0);
  let sum = out1;
  for (const conv of block.rest) {
    const next = separableConv(tf.relu(sum), conv, 1, 'linear');
    sum = tf.add(sum, next);
  }
  return tf.relu(sum);
}

/**
 * The net on prepared crops [n, 112, 112, 3] (0..255, black padding included). Returns [n, 136]:
 * interleaved (x, y) in the unit square of the crop.
 */
export function landmarks68Forward(params: Landmark68Params, crops: Tensor4D): Tensor2D {
  return tf.tidy(() => {
    const mean = tf.tensor1d(MEAN_RGB as unknown as number[]);
    let x = tf.div(tf.sub(crops, mean), 255) as Tensor4D;
    for (const block of params.blocks) x = runDenseBlock(x, block);
    // avgPool 7×7 stride 2 'valid' over a 7×7 map is exactly the spatial mean.
    const pooled = tf.mean(x, [1, 2]) as Tensor2D;
    return tf.add(tf.matMul(pooled, params.fc.weights), params.fc.bias) as Tensor2D;
  });
}

/** Where one face's net input lies in the image (pixel-index coordinates). */
export interface FaceCrop {
  /** Face box clipped to the image, [x, y, w, h]. */
  clip: Box;
  /** Top-left corner and side of the square the net sees. */
  squareX: number;
  squareY: number;
  side: number;
}

/**
 * Clips the box to the pixel centres of the image, [0, W−1] × [0, H−1], so that no sample point
 * falls outside the image (cropAndResize would return black there), and centres a square on it.
 */
export function faceCrop(box: Box, width: number, height: number): FaceCrop {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const x0 = clamp(box[0], width - 1);
  const y0 = clamp(box[1], height - 1);
  const w = clamp(box[0] + box[2], width - 1) - x0;
  const h = clamp(box[1] + box[3], height - 1) - y0;
  const side = Math.max(w, h, 1);
  return { clip: [x0, y0, w, h], squareX: x0 - (side - w) / 2, squareY: y0 - (side - h) / 2, side };
}

/**
 * cropAndResize box [y1, x1, y2, x2] (normalised by the image's H−1, W−1) whose 112 sample points
 * are square + i·side/112, i = 0..111: the points resizeBilinear (no align-corners, no
 * half-pixel) samples when face-api resizes its padded crop to 112.
 */
function cropBox(c: FaceCrop, width: number, height: number): [number, number, number, number] {
  const span = (c.side * (LANDMARK68_INPUT_SIZE - 1)) / LANDMARK68_INPUT_SIZE;
  const ny = Math.max(1, height - 1);
  const nx = Math.max(1, width - 1);
  return [c.squareY / ny, c.squareX / nx, (c.squareY + span) / ny, (c.squareX + span) / nx];
}

/**
 * Weight of the face inside the crop along one axis, per sample row/column: 1 inside, 0 in the
 * black padding, and the bilinear blend weight for the sample that straddles the edge. Only the
 * padded axis gets one; along the other axis the square is the clipped box itself.
 */
function axisMask(start: number, extent: number, squareStart: number, side: number): Float32Array {
  const mask = new Float32Array(LANDMARK68_INPUT_SIZE).fill(1);
  if (extent >= side) return mask;
  const last = start + extent - 1;
  for (let i = 0; i < LANDMARK68_INPUT_SIZE; i++) {
    const v = squareStart + (i * side) / LANDMARK68_INPUT_SIZE;
    mask[i] = Math.min(1, Math.max(0, Math.min(v - start + 1, last + 1 - v)));
  }
  return mask;
}

/**
 * Cuts every face to the net's input in one cropAndResize over the whole image, in its own dtype:
 * float32 [n, 112, 112, 3], 0..255. Reading the int32 frame directly is what keeps this cheap: on
 * wasm, casting or even slicing a 1080p int32 frame costs tens of milliseconds, the crop about 3.
 */
export function cropFaces(image: Tensor3D, crops: FaceCrop[]): Tensor4D {
  const [height, width] = image.shape;
  const n = crops.length;
  const size = LANDMARK68_INPUT_SIZE;
  if (n === 0) return tf.zeros([0, size, size, 3]);
  const rows = new Float32Array(n * size);
  const cols = new Float32Array(n * size);
  crops.forEach((c, i) => {
    rows.set(axisMask(c.clip[1], c.clip[3], c.squareY, c.side), i * size);
    cols.set(axisMask(c.clip[0], c.clip[2], c.squareX, c.side), i * size);
  });
  return tf.tidy(() => {
    const boxes = tf.tensor2d(crops.flatMap((c) => cropBox(c, width, height)), [n, 4]);
    const boxInd = tf.zeros([n], 'int32') as Tensor1D;
    const cut = tf.image.cropAndResize(tf.expandDims(image, 0) as Tensor4D, boxes, boxInd, [size, size], 'bilinear', 0);
    return tf.mul(tf.mul(cut, tf.tensor4d(rows, [n, size, 1, 1])), tf.tensor4d(cols, [n, 1, size, 1])) as Tensor4D;
  });
}

/** 68 landmarks per box, in image pixels. One batched forward pass for all boxes. */
export async function detectLandmarks68(params: Landmark68Params, image: Tensor3D, boxes: Box[]): Promise<Point[][]> {
  if (boxes.length === 0) return [];
  const [height, width] = image.shape;
  const crops = boxes.map((b) => faceCrop(b, width, height));
  const out = tf.tidy(() => landmarks68Forward(params, cropFaces(image, crops)));
  let rel: Float32Array;
  try {
    rel = (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
  return crops.map((c, f) =>
    Array.from({ length: 68 }, (_, k): Point => [c.squareX + rel[f * 136 + 2 * k]! * c.side, c.squareY + rel[f * 136 + 2 * k + 1]! * c.side]),
  );
}

function meanPoint(points: readonly Point[], from: number, to: number): Point {
  let x = 0;
  let y = 0;
  for (let i = from; i <= to; i++) {
    x += points[i]![0];
    y += points[i]![1];
  }
  const n = to - from + 1;
  return [x / n, y / n];
}

/**
 * The five points from the 68 (iBUG 300-W numbering): eye centres as the mean of each eye's six
 * contour points (36–41 is the eye on the image's left for an upright frontal face), nose tip 30,
 * mouth corners 48 and 54.
 */
export function toLandmarks5(points68: readonly Point[]): Landmarks5 {
  if (points68.length !== 68) throw new Error(`toLandmarks5: expected 68 points, got ${points68.length}`);
  const at = (i: number): Point => [points68[i]![0], points68[i]![1]];
  return [meanPoint(points68, 36, 41), meanPoint(points68, 42, 47), at(30), at(48), at(54)];
}
