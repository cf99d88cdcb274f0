// Open-set roster classifier: one linear SVM per player (one-vs-rest), calibrated by Platt scaling,
// with three gates that must all pass before a name goes on air.
//
// Training, in order:
//  1. Group-aware, class-stratified k-fold cross-validation picks C from a grid by held-out
//     identification accuracy (ties: lower held-out hinge loss). Augmented views of one source photo
//     share a `group`, so they are always held out together and never leak into their own test fold.
//     The negative pool (faces known not to be any player) is a negative for every player's problem,
//     never a class of its own: "none of the players" is what we want it to teach.
//  2. Per player, a Platt sigmoid is fitted on the cross-validated decision values at that C.
//  3. Final SVMs are trained on everything.
//  4. Held-out trials are scored as the live classifier would score them: genuine trials are the
//     cross-validated player photos; impostor trials are (a) held-out negatives, (b) every photo of a
//     player left out of training entirely (leave-identity-out: a stranger who looks like a roster
//     face) and (c) genuine trials whose best guess was the wrong player.
//  5. Thresholds (pMin, marginMin, distMax) are chosen to keep impostor accepts within the target
//     (default: none) after impostor scores are moved towards acceptance by safety margins, while
//     accepting as many genuine trials as possible.
import {
  MODEL_FORMAT,
  MODEL_VERSION,
  parseSavedModel,
  trainOptionsSchema,
  type SavedModel,
  type Thresholds,
  type TrainingMetrics,
  type TrainOptions,
} from './model.ts';
import { fitPlatt, plattProbability, type PlattParams } from './platt.ts';
import { applyHead, headWeightsOf, type HeadWeights } from './adapt/adapter.ts';
import { createRng, decisionRow, packRows, shuffleInPlace, trainLinearSvmPacked, type PackedRows, type SvmModel } from './svm.ts';
import { loadDistanceStats } from './openset/distanceStats.ts';
import { buildOpenSet, euclidean, OpenSetRule, type OpenSetAssessment, type SavedOpenSet } from './openset/rule.ts';

export type { SavedModel, Thresholds, TrainingMetrics, TrainOptions };

export interface TrainSample {
  embedding: ArrayLike<number>;
  label: string;
  /** Source-photo id: samples sharing it (augmented views of one photo) stay in the same CV fold. */
  group?: string;
  /**
   * A synthetic view of a photo. Augmented samples train the SVMs, enter the distance gallery and
   * serve as impostors when their player is left out, but genuine-acceptance statistics count only
   * real photos (when the group has one), so 20 near-copies of one easy photo do not dominate.
   */
  augmented?: boolean;
}

/** A negative-pool face: either the bare embedding or with a group like TrainSample. */
export type NegativeSample = ArrayLike<number> | { embedding: ArrayLike<number>; group?: string };

export interface Identity {
  id: string;
  /** How far inside all three gates, 0 (on a gate) … 1: the smallest of the three normalised slacks. */
  confidence: number;
  probability: number;
  margin: number;
  distance: number;
}

/**
 * A rule that held a face back: the roster-fitted gates (probability, margin, distance to the
 * gallery), the embedder's false-accept rate (distance to the nearest reference photo), or
 * `nearest` (another player's photo is nearer than the ranked player's).
 */
export type Gate = 'probability' | 'margin' | 'distance' | 'falseAcceptRate' | 'nearest';

export interface Candidate {
  id: string;
  /** Platt-calibrated probability that the face is this player. */
  probability: number;
  /** probability − runner-up's probability (with one player: the probability itself). */
  margin: number;
  /** Euclidean distance to this player's nearest enrolled embedding. */
  distance: number;
  /** Raw SVM decision value w·x + b. */
  decision: number;
  /** The open-set rule's view of this candidate (models trained with embedder statistics). */
  openSet?: OpenSetAssessment & { runnerUpId: string | null };
}

export interface Prediction {
  /** null = unknown. */
  identity: Identity | null;
  /** The best-scoring player whether accepted or not (diagnostics). */
  best: Candidate;
  /** Gates the best candidate failed; empty when accepted. */
  rejectedBy: Gate[];
}

export interface Classifier {
  predict(embedding: ArrayLike<number>): Prediction;
  toJSON(): SavedModel;
}

export interface TrainedClassifier extends Classifier {
  readonly labels: readonly string[];
  readonly thresholds: Thresholds;
  readonly metrics: TrainingMetrics;
}

export type ProgressFn = (done: number, total: number, note: string) => void;

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  cGrid: [0.01, 0.1, 1, 10, 100],
  folds: 5,
  eps: 0.01,
  maxIter: 1000,
  seed: 1,
  bias: 1,
  balanceClasses: true,
  leaveIdentityOut: true,
  targetFalseAcceptRate: 0,
  leaveIdentityOutMax: 40,
  safetyProbability: 0.05,
  safetyMargin: 0.05,
  safetyDistance: 0.03,
  pMinFloor: 0.5,
  marginMinFloor: 0.1,
  distMaxCeiling: 0.6,
  galleryDecimals: 6,
};

// ───────────────────────────── live classifier ─────────────────────────────

export class LinearSvmClassifier implements TrainedClassifier {
  readonly labels: readonly string[];
  readonly thresholds: Thresholds;
  readonly metrics: TrainingMetrics;
  readonly dim: number;
  private readonly model: SavedModel;
  private readonly weights: Float64Array[];
  private readonly biases: Float64Array;
  private readonly platt: PlattParams[];
  private readonly galleries: PackedRows[];
  /** The triplet head when the model says to use it: embeddings go through it before everything else. */
  private readonly head: HeadWeights | null;
  private readonly openSet: OpenSetRule | null;
  /** Whether the roster-fitted gates apply (always for models without an open-set rule). */
  readonly fittedGates: boolean;

  /** Validates `json` (zod) before using it; throws with every problem listed. */
  static fromJSON(json: unknown): LinearSvmClassifier {
    return new LinearSvmClassifier(parseSavedModel(json));
  }

  private constructor(model: SavedModel) {
    this.model = model;
    this.dim = model.dim;
    this.labels = model.classes.map((c) => c.label);
    this.thresholds = { ...model.thresholds };
    this.metrics = model.metrics;
    this.weights = model.classes.map((c) => Float64Array.from(c.w));
    this.biases = Float64Array.from(model.classes.map((c) => c.b));
    this.platt = model.classes.map((c) => ({ ...c.platt }));
    this.galleries = model.classes.map((c) => packRows(c.gallery));
    this.head = model.adapter?.used ? headWeightsOf(model.adapter) : null;
    this.openSet = model.openSet ? new OpenSetRule(model.openSet) : null;
    this.fittedGates = model.openSet?.fittedGates ?? true;
  }

  /** The open-set rule's saved form, or null for a model trained without embedder statistics. */
  get openSetRule(): SavedOpenSet | null {
    return this.openSet?.saved ?? null;
  }

  /** Whether embeddings go through a triplet head (model.adapter.used). */
  get adapted(): boolean {
    return this.head !== null;
  }

  /** Raw decision values w_k·x + b_k, one per player, in `labels` order. */
  decisionValues(embedding: ArrayLike<number>): Float64Array {
    return this.decisionValuesOf(this.project(embedding));
  }

  /** The checked embedding, through the head when one is used: the space the SVMs and gallery live in. */
  private project(embedding: ArrayLike<number>): ArrayLike<number> {
    this.checkInput(embedding);
    return this.head ? applyHead(this.head, embedding) : embedding;
  }

  private decisionValuesOf(embedding: ArrayLike<number>): Float64Array {
    const out = new Float64Array(this.weights.length);
    for (let k = 0; k < out.length; k++) {
      const w = this.weights[k]!;
      let s = this.biases[k]!;
      for (let j = 0; j < this.dim; j++) s += w[j]! * embedding[j]!;
      out[k] = s;
    }
    return out;
  }

  predict(input: ArrayLike<number>): Prediction {
    const embedding = this.project(input);
    const dec = this.decisionValuesOf(embedding);
    const probs = dec.map((f, k) => plattProbability(f, this.platt[k]!));
    // Platt scaling fitted on a roster too small for the fitted gates is no better than its data:
    // the raw decision values rank the players then.
    const { best, margin } = this.fittedGates ? rankProbabilities(probs, dec) : rankProbabilities(dec, dec, probs);
    const distance = nearestDistance(this.galleries[best]!, embedding, -1, null);
    const cand: Candidate = { id: this.labels[best]!, probability: probs[best]!, margin, distance, decision: dec[best]! };
    const rejectedBy = this.fittedGates ? failedGates(cand, this.thresholds) : [];
    let conf = this.fittedGates ? confidence(cand, this.thresholds) : 1;
    if (this.openSet) {
      // The rule is the embedder's: it reads the raw embedding, whatever head the SVMs use.
      const os = this.openSet.assess(input, best);
      cand.openSet = { ...os, runnerUpId: os.runnerUp ? this.labels[os.runnerUp.cls]! : null };
      if (!os.passes.distance) rejectedBy.push('falseAcceptRate');
      if (!os.passes.nearest) rejectedBy.push('nearest');
      conf = Math.min(conf, os.confidence);
    }
    const identity = rejectedBy.length > 0 ? null : { id: cand.id, confidence: conf, probability: cand.probability, margin, distance };
    return { identity, best: cand, rejectedBy };
  }

  /** A deep copy, so callers can serialise or edit it without touching the live classifier. */
  toJSON(): SavedModel {
    return structuredClone(this.model);
  }

  private checkInput(e: ArrayLike<number>): void {
    if (e.length !== this.dim) throw new Error(`embedding has ${e.length} values, the classifier expects ${this.dim}`);
    for (let j = 0; j < e.length; j++) {
      if (!Number.isFinite(e[j]!)) throw new Error(`embedding value ${j} is not a finite number`);
    }
  }
}

/** Validate a saved model (zod) and build the live classifier from it. */
export function loadClassifier(json: unknown): LinearSvmClassifier {
  return LinearSvmClassifier.fromJSON(json);
}

function failedGates(c: { probability: number; margin: number; distance: number }, t: Thresholds): Gate[] {
  const out: Gate[] = [];
  if (!(c.probability >= t.pMin)) out.push('probability');
  if (!(c.margin >= t.marginMin)) out.push('margin');
  if (!(c.distance <= t.distMax)) out.push('distance');
  return out;
}

/** Smallest slack to a gate, each scaled to [0, 1] by the room that gate leaves. */
function confidence(c: Candidate, t: Thresholds): number {
  const slack = (v: number, lo: number, hi: number) => (hi > lo ? (v - lo) / (hi - lo) : 1);
  const s = Math.min(slack(c.probability, t.pMin, 1), slack(c.margin, t.marginMin, 1), t.distMax > 0 ? (t.distMax - c.distance) / t.distMax : 1);
  return Math.min(1, Math.max(0, s));
}

/**
 * Best class by calibrated probability (comparable across players, unlike raw decision values),
 * ties by decision value; margin over the runner-up (the lone class of a one-player roster has none,
 * so its margin is its probability).
 */
function rankProbabilities(scores: ArrayLike<number>, dec: ArrayLike<number>, probs: ArrayLike<number> = scores): { best: number; margin: number } {
  let best = 0;
  for (let k = 1; k < scores.length; k++) {
    if (scores[k]! > scores[best]! || (scores[k] === scores[best] && dec[k]! > dec[best]!)) best = k;
  }
  let second = 0;
  for (let k = 0; k < probs.length; k++) if (k !== best && probs[k]! > second) second = probs[k]!;
  return { best, margin: probs[best]! - second };
}

/**
 * Euclidean distance from `e` to the nearest row of `gallery`; rows whose `fold` equals `skipFold`
 * are ignored (held-out scoring must not see its own fold). Infinity when nothing is left.
 */
function nearestDistance(gallery: PackedRows, e: ArrayLike<number>, skipFold: number, fold: Int32Array | null): number {
  const { dim, x } = gallery;
  let best = Infinity;
  for (let r = 0; r < gallery.n; r++) {
    if (fold && fold[r] === skipFold) continue;
    const off = r * dim;
    let s = 0;
    for (let j = 0; j < dim && s < best; j++) {
      const d = x[off + j]! - e[j]!;
      s += d * d;
    }
    if (s < best) best = s;
  }
  return Math.sqrt(best);
}

// ───────────────────────────── training data ─────────────────────────────

interface Dataset {
  data: PackedRows;
  /** Sorted unique player labels. */
  labels: string[];
  /** Class index per row; −1 for the negative pool. */
  classOf: Int32Array;
  /** CV fold per row. */
  fold: Int32Array;
  folds: number;
  /** Genuine rows that count for genuine statistics (see TrainSample.augmented). */
  genuineEval: Uint8Array;
  /** ±1 per row for each player's binary problem. */
  yByClass: Int8Array[];
  /** Rows of each player, and their packed copy with the fold of each row (distance gate). */
  classRows: Int32Array[];
  classGallery: PackedRows[];
  classGalleryFold: Int32Array[];
  nSamples: number;
  nNegatives: number;
}

interface RowInfo {
  embedding: ArrayLike<number>;
  cls: number;
  groupKey: string;
  augmented: boolean;
}

function rowInfos(samples: readonly TrainSample[], negatives: readonly NegativeSample[], labels: string[]): RowInfo[] {
  const index = new Map(labels.map((l, i) => [l, i]));
  const rows: RowInfo[] = samples.map((s, i) => {
    const cls = index.get(s.label)!;
    return { embedding: s.embedding, cls, groupKey: `${cls}\u0000${s.group ?? `#${i}`}`, augmented: s.augmented === true };
  });
  negatives.forEach((n, i) => {
    const bare = !('embedding' in n);
    const embedding = bare ? (n as ArrayLike<number>) : n.embedding;
    const group = bare ? undefined : n.group;
    // Negatives are never genuine trials, so whether a view is augmented does not matter for them.
    rows.push({ embedding, cls: -1, groupKey: `-1\u0000${group ?? `#${i}`}`, augmented: false });
  });
  return rows;
}

/**
 * Class-stratified, group-aware fold assignment: each stratum's groups are shuffled and dealt
 * round-robin, starting where the previous stratum stopped so that small strata spread over folds.
 */
function assignFolds(rows: RowInfo[], k: number, rng: () => number): Int32Array {
  const strata = new Map<number, string[]>();
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.groupKey)) continue;
    seen.add(r.groupKey);
    if (!strata.has(r.cls)) strata.set(r.cls, []);
    strata.get(r.cls)!.push(r.groupKey);
  }
  const foldOfGroup = new Map<string, number>();
  let next = 0;
  for (const cls of [...strata.keys()].sort((a, b) => a - b)) {
    const groups = strata.get(cls)!;
    shuffleInPlace(groups, groups.length, rng);
    for (const g of groups) foldOfGroup.set(g, next++ % k);
  }
  return Int32Array.from(rows, (r) => foldOfGroup.get(r.groupKey)!);
}

/** A genuine row counts for statistics if it is a real photo, or its group has no real photo. */
function genuineEvalFlags(rows: RowInfo[]): Uint8Array {
  const hasReal = new Set<string>();
  for (const r of rows) if (!r.augmented) hasReal.add(r.groupKey);
  return Uint8Array.from(rows, (r) => (r.cls >= 0 && (!r.augmented || !hasReal.has(r.groupKey)) ? 1 : 0));
}

function validateSamples(samples: readonly TrainSample[]): void {
  if (samples.length === 0) throw new Error('cannot train a classifier without player samples');
  samples.forEach((s, i) => {
    if (typeof s.label !== 'string' || s.label.length === 0) throw new Error(`sample ${i} has an empty label`);
  });
}

function buildDataset(samples: readonly TrainSample[], negatives: readonly NegativeSample[], opts: TrainOptions, warnings: string[]): Dataset {
  validateSamples(samples);
  const labels = [...new Set(samples.map((s) => s.label))].sort();
  const rows = rowInfos(samples, negatives, labels);
  const data = packRows(rows.map((r) => r.embedding));
  const groupsPerStratum = new Map<number, Set<string>>();
  for (const r of rows) {
    if (!groupsPerStratum.has(r.cls)) groupsPerStratum.set(r.cls, new Set());
    groupsPerStratum.get(r.cls)!.add(r.groupKey);
  }
  const maxGroups = Math.max(...[...groupsPerStratum.values()].map((s) => s.size));
  const folds = Math.max(2, Math.min(opts.folds, maxGroups));
  labels.forEach((l, c) => {
    if (groupsPerStratum.get(c)!.size < 2) warnings.push(`player "${l}" has a single photo group: its cross-validated scores treat it as unseen`);
  });
  const classOf = Int32Array.from(rows, (r) => r.cls);
  const fold = assignFolds(rows, folds, createRng(opts.seed ^ 0x5eed));
  const yByClass = labels.map((_, c) => Int8Array.from(classOf, (k) => (k === c ? 1 : -1)));
  const classRows = labels.map((_, c) => Int32Array.from(rowsWhere(classOf, (k) => k === c)));
  return {
    data,
    labels,
    classOf,
    fold,
    folds,
    genuineEval: genuineEvalFlags(rows),
    yByClass,
    classRows,
    classGallery: classRows.map((rs) => packRows([...rs].map((r) => data.x.subarray(r * data.dim, (r + 1) * data.dim)))),
    classGalleryFold: classRows.map((rs) => Int32Array.from(rs, (r) => fold[r]!)),
    nSamples: samples.length,
    nNegatives: negatives.length,
  };
}

function rowsWhere(classOf: Int32Array, pred: (cls: number, row: number) => boolean): number[] {
  const out: number[] = [];
  for (let r = 0; r < classOf.length; r++) if (pred(classOf[r]!, r)) out.push(r);
  return out;
}

// ───────────────────────────── SVM solves ─────────────────────────────

interface SolveCounter {
  solves: number;
  nonConverged: number;
  done: number;
  total: number;
  onProgress?: ProgressFn;
}

/** One player's binary problem on `rows`, balanced so each side carries half the total C. */
function solveClass(ds: Dataset, cls: number, rows: Int32Array, C: number, opts: TrainOptions, counter: SolveCounter, note: string, alphaInit?: ArrayLike<number>): SvmModel {
  const y = ds.yByClass[cls]!;
  let nPos = 0;
  for (let i = 0; i < rows.length; i++) if (y[rows[i]!] === 1) nPos++;
  const nNeg = rows.length - nPos;
  const classWeight =
    opts.balanceClasses && nPos > 0 && nNeg > 0 ? { positive: rows.length / (2 * nPos), negative: rows.length / (2 * nNeg) } : undefined;
  const model = trainLinearSvmPacked(ds.data, y, {
    C,
    eps: opts.eps,
    maxIter: opts.maxIter,
    seed: (opts.seed + counter.solves * 7919) >>> 0,
    bias: opts.bias,
    classWeight,
    rows,
    alphaInit,
  });
  counter.solves++;
  if (!model.converged) counter.nonConverged++;
  counter.done++;
  counter.onProgress?.(counter.done, counter.total, note);
  return model;
}

// ───────────────────────────── cross-validation for C ─────────────────────────────

interface CvResult {
  C: number;
  accuracy: number;
  hingeLoss: number;
  /** Held-out decision values, n × K row-major (each row scored by the models of its fold). */
  decisions: Float64Array;
}

function foldRows(ds: Dataset): { train: Int32Array; test: Int32Array }[] {
  const out: { train: Int32Array; test: Int32Array }[] = [];
  for (let f = 0; f < ds.folds; f++) {
    const test = Int32Array.from(rowsWhere(ds.classOf, (_, r) => ds.fold[r] === f));
    if (test.length === 0) continue;
    out.push({ test, train: Int32Array.from(rowsWhere(ds.classOf, (_, r) => ds.fold[r] !== f)) });
  }
  return out;
}

/** Every C of the grid, smallest first so each solve warm-starts from the previous C's α. */
function crossValidate(ds: Dataset, opts: TrainOptions, counter: SolveCounter): CvResult[] {
  const K = ds.labels.length;
  const n = ds.data.n;
  const splits = foldRows(ds);
  const warm: (Float64Array | undefined)[] = new Array(splits.length * K);
  const grid = [...new Set(opts.cGrid)].sort((a, b) => a - b);
  return grid.map((C) => {
    const decisions = new Float64Array(n * K);
    splits.forEach((s, f) => {
      for (let c = 0; c < K; c++) {
        const m = solveClass(ds, c, s.train, C, opts, counter, `cross-validation C=${C} fold ${f + 1}/${splits.length}`, warm[f * K + c]);
        warm[f * K + c] = m.alpha;
        for (const r of s.test) decisions[r * K + c] = decisionRow(ds.data, r, m.w, m.b);
      }
    });
    return { C, ...cvScores(ds, decisions), decisions };
  });
}

function cvScores(ds: Dataset, dec: Float64Array): { accuracy: number; hingeLoss: number } {
  const K = ds.labels.length;
  let correct = 0;
  let total = 0;
  let hinge = 0;
  for (let r = 0; r < ds.data.n; r++) {
    for (let c = 0; c < K; c++) hinge += Math.max(0, 1 - ds.yByClass[c]![r]! * dec[r * K + c]!);
    if (!ds.genuineEval[r]) continue;
    total++;
    let best = 0;
    for (let c = 1; c < K; c++) if (dec[r * K + c]! > dec[r * K + best]!) best = c;
    if (best === ds.classOf[r]) correct++;
  }
  return { accuracy: total > 0 ? correct / total : 0, hingeLoss: hinge / Math.max(1, ds.data.n * K) };
}

/** Highest held-out accuracy; ties by lower held-out hinge loss, then smaller C (simpler model). */
function pickC(results: CvResult[]): CvResult {
  let best = results[0]!;
  for (const r of results.slice(1)) {
    if (r.accuracy > best.accuracy || (r.accuracy === best.accuracy && r.hingeLoss < best.hingeLoss - 1e-12)) best = r;
  }
  return best;
}

function fitCalibration(ds: Dataset, dec: Float64Array): PlattParams[] {
  const K = ds.labels.length;
  return ds.labels.map((_, c) => {
    const f = new Float64Array(ds.data.n);
    const pos = new Array<boolean>(ds.data.n);
    for (let r = 0; r < ds.data.n; r++) {
      f[r] = dec[r * K + c]!;
      pos[r] = ds.classOf[r] === c;
    }
    const fit = fitPlatt(f, pos);
    return { A: fit.A, B: fit.B };
  });
}

// ───────────────────────────── held-out trials ─────────────────────────────

interface Trial {
  p: number;
  m: number;
  d: number;
  /** Genuine trial whose best guess is the right player: accepting it is a correct accept. */
  good: boolean;
  kind: 'genuine' | 'stranger';
  /** For the open-set rule: the scored row, its ranked class, the fold it was held out in, the class left out. */
  row: number;
  cls: number;
  skipFold: number | null;
  left: number;
  /** An augmented view of a left-out player: it shapes the fitted gates, but a stranger on air is a real face. */
  synthetic?: boolean;
}

/** Score one held-out row given its decision values over `classes` (indices into ds.labels). */
function trialFor(ds: Dataset, row: number, dec: Float64Array, classes: number[], platt: PlattParams[], skipFold: number | null): Trial {
  const probs = dec.map((f, i) => plattProbability(f, platt[classes[i]!]!));
  const { best, margin } = rankProbabilities(probs, dec);
  const cls = classes[best]!;
  const e = ds.data.x.subarray(row * ds.data.dim, (row + 1) * ds.data.dim);
  const d = nearestDistance(ds.classGallery[cls]!, e, skipFold ?? -1, skipFold === null ? null : ds.classGalleryFold[cls]!);
  const genuine = ds.classOf[row]! >= 0;
  return { p: probs[best]!, m: margin, d, good: genuine && cls === ds.classOf[row], kind: genuine ? 'genuine' : 'stranger', row, cls, skipFold, left: -1 };
}

/** Genuine trials and held-out negatives from the cross-validation at the chosen C. */
function cvTrials(ds: Dataset, dec: Float64Array, platt: PlattParams[]): Trial[] {
  const K = ds.labels.length;
  const all = ds.labels.map((_, c) => c);
  const out: Trial[] = [];
  for (let r = 0; r < ds.data.n; r++) {
    if (ds.classOf[r]! >= 0 && !ds.genuineEval[r]) continue;
    out.push(trialFor(ds, r, dec.slice(r * K, (r + 1) * K), all, platt, ds.fold[r]!));
  }
  return out;
}

/**
 * Leave-identity-out: train without player p (not even as a negative: a real stranger is in no
 * training set) and without one fold of negatives; score p's photos and those negatives as strangers.
 * Warm-started from the final models' α restricted to the remaining rows (same C: still feasible).
 */
function leaveIdentityOutTrials(ds: Dataset, C: number, finals: SvmModel[], platt: PlattParams[], opts: TrainOptions, counter: SolveCounter): Trial[] {
  const out: Trial[] = [];
  for (const p of leftOutPlayers(ds.labels.length, opts)) {
    const negFold = p % ds.folds;
    const heldOut = (cls: number, r: number) => cls === p || (cls < 0 && ds.fold[r] === negFold);
    const train = Int32Array.from(rowsWhere(ds.classOf, (cls, r) => !heldOut(cls, r)));
    const test = rowsWhere(ds.classOf, heldOut);
    const classes = ds.labels.map((_, c) => c).filter((c) => c !== p);
    const models = classes.map((c) =>
      solveClass(ds, c, train, C, opts, counter, `leave-identity-out "${ds.labels[p]}"`, Array.from(train, (r) => finals[c]!.alpha[r]!)),
    );
    for (const r of test) {
      const dec = Float64Array.from(models, (m) => decisionRow(ds.data, r, m.w, m.b));
      out.push({ ...trialFor(ds, r, dec, classes, platt, null), good: false, kind: 'stranger', left: p, ...(ds.genuineEval[r] ? {} : { synthetic: true }) });
    }
  }
  return out;
}

/** The players left out one by one for stranger trials: all, or at most leaveIdentityOutMax spread evenly. */
function leftOutPlayers(K: number, opts: TrainOptions): number[] {
  const max = opts.leaveIdentityOutMax ?? K;
  if (K <= max) return Array.from({ length: K }, (_, i) => i);
  return [...new Set(Array.from({ length: max }, (_, i) => Math.floor((i * K) / max)))];
}

// ───────────────────────────── the open-set rule ─────────────────────────────

/** Real photos per class (rows that count as genuine trials: the originals, not augmented views). */
function referenceRows(ds: Dataset): number[][] {
  return ds.labels.map((_, c) => [...ds.classRows[c]!].filter((r) => ds.genuineEval[r] === 1));
}

/**
 * The open-set rule for this roster from the embedder's recorded statistics, or null (with a
 * warning) when the setup was never measured. Embeddings are the rows as given (through the head
 * when one is used; it starts at the identity and stays near it).
 */
function openSetFor(ds: Dataset, opts: TrainOptions, warnings: string[]): { saved: Omit<SavedOpenSet, 'fittedGates' | 'fittedGatesNote'>; refRows: number[][] } | null {
  const o = opts.openSet;
  if (!o || o.setup === '') return null;
  const stats = loadDistanceStats(o.setup);
  if (!stats) {
    warnings.push(
      `no measured distance statistics for ${o.setup}: only the roster-fitted gates decide, and a roster with few photos per player will name almost no one; ` +
        'measure them with `facecast measure-distances` or use the default vision setup',
    );
    return null;
  }
  const row = (r: number) => ds.data.x.subarray(r * ds.data.dim, (r + 1) * ds.data.dim);
  const refRows = referenceRows(ds);
  const negatives = rowsWhere(ds.classOf, (k) => k < 0).map(row);
  const saved = buildOpenSet({ stats, setup: o.setup, falseAcceptRate: o.falseAcceptRate, references: refRows.map((rs) => rs.map(row)), negatives });
  return { saved, refRows };
}

/**
 * Whether a held-out trial passes the open-set rule as the live classifier would apply it: its own
 * fold's photos and a left-out player's photos are not in the gallery it is compared with.
 */
function openSetPasses(ds: Dataset, os: { saved: Omit<SavedOpenSet, 'fittedGates' | 'fittedGatesNote'>; refRows: number[][] }, t: Trial): boolean {
  const e = ds.data.x.subarray(t.row * ds.data.dim, (t.row + 1) * ds.data.dim);
  const nearest = (k: number) => {
    let best = Infinity;
    os.refRows[k]!.forEach((r, i) => {
      if (t.skipFold !== null && ds.fold[r] === t.skipFold) return;
      const adjusted = euclidean(e, ds.data.x.subarray(r * ds.data.dim, (r + 1) * ds.data.dim)) - os.saved.references[k]![i]!.shift;
      if (adjusted < best) best = adjusted;
    });
    return best;
  };
  const own = nearest(t.cls);
  if (!(own <= os.saved.distanceMax)) return false;
  for (let k = 0; k < ds.labels.length; k++) if (k !== t.cls && k !== t.left && nearest(k) <= own) return false;
  return true;
}

/**
 * Why the roster-fitted gates do or do not tighten the rule: they are estimated from held-out
 * photos and held-out strangers, so they need enough of both.
 */
function fittedGatesDecision(ds: Dataset, opts: TrainOptions, choiceCount: number): { on: boolean; note: string } {
  const min = opts.openSet?.fittedGatesMinPhotos ?? 1;
  const fewest = Math.min(...referenceRows(ds).map((rs) => rs.length));
  if (fewest < min) return { on: false, note: `off: a player has ${fewest} photo(s), fewer than the ${min} that estimating roster-fitted gates needs` };
  if (ds.nNegatives < FITTED_GATES_MIN_NEGATIVES) return { on: false, note: `off: ${ds.nNegatives} negatives, fewer than the ${FITTED_GATES_MIN_NEGATIVES} that estimating them needs` };
  if (choiceCount <= 0) return { on: false, note: 'off: no roster-fitted setting accepted a held-out photo without a held-out stranger' };
  return { on: true, note: `on: every player has at least ${min} photos, so the held-out trials also tighten the rule` };
}

const FITTED_GATES_MIN_NEGATIVES = 200;

// ───────────────────────────── threshold choice ─────────────────────────────

/** Candidate values for a lower-bound gate: the floor itself and every genuine value above it (≤ 64). */
function lowerBoundCandidates(values: number[], floor: number): number[] {
  const u = [...new Set(values.filter((v) => v > floor))].sort((a, b) => a - b);
  const thinned = u.length <= 63 ? u : Array.from({ length: 63 }, (_, i) => u[Math.round((i * (u.length - 1)) / 62)]!);
  return [floor, ...new Set(thinned)];
}

interface Choice {
  thresholds: Thresholds;
  source: TrainingMetrics['thresholdSource'];
  /** Genuine trials the chosen gates accept (0: they would make the roster mute). */
  count: number;
}

/**
 * Exhaustive search over (pMin, marginMin) candidates; for each, distMax is the largest value that
 * keeps (safety-shifted) impostor accepts within budget, placed midway between the farthest accepted
 * genuine trial and the nearest impostor that would break the budget. Maximises genuine accepts;
 * ties go to the looser pMin and marginMin (never below their floors), so the impostors, shifted
 * towards acceptance by the safety margins, decide how strict the gates are — as a biometric
 * system sets its threshold for a target false-accept rate — rather than the weakest enrolment
 * photo. The floors keep a small negative pool from loosening them too far.
 */
function chooseThresholds(trials: Trial[], opts: TrainOptions, warnings: string[]): Choice {
  const goods = trials.filter((t) => t.good);
  const bads = trials
    .filter((t) => !t.good)
    .map((t) => ({ p: t.p + opts.safetyProbability, m: t.m + opts.safetyMargin, d: t.d - opts.safetyDistance }))
    .sort((a, b) => a.d - b.d);
  if (bads.length === 0) warnings.push('no impostor trials (need negatives or at least two players): thresholds rest on the floors and ceiling only');
  const budget = Math.floor(opts.targetFalseAcceptRate * bads.length + 1e-9);
  const ceiling = opts.distMaxCeiling;
  let best = { count: -1, pMin: 1, mMin: 1, limit: 0, gMax: -Infinity };
  for (const pMin of lowerBoundCandidates(goods.map((g) => g.p), opts.pMinFloor)) {
    for (const mMin of lowerBoundCandidates(goods.map((g) => g.m), opts.marginMinFloor)) {
      const limit = impostorDistanceLimit(bads, pMin, mMin, budget);
      let count = 0;
      let gMax = -Infinity;
      for (const g of goods) {
        if (g.p >= pMin && g.m >= mMin && g.d < limit && g.d <= ceiling) {
          count++;
          if (g.d > gMax) gMax = g.d;
        }
      }
      // Ties go to the looser setting: the impostor trials (safety-shifted) already bound it, and a
      // threshold pinned to the weakest cross-validated genuine photo rejects every broadcast face
      // that scores a little lower than the enrolment photos did (a shift that CV cannot see).
      if (count > best.count) best = { count, pMin, mMin, limit, gMax };
    }
  }
  if (best.count <= 0) {
    if (!opts.openSet?.setup) warnings.push('no threshold setting accepts a genuine trial without exceeding the false-accept target: everything will be unknown');
    return { thresholds: { pMin: 1, marginMin: 1, distMax: 0 }, source: bads.length ? 'data' : 'no-impostors', count: 0 };
  }
  const distMax = Number.isFinite(best.limit) ? Math.min(ceiling, (best.gMax + best.limit) / 2) : ceiling;
  return { thresholds: { pMin: best.pMin, marginMin: best.mMin, distMax }, source: bads.length ? 'data' : 'no-impostors', count: best.count };
}

/** Distance of the first impostor (nearest first) that passes the p/m gates beyond the budget. */
function impostorDistanceLimit(badsByDistance: { p: number; m: number; d: number }[], pMin: number, mMin: number, budget: number): number {
  let passing = 0;
  for (const b of badsByDistance) {
    if (b.p >= pMin && b.m >= mMin && ++passing > budget) return b.d;
  }
  return Infinity;
}

/**
 * Trial outcomes under the whole rule: the fitted gates when they apply, the open-set rule when
 * there is one. With the open-set rule, stranger trials are real photos only, as genuine ones are:
 * its target is a rate per real face, and a dozen near-copies of one photo are not a dozen strangers.
 */
function evaluate(all: Trial[], t: Thresholds, fitted: boolean, openSetPass: ((t: Trial) => boolean) | null) {
  const trials = openSetPass ? all.filter((tr) => !tr.synthetic) : all;
  let genuine = 0;
  let genuineAccepted = 0;
  let impostors = 0;
  let falseAccepts = 0;
  let strangers = 0;
  for (const tr of trials) {
    const accepted = (!fitted || failedGates({ probability: tr.p, margin: tr.m, distance: tr.d }, t).length === 0) && (openSetPass?.(tr) ?? true);
    if (tr.kind === 'genuine') genuine++;
    else strangers++;
    if (tr.good) {
      if (accepted) genuineAccepted++;
    } else {
      impostors++;
      if (accepted) falseAccepts++;
    }
  }
  return {
    genuineTrials: genuine,
    strangerTrials: strangers,
    impostorTrials: impostors,
    genuineAcceptRate: genuine > 0 ? genuineAccepted / genuine : 0,
    falseAccepts,
    falseAcceptRate: impostors > 0 ? falseAccepts / impostors : 0,
  };
}

// ───────────────────────────── training entry point ─────────────────────────────

function resolveOptions(opts: Partial<TrainOptions>): TrainOptions {
  const merged = { ...DEFAULT_TRAIN_OPTIONS, ...opts };
  const r = trainOptionsSchema.safeParse(merged);
  if (!r.success) throw new Error(`invalid training options: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function round(v: number, decimals: number): number {
  const s = 10 ** decimals;
  return Math.round(v * s) / s;
}

/**
 * Train the open-set roster classifier. `negatives` are faces known to be none of the players (may
 * be empty). Deterministic for a given seed. Throws on empty/ragged/non-finite input.
 */
export function trainClassifier(
  samples: readonly TrainSample[],
  negatives: readonly NegativeSample[] = [],
  options: Partial<TrainOptions> = {},
  onProgress?: ProgressFn,
): TrainedClassifier {
  const t0 = performance.now();
  const opts = resolveOptions(options);
  const warnings: string[] = [];
  const ds = buildDataset(samples, negatives, opts, warnings);
  const K = ds.labels.length;
  const nFolds = foldRows(ds).length;
  const gridSize = new Set(opts.cGrid).size;
  const leftOut = opts.leaveIdentityOut && K > 1 ? leftOutPlayers(K, opts).length : 0;
  const counter: SolveCounter = { solves: 0, nonConverged: 0, done: 0, onProgress, total: gridSize * nFolds * K + K + leftOut * (K - 1) };

  const cv = crossValidate(ds, opts, counter);
  const chosen = pickC(cv);
  const platt = fitCalibration(ds, chosen.decisions);
  const all = Int32Array.from({ length: ds.data.n }, (_, i) => i);
  const finals = ds.labels.map((l, c) => solveClass(ds, c, all, chosen.C, opts, counter, `final model "${l}"`));

  const trials = cvTrials(ds, chosen.decisions, platt);
  if (opts.leaveIdentityOut && K > 1) trials.push(...leaveIdentityOutTrials(ds, chosen.C, finals, platt, opts, counter));
  let choice = chooseThresholds(trials, opts, warnings);
  if (opts.thresholds && Object.keys(opts.thresholds).length > 0) choice = { ...choice, thresholds: { ...choice.thresholds, ...opts.thresholds }, source: 'override' };
  if (counter.nonConverged > 0) warnings.push(`${counter.nonConverged} SVM solves stopped at maxIter=${opts.maxIter} before reaching eps=${opts.eps}`);
  const os = openSetFor(ds, opts, warnings);
  const gates = os ? fittedGatesDecision(ds, opts, choice.source === 'override' ? 1 : choice.count) : { on: true, note: '' };
  const openSet: SavedOpenSet | undefined = os ? { ...os.saved, fittedGates: gates.on, fittedGatesNote: gates.note } : undefined;

  const model: SavedModel = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    created: new Date().toISOString(),
    dim: ds.data.dim,
    classes: ds.labels.map((label, c) => ({
      label,
      w: Array.from(finals[c]!.w),
      b: finals[c]!.b,
      platt: platt[c]!,
      gallery: Array.from(ds.classRows[c]!, (r) => Array.from(ds.data.x.subarray(r * ds.data.dim, (r + 1) * ds.data.dim), (v) => round(v, opts.galleryDecimals))),
    })),
    thresholds: choice.thresholds,
    ...(openSet ? { openSet } : {}),
    options: opts,
    metrics: {
      C: chosen.C,
      cvAccuracy: chosen.accuracy,
      cv: cv.map(({ C, accuracy, hingeLoss }) => ({ C, accuracy, hingeLoss })),
      players: K,
      samples: ds.nSamples,
      negatives: ds.nNegatives,
      folds: nFolds,
      ...evaluate(trials, choice.thresholds, gates.on, os ? (t) => openSetPasses(ds, os, t) : null),
      thresholdSource: choice.source,
      svmSolves: counter.solves,
      nonConverged: counter.nonConverged,
      trainingMs: 0,
      warnings,
    },
  };
  model.metrics.trainingMs = Math.round(performance.now() - t0);
  return LinearSvmClassifier.fromJSON(model);
}
