// The 128-D face recognition net of @vladmandic/face-api: dlib's ResNet-34-like
// "dlib_face_recognition_resnet_model_v1" converted to tfjs. Written here in plain tfjs ops so a
// whole batch of faces goes through in one forward pass (face-api's own pipeline embeds one face
// per call).
//
// Layout (input 150×150×3):
//   conv 7×7/2 valid (32)  → max-pool 3×3/2 valid            150 → 72 → 35
//   3 residual blocks of 32                                  35
//   down-residual to 64, 3 residual blocks                   35 → 17
//   down-residual to 128, 2 residual blocks                  17 → 8
//   down-residual to 256, 2 residual blocks                   8 → 4
//   down-residual 256 ("conv256_down_out")                    4 → 2
//   global average pool → fully connected 256 → 128
// Every conv is followed by an affine "scale" layer (dlib's folded batch-norm); we fold that into
// the conv weights once at load time, which is exact up to float rounding and lets each layer run
// as one fused conv + bias (+ relu).
import { tf, type NamedTensorMap, type Tensor1D, type Tensor2D, type Tensor4D } from '../tf.ts';
import type { Embedder } from '../types.ts';
import { loadWeights } from '../weights.ts';

/** Side of the square RGB crop the net takes. */
export const FACE_RECOGNITION_INPUT_SIZE = 150;
/** Length of one descriptor. */
export const DESCRIPTOR_LENGTH = 128;
/**
 * Per-channel RGB mean that face-api subtracts before dividing by 255 (its FaceRecognitionNet
 * forwardInput); the weights were converted for exactly this input scaling.
 */
const MEAN_RGB = [122.782, 117.001, 104.298] as const;

/** One conv with its scale layer folded in: conv(x, filters) + bias. */
interface FoldedConv {
  filters: Tensor4D;
  bias: Tensor1D;
}
interface ResidualBlock {
  conv1: FoldedConv;
  conv2: FoldedConv;
}
interface NetParams {
  stem: FoldedConv;
  /** The residual stages in order; `down` marks the first block of a stage (stride 2). */
  blocks: Array<{ block: ResidualBlock; down: boolean }>;
  fc: Tensor2D;
}

/** The residual blocks in the order the net runs them, with the weight-map prefixes face-api uses. */
const BLOCK_ORDER: ReadonlyArray<readonly [prefix: string, down: boolean]> = [
  ['conv32_1', false],
  ['conv32_2', false],
  ['conv32_3', false],
  ['conv64_down', true],
  ['conv64_1', false],
  ['conv64_2', false],
  ['conv64_3', false],
  ['conv128_down', true],
  ['conv128_1', false],
  ['conv128_2', false],
  ['conv256_down', true],
  ['conv256_1', false],
  ['conv256_2', false],
  ['conv256_down_out', true],
];

function weight(map: NamedTensorMap, name: string, rank: number): tf.Tensor {
  const t = map[name];
  if (!t) throw new Error(`faceRecognition weights: missing tensor "${name}"`);
  if (t.rank !== rank) throw new Error(`faceRecognition weights: "${name}" has rank ${t.rank}, expected ${rank}`);
  return t;
}

/**
 * conv(x, W) + b followed by (·)·s + c equals conv(x, W·s) + (b·s + c), since s and c act per
 * output channel (the last axis of W).
 */
function foldConv(map: NamedTensorMap, prefix: string): FoldedConv {
  return tf.tidy(() => {
    const filters = weight(map, `${prefix}/conv/filters`, 4) as Tensor4D;
    const bias = weight(map, `${prefix}/conv/bias`, 1) as Tensor1D;
    const s = weight(map, `${prefix}/scale/weights`, 1) as Tensor1D;
    const c = weight(map, `${prefix}/scale/biases`, 1) as Tensor1D;
    return { filters: tf.mul(filters, s) as Tensor4D, bias: tf.add(tf.mul(bias, s), c) as Tensor1D };
  });
}

function buildParams(map: NamedTensorMap): NetParams {
  const blocks = BLOCK_ORDER.map(([prefix, down]) => ({
    block: { conv1: foldConv(map, `${prefix}/conv1`), conv2: foldConv(map, `${prefix}/conv2`) },
    down,
  }));
  return {
    stem: foldConv(map, 'conv32_down'),
    blocks,
    fc: tf.clone(weight(map, 'fc', 2) as Tensor2D),
  };
}

function conv(x: Tensor4D, p: FoldedConv, stride: 1 | 2, relu: boolean): Tensor4D {
  // dlib's stride-2 convs have no padding; its stride-1 convs keep the size.
  const pad = stride === 2 ? 'valid' : 'same';
  return tf.fused.conv2d({ x, filter: p.filters, strides: stride, pad, bias: p.bias, activation: relu ? 'relu' : 'linear' });
}

/** relu(x + conv2(relu(conv1(x)))). */
function residual(x: Tensor4D, b: ResidualBlock): Tensor4D {
  const out = conv(conv(x, b.conv1, 1, true), b.conv2, 1, false);
  return tf.relu(tf.add(out, x));
}

/**
 * The down-sampling block: the main path is a stride-2 valid conv, the shortcut a 2×2 average
 * pool whose extra channels are zero (dlib's add_prev with differently-shaped inputs zero-fills).
 * When the input side is even the valid conv comes out one smaller than the pool
 * (8 → 3 vs 4, 4 → 1 vs 2): the main path is then zero-padded at the bottom and right, as dlib's
 * add layer does for mismatched spatial sizes.
 */
function residualDown(x: Tensor4D, b: ResidualBlock): Tensor4D {
  let out = conv(conv(x, b.conv1, 2, true), b.conv2, 1, false);
  let shortcut = tf.avgPool(x, 2, 2, 'valid');
  const dh = shortcut.shape[1] - out.shape[1];
  const dw = shortcut.shape[2] - out.shape[2];
  if (dh > 0 || dw > 0) out = tf.pad(out, [[0, 0], [0, dh], [0, dw], [0, 0]]);
  const dc = out.shape[3] - shortcut.shape[3];
  if (dc > 0) shortcut = tf.pad(shortcut, [[0, 0], [0, 0], [0, 0], [0, dc]]);
  return tf.relu(tf.add(out, shortcut));
}

/** [n,150,150,3] 0..255 → [n,128] L2-normalised descriptors. Call inside tf.tidy. */
function forward(params: NetParams, faces: Tensor4D): Tensor2D {
  const mean = tf.tensor1d([...MEAN_RGB]);
  const x = tf.div(tf.sub(tf.cast(faces, 'float32'), mean), 255) as Tensor4D;
  let out = tf.maxPool(conv(x, params.stem, 2, true), 3, 2, 'valid');
  for (const { block, down } of params.blocks) out = down ? residualDown(out, block) : residual(out, block);
  const descriptor = tf.matMul(tf.mean(out, [1, 2]) as Tensor2D, params.fc);
  // dlib's descriptors are compared by Euclidean distance; unit rows make that a cosine distance,
  // which is what the rest of facecast assumes.
  const norm = tf.maximum(tf.norm(descriptor, 'euclidean', 1, true), 1e-12);
  return tf.div(descriptor, norm);
}

function checkInput(faces: Tensor4D, size: number): void {
  const [, h, w, c] = faces.shape;
  if (faces.rank !== 4 || h !== size || w !== size || c !== 3) {
    throw new Error(`faceRecognitionNet expects faces of shape [n, ${size}, ${size}, 3], got [${faces.shape.join(', ')}]`);
  }
}

function disposeParams(params: NetParams): void {
  const all: tf.Tensor[] = [params.stem.filters, params.stem.bias, params.fc];
  for (const { block } of params.blocks) all.push(block.conv1.filters, block.conv1.bias, block.conv2.filters, block.conv2.bias);
  tf.dispose(all);
}

/** The embedder's name, as models and the roster record it (src/vision/setup.ts). */
export const FACE_RECOGNITION_EMBEDDER = 'faceRecognitionNet';

/** Loads the verified weights (models/manifest.json) and returns the batched embedder. */
export async function createFaceRecognitionEmbedder(): Promise<Embedder> {
  const weights = await loadWeights('faceRecognition');
  let params: NetParams | undefined;
  try {
    params = buildParams(weights);
  } finally {
    tf.dispose(Object.values(weights));
  }
  const size = FACE_RECOGNITION_INPUT_SIZE;
  return {
    name: FACE_RECOGNITION_EMBEDDER,
    inputSize: size,
    async embed(faces: Tensor4D): Promise<Float32Array[]> {
      if (!params) throw new Error('faceRecognitionNet: embed() after dispose()');
      checkInput(faces, size);
      const n = faces.shape[0];
      if (n === 0) return [];
      const p = params;
      const out = tf.tidy(() => forward(p, faces));
      try {
        const flat = (await out.data()) as Float32Array;
        return Array.from({ length: n }, (_, i) => flat.slice(i * DESCRIPTOR_LENGTH, (i + 1) * DESCRIPTOR_LENGTH));
      } finally {
        out.dispose();
      }
    },
    dispose(): void {
      if (params) disposeParams(params);
      params = undefined;
    },
  };
}
