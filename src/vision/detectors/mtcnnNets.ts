// The three MTCNN networks (Zhang et al. 2016), kept apart from the cascade logic in mtcnn.ts.
//
// The weights are the face-api.js port of the original Caffe models (tensor names such as
// pnet/conv1/weights). Checked against real photos, those nets expect what the Caffe originals saw
// through MATLAB:
//   - RGB channel order (face-api.js fed BGR; RGB gives higher O-Net face logits, finds a face BGR
//     misses, and its boxes and landmarks agree about twice as well with a mirrored copy of the image),
//   - values normalised as (x - 127.5) * 0.0078125,
//   - the image TRANSPOSED (rows and columns swapped): on upright crops O-Net scores real faces
//     about 0.5, on transposed ones about 1.0.
// Rather than transposing and normalising every pyramid level and every crop at run time, both are
// folded into the weights once at load time: conv kernels swap their two spatial axes, fc1 rows are
// re-ordered to the new flatten order, and conv1 absorbs the normalisation (exact, because conv1 has
// no padding). The nets below therefore take ordinary upright RGB images with values 0..255.
// Their box offsets and landmarks come out in upright image terms: x offsets/coordinates first.
import { tf, type NamedTensorMap, type Tensor, type Tensor1D, type Tensor2D, type Tensor4D } from '../tf.ts';

interface Conv {
  filter: Tensor4D;
  bias: Tensor1D;
}
interface Dense {
  weights: Tensor2D;
  bias: Tensor1D;
}
/** A conv or dense layer followed by PReLU. */
interface WithPrelu<L> {
  layer: L;
  alpha: Tensor1D;
}

export interface PNetParams {
  conv1: WithPrelu<Conv>;
  conv2: WithPrelu<Conv>;
  conv3: WithPrelu<Conv>;
  /** conv4_1 (2 face/non-face logits) and conv4_2 (4 box offsets) merged into one 1×1 conv of 6 outputs. */
  head: Conv;
}
export interface RNetParams {
  conv1: WithPrelu<Conv>;
  conv2: WithPrelu<Conv>;
  conv3: WithPrelu<Conv>;
  fc1: WithPrelu<Dense>;
  /** fc2_1 (2 logits) and fc2_2 (4 box offsets) merged: 6 outputs. */
  head: Dense;
}
export interface ONetParams {
  conv1: WithPrelu<Conv>;
  conv2: WithPrelu<Conv>;
  conv3: WithPrelu<Conv>;
  conv4: WithPrelu<Conv>;
  fc1: WithPrelu<Dense>;
  /** fc2_1 (2 logits), fc2_2 (4 box offsets) and fc2_3 (10 landmark coordinates) merged: 16 outputs. */
  head: Dense;
}
export interface MtcnnNets {
  pnet: PNetParams;
  rnet: RNetParams;
  onet: ONetParams;
  dispose(): void;
}

/**
 * Columns of every head output: non-face and face logits (softmax order: face is the second),
 * box offsets dx1, dy1, dx2, dy2 as fractions of the window's width and height, then (O-Net only)
 * the five landmark x's followed by the five y's, as fractions of the crop's width and height.
 */
export const HEAD = { nonFace: 0, face: 1, box: 2, pointsX: 6, pointsY: 11 } as const;

/** Smallest window P-Net sees, and its stride over the image pyramid level. */
export const PNET_CELL = 12;
export const PNET_STRIDE = 2;
/** Crop sides R-Net and O-Net take. */
export const RNET_SIZE = 24;
export const ONET_SIZE = 48;

/** The Caffe models' input normalisation, (x - 127.5) * 0.0078125. */
const NORM_MEAN = 127.5;
const NORM_SCALE = 0.0078125;

function weight<T extends Tensor>(weights: NamedTensorMap, name: string, rank: number): T {
  const t = weights[name];
  if (!t) throw new Error(`mtcnn weights: tensor "${name}" is missing`);
  if (t.rank !== rank) throw new Error(`mtcnn weights: "${name}" has rank ${t.rank}, expected ${rank}`);
  return t as T;
}

/** Swaps a kernel's two spatial axes: the kernel for transposed images becomes one for upright images. */
function conv(weights: NamedTensorMap, prefix: string): Conv {
  const filter = tf.transpose(weight<Tensor4D>(weights, `${prefix}/weights`, 4), [1, 0, 2, 3]);
  return { filter, bias: weight<Tensor1D>(weights, `${prefix}/bias`, 1).clone() };
}

function convPrelu(weights: NamedTensorMap, prefix: string, alpha: string): WithPrelu<Conv> {
  return { layer: conv(weights, prefix), alpha: weight<Tensor1D>(weights, alpha, 1).clone() };
}

/**
 * conv1 on raw 0..255 pixels: W·((x - m)·s) + b = (W·s)·x + (b - m·s·ΣW). Exact for an unpadded
 * convolution, and it spares a normalisation pass over every image, pyramid level and crop.
 */
function firstConv(weights: NamedTensorMap, prefix: string, alpha: string): WithPrelu<Conv> {
  const { layer, alpha: a } = convPrelu(weights, prefix, alpha);
  const folded = tf.tidy(() => ({
    filter: tf.mul(layer.filter, NORM_SCALE) as Tensor4D,
    bias: tf.sub(layer.bias, tf.mul(tf.sum(layer.filter, [0, 1, 2]), NORM_MEAN * NORM_SCALE)) as Tensor1D,
  }));
  tf.dispose([layer.filter, layer.bias]);
  return { layer: folded, alpha: a };
}

/**
 * fc1 of R-Net and O-Net reads the last feature map flattened as [row, col, channel]. With the
 * kernels transposed, that map is itself transposed, so the weight rows are re-ordered from
 * [col, row, channel] (the trained order, seen from upright images) to [row, col, channel].
 */
function firstDense(weights: NamedTensorMap, prefix: string, alpha: string, side: number): WithPrelu<Dense> {
  const w = weight<Tensor2D>(weights, `${prefix}/weights`, 2);
  const channels = w.shape[0] / (side * side);
  const reordered = tf.tidy(
    () => tf.reshape(tf.transpose(tf.reshape(w, [side, side, channels, w.shape[1]]), [1, 0, 2, 3]), w.shape) as Tensor2D,
  );
  return {
    layer: { weights: reordered, bias: weight<Tensor1D>(weights, `${prefix}/bias`, 1).clone() },
    alpha: weight<Tensor1D>(weights, alpha, 1).clone(),
  };
}

/** Several 1×1 conv heads reading the same features become one conv with their outputs side by side. */
function mergedConvHead(weights: NamedTensorMap, prefixes: string[]): Conv {
  return tf.tidy(() => {
    const parts = prefixes.map((p) => conv(weights, p));
    return { filter: tf.concat(parts.map((c) => c.filter), 3), bias: tf.concat(parts.map((c) => c.bias)) };
  });
}

function mergedDenseHead(weights: NamedTensorMap, prefixes: string[]): Dense {
  return tf.tidy(() => ({
    weights: tf.concat(prefixes.map((p) => weight<Tensor2D>(weights, `${p}/weights`, 2)), 1),
    bias: tf.concat(prefixes.map((p) => weight<Tensor1D>(weights, `${p}/bias`, 1))),
  }));
}

function collectTensors(value: unknown, out: Tensor[] = []): Tensor[] {
  if (value instanceof tf.Tensor) out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collectTensors(v, out);
  return out;
}

/** Builds the three nets from the loaded weight map; the map itself stays the caller's to dispose. */
export function buildNets(weights: NamedTensorMap): MtcnnNets {
  const pnet: PNetParams = {
    conv1: firstConv(weights, 'pnet/conv1', 'pnet/prelu1_alpha'),
    conv2: convPrelu(weights, 'pnet/conv2', 'pnet/prelu2_alpha'),
    conv3: convPrelu(weights, 'pnet/conv3', 'pnet/prelu3_alpha'),
    head: mergedConvHead(weights, ['pnet/conv4_1', 'pnet/conv4_2']),
  };
  const rnet: RNetParams = {
    conv1: firstConv(weights, 'rnet/conv1', 'rnet/prelu1_alpha'),
    conv2: convPrelu(weights, 'rnet/conv2', 'rnet/prelu2_alpha'),
    conv3: convPrelu(weights, 'rnet/conv3', 'rnet/prelu3_alpha'),
    fc1: firstDense(weights, 'rnet/fc1', 'rnet/prelu4_alpha', 3),
    head: mergedDenseHead(weights, ['rnet/fc2_1', 'rnet/fc2_2']),
  };
  const onet: ONetParams = {
    conv1: firstConv(weights, 'onet/conv1', 'onet/prelu1_alpha'),
    conv2: convPrelu(weights, 'onet/conv2', 'onet/prelu2_alpha'),
    conv3: convPrelu(weights, 'onet/conv3', 'onet/prelu3_alpha'),
    conv4: convPrelu(weights, 'onet/conv4', 'onet/prelu4_alpha'),
    fc1: firstDense(weights, 'onet/fc1', 'onet/prelu5_alpha', 3),
    head: mergedDenseHead(weights, ['onet/fc2_1', 'onet/fc2_2', 'onet/fc2_3']),
  };
  const owned = collectTensors({ pnet, rnet, onet });
  return { pnet, rnet, onet, dispose: () => tf.dispose(owned) };
}

/** Unpadded convolution with bias and PReLU in one fused kernel. */
function convPreluLayer(x: Tensor4D, { layer, alpha }: WithPrelu<Conv>): Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: layer.filter,
    strides: 1,
    pad: 'valid',
    bias: layer.bias,
    activation: 'prelu',
    preluActivationWeights: alpha,
  });
}

function denseLayer(x: Tensor2D, layer: Dense, alpha?: Tensor1D): Tensor2D {
  return tf.fused.matMul({
    a: x,
    b: layer.weights,
    bias: layer.bias,
    ...(alpha ? { activation: 'prelu' as const, preluActivationWeights: alpha } : {}),
  }) as Tensor2D;
}

/**
 * Stride-2 max pooling. Caffe rounds pooled sizes up; TensorFlow's 'same' padding gives those
 * sizes where the originals round up (22 → 11, 46 → 23, 8 → 4), 'valid' where sizes divide exactly.
 */
function pool(x: Tensor4D, size: number, pad: 'same' | 'valid'): Tensor4D {
  return tf.maxPool(x, size, 2, pad);
}

/**
 * P-Net, fully convolutional: [1, h, w, 3] RGB 0..255 → [1, h', w', 6], one row per 12×12 window
 * at stride 2 (h' = ceil((h - 2) / 2) - 4): two logits, four box offsets.
 */
export function runPNet(x: Tensor4D, p: PNetParams): Tensor4D {
  return tf.tidy(() => {
    let out = convPreluLayer(x, p.conv1);
    out = pool(out, 2, 'same');
    out = convPreluLayer(out, p.conv2);
    out = convPreluLayer(out, p.conv3);
    return tf.fused.conv2d({ x: out, filter: p.head.filter, strides: 1, pad: 'valid', bias: p.head.bias });
  });
}

/** R-Net: [n, 24, 24, 3] RGB 0..255 crops → [n, 6]: two logits, four box offsets. */
export function runRNet(x: Tensor4D, p: RNetParams): Tensor2D {
  return tf.tidy(() => {
    let out = convPreluLayer(x, p.conv1);
    out = pool(out, 3, 'same');
    out = convPreluLayer(out, p.conv2);
    out = pool(out, 3, 'valid');
    out = convPreluLayer(out, p.conv3);
    const fc1 = denseLayer(tf.reshape(out, [out.shape[0], -1]) as Tensor2D, p.fc1.layer, p.fc1.alpha);
    return denseLayer(fc1, p.head);
  });
}

/** O-Net: [n, 48, 48, 3] RGB 0..255 crops → [n, 16]: two logits, four box offsets, ten landmark values. */
export function runONet(x: Tensor4D, p: ONetParams): Tensor2D {
  return tf.tidy(() => {
    let out = convPreluLayer(x, p.conv1);
    out = pool(out, 3, 'same');
    out = convPreluLayer(out, p.conv2);
    out = pool(out, 3, 'valid');
    out = convPreluLayer(out, p.conv3);
    out = pool(out, 2, 'same');
    out = convPreluLayer(out, p.conv4);
    const fc1 = denseLayer(tf.reshape(out, [out.shape[0], -1]) as Tensor2D, p.fc1.layer, p.fc1.alpha);
    return denseLayer(fc1, p.head);
  });
}
