// The one place the project imports TensorFlow.js. Every backend package registers itself on this
// same tfjs-core instance (npm dedupes it), so tensors and kernels are shared whatever runs them.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D, NamedTensorMap } from '@tensorflow/tfjs-core';

// Production mode: skips tfjs's per-op debug checks and its console banner about tfjs-node; facecast
// reports the backend it chose itself (see backend.ts).
tf.env().set('PROD', true);
