// The saved form of a trained roster classifier (plain JSON), declared once as a zod schema so that
// a model file is validated, with a readable message, before anything trusts its numbers.
import { z } from 'zod';
import { adapterSchema } from './adapt/adapter.ts';
import { openSetSchema } from './openset/rule.ts';

export const MODEL_FORMAT = 'facecast-linear-svm';
export const MODEL_VERSION = 1;

const probability = z.number().min(0).max(1);

export const thresholdsSchema = z.object({
  pMin: probability.describe('accept only when the calibrated probability of the best player is at least this'),
  marginMin: z.number().min(-1).max(1).describe('… and it beats the runner-up probability by at least this'),
  distMax: z.number().nonnegative().describe('… and the face lies within this euclidean distance of one of its enrolled embeddings'),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;

export const openSetOptionsSchema = z.object({
  setup: z.string().describe('embedding setup key (embedder/detector/alignment) whose distance statistics to use; empty: none'),
  falseAcceptRate: probability.describe('target share of strangers\' faces given a name, per face, for the whole roster'),
  fittedGatesMinPhotos: z
    .number()
    .int()
    .min(1)
    .describe('the roster-fitted gates tighten the rule only when every player has at least this many photos (fewer cannot estimate them)'),
});
export type OpenSetOptions = z.infer<typeof openSetOptionsSchema>;

export const trainOptionsSchema = z.object({
  cGrid: z.array(z.number().positive()).min(1).describe('SVM C values tried by cross-validation'),
  folds: z.number().int().min(2).describe('k of the k-fold cross-validation (over photo groups)'),
  eps: z.number().positive().describe('dual coordinate descent stopping tolerance'),
  maxIter: z.number().int().positive().describe('dual coordinate descent epoch cap'),
  seed: z.number().int().describe('seed of fold assignment and solver permutations'),
  bias: z.number().nonnegative().describe('value of the augmented constant feature (0: no bias)'),
  balanceClasses: z.boolean().describe('weight C per side so positives and negatives count equally'),
  leaveIdentityOut: z.boolean().describe('hold out each player entirely to measure stranger false accepts'),
  targetFalseAcceptRate: probability.describe('largest tolerated false-accept rate on the held-out trials'),
  safetyProbability: z.number().nonnegative().describe('held-out impostor probabilities are raised by this before choosing pMin'),
  safetyMargin: z.number().nonnegative().describe('held-out impostor margins are raised by this before choosing marginMin'),
  safetyDistance: z.number().nonnegative().describe('held-out impostor distances are lowered by this before choosing distMax'),
  pMinFloor: probability.describe('pMin is never chosen below this'),
  marginMinFloor: probability.describe('marginMin is never chosen below this'),
  distMaxCeiling: z.number().positive().describe('distMax is never chosen above this'),
  galleryDecimals: z.number().int().min(1).max(17).describe('enrolled embeddings are saved rounded to this many decimals'),
  thresholds: thresholdsSchema.partial().optional().describe('fixed thresholds that replace the chosen ones'),
  openSet: openSetOptionsSchema.optional().describe('the open-set rule from the embedder\'s measured distances (absent: roster-fitted gates only)'),
  leaveIdentityOutMax: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('leave out at most this many players (spread over the roster) for stranger trials: each costs a retraining of every other player'),
});
export type TrainOptions = z.infer<typeof trainOptionsSchema>;

export const cvPointSchema = z.object({
  C: z.number().positive(),
  accuracy: probability.describe('held-out identification accuracy (argmax of decision values)'),
  hingeLoss: z.number().nonnegative().describe('mean held-out hinge loss over all binary problems (tie-break)'),
});

export const metricsSchema = z.object({
  C: z.number().positive().describe('chosen C'),
  cvAccuracy: probability.describe('held-out identification accuracy at the chosen C'),
  cv: z.array(cvPointSchema),
  players: z.number().int().positive(),
  samples: z.number().int().nonnegative(),
  negatives: z.number().int().nonnegative(),
  folds: z.number().int().nonnegative().describe('non-empty folds actually used'),
  genuineTrials: z.number().int().nonnegative().describe('held-out photos of enrolled players'),
  strangerTrials: z.number().int().nonnegative().describe('held-out negatives + left-out players'),
  impostorTrials: z.number().int().nonnegative().describe('stranger trials + genuine trials whose best guess was wrong'),
  genuineAcceptRate: probability.describe('share of genuine trials named correctly under the chosen thresholds'),
  falseAccepts: z.number().int().nonnegative(),
  falseAcceptRate: probability.describe('false accepts / impostor trials under the chosen thresholds'),
  thresholdSource: z.enum(['data', 'no-impostors', 'override']),
  svmSolves: z.number().int().nonnegative(),
  nonConverged: z.number().int().nonnegative().describe('solves that hit maxIter'),
  trainingMs: z.number().nonnegative(),
  warnings: z.array(z.string()),
});
export type TrainingMetrics = z.infer<typeof metricsSchema>;

export const savedClassSchema = z.object({
  label: z.string().min(1),
  w: z.array(z.number()),
  b: z.number(),
  platt: z.object({ A: z.number().max(0, 'Platt A must be ≤ 0 (probability non-decreasing in the decision value)'), B: z.number() }),
  gallery: z.array(z.array(z.number())).min(1).describe('enrolled embeddings for the distance gate'),
});
export type SavedClass = z.infer<typeof savedClassSchema>;

export const savedModelSchema = z
  .object({
    format: z.literal(MODEL_FORMAT),
    version: z.literal(MODEL_VERSION),
    created: z.iso.datetime(),
    dim: z.number().int().positive(),
    classes: z.array(savedClassSchema).min(1),
    thresholds: thresholdsSchema,
    options: trainOptionsSchema,
    metrics: metricsSchema,
    openSet: openSetSchema.optional().describe('the open-set rule (threshold from the embedder statistics, reference photos); absent in models trained before it'),
    adapter: adapterSchema.optional().describe('triplet head on the embeddings (facecast train --adapt); applied before the SVMs only when adapter.used'),
  })
  .superRefine((m, ctx) => {
    if (m.openSet && m.openSet.references.length !== m.classes.length) {
      ctx.addIssue({ code: 'custom', path: ['openSet', 'references'], message: `has ${m.openSet.references.length} classes, expected ${m.classes.length}` });
    }
    if (m.adapter && m.adapter.dim !== m.dim) ctx.addIssue({ code: 'custom', path: ['adapter', 'dim'], message: `is ${m.adapter.dim}, expected dim = ${m.dim}` });
    // Shapes that zod cannot express per field: every vector has the model's dimension, labels are unique.
    const seen = new Set<string>();
    m.classes.forEach((c, i) => {
      if (seen.has(c.label)) ctx.addIssue({ code: 'custom', path: ['classes', i, 'label'], message: `duplicate label "${c.label}"` });
      seen.add(c.label);
      if (c.w.length !== m.dim) ctx.addIssue({ code: 'custom', path: ['classes', i, 'w'], message: `has ${c.w.length} weights, expected dim = ${m.dim}` });
      c.gallery.forEach((g, j) => {
        if (g.length !== m.dim) ctx.addIssue({ code: 'custom', path: ['classes', i, 'gallery', j], message: `has ${g.length} values, expected dim = ${m.dim}` });
      });
    });
  });
export type SavedModel = z.infer<typeof savedModelSchema>;

/** Validate unknown JSON as a saved model; throws an Error whose message lists every problem. */
export function parseSavedModel(json: unknown): SavedModel {
  const r = savedModelSchema.safeParse(json);
  if (!r.success) throw new Error(`invalid facecast classifier model:\n${z.prettifyError(r.error)}`);
  return r.data;
}
