// Roster adaptation: train the triplet head, decide on data whether recognition should go through
// it, and train the classifier on the embedding space that won.
//
// The decision is a cross-validation over source photos, nested so the head never sees the photos
// it is judged on: for each fold, a head is trained on the other folds (with its own early-stopping
// split inside them), then the product classifier (trainClassifier, product defaults) is trained on
// the other folds twice — raw embeddings and through that head — and both are asked about the
// fold's real photos (augmented copies are never test trials) and its negative-pool faces.
// The head is used only when, summed over the folds, it names strictly more held-out photos
// correctly (the right player through all three gates: identification as it goes on air), with no
// more wrong names and no more negatives named. When LFW pairs are given, verification accuracy on
// DevTest through the head must also stay within maxLfwDeltaPoints of the raw embeddings (a guard
// against forgetting what the embedding knew about faces in general).
import { accuracyAt, bestThreshold, euclidean } from '../../eval/lfw.ts';
import { createRng, shuffleInPlace } from '../svm.ts';
import {
  loadClassifier,
  trainClassifier,
  type NegativeSample,
  type ProgressFn,
  type TrainedClassifier,
  type TrainSample,
} from '../linearSvmClassifier.ts';
import type { TrainOptions } from '../model.ts';
import { applyHead, headWeightsOf, storedWeights, type AdapterCv, type AdapterLfw, type HeadWeights, type SavedAdapter } from './adapter.ts';
import { DEFAULT_HEAD_OPTIONS, trainTripletHead, type EpochLog, type HeadTrainOptions, type HeadTrainResult } from './trainHead.ts';

/** LFW pairs with their (raw) embeddings; null = image missing or no face (always a wrong answer). */
export interface LfwGuardPairs {
  root: string;
  train: { a: ArrayLike<number> | null; b: ArrayLike<number> | null; same: boolean }[];
  test: { a: ArrayLike<number> | null; b: ArrayLike<number> | null; same: boolean }[];
}

export interface AdaptOptions {
  head: Partial<HeadTrainOptions>;
  /** Folds of the decision's cross-validation over source photos (fewer when players have fewer photos). */
  folds: number;
  /** Options of every classifier training (default: the product's). */
  classifier: Partial<TrainOptions>;
  lfw?: LfwGuardPairs;
  /** Largest |adapted − raw| LFW DevTest accuracy, in points, for the head to be used. */
  maxLfwDeltaPoints: number;
  /** Use the head whatever the decision says (evaluation of the head itself); the numbers are still measured unless skipCv. */
  force?: boolean;
  /** Skip the decision's cross-validation (with force: a single head training). */
  skipCv?: boolean;
  seed: number;
}

export const DEFAULT_ADAPT_OPTIONS: AdaptOptions = { head: {}, folds: 5, classifier: {}, maxLfwDeltaPoints: 0.5, seed: 1 };

export interface AdaptResult {
  classifier: TrainedClassifier;
  adapter: SavedAdapter;
  head: HeadTrainResult;
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

function groupOf(s: TrainSample, i: number): string {
  return s.group ?? `#sample-${i}`;
}
function negEmbedding(n: NegativeSample): ArrayLike<number> {
  return 'embedding' in n ? n.embedding : n;
}
function negGroup(n: NegativeSample, i: number): string {
  return 'embedding' in n && n.group !== undefined ? n.group : `#negative-${i}`;
}

/** Source-photo folds, stratified by player: each player's photos are dealt round the folds. */
function assignFolds(samples: readonly TrainSample[], negatives: readonly NegativeSample[], k: number, seed: number) {
  const rng = createRng(seed ^ 0xada9);
  const byLabel = new Map<string, string[]>();
  samples.forEach((s, i) => {
    const g = groupOf(s, i);
    const list = byLabel.get(s.label) ?? [];
    if (!list.includes(g)) list.push(g);
    byLabel.set(s.label, list);
  });
  const foldOfGroup = new Map<string, number>();
  let next = 0;
  for (const label of [...byLabel.keys()].sort()) {
    const groups = byLabel.get(label)!;
    shuffleInPlace(groups, groups.length, rng);
    for (const g of groups) foldOfGroup.set(`${label}\u0000${g}`, next++ % k);
  }
  const negGroups = [...new Set(negatives.map(negGroup))];
  shuffleInPlace(negGroups, negGroups.length, rng);
  const foldOfNegGroup = new Map(negGroups.map((g, i) => [g, i % k]));
  return {
    sampleFold: samples.map((s, i) => foldOfGroup.get(`${s.label}\u0000${groupOf(s, i)}`)!),
    negativeFold: negatives.map((n, i) => foldOfNegGroup.get(negGroup(n, i))!),
    maxGroups: Math.max(0, ...[...byLabel.values()].map((g) => g.length)),
  };
}

const emptyCv = (): AdapterCv => ({ trials: 0, accuracy: 0, wrongNames: 0, rank1: 0, strangerTrials: 0, falseAccepts: 0 });

interface Tally {
  trials: number;
  rank1: number;
  correct: number;
  wrong: number;
  strangers: number;
  falseAccepts: number;
}

function score(clf: TrainedClassifier, trials: { e: ArrayLike<number>; label: string }[], strangers: ArrayLike<number>[], t: Tally): void {
  for (const { e, label } of trials) {
    const p = clf.predict(e);
    t.trials++;
    if (p.best.id === label) t.rank1++;
    if (p.identity) {
      if (p.identity.id === label) t.correct++;
      else t.wrong++;
    }
  }
  for (const e of strangers) {
    t.strangers++;
    if (clf.predict(e).identity) t.falseAccepts++;
  }
}

function tallyToCv(t: Tally): AdapterCv {
  return {
    trials: t.trials,
    accuracy: t.trials ? t.correct / t.trials : 0,
    wrongNames: t.wrong,
    rank1: t.trials ? t.rank1 / t.trials : 0,
    strangerTrials: t.strangers,
    falseAccepts: t.falseAccepts,
  };
}

/** Samples (and negatives) with their embeddings mapped through the head. */
export function adaptSamples(h: HeadWeights, samples: readonly TrainSample[]): TrainSample[] {
  return samples.map((s) => ({ ...s, embedding: applyHead(h, s.embedding) }));
}
export function adaptNegatives(h: HeadWeights, negatives: readonly NegativeSample[]): NegativeSample[] {
  return negatives.map((n, i) => ({ embedding: applyHead(h, negEmbedding(n)), group: negGroup(n, i) }));
}

/** LFW View 1 verification, raw and through the head: threshold on DevTrain, accuracy on DevTest. */
export function lfwGuard(h: HeadWeights, lfw: LfwGuardPairs, maxDeltaPoints: number): AdapterLfw {
  const cache = new Map<ArrayLike<number>, Float64Array>();
  const through = (e: ArrayLike<number> | null) => {
    if (!e) return null;
    let y = cache.get(e);
    if (!y) cache.set(e, (y = applyHead(h, e)));
    return y;
  };
  const measure = (map: (e: ArrayLike<number> | null) => ArrayLike<number> | null) => {
    const scored = (pairs: LfwGuardPairs['train']) =>
      pairs.map((p) => {
        const a = map(p.a);
        const b = map(p.b);
        return { same: p.same, distance: a && b ? euclidean(a, b) : null };
      });
    const train = scored(lfw.train);
    const { threshold, accuracy } = bestThreshold(train);
    return { threshold, devTrain: accuracy, devTest: accuracyAt(scored(lfw.test), threshold) };
  };
  const raw = measure((e) => e);
  const adapted = measure(through);
  return {
    root: lfw.root,
    trainPairs: lfw.train.length,
    testPairs: lfw.test.length,
    raw,
    adapted,
    deltaPoints: (adapted.devTest - raw.devTest) * 100,
    maxDeltaPoints: maxDeltaPoints,
  };
}

/** The decision and its reason, from the cross-validated numbers and the LFW guard. */
export function decide(cv: { folds: number; raw: AdapterCv; adapted: AdapterCv } | null, lfw: AdapterLfw | undefined, headMoved: boolean): { used: boolean; reason: string } {
  if (!headMoved) return { used: false, reason: 'kept off: early stopping kept the identity (no epoch beat "no change" on the held-out photos)' };
  if (!cv || cv.folds === 0 || cv.raw.trials === 0) return { used: false, reason: 'kept off: cannot cross-validate (no player has two source photos)' };
  const { raw, adapted } = cv;
  const n = raw.trials;
  const idText = `held-out photos named correctly through the head ${pct(adapted.accuracy)} vs ${pct(raw.accuracy)} raw (${n} photos, ${cv.folds} folds)`;
  const wrongText = `wrong names ${adapted.wrongNames} vs ${raw.wrongNames}`;
  const rankText = `rank-1 ${pct(adapted.rank1)} vs ${pct(raw.rank1)}`;
  const faText = `negatives named ${adapted.falseAccepts} vs ${raw.falseAccepts} of ${raw.strangerTrials}`;
  if (!(adapted.accuracy > raw.accuracy)) return { used: false, reason: `kept off: not better than the raw embedding: ${idText}; ${rankText}` };
  if (adapted.wrongNames > raw.wrongNames) return { used: false, reason: `kept off: more wrong names through the head: ${wrongText}; ${idText}` };
  if (adapted.falseAccepts > raw.falseAccepts) return { used: false, reason: `kept off: more strangers named through the head: ${faText}; ${idText}` };
  let lfwText = 'LFW guard not run (no LFW pairs given)';
  if (lfw) {
    lfwText = `LFW DevTest ${pct(lfw.adapted.devTest)} vs ${pct(lfw.raw.devTest)} raw (Δ ${lfw.deltaPoints.toFixed(2)} points, limit ±${lfw.maxDeltaPoints})`;
    if (Math.abs(lfw.deltaPoints) > lfw.maxDeltaPoints) return { used: false, reason: `kept off: LFW verification moved too far: ${lfwText}; ${idText}` };
  }
  return { used: true, reason: `used: ${idText}; ${wrongText}; ${faText}; ${rankText}; ${lfwText}` };
}

/** Attach an adapter to a trained classifier (validated again by loadClassifier). */
export function withAdapter(clf: TrainedClassifier, adapter: SavedAdapter): TrainedClassifier {
  return loadClassifier({ ...clf.toJSON(), adapter });
}

function isMoved(h: HeadWeights): boolean {
  for (let i = 0; i < h.dim; i++) {
    if (h.b[i] !== 0) return true;
    for (let j = 0; j < h.dim; j++) if (h.W[i * h.dim + j] !== (i === j ? 1 : 0)) return true;
  }
  return false;
}

/**
 * Cross-validated decision, final head, final classifier. `onProgress(done, total, note)` reports
 * each head epoch (with its loss and active-triplet fraction) and each classifier training.
 * Needs the TensorFlow.js backend ready (the head trains with tfjs); synchronous CPU work.
 */
export function adaptAndTrain(
  samples: readonly TrainSample[],
  negatives: readonly NegativeSample[] = [],
  options: Partial<AdaptOptions> = {},
  onProgress?: ProgressFn,
): AdaptResult {
  const opts: AdaptOptions = { ...DEFAULT_ADAPT_OPTIONS, ...options };
  const headOpts: HeadTrainOptions = { ...DEFAULT_HEAD_OPTIONS, seed: opts.seed, ...opts.head };
  if (samples.length === 0) throw new Error('no enrolled faces to adapt to');
  const folds = assignFolds(samples, negatives, Math.max(2, opts.folds), opts.seed);
  const k = opts.skipCv ? 0 : Math.min(Math.max(2, opts.folds), folds.maxGroups);
  const canCv = k >= 2;
  // Progress: per fold a head (maxEpochs) and two classifiers; then the final head and classifier.
  const total = (canCv ? k : 0) * (headOpts.maxEpochs + 2) + headOpts.maxEpochs + 1;
  let done = 0;
  const tick = (note: string, n = 1) => onProgress?.((done = Math.min(total, done + n)), total, note);
  const epochNote = (what: string) => (log: EpochLog, max: number) =>
    tick(`${what}: epoch ${log.epoch}/${max} loss ${log.trainLoss.toFixed(3)} active ${pct(log.activeFraction)} val ${log.valLoss.toFixed(3)}`);
  let leaked = 0;
  const allowance = (r: HeadTrainResult) => {
    done += headOpts.maxEpochs - r.epochs.length;
    leaked += Math.max(0, r.tensorGrowth);
  };

  const t0 = performance.now();
  const rawT: Tally = { trials: 0, rank1: 0, correct: 0, wrong: 0, strangers: 0, falseAccepts: 0 };
  const adaT: Tally = { ...rawT };
  const realAny = samples.some((s) => !s.augmented);
  if (canCv) {
    for (let f = 0; f < k; f++) {
      const train = samples.filter((_, i) => folds.sampleFold[i] !== f);
      const negTrain = negatives.filter((_, i) => folds.negativeFold[i] !== f);
      const trials = samples.flatMap((s, i) => (folds.sampleFold[i] === f && (!realAny || !s.augmented) ? [{ e: s.embedding, label: s.label }] : []));
      const strangers = negatives.flatMap((n, i) => (folds.negativeFold[i] === f ? [negEmbedding(n)] : []));
      if (train.length === 0 || trials.length === 0) continue;
      const head = trainTripletHead(train, negTrain.map(negEmbedding), headOpts, epochNote(`head, fold ${f + 1}/${k}`));
      allowance(head);
      const raw = trainClassifier(train, negTrain, opts.classifier);
      tick(`classifier, fold ${f + 1}/${k}, raw`);
      score(raw, trials, strangers, rawT);
      const ada = trainClassifier(adaptSamples(head.weights, train), adaptNegatives(head.weights, negTrain), opts.classifier);
      tick(`classifier, fold ${f + 1}/${k}, through the head`);
      score(
        ada,
        trials.map((t) => ({ ...t, e: applyHead(head.weights, t.e) })),
        strangers.map((e) => applyHead(head.weights, e)),
        adaT,
      );
    }
  }
  const cvMs = performance.now() - t0;
  const cv = { folds: canCv ? k : 0, raw: canCv ? tallyToCv(rawT) : emptyCv(), adapted: canCv ? tallyToCv(adaT) : emptyCv(), ms: Math.round(cvMs) };

  const head = trainTripletHead(samples, negatives.map(negEmbedding), headOpts, epochNote('head, all photos'));
  allowance(head);
  // What is stored (rounded) is what the final classifier is trained through.
  const stored = storedWeights(head.weights);
  head.weights = headWeightsOf({ dim: head.weights.dim, ...stored });
  const lfw = opts.lfw ? lfwGuard(head.weights, opts.lfw, opts.maxLfwDeltaPoints) : undefined;
  const measured = decide(canCv ? cv : null, lfw, isMoved(head.weights));
  const decision = opts.force ? { used: true, reason: opts.skipCv ? 'used (forced, not cross-validated)' : `used (forced); measured: ${measured.reason}` } : measured;
  const clf = decision.used
    ? trainClassifier(adaptSamples(head.weights, samples), adaptNegatives(head.weights, negatives), opts.classifier)
    : trainClassifier(samples, negatives, opts.classifier);
  tick('final classifier');
  const adapter: SavedAdapter = {
    kind: 'linear-l2',
    dim: head.weights.dim,
    ...stored,
    used: decision.used,
    reason: decision.reason,
    training: {
      selection: headOpts.selection,
      margin: headOpts.margin,
      playersPerBatch: headOpts.playersPerBatch,
      facesPerPlayer: headOpts.facesPerPlayer,
      epochs: head.epochs.length,
      bestEpoch: head.bestEpoch,
      steps: head.steps,
      validation: head.validation,
      validationLoss: { initial: head.initialValLoss, best: head.bestValLoss },
      trainingMs: Math.round(head.trainingMs),
      backend: head.backend,
    },
    cv,
    ...(lfw ? { lfw } : {}),
  };
  const json = clf.toJSON();
  // A head training whose tensor count grew from epoch to epoch is a bug worth seeing in the model.
  if (leaked > 0) json.metrics.warnings.push(`triplet-head training leaked ${leaked} tensors across epochs`);
  return { classifier: loadClassifier({ ...json, adapter }), adapter, head };
}
