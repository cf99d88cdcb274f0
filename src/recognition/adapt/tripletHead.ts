// The trainable triplet head on the frozen 128-D embeddings, in TensorFlow.js on whatever backend
// is active: y = normalise(x·W + b), W initialised to the identity and b to zero, so the untrained
// head changes nothing (an L2-normalised input comes out as itself).
import { tf, type Tensor, type Tensor2D } from '../../vision/tf.ts';
import type { Variable } from '@tensorflow/tfjs-core';
import { identityWeights, type HeadWeights } from './adapter.ts';

export class TripletHead {
  readonly dim: number;
  readonly W: Variable;
  readonly b: Variable;

  constructor(dim: number, init: HeadWeights = identityWeights(dim)) {
    if (init.dim !== dim) throw new Error(`initial weights are ${init.dim}-D, the head is ${dim}-D`);
    this.dim = dim;
    // Made in tidy: tidy keeps variables and disposes the initial-value tensors they copied.
    this.W = tf.tidy(() => tf.variable(tf.tensor2d(Float32Array.from(init.W), [dim, dim]), true, undefined, 'float32'));
    this.b = tf.tidy(() => tf.variable(tf.tensor1d(Float32Array.from(init.b)), true, undefined, 'float32'));
  }

  /** normalise(x·W + b), row by row. Call inside tf.tidy (or dispose the result). */
  apply(x: Tensor2D): Tensor2D {
    return tf.tidy(() => this.forward(x).y);
  }

  /** The forward pass with what the backward pass needs: z = x·W + b, r = ‖z‖ per row, y = z / r. */
  forward(x: Tensor2D): { y: Tensor2D; r: Tensor2D } {
    return tf.tidy(() => {
      const z = tf.add(tf.matMul(x, this.W), this.b) as Tensor2D;
      const r = tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), 1e-12)) as Tensor2D;
      return { y: tf.div(z, r) as Tensor2D, r };
    });
  }

  /**
   * Gradients of  L(y) + λ(‖W − I‖² + ‖b‖²)  with respect to W and b, given x, the forward pass
   * (y, r) and dL/dy. Written out rather than taken from tf.grad: tfjs-core registers no gradient
   * kernels by itself (they ship with tfjs-layers / the tfjs bundle, which facecast does not load).
   * Through the normalisation, dz = (dy − y·(y·dy)) / r; then dW = xᵀ·dz and db = Σ_rows dz.
   * Keyed by variable name, ready for optimizer.applyGradients(). Call inside tf.tidy.
   */
  gradients(x: Tensor2D, y: Tensor2D, r: Tensor2D, dy: Tensor2D, decay: number): { name: string; tensor: Tensor }[] {
    const dz = tf.div(tf.sub(dy, tf.mul(y, tf.sum(tf.mul(y, dy), 1, true))), r);
    const dW = tf.add(tf.matMul(x, dz, true, false), tf.mul(tf.sub(this.W, tf.eye(this.dim)), 2 * decay));
    const db = tf.add(tf.sum(dz, 0), tf.mul(this.b, 2 * decay));
    return [
      { name: this.W.name, tensor: dW },
      { name: this.b.name, tensor: db },
    ];
  }

  /** ‖W − I‖²_F + ‖b‖²: how far the head has moved from "no change". */
  distanceFromIdentity(): number {
    return tf.tidy(() => tf.add(tf.sum(tf.square(tf.sub(this.W, tf.eye(this.dim)))), tf.sum(tf.square(this.b))).dataSync()[0]!);
  }

  /** A copy of the current weights as plain arrays. */
  weights(): HeadWeights {
    return { dim: this.dim, W: Float64Array.from(this.W.dataSync()), b: Float64Array.from(this.b.dataSync()) };
  }

  setWeights(w: HeadWeights): void {
    tf.tidy(() => {
      this.W.assign(tf.tensor2d(Float32Array.from(w.W), [this.dim, this.dim]));
      this.b.assign(tf.tensor1d(Float32Array.from(w.b)));
    });
  }

  /** Embeddings through the head, as a row-major Float32Array (n × dim). */
  transform(x: ArrayLike<number>, n: number): Float32Array {
    return tf.tidy(() => this.apply(tf.tensor2d(Float32Array.from(x), [n, this.dim])).dataSync() as Float32Array);
  }

  dispose(): void {
    this.W.dispose();
    this.b.dispose();
  }
}
