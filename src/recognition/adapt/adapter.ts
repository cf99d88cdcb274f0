// The stored triplet head ("adapter") and how inference applies it: y = normalise(x·W + b), plain
// JavaScript, no TensorFlow.js. It lives in the saved classifier model as the optional `adapter`
// field, with the numbers that decided whether it is used: a model whose adapter says used: false
// (or that has none) classifies raw embeddings.
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const share = z.number().min(0).max(1);

/** Held-out identification on the roster, raw embeddings or through the head. */
export const adapterCvSchema = z.object({
  trials: z.number().int().nonnegative().describe('held-out real photos of enrolled players'),
  accuracy: share.describe('share named correctly, as on air: the right player and all three gates passed (the decision rests on this)'),
  wrongNames: z.number().int().nonnegative().describe('held-out photos given the wrong player\'s name'),
  rank1: share.describe('share whose best-scoring player is the right one, gates ignored'),
  strangerTrials: z.number().int().nonnegative().describe('held-out negative-pool faces'),
  falseAccepts: z.number().int().nonnegative().describe('held-out negatives given a name'),
});
export type AdapterCv = z.infer<typeof adapterCvSchema>;

export const adapterLfwSchema = z.object({
  root: z.string(),
  trainPairs: z.number().int().nonnegative(),
  testPairs: z.number().int().nonnegative(),
  raw: z.object({ threshold: z.number(), devTrain: share, devTest: share }),
  adapted: z.object({ threshold: z.number(), devTrain: share, devTest: share }),
  deltaPoints: z.number().describe('adapted − raw DevTest accuracy, in percentage points'),
  maxDeltaPoints: z.number().nonnegative().describe('|deltaPoints| must not exceed this for the head to be used'),
});
export type AdapterLfw = z.infer<typeof adapterLfwSchema>;

export const adapterTrainingSchema = z.object({
  selection: z.enum(['semi-hard', 'batch-hard']),
  margin: z.number().positive(),
  playersPerBatch: z.number().int().positive(),
  facesPerPlayer: z.number().int().positive(),
  epochs: z.number().int().nonnegative().describe('epochs run'),
  bestEpoch: z.number().int().nonnegative().describe('epoch whose weights were kept (0 = identity)'),
  steps: z.number().int().nonnegative(),
  validation: z.string().describe('what early stopping watched'),
  validationLoss: z.object({ initial: z.number(), best: z.number() }),
  trainingMs: z.number().nonnegative(),
  backend: z.string(),
});

export const adapterSchema = z
  .object({
    kind: z.literal('linear-l2').describe('y = (x·W + b) / ‖x·W + b‖'),
    dim: z.number().int().positive(),
    W: z.array(z.array(finite)).describe('dim × dim, row-major: W[i][j] maps input i to output j'),
    b: z.array(finite),
    used: z.boolean().describe('whether recognition goes through the head'),
    reason: z.string().describe('why it is used or kept off'),
    training: adapterTrainingSchema,
    cv: z.object({ folds: z.number().int().nonnegative(), raw: adapterCvSchema, adapted: adapterCvSchema, ms: z.number().nonnegative() }),
    lfw: adapterLfwSchema.optional(),
  })
  .superRefine((a, ctx) => {
    if (a.W.length !== a.dim) ctx.addIssue({ code: 'custom', path: ['W'], message: `has ${a.W.length} rows, expected dim = ${a.dim}` });
    a.W.forEach((row, i) => {
      if (row.length !== a.dim) ctx.addIssue({ code: 'custom', path: ['W', i], message: `has ${row.length} values, expected dim = ${a.dim}` });
    });
    if (a.b.length !== a.dim) ctx.addIssue({ code: 'custom', path: ['b'], message: `has ${a.b.length} values, expected dim = ${a.dim}` });
  });
export type SavedAdapter = z.infer<typeof adapterSchema>;

/** The head's weights, W row-major dim × dim. */
export interface HeadWeights {
  dim: number;
  W: Float64Array;
  b: Float64Array;
}

export function headWeightsOf(a: Pick<SavedAdapter, 'dim' | 'W' | 'b'>): HeadWeights {
  const W = new Float64Array(a.dim * a.dim);
  a.W.forEach((row, i) => W.set(row, i * a.dim));
  return { dim: a.dim, W, b: Float64Array.from(a.b) };
}

export function identityWeights(dim: number): HeadWeights {
  const W = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) W[i * dim + i] = 1;
  return { dim, W, b: new Float64Array(dim) };
}

/** normalise(x·W + b); a zero output (never in practice) stays zero rather than NaN. */
export function applyHead(h: HeadWeights, x: ArrayLike<number>): Float64Array {
  const { dim, W, b } = h;
  if (x.length !== dim) throw new Error(`embedding has ${x.length} values, the adapter expects ${dim}`);
  const y = Float64Array.from(b);
  for (let i = 0; i < dim; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const off = i * dim;
    for (let j = 0; j < dim; j++) y[j] += xi * W[off + j]!;
  }
  let s = 0;
  for (let j = 0; j < dim; j++) s += y[j]! * y[j]!;
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  for (let j = 0; j < dim; j++) y[j] *= inv;
  return y;
}

/** Weights as stored (rounded to `decimals`, JSON-sized). */
export function storedWeights(h: HeadWeights, decimals = 7): { W: number[][]; b: number[] } {
  const s = 10 ** decimals;
  const r = (v: number) => Math.round(v * s) / s;
  return {
    W: Array.from({ length: h.dim }, (_, i) => Array.from(h.W.subarray(i * h.dim, (i + 1) * h.dim), r)),
    b: Array.from(h.b, r),
  };
}
