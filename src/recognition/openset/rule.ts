// The open-set acceptance rule: a face may carry the ranked player's name only when its distance to
// that player's nearest reference photo is one that strangers reach at most at the target
// false-accept rate, with the rate split over every reference photo of the roster (a stranger gets
// one chance per photo). The threshold comes from the embedder's measured impostor distances, so a
// one-photo roster has one as well defined as a league's.
//
// A reference photo that sits close to many faces (a tight greyscale crop, a blurred press photo)
// draws strangers nearer than the average face does; its mean distance to the roster's negatives and
// other players measures that, and its threshold is tightened by the shortfall, never loosened.
import { z } from 'zod';
import { DistanceModel, type DistanceSetupStats } from './distanceStats.ts';

const TABLE_STEP = 0.005;
const TABLE_END = 1.6;
/** Cohort size at which a reference's measured shift counts fully (fewer: shrunk towards none). */
const SHIFT_PRIOR = 10;
/** Fewer negatives than this do not describe strangers well enough to move a threshold. */
const MIN_COHORT = 20;

export const openSetSchema = z.object({
  setup: z.string().describe('embedding setup whose measured statistics set the threshold'),
  measured: z.string().describe('how those statistics were measured, in one line'),
  falseAcceptRate: z.number().min(0).max(1).describe('target: share of strangers\' faces named, per face, whole roster'),
  chances: z.number().positive().describe('chances a stranger has: Σ over players of (their photos)^galleryExponent'),
  distanceMax: z.number().nonnegative().describe('distance at the per-photo false-accept rate falseAcceptRate / chances'),
  genuineMean: z.number().describe('mean distance of two photos of one person (confidence 1 there)'),
  table: z
    .object({
      step: z.number().positive(),
      far: z.array(z.number().min(0).max(1)).describe('impostor false-accept rate at distance i·step'),
      llr: z.array(z.number()).describe('log(genuine density / impostor density) at distance i·step'),
    })
    .describe('the embedder statistics the live rule needs, so a model file stands alone'),
  references: z
    .array(z.array(z.object({ e: z.array(z.number()), shift: z.number().max(0) })))
    .describe('per class (in class order): the real (not augmented) photos, each with its threshold tightening'),
  fittedGates: z.boolean().describe('whether the roster-fitted probability/margin/distance gates apply as well'),
  fittedGatesNote: z.string().describe('why they do or do not'),
});
export type SavedOpenSet = z.infer<typeof openSetSchema>;

export interface OpenSetBuildInput {
  stats: DistanceSetupStats;
  setup: string;
  falseAcceptRate: number;
  /** Real photos per class, raw embedding space. */
  references: ArrayLike<number>[][];
  /** Faces known not to be players, raw embedding space: the cohort a reference's closeness to strangers is measured on. */
  negatives: ArrayLike<number>[];
}

export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** Threshold, per-reference tightening and lookup tables for a roster. */
export function buildOpenSet(input: OpenSetBuildInput): Omit<SavedOpenSet, 'fittedGates' | 'fittedGatesNote'> {
  const model = new DistanceModel(input.stats);
  // Photos of one person are alike: n of them give a stranger about n^e chances, not n.
  const chances = Math.max(1, input.references.reduce((s, r) => s + (r.length > 0 ? r.length ** input.stats.galleryExponent : 0), 0));
  // 1 − (1 − α)^(1/N): the per-photo rate at which N independent chances stay within α.
  const perPhoto = -Math.expm1(Math.log1p(-Math.min(input.falseAcceptRate, 0.999999)) / chances);
  const distanceMax = model.distanceAt(perPhoto);
  const popMean = input.stats.impostor.mean;
  // Other players' photos are not in the cohort: a media kit's photos resemble each other in
  // lighting and framing, which says nothing about how close a stranger on air comes.
  const cohort = input.negatives;
  const references = input.references.map((refs) =>
    refs.map((e) => {
      if (cohort.length < MIN_COHORT) return { e: Array.from(e), shift: 0 };
      const mean = cohort.reduce((s, x) => s + euclidean(e, x), 0) / cohort.length;
      const w = cohort.length / (cohort.length + SHIFT_PRIOR);
      return { e: Array.from(e), shift: round(Math.min(0, w * (mean - popMean))) };
    }),
  );
  const n = Math.round(TABLE_END / TABLE_STEP) + 1;
  const grid = Array.from({ length: n }, (_, i) => i * TABLE_STEP);
  const m = input.stats.measured;
  return {
    setup: input.setup,
    measured: `${m.dataset}: ${m.faces} faces of ${m.identities} people, ${input.stats.genuine.count} genuine and ${input.stats.impostor.count} impostor pairs (${m.command}, ${m.at})`,
    falseAcceptRate: input.falseAcceptRate,
    chances,
    distanceMax: round(distanceMax),
    genuineMean: input.stats.genuine.mean,
    table: { step: TABLE_STEP, far: grid.map((d) => model.falseAcceptRate(d)), llr: grid.map((d) => round(model.logLikelihoodRatio(d))) },
    references,
  };
}

/** What the rule says about one face and one candidate player. */
export interface OpenSetAssessment {
  /** Distance to the candidate's nearest reference photo. */
  distance: number;
  /** The largest distance that reference allows (distanceMax tightened by its shift). */
  threshold: number;
  /** Impostor false-accept rate at this face's (shift-corrected) distance, per photo. */
  falseAcceptRate: number;
  /** Evidence of this face for the candidate (log-likelihood ratio), for track decisions. */
  llr: number;
  /** The same evidence a face exactly on the threshold gives. */
  llrAtThreshold: number;
  /** The nearest reference of any other player: its id index and distance (null with one player). */
  runnerUp: { cls: number; distance: number } | null;
  passes: { distance: boolean; nearest: boolean };
  /** 0 on the threshold … 1 at the typical distance of two photos of one person. */
  confidence: number;
}

export class OpenSetRule {
  private readonly refs: { e: Float64Array; shift: number }[][];

  constructor(readonly saved: SavedOpenSet) {
    this.refs = saved.references.map((rs) => rs.map((r) => ({ e: Float64Array.from(r.e), shift: r.shift })));
  }

  assess(embedding: ArrayLike<number>, cls: number): OpenSetAssessment {
    const own = this.nearest(embedding, cls);
    let runnerUp: OpenSetAssessment['runnerUp'] = null;
    for (let k = 0; k < this.refs.length; k++) {
      if (k === cls) continue;
      const o = this.nearest(embedding, k);
      if (!runnerUp || o.adjusted < runnerUp.distance) runnerUp = { cls: k, distance: o.adjusted };
    }
    const tau = this.saved.distanceMax;
    const threshold = tau + own.shift;
    const llrAtThreshold = this.lookup(this.saved.table.llr, tau);
    const span = tau - this.saved.genuineMean;
    return {
      distance: own.distance,
      threshold,
      falseAcceptRate: this.lookup(this.saved.table.far, own.adjusted),
      llr: this.lookup(this.saved.table.llr, own.adjusted),
      llrAtThreshold,
      runnerUp: runnerUp && { cls: runnerUp.cls, distance: runnerUp.distance },
      passes: { distance: own.adjusted <= tau, nearest: runnerUp === null || own.adjusted < runnerUp.distance },
      confidence: span > 0 ? Math.min(1, Math.max(0, (tau - own.adjusted) / span)) : own.adjusted <= tau ? 1 : 0,
    };
  }

  /** Nearest reference of class k: raw distance, its shift, and the distance in population terms. */
  private nearest(e: ArrayLike<number>, k: number): { distance: number; shift: number; adjusted: number } {
    let best = { distance: Infinity, shift: 0, adjusted: Infinity };
    for (const r of this.refs[k] ?? []) {
      const d = euclidean(e, r.e);
      // A tightened reference counts as farther: its distances are read as the population's + |shift|.
      const adjusted = d - r.shift;
      if (adjusted < best.adjusted) best = { distance: d, shift: r.shift, adjusted };
    }
    return best;
  }

  /** Linear interpolation in a table sampled every `step` from 0. */
  private lookup(table: number[], d: number): number {
    const x = Math.max(0, d) / this.saved.table.step;
    const i = Math.min(table.length - 1, Math.floor(x));
    const j = Math.min(table.length - 1, i + 1);
    const f = Math.min(1, x - i);
    return table[i]! * (1 - f) + table[j]! * f;
  }
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
