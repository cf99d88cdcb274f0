// The "ssd" detector: face-api's SSD MobileNetV1 for boxes, then its 68-point landmark net (one
// batched pass for all faces of the image) for the five landmarks the aligner needs.
import type { Tensor3D } from '../tf.ts';
import type { DetectedFace, Detector, Landmarks5, Point } from '../types.ts';
import { detectLandmarks68, disposeLandmark68Net, loadLandmark68Net, toLandmarks5, type Landmark68Params } from '../landmarks68.ts';
import { disposeSsdNet, loadSsdNet, runSsd, type SsdNetParams } from './ssdNet.ts';

export interface SsdOptions {
  /**
   * A face is reported when its detector score (0..1) is above this. face-api's default, 0.5,
   * finds all 23 labelled faces of the group test photos (the weakest scores 0.52) with no false
   * positive. Tight face crops score lower: 0.3 finds 33 of the 40 padded gallery crops instead
   * of 29, still with no false positive there; lower costs false positives on busy scenes.
   */
  minConfidence: number;
  /** Most faces reported per image, best score first. */
  maxResults: number;
  /**
   * Non-maximum suppression: a box overlapping a better-scoring one by more than this
   * intersection-over-union (0..1) is taken for the same face and dropped. face-api uses 0.5.
   */
  iouThreshold: number;
  /**
   * Faces whose box is narrower or shorter than this many pixels are dropped (0 keeps all). The
   * landmark net sees faces at 112×112, so landmarks on very small faces are guesses.
   */
  minFaceSize: number;
}

export const DEFAULT_SSD_OPTIONS: Readonly<SsdOptions> = Object.freeze({
  minConfidence: 0.5,
  maxResults: 100,
  iouThreshold: 0.5,
  minFaceSize: 0,
});

/** A detected face with the 68 landmarks (iBUG 300-W order, image pixels) the five come from. */
export interface SsdFace extends DetectedFace {
  landmarks68: Point[];
}

export interface SsdDetector extends Detector {
  readonly name: 'ssd';
  readonly options: Readonly<SsdOptions>;
  /** detect() plus the full 68 landmarks per face, for alignment experiments. */
  detectWithLandmarks68(image: Tensor3D): Promise<SsdFace[]>;
}

/**
 * Merges options over the defaults and rejects values the detector cannot use. The ranges are
 * the config schema's: minConfidence 0 keeps every anchor (then maxResults bounds the work),
 * iouThreshold 0 lets no two boxes overlap at all.
 */
export function resolveSsdOptions(options: Partial<SsdOptions> = {}): SsdOptions {
  const o = { ...DEFAULT_SSD_OPTIONS, ...options };
  const unit = (v: number) => v >= 0 && v <= 1;
  if (!unit(o.minConfidence)) throw new RangeError(`ssd: minConfidence must be in [0, 1], got ${o.minConfidence}`);
  if (!(Number.isInteger(o.maxResults) && o.maxResults >= 1)) throw new RangeError(`ssd: maxResults must be a positive integer, got ${o.maxResults}`);
  if (!unit(o.iouThreshold)) throw new RangeError(`ssd: iouThreshold must be in [0, 1], got ${o.iouThreshold}`);
  if (!(o.minFaceSize >= 0)) throw new RangeError(`ssd: minFaceSize must be >= 0, got ${o.minFaceSize}`);
  return o;
}

/**
 * The 68-point net's eye and mouth-corner order is anatomical; the pipeline wants image order
 * (smaller x first). They differ only on odd inputs (e.g. a face seen upside down), but then the
 * aligner would mirror the face, so swap each pair that is out of order.
 */
export function orderLeftRight(l: Landmarks5): Landmarks5 {
  const [le, re, nose, ml, mr] = l;
  const [eyeL, eyeR] = le[0] <= re[0] ? [le, re] : [re, le];
  const [mouthL, mouthR] = ml[0] <= mr[0] ? [ml, mr] : [mr, ml];
  return [eyeL, eyeR, nose, mouthL, mouthR];
}

async function detectFaces(ssd: SsdNetParams, lm: Landmark68Params, opts: SsdOptions, image: Tensor3D): Promise<SsdFace[]> {
  const found = (await runSsd(ssd, image, opts)).filter(
    ({ box }) => box[2] > 0 && box[3] > 0 && Math.min(box[2], box[3]) >= opts.minFaceSize,
  );
  const points = await detectLandmarks68(lm, image, found.map((f) => f.box));
  return found.map((f, i) => ({ box: f.box, score: f.score, landmarks: orderLeftRight(toLandmarks5(points[i]!)), landmarks68: points[i]! }));
}

/**
 * Loads both nets (weights come sha256-checked from the face-api package) and returns the detector.
 * `sharedLandmarks68` lends it a 68-point net someone else owns (the engine's, which the landmarks68
 * aligner uses too): then the weights are in memory once and the detector does not dispose them.
 */
export async function createSsdDetector(options: Partial<SsdOptions> = {}, sharedLandmarks68?: () => Promise<Landmark68Params>): Promise<SsdDetector> {
  const opts = resolveSsdOptions(options);
  const ssd = await loadSsdNet();
  let lm: Landmark68Params;
  try {
    lm = await (sharedLandmarks68 ?? loadLandmark68Net)();
  } catch (err) {
    disposeSsdNet(ssd);
    throw err;
  }
  let disposed = false;
  const run = (image: Tensor3D): Promise<SsdFace[]> => {
    if (disposed) return Promise.reject(new Error('ssd detector: detect() after dispose()'));
    if (image.rank !== 3 || image.shape[2] !== 3) {
      return Promise.reject(new Error(`ssd detector: expected an image tensor [h, w, 3], got [${image.shape.join(', ')}]`));
    }
    return detectFaces(ssd, lm, opts, image);
  };
  return {
    name: 'ssd',
    options: Object.freeze({ ...opts }),
    detectWithLandmarks68: run,
    async detect(image) {
      return (await run(image)).map(({ box, score, landmarks }) => ({ box, score, landmarks }));
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      disposeSsdNet(ssd);
      if (!sharedLandmarks68) disposeLandmark68Net(lm);
    },
  };
}
