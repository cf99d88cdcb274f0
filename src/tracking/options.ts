// Every threshold of the tracker, the shot-cut detector and the per-track identity vote, validated
// and described in one place. The lead merges `trackingConfigSchema` into the main config; the
// modules take `Partial<…>` of their block and fill the rest from `DEFAULT_TRACKING_CONFIG`.
import { z } from 'zod';

const unit = () => z.number().min(0).max(1);

export const kalmanConfigSchema = z
  .object({
    positionNoise: z
      .number()
      .positive()
      .describe('Process noise std of box centre and size per frame, as a fraction of box height: unexpected movement per frame.'),
    velocityNoise: z
      .number()
      .positive()
      .describe('Process noise std of the velocities per frame, as a fraction of box height: how quickly motion may change.'),
    measurementNoise: z
      .number()
      .positive()
      .describe('Std of a detected box edge position, as a fraction of box height: detector jitter.'),
    initialVelocityStd: z
      .number()
      .positive()
      .describe('Std of the unknown velocity of a new track, fraction of box height per frame; large = velocity learnt from the 2nd detection.'),
  })
  .describe('Constant-velocity Kalman filter on (centre x, centre y, width, height); noise scales with the box so near and far faces behave alike.');

export const trackerConfigSchema = z
  .object({
    highScore: unit().describe('Detections scoring at least this are "high": matched first, against every confirmed and lost track.'),
    lowScore: unit().describe('Detections below this are ignored; between lowScore and highScore they may only keep a visible confirmed track alive.'),
    newTrackScore: unit().describe('An unmatched high detection starts a track only when it scores at least this.'),
    matchIoU: unit().describe('Least IoU between a predicted track box and a high detection for them to be matched (first pass).'),
    lowMatchIoU: unit().describe('Least IoU for a low detection to continue a track (second pass; stricter, these are doubtful faces).'),
    tentativeMatchIoU: unit().describe('Least IoU for a high detection to continue a tentative (not yet confirmed) track.'),
    minHits: z.number().int().min(1).describe('Matched detections (counting the first) after which a tentative track is confirmed.'),
    maxAge: z.number().int().min(0).describe('Frames a confirmed track is kept as lost (box predicted) without a detection before it is removed.'),
    tentativeMaxAge: z.number().int().min(0).describe('Frames a tentative track may miss before it is removed (0 = removed at its first miss).'),
  })
  .refine((o) => o.lowScore <= o.highScore && o.highScore <= o.newTrackScore, {
    message: 'scores must be ordered lowScore ≤ highScore ≤ newTrackScore',
    path: ['highScore'],
  })
  .describe('ByteTrack-style association and track lifecycle (tentative → confirmed → lost → removed). Frames count in source seq units.');

export const embeddingConfigSchema = z
  .object({
    recheckEvery: z
      .number()
      .int()
      .min(1)
      .describe('A named track asks for a new embedding when this many frames have passed since its last one (unnamed tracks ask every frame).'),
    maxPerFrame: z
      .number()
      .int()
      .min(0)
      .describe('Most faces embedded per frame (0 = no limit): unnamed tracks first, best quality first, then the stalest re-checks.'),
    ambiguousIoU: unit().describe('A detection overlapping another by at least this IoU gives no identity evidence and hides its track\'s name until re-verified.'),
    reverifyAfterLost: z
      .number()
      .int()
      .min(1)
      .describe('A named track re-found after missing at least this many frames hides its name until an embedding confirms it.'),
  })
  .describe('Which faces need an embedding this frame.');

export const identityConfigSchema = z
  .object({
    minQuality: unit().describe('Observations of lower face quality are ignored entirely.'),
    acceptBase: unit().describe('Evidence of an accepted answer = quality × (acceptBase + (1 − acceptBase) × classifier confidence).'),
    unknownWeight: z.number().min(0).describe('Evidence of an "unknown" answer = quality × unknownWeight; it counts against every name.'),
    decay: z.number().gt(0).max(1).describe('Every counted observation first multiplies all older evidence by this (0.9 ≈ memory of 10 observations).'),
    minObservations: z.number().int().min(1).describe('Accepted observations of a player needed before the track may get that name.'),
    giveEvidence: z.number().min(0).describe('Decayed evidence a player needs before the track gets the name.'),
    giveSupport: unit().describe("Share of all decayed evidence (unknown included) a player needs before the track gets the name."),
    keepSupport: unit().describe('A given name is dropped (back to no name) when its share of the evidence falls below this.'),
    switchMargin: z
      .number()
      .min(0)
      .describe(
        'A rival qualifying for the name replaces the current one directly only with this much more evidence. With giveSupport + keepSupport > 1 (the defaults) a rival never qualifies while the name holds: the name always drops to none first.',
      ),
    confidencePrior: z.number().min(0).describe('Pseudo-evidence added to the total when reporting confidence, so few observations never read as 1.'),
    frameCorrelation: unit().describe(
      'How alike consecutive faces of one track are, 0 (independent) … 1 (copies): n faces count as n / (1 + frameCorrelation·(n − 1)) faces of evidence. A face the open-set rule held back counts as accepted once its candidate\'s summed log-likelihood ratio, so discounted, reaches what one face on the threshold gives.',
    ),
  })
  .refine((o) => o.keepSupport <= o.giveSupport, { message: 'keepSupport must be ≤ giveSupport (hysteresis)', path: ['keepSupport'] })
  .describe('Per-track identity from quality-weighted classifier answers, with hysteresis. A wrong name on air is worse than none.');

export const shotCutConfigSchema = z
  .object({
    hueBins: z.number().int().min(1).max(64).describe('Hue bins of the HSV colour histogram (hue wraps around).'),
    saturationBins: z.number().int().min(1).max(64).describe('Saturation bins of the histogram.'),
    valueBins: z.number().int().min(1).max(64).describe('Value (brightness) bins of the histogram.'),
    sampleWidth: z.number().int().min(8).max(1024).describe('Columns of the sampling grid over the frame (rows follow the aspect ratio).'),
    metric: z
      .enum(['bhattacharyya', 'chiSquare'])
      .describe('Histogram distance, 0 (same) … 1 (disjoint). Thresholds differ: chiSquare ≈ squared, so threshold 0.1 / floor 0.03 there are about 0.25 / 0.12 for bhattacharyya.'),
    threshold: unit().describe('A frame-to-frame distance at least this is always a cut.'),
    adaptive: z.boolean().describe('Also cut on a smaller jump that stands out from the recent differences of this shot.'),
    window: z.number().int().min(1).describe('Recent non-cut differences averaged as the adaptive baseline.'),
    ratio: z.number().min(1).describe('Adaptive: a cut when the distance is at least ratio × baseline …'),
    floor: unit().describe('… and at least this (so noise in a static shot never cuts).'),
  })
  .describe('Shot-cut detection from colour histograms of consecutive frames; a cut ends every track.');

export const trackingConfigSchema = z
  .object({
    kalman: kalmanConfigSchema,
    tracker: trackerConfigSchema,
    embedding: embeddingConfigSchema,
    identity: identityConfigSchema,
    shotCut: shotCutConfigSchema,
  })
  .describe('Face tracking across frames, shot cuts and per-track identity.');

export type KalmanConfig = z.infer<typeof kalmanConfigSchema>;
export type TrackerConfig = z.infer<typeof trackerConfigSchema>;
export type EmbeddingConfig = z.infer<typeof embeddingConfigSchema>;
export type IdentityConfig = z.infer<typeof identityConfigSchema>;
export type ShotCutConfig = z.infer<typeof shotCutConfigSchema>;
export type TrackingConfig = z.infer<typeof trackingConfigSchema>;

export const DEFAULT_TRACKING_CONFIG: TrackingConfig = {
  kalman: {
    positionNoise: 0.05,
    velocityNoise: 0.01,
    measurementNoise: 0.05,
    initialVelocityStd: 0.5,
  },
  tracker: {
    highScore: 0.6,
    lowScore: 0.3,
    newTrackScore: 0.7,
    matchIoU: 0.2,
    lowMatchIoU: 0.5,
    tentativeMatchIoU: 0.3,
    minHits: 3,
    maxAge: 30,
    tentativeMaxAge: 0,
  },
  embedding: {
    recheckEvery: 10,
    maxPerFrame: 0,
    ambiguousIoU: 0.15,
    reverifyAfterLost: 3,
  },
  identity: {
    minQuality: 0.15,
    acceptBase: 0.5,
    unknownWeight: 0.5,
    decay: 0.9,
    minObservations: 3,
    giveEvidence: 1.5,
    giveSupport: 0.7,
    keepSupport: 0.5,
    switchMargin: 1,
    confidencePrior: 1,
    frameCorrelation: 0.5,
  },
  shotCut: {
    hueBins: 16,
    saturationBins: 4,
    valueBins: 4,
    sampleWidth: 128,
    metric: 'chiSquare',
    threshold: 0.1,
    adaptive: true,
    window: 30,
    ratio: 4,
    floor: 0.03,
  },
};

/** One block of the config: the defaults with `partial` on top, validated (throws listing every problem). */
export function resolveBlock<K extends keyof TrackingConfig>(key: K, partial: Partial<TrackingConfig[K]> = {}): TrackingConfig[K] {
  const merged = { ...DEFAULT_TRACKING_CONFIG[key], ...partial };
  return trackingConfigSchema.shape[key].parse(merged) as TrackingConfig[K];
}
