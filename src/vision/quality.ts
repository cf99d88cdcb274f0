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
 * Sharpness 0…1 from the variance of a Laplacian over the face (grey levels), saturating at 400:
 * a broadcast face that motion-blurred reads well under 50.
 */
export function sharpnessFromLaplacianVariance(variance: number): number {
  return Math.max(0, Math.min(1, variance / 400));
}

/** Quality 0…1: size × detector score × frontalness (× sharpness when known). */
export function faceQuality(face: DetectedFace, sharpness = 1): number {
  const size = Math.min(1, face.box[2] / FULL_QUALITY_WIDTH);
  return size * face.score * (0.25 + 0.75 * frontalness(face)) * sharpness;
}

/** Variance of the 4-neighbour Laplacian of the grey image inside box (clipped to the image). */
export function laplacianVariance(img: RgbImage, box: Box): number {
  const x0 = Math.max(1, Math.floor(box[0]));
  const y0 = Math.max(1, Math.floor(box[1]));
  const x1 = Math.min(img.width - 2, Math.ceil(box[0] + box[2]));
  const y1 = Math.min(img.height - 2, Math.ceil(box[1] + box[3]));
  const grey = (x: number, y: number) => {
    const i = (y * img.width + x) * 3;
    return 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
  };
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const l = grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y);
      n++;
      sum += l;
      sumSq += l * l;
    }
  }
  return n > 1 ? sumSq / n - (sum / n) ** 2 : 0;
}
