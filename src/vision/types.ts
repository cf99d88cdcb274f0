// The small interfaces between vision stages. A new model is one new file implementing one of these.
import type { Tensor3D, Tensor4D } from './tf.ts';

/** Five facial landmarks in image pixels, always in this order. */
export type Landmarks5 = [
  leftEye: Point,
  rightEye: Point,
  nose: Point,
  mouthLeft: Point,
  mouthRight: Point,
];
export type Point = [x: number, y: number];

/** [x, y, width, height] in image pixels. */
export type Box = [x: number, y: number, w: number, h: number];

export interface DetectedFace {
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  /** Eye (left of image), eye (right of image), nose tip, mouth corner (left), mouth corner (right). */
  landmarks: Landmarks5;
  /**
   * The 68 points of the landmark net (iBUG 300-W order, image pixels), when an aligner that fits
   * them asked the engine for them. Never sent across threads or sockets.
   */
  landmarks68?: Point[];
}

/** Decoded image, RGB, 8 bit, row-major, no alpha. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface Detector {
  readonly name: 'mtcnn' | 'ssd' | (string & {});
  /** Finds faces in one image tensor (int32 or float32, [h, w, 3], values 0..255). */
  detect(image: Tensor3D): Promise<DetectedFace[]>;
  dispose(): void;
}

export interface Aligner {
  readonly name: string;
  /** Fits DetectedFace.landmarks68: the engine runs the 68-point net on faces that lack them first. */
  readonly usesLandmarks68?: boolean;
  /**
   * Cuts every face of one image to the embedder's input in one batched warp.
   * Returns float32 [n, size, size, 3], values 0..255. The caller disposes it.
   */
  align(image: Tensor3D, faces: DetectedFace[], size: number): Tensor4D;
}

export interface Embedder {
  readonly name: string;
  /** Side of the square RGB crop the embedder takes. */
  readonly inputSize: number;
  /** Embeds a batch of aligned faces ([n, size, size, 3], 0..255) in one call; L2-normalised rows. */
  embed(faces: Tensor4D): Promise<Float32Array[]>;
  dispose(): void;
}
