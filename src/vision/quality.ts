// How much a face observation is worth as evidence: big, sharp, frontal, confidently detected
// faces count more. Used to weight enrolment views and (later) per-track identity evidence.
import type { Box, DetectedFace, RgbImage } from './types.ts';

/** Face width (px) from which size stops adding quality: the embedder's input is 150 px. */
const FULL_QUALITY_WIDTH = 80;

/**
 * Frontalness from the 5 points, 0 (profile) … 1 (frontal): how far the nose sits from the midpoint
 * of the eyes, relative to half the eye distance. A turned head moves the nose towards one eye.
 */
export function frontalness(face: Pick<DetectedFace, 'landmarks'>): number {
  const [le, re, nose] = face.landmarks;
  const eyeDist = Math.hypot(re[0] - le[0], re[1] - le[1]);
  if (eyeDist < 1e-6) return 0;
  const midX = (le[0] + re[0]) / 2;
  const midY = (le[1] + re[1]) / 2;
  // Project the nose offset onto the eye line so in-plane rotation does not count as a turn.
  const ux = (re[0] - le[0]) / eyeDist;
  const uy = (re[1] - le[1]) / eyeDist;
  const along = (nose[0] - midX) * ux + (nose[1] - midY) * uy;
  return Math.max(0, 1 - Math.abs(along) / (eyeDist / 2));
}

/**
 * Sharpness 0…1 from the variance of a Laplacian over the face resampled to SHARPNESS_SIDE
 * pixels (see laplacianVariance), saturating at 300: a motion-blurred or up-scaled face reads far
 * lower. On the group photos, sharp faces read 540–1200 at full size and 210–430 at half size.
 */
export function sharpnessFromLaplacianVariance(variance: number): number {
  return Math.max(0, Math.min(1, variance / 300));
}

/** Quality 0…1: size × detector score × frontalness (× sharpness when known). */
export function faceQuality(face: DetectedFace, sharpness = 1): number {
  const size = Math.min(1, face.box[2] / FULL_QUALITY_WIDTH);
  return size * face.score * (0.25 + 0.75 * frontalness(face)) * sharpness;
}

/** Side of the grid the face is resampled to before measuring sharpness. */
export const SHARPNESS_SIDE = 80;

/**
 * Variance of the 4-neighbour Laplacian of the grey face, measured on the box resampled
 * (bilinear) to SHARPNESS_SIDE × SHARPNESS_SIDE. Resampling first makes the number independent of
 * how many pixels the face covers: measured on the raw pixels, a close-up reads as blurrier than
 * the same face far away, because each pixel then holds less detail.
 */
export function laplacianVariance(img: RgbImage, box: Box): number {
  const n = SHARPNESS_SIDE;
  const grey = new Float32Array(n * n);
  const at = (x: number, y: number) => {
    const cx = Math.min(img.width - 1, Math.max(0, x));
    const cy = Math.min(img.height - 1, Math.max(0, y));
    const i = (cy * img.width + cx) * 3;
    return 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
  };
  for (let gy = 0; gy < n; gy++) {
    const y = box[1] + ((gy + 0.5) * box[3]) / n - 0.5;
    const y0 = Math.floor(y);
    const fy = y - y0;
    for (let gx = 0; gx < n; gx++) {
      const x = box[0] + ((gx + 0.5) * box[2]) / n - 0.5;
      const x0 = Math.floor(x);
      const fx = x - x0;
      grey[gy * n + gx] =
        (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
    }
  }
  let count = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = 1; y < n - 1; y++) {
    for (let x = 1; x < n - 1; x++) {
      const i = y * n + x;
      const l = grey[i - 1]! + grey[i + 1]! + grey[i - n]! + grey[i + n]! - 4 * grey[i]!;
      count++;
      sum += l;
      sumSq += l * l;
    }
  }
  return count > 1 ? sumSq / count - (sum / count) ** 2 : 0;
}
