// SSD MobileNetV1 face detector of @vladmandic/face-api (originally justadudewhohacks/face-api.js),
// written in plain tfjs ops.
//
// Layout (input 512×512×3, values scaled to -1..1):
//   MobileNetV1: conv 3×3/2 (32), then 13 depthwise-separable pairs; strides 2 at pairs 2, 4, 6, 12.
//     512 → 256 → 128 → 64 → 32 (pair 11 output, "conv11") → 16 (pair 13 output)
//   4 extra stages, each a 1×1 conv then a 3×3/2 conv:                 16 → 8 → 4 → 2 → 1
//   6 box predictors (1×1 convs) on conv11 (3 anchors per cell), pair 13 and the 4 extra stages
//   (6 anchors per cell): 32²·3 + 16²·6 + 8²·6 + 4²·6 + 2²·6 + 1²·6 = 5118 anchors.
// Every conv is followed by relu6. The depthwise convs carry a batch norm, which we fold into the
// filters once at load time so each layer runs as one fused conv + bias + relu6.
//
// Box decoding follows the TF object-detection API's faster-rcnn box coder with scale factors
// (10, 10, 5, 5); the anchors ship with the weights as "Output/extra_dim", [1, 5118, 4], as
// (ymin, xmin, ymax, xmax) in the unit square of the 512×512 input.
import { tf, type NamedTensorMap, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D, type Tensor4D } from '../tf.ts';
import type { Box } from '../types.ts';
import { loadWeights } from '../weights.ts';

/** Side of the square the net sees; the anchors are fixed for it. */
export const SSD_INPUT_SIZE = 512;
export const SSD_ANCHOR_COUNT = 5118;
/** Batch-norm epsilon of the depthwise layers (float32 of 0.001, as the converted graph has it). */
const BN_EPSILON = 0.0010000000474974513;
/** Box-coder scale factors for (y, x) centre offsets and (h, w) log-sizes. */
const CENTRE_SCALE = 10;
const SIZE_SCALE = 5;
/** Class logits per anchor: background, face, and an unused third class. Index 1 is "face". */
const CLASSES_PER_ANCHOR = 3;
/** Backbone pairs (1-based) whose depthwise conv has stride 2. */
const STRIDE2_PAIRS = new Set([2, 4, 6, 12]);

/** A conv with its bias (batch-norm offset, folded batch norm, or plain bias). */
interface ConvBias {
  filter: Tensor4D;
  bias: Tensor1D;
}
/** One box predictor: box-encoding and class convs stacked along the output channels. */
interface Predictor extends ConvBias {
  anchorsPerCell: number;
}
export interface SsdNetParams {
  conv0: ConvBias;
  /** The 13 depthwise-separable pairs of MobileNetV1. */
  pairs: Array<{ depthwise: ConvBias; pointwise: ConvBias }>;
  /** The 8 convs after the backbone, alternately 1×1/1 and 3×3/2. */
  extra: ConvBias[];
  /** On conv11, backbone output, extra 1, 3, 5, 7 (in that order, as the anchors are listed). */
  predictors: Predictor[];
  /** Anchor centres (cy, cx) and sizes (h, w), [5118, 2] each, in the unit square. */
  anchorCentres: Tensor2D;
  anchorSizes: Tensor2D;
  /** Every tensor above, for dispose. */
  tensors: Tensor[];
}

function weight(map: NamedTensorMap, name: string, rank: number): Tensor {
  const t = map[name];
  if (!t) throw new Error(`ssdMobilenetv1 weights: missing tensor "${name}"`);
  if (t.rank !== rank) throw new Error(`ssdMobilenetv1 weights: "${name}" has rank ${t.rank}, expected ${rank}`);
  return t;
}

/** A pointwise-style conv whose batch norm was already reduced to an offset by the converter. */
function offsetConv(map: NamedTensorMap, prefix: string, idx: number): ConvBias {
  return {
    filter: tf.clone(weight(map, `${prefix}/Conv2d_${idx}_pointwise/weights`, 4)) as Tensor4D,
    bias: tf.clone(weight(map, `${prefix}/Conv2d_${idx}_pointwise/convolution_bn_offset`, 1)) as Tensor1D,
  };
}

/**
 * (dw(x, F) − mean)·γ/√(var+ε) + β equals dw(x, F·s) + (β − mean·s) with s = γ/√(var+ε), because
 * a depthwise conv keeps each channel separate.
 */
function foldedDepthwise(map: NamedTensorMap, idx: number): ConvBias {
  const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
  const filter = weight(map, `${p}/depthwise_weights`, 4) as Tensor4D;
  const gamma = weight(map, `${p}/BatchNorm/gamma`, 1);
  const beta = weight(map, `${p}/BatchNorm/beta`, 1);
  const mean = weight(map, `${p}/BatchNorm/moving_mean`, 1);
  const variance = weight(map, `${p}/BatchNorm/moving_variance`, 1);
  const s = tf.mul(gamma, tf.rsqrt(tf.add(variance, BN_EPSILON)));
  return {
    filter: tf.mul(filter, tf.reshape(s, [1, 1, -1, 1])) as Tensor4D,
    bias: tf.sub(beta, tf.mul(mean, s)) as Tensor1D,
  };
}

/** One conv for both heads: [box encodings (4 per anchor) | class logits (3 per anchor)]. */
function predictor(map: NamedTensorMap, idx: number): Predictor {
  const p = `Prediction/BoxPredictor_${idx}`;
  const boxW = weight(map, `${p}/BoxEncodingPredictor/weights`, 4) as Tensor4D;
  const clsW = weight(map, `${p}/ClassPredictor/weights`, 4) as Tensor4D;
  return {
    filter: tf.concat([boxW, clsW], 3),
    bias: tf.concat([weight(map, `${p}/BoxEncodingPredictor/biases`, 1), weight(map, `${p}/ClassPredictor/biases`, 1)]) as Tensor1D,
    anchorsPerCell: boxW.shape[3] / 4,
  };
}

/** Anchors as (centre, size) so decoding is two multiply-adds. */
function anchorGeometry(map: NamedTensorMap): { anchorCentres: Tensor2D; anchorSizes: Tensor2D } {
  const a = tf.reshape(weight(map, 'Output/extra_dim', 3), [-1, 4]) as Tensor2D;
  if (a.shape[0] !== SSD_ANCHOR_COUNT) throw new Error(`ssdMobilenetv1 weights: ${a.shape[0]} anchors, expected ${SSD_ANCHOR_COUNT}`);
  const [min, max] = tf.split(a, 2, 1) as [Tensor2D, Tensor2D];
  return { anchorCentres: tf.div(tf.add(min, max), 2), anchorSizes: tf.sub(max, min) };
}

/** Builds the net's parameters from face-api's weight map. The caller still owns (and disposes) the map. */
export function buildSsdNet(map: NamedTensorMap): SsdNetParams {
  const tensors: Tensor[] = [];
  const collect = (v: unknown): void => {
    if (v instanceof tf.Tensor) tensors.push(tf.keep(v));
    else if (v && typeof v === 'object') Object.values(v).forEach(collect);
  };
  const range = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i);
  let built: Omit<SsdNetParams, 'tensors'> | undefined;
  // The tidy frees the folding intermediates; collect() keeps the parameters themselves.
  tf.tidy(() => {
    built = {
      conv0: offsetConv(map, 'MobilenetV1', 0),
      pairs: range(13, 1).map((i) => ({ depthwise: foldedDepthwise(map, i), pointwise: offsetConv(map, 'MobilenetV1', i) })),
      extra: range(8, 0).map((i) => offsetConv(map, 'Prediction', i)),
      predictors: range(6, 0).map((i) => predictor(map, i)),
      ...anchorGeometry(map),
    };
    collect(built);
  });
  return { ...built!, tensors };
}

/** Loads the weights from the face-api package (sha256-checked) and builds the net. */
export async function loadSsdNet(): Promise<SsdNetParams> {
  const map = await loadWeights('ssdMobilenetv1');
  try {
    return buildSsdNet(map);
  } finally {
    tf.dispose(Object.values(map));
  }
}

export function disposeSsdNet(params: SsdNetParams): void {
  tf.dispose(params.tensors);
}

function convRelu6(x: Tensor4D, c: ConvBias, stride: number): Tensor4D {
  return tf.fused.conv2d({ x, filter: c.filter, strides: stride, pad: 'same', bias: c.bias, activation: 'relu6' });
}

function depthwiseRelu6(x: Tensor4D, c: ConvBias, stride: number): Tensor4D {
  return tf.fused.depthwiseConv2d({ x, filter: c.filter, strides: stride, pad: 'same', bias: c.bias, activation: 'relu6' });
}

/** MobileNetV1 trunk: returns the 32×32 map after pair 11 and the 16×16 map after pair 13. */
function backbone(params: SsdNetParams, x: Tensor4D): { conv11: Tensor4D; out: Tensor4D } {
  let out = convRelu6(x, params.conv0, 2);
  let conv11 = out;
  params.pairs.forEach((pair, i) => {
    const layer = i + 1;
    out = depthwiseRelu6(out, pair.depthwise, STRIDE2_PAIRS.has(layer) ? 2 : 1);
    out = convRelu6(out, pair.pointwise, 1);
    if (layer === 11) conv11 = out;
  });
  return { conv11, out };
}

/** Runs one predictor; returns box encodings [cells·anchors, 4] and class logits [cells·anchors, 3]. */
function predict(x: Tensor4D, p: Predictor): { enc: Tensor2D; logits: Tensor2D } {
  const y = tf.fused.conv2d({ x, filter: p.filter, strides: 1, pad: 'same', bias: p.bias });
  const [enc, logits] = tf.split(y, [p.anchorsPerCell * 4, p.anchorsPerCell * CLASSES_PER_ANCHOR], 3);
  return { enc: tf.reshape(enc, [-1, 4]), logits: tf.reshape(logits, [-1, CLASSES_PER_ANCHOR]) };
}

/**
 * The whole net on one prepared input [1, 512, 512, 3] (-1..1). Returns the decoded boxes
 * [5118, 4] as (ymin, xmin, ymax, xmax) in the unit square of the input, and face scores [5118].
 */
export function ssdForward(params: SsdNetParams, input: Tensor4D): { boxes: Tensor2D; scores: Tensor1D } {
  return tf.tidy(() => {
    const { conv11, out } = backbone(params, input);
    const maps = [conv11, out];
    let x = out;
    params.extra.forEach((conv, i) => {
      x = convRelu6(x, conv, i % 2 === 1 ? 2 : 1);
      if (i % 2 === 1) maps.push(x);
    });
    const heads = maps.map((m, i) => predict(m, params.predictors[i]!));
    const enc = tf.concat(heads.map((h) => h.enc)) as Tensor2D;
    const logits = tf.concat(heads.map((h) => h.logits)) as Tensor2D;
    const scores = tf.sigmoid(tf.reshape(tf.slice(logits, [0, 1], [-1, 1]), [-1])) as Tensor1D;
    return { boxes: decodeBoxes(params, enc), scores };
  });
}

/** Box-coder decoding: centre = a_c + t_c/10·a_s, size = a_s·exp(t_s/5); as (ymin, xmin, ymax, xmax). */
function decodeBoxes(params: SsdNetParams, enc: Tensor2D): Tensor2D {
  const [tCentre, tSize] = tf.split(enc, 2, 1) as [Tensor2D, Tensor2D];
  const centre = tf.add(params.anchorCentres, tf.mul(tf.div(tCentre, CENTRE_SCALE), params.anchorSizes));
  const half = tf.mul(tf.exp(tf.div(tSize, SIZE_SCALE)), tf.div(params.anchorSizes, 2));
  return tf.concat([tf.sub(centre, half), tf.add(centre, half)], 1) as Tensor2D;
}

/** How the prepared input relates to the image: image pixels per unit of the net's square. */
export interface SsdInputScale {
  x: number;
  y: number;
}

/** Size of the image inside the net's square: longer side 512, aspect ratio kept. */
function resizedSize(h: number, w: number): [rh: number, rw: number] {
  const longer = Math.max(h, w);
  return [Math.max(1, Math.round((h * SSD_INPUT_SIZE) / longer)), Math.max(1, Math.round((w * SSD_INPUT_SIZE) / longer))];
}

/** Image pixels per unit of the net's square, for an image of h × w pixels. */
export function ssdInputScale(h: number, w: number): SsdInputScale {
  const [rh, rw] = resizedSize(h, w);
  return { x: (SSD_INPUT_SIZE * w) / rw, y: (SSD_INPUT_SIZE * h) / rh };
}

/**
 * Resizes the image so its longer side is 512 and pads right/bottom with black up to 512×512,
 * then scales to -1..1. face-api pads to a square first and resizes after; resizing first is
 * cheaper on big frames and places the image identically (it occupies round(side·512/longer)
 * pixels either way, which is the size face-api's box scaling assumes).
 */
export function ssdPrepareInput(image: Tensor3D): Tensor4D {
  const [h, w] = image.shape;
  const [rh, rw] = resizedSize(h, w);
  return tf.tidy(() => {
    // resizeBilinear takes int32 and returns float32, casting only as it reads: far cheaper than
    // casting a whole big frame first.
    const x = tf.expandDims(image, 0) as Tensor4D;
    const resized = rh === h && rw === w ? tf.cast(x, 'float32') : tf.image.resizeBilinear(x, [rh, rw], false, false);
    const scaled = tf.sub(tf.div(resized, 127.5), 1) as Tensor4D;
    // Black (0) padding is -1 after scaling.
    return tf.pad(scaled, [[0, 0], [0, SSD_INPUT_SIZE - rh], [0, SSD_INPUT_SIZE - rw], [0, 0]], -1);
  });
}

export interface NmsOptions {
  minConfidence: number;
  maxResults: number;
  iouThreshold: number;
}

/** Intersection over union of boxes i and j in a flat (ymin, xmin, ymax, xmax) array. */
export function iou(b: ArrayLike<number>, i: number, j: number): number {
  const [ay0, ax0, ay1, ax1] = [b[4 * i]!, b[4 * i + 1]!, b[4 * i + 2]!, b[4 * i + 3]!];
  const [by0, bx0, by1, bx1] = [b[4 * j]!, b[4 * j + 1]!, b[4 * j + 2]!, b[4 * j + 3]!];
  const areaA = (ay1 - ay0) * (ax1 - ax0);
  const areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const ih = Math.max(0, Math.min(ay1, by1) - Math.max(ay0, by0));
  const iw = Math.max(0, Math.min(ax1, bx1) - Math.max(ax0, bx0));
  const inter = ih * iw;
  return inter / (areaA + areaB - inter);
}

/**
 * Greedy non-maximum suppression as face-api does it: keep boxes scoring above minConfidence,
 * best first, dropping any that overlap a kept one by IoU > iouThreshold. Returns kept indices.
 * Done in JS because only a handful of anchors pass the score threshold.
 */
export function nonMaxSuppression(boxes: ArrayLike<number>, scores: ArrayLike<number>, opts: NmsOptions): number[] {
  const candidates: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > opts.minConfidence) candidates.push(i);
  candidates.sort((a, b) => scores[b]! - scores[a]!);
  const kept: number[] = [];
  for (const c of candidates) {
    if (kept.length >= opts.maxResults) break;
    if (kept.every((k) => iou(boxes, c, k) <= opts.iouThreshold)) kept.push(c);
  }
  return kept;
}

export interface ScoredBox {
  box: Box;
  score: number;
}

/** Unit-square box i → [x, y, w, h] in image pixels, clipped to the image. */
function toPixelBox(b: ArrayLike<number>, i: number, scale: SsdInputScale, width: number, height: number): Box {
  const x0 = Math.min(width, Math.max(0, b[4 * i + 1]! * scale.x));
  const y0 = Math.min(height, Math.max(0, b[4 * i]! * scale.y));
  const x1 = Math.min(width, Math.max(0, b[4 * i + 3]! * scale.x));
  const y1 = Math.min(height, Math.max(0, b[4 * i + 2]! * scale.y));
  return [x0, y0, x1 - x0, y1 - y0];
}

/** Detects faces in one image (int32 or float32 [h, w, 3], 0..255): boxes in pixels, best first. */
export async function runSsd(params: SsdNetParams, image: Tensor3D, opts: NmsOptions): Promise<ScoredBox[]> {
  const [height, width] = image.shape;
  const scale = ssdInputScale(height, width);
  const { boxes, scores } = tf.tidy(() => ssdForward(params, ssdPrepareInput(image)));
  try {
    const [b, s] = await Promise.all([boxes.data(), scores.data()]);
    return nonMaxSuppression(b, s, opts).map((i) => ({ box: toPixelBox(b, i, scale, width, height), score: s[i]! }));
  } finally {
    tf.dispose([boxes, scores]);
  }
}
