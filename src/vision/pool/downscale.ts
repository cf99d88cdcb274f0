// The detector's copy of a big frame: smaller, so detection costs less, while alignment and
// embedding still cut faces from the full-resolution frame (small faces keep their detail).
import { tf, type Tensor3D } from '../tf.ts';
import type { DetectedFace, Landmarks5, Point } from '../types.ts';

export interface DetectionInput {
  /** The tensor to detect on: `image` itself when no downscale was needed (then do not dispose it twice). */
  input: Tensor3D;
  /** Full-resolution pixels per detection pixel, along x and y (1 when not downscaled). */
  scaleX: number;
  scaleY: number;
}

/**
 * Downscales `image` ([h, w, 3]) so its longer side is at most maxSide (0 = never). Integer factors
 * go through an average pool first: bilinear sampling alone reads 2 × 2 pixels per output pixel and
 * aliases at 3× and more, which costs the detector small faces. Coordinates stay continuous (pixel k
 * spans [k, k + 1)), so a point maps back by plain multiplication.
 */
export function detectionInput(image: Tensor3D, maxSide: number): DetectionInput {
  const [height, width] = image.shape;
  const longer = Math.max(height, width);
  if (maxSide <= 0 || longer <= maxSide) return { input: image, scaleX: 1, scaleY: 1 };
  const scale = maxSide / longer;
  const outH = Math.max(1, Math.round(height * scale));
  const outW = Math.max(1, Math.round(width * scale));
  const pool = Math.max(1, Math.floor(1 / scale));
  // The pool's 'valid' windows drop the last (width mod pool) columns and rows: under pool pixels.
  const pooledH = Math.floor(height / pool);
  const pooledW = Math.floor(width / pool);
  const input = tf.tidy(() => {
    let x = tf.cast(image, 'float32');
    if (pool > 1) x = tf.avgPool(x, pool, pool, 'valid');
    if (pooledH !== outH || pooledW !== outW) x = tf.image.resizeBilinear(x, [outH, outW], false, true);
    return x;
  });
  return { input, scaleX: (pool * pooledW) / outW, scaleY: (pool * pooledH) / outH };
}

/** A face found on the detection copy, in full-resolution pixels. */
export function mapFaceBack(face: DetectedFace, scaleX: number, scaleY: number): DetectedFace {
  if (scaleX === 1 && scaleY === 1) return face;
  const p = ([x, y]: Point): Point => [x * scaleX, y * scaleY];
  const [x, y, w, h] = face.box;
  return {
    box: [x * scaleX, y * scaleY, w * scaleX, h * scaleY],
    score: face.score,
    landmarks: face.landmarks.map(p) as Landmarks5,
  };
}
