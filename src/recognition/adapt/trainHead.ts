// Training the triplet head (tripletHead.ts) on a roster's embeddings with TensorFlow.js on the
// active backend:
//  - mini-batches of P players × K faces (augmented views included), plus a few negative-pool
//    faces that serve only as negatives;
//  - online triplet selection per mini-batch on the head's current outputs: semi-hard (FaceNet,
//    the default) or batch-hard (triplets.ts);
//  - loss = mean [d(a,p) − d(a,n) + α]₊ over the selected triplets, d = squared euclidean distance
//    between L2-normalised outputs, + λ(‖W − I‖² + ‖b‖²), which pulls the head towards "no change";
//  - Adam; early stopping on a held-out fold of source photos: every view of a held-out photo is
//    kept out of training (augmented copies of one photo never straddle train and validation), and
//    the measure is the mean triplet loss of held-out faces against the training faces (every
//    triplet, zeros included). The weights of the best epoch are kept; epoch 0 is the identity, so
//    a head that never beats "no change" on held-out photos comes back as the identity.
// Everything runs in tf.tidy; the tensor count is recorded after every epoch and must not grow.
import { tf } from '../../vision/tf.ts';
import { createRng, shuffleInPlace } from '../svm.ts';
import type { HeadWeights } from './adapter.ts';
import { TripletHead } from './tripletHead.ts';
import { crossTripletLoss, selectTriplets, squaredDistances, type Selection } from './triplets.ts';

export interface HeadSample {
  embedding: ArrayLike<number>;
  label: string;
  /** Source photo: samples sharing it are held out together. Default: each sample its own. */
  group?: string;
  augmented?: boolean;
}

export interface HeadTrainOptions {
  selection: Selection;
  /** α of the triplet loss (on squared distances of unit vectors, which lie in [0, 4]). */
  margin: number;
  /** P: players per mini-batch (fewer when the roster is smaller). */
  playersPerBatch: number;
  /** K: faces per player per mini-batch. */
  facesPerPlayer: number;
  /** Negative-pool faces added to each mini-batch (negatives only, never anchors). */
  negativesPerBatch: number;
  learningRate: number;
  maxEpochs: number;
  /** Stop after this many epochs without a better validation loss. */
  patience: number;
  /**
   * A validation loss counts as better only when it beats the best by more than this share of the
   * initial (identity) loss: once held-out faces fit, further epochs only let the head drift away
   * from what the embedding knew (which the LFW guard would see).
   */
  minImprovement: number;
  /** λ of λ(‖W − I‖² + ‖b‖²). */
  identityDecay: number;
  /** Share of each player's source photos held out for early stopping (at least one when a player has two). */
  validationFraction: number;
  seed: number;
}

export const DEFAULT_HEAD_OPTIONS: HeadTrainOptions = {
  selection: 'semi-hard',
  margin: 0.2,
  playersPerBatch: 8,
  facesPerPlayer: 8,
  negativesPerBatch: 8,
  learningRate: 0.0001,
  maxEpochs: 40,
  patience: 6,
  minImprovement: 0.05,
  identityDecay: 0.001,
  validationFraction: 0.2,
  seed: 1,
};

export interface EpochLog {
  epoch: number;
  /** Mean loss of the selected triplets over the epoch's mini-batches (before each step). */
  trainLoss: number;
  /** Triplets with a positive loss / anchor–positive pairs (semi-hard) or anchors (batch-hard). */
  activeFraction: number;
  triplets: number;
  valLoss: number;
  /** Held-out real photos whose nearest training face is their player. */
  valAccuracy: number;
  numTensors: number;
  ms: number;
}

export interface HeadTrainResult {
  weights: HeadWeights;
  epochs: EpochLog[];
  bestEpoch: number;
  initialValLoss: number;
  bestValLoss: number;
  initialValAccuracy: number;
  steps: number;
  /** What early stopping watched, in words. */
  validation: string;
  trainingMs: number;
  /** Tensors alive after the last epoch minus after the first (0 = no leak). */
  tensorGrowth: number;
  backend: string;
}

export type EpochFn = (log: EpochLog, maxEpochs: number) => void;

interface Prepared {
  dim: number;
  x: Float32Array;
  labels: Int32Array;
  classNames: string[];
  /** Training rows per class (player rows only). */
  trainByClass: number[][];
  negRows: number[];
  valRows: number[];
  valReal: boolean[];
  refRows: number[];
}

function prepare(samples: readonly HeadSample[], negatives: readonly ArrayLike<number>[], opts: HeadTrainOptions, rng: () => number): Prepared {
  if (samples.length === 0) throw new Error('no samples to train the head on');
  const dim = samples[0]!.embedding.length;
  const n = samples.length + negatives.length;
  const x = new Float32Array(n * dim);
  [...samples.map((s) => s.embedding), ...negatives].forEach((e, i) => {
    if (e.length !== dim) throw new Error(`embedding ${i} has ${e.length} values, expected ${dim}`);
    for (let j = 0; j < dim; j++) {
      const v = e[j]!;
      if (!Number.isFinite(v)) throw new Error(`embedding ${i} value ${j} is not a finite number`);
      x[i * dim + j] = v;
    }
  });
  const classNames = [...new Set(samples.map((s) => s.label))].sort();
  const classIndex = new Map(classNames.map((c, i) => [c, i]));
  const labels = new Int32Array(n).fill(-1);
  samples.forEach((s, i) => (labels[i] = classIndex.get(s.label)!));

  // Held-out groups per class, chosen at random but reproducibly.
  const groupsByClass = classNames.map(() => [] as string[]);
  const groupOf = samples.map((s, i) => s.group ?? `#sample-${i}`);
  samples.forEach((s, i) => {
    const list = groupsByClass[labels[i]!]!;
    if (!list.includes(groupOf[i]!)) list.push(groupOf[i]!);
  });
  const valGroups = new Set<string>();
  groupsByClass.forEach((groups, c) => {
    if (groups.length < 2) return;
    const g = [...groups];
    shuffleInPlace(g, g.length, rng);
    const k = Math.min(g.length - 1, Math.max(1, Math.round(g.length * opts.validationFraction)));
    for (const v of g.slice(0, k)) valGroups.add(`${c}\u0000${v}`);
  });
  const isVal = (i: number) => valGroups.has(`${labels[i]}\u0000${groupOf[i]}`);
  const trainByClass = classNames.map(() => [] as number[]);
  const valRows: number[] = [];
  samples.forEach((_, i) => (isVal(i) ? valRows.push(i) : trainByClass[labels[i]!]!.push(i)));
  // Held-out real photos decide the accuracy shown; a group without one counts its views.
  const realGroups = new Set(valRows.filter((i) => !samples[i]!.augmented).map((i) => groupOf[i]));
  const valReal = valRows.map((i) => !samples[i]!.augmented || !realGroups.has(groupOf[i]));
  const negRows = negatives.map((_, i) => samples.length + i);
  return { dim, x, labels, classNames, trainByClass, negRows, valRows, valReal, refRows: [...trainByClass.flat(), ...negRows] };
}

function pick<T>(items: readonly T[], k: number, rng: () => number): T[] {
  const a = [...items];
  shuffleInPlace(a, a.length, rng);
  return a.slice(0, k);
}

function rowsOf(x: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

/** Validation: held-out faces (anchors) against the training faces and negatives (references). */
function validate(head: TripletHead, p: Prepared, opts: HeadTrainOptions): { loss: number; accuracy: number } {
  const { dim } = p;
  const A = p.valRows.length;
  const R = p.refRows.length;
  const va = head.transform(rowsOf(p.x, dim, p.valRows), A);
  const vr = head.transform(rowsOf(p.x, dim, p.refRows), R);
  const d = new Float64Array(A * R);
  let correct = 0;
  let real = 0;
  for (let a = 0; a < A; a++) {
    let best = -1;
    let bestD = Infinity;
    for (let r = 0; r < R; r++) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const t = va[a * dim + j]! - vr[r * dim + j]!;
        s += t * t;
      }
      d[a * R + r] = s;
      if (s < bestD) {
        bestD = s;
        best = r;
      }
    }
    if (p.valReal[a]) {
      real++;
      if (best >= 0 && p.labels[p.refRows[best]!] === p.labels[p.valRows[a]!]) correct++;
    }
  }
  const loss = crossTripletLoss(
    d,
    Int32Array.from(p.valRows, (r) => p.labels[r]!),
    Int32Array.from(p.refRows, (r) => p.labels[r]!),
    opts.margin,
  ).loss;
  return { loss, accuracy: real ? correct / real : 0 };
}

/**
 * Trains the head on `samples` (players' faces) and `negatives` (faces of nobody on the roster).
 * Needs the TensorFlow.js backend to be ready (selectBackend / tf.ready). Deterministic selection
 * and sampling for a seed (the backend's float arithmetic may differ in the last bits).
 */
export function trainTripletHead(
  samples: readonly HeadSample[],
  negatives: readonly ArrayLike<number>[] = [],
  options: Partial<HeadTrainOptions> = {},
  onEpoch?: EpochFn,
): HeadTrainResult {
  const t0 = performance.now();
  const opts: HeadTrainOptions = { ...DEFAULT_HEAD_OPTIONS, ...options };
  if (!(opts.margin > 0)) throw new Error('margin must be positive');
  const rng = createRng(opts.seed);
  const p = prepare(samples, negatives, opts, rng);
  const head = new TripletHead(p.dim);
  const backend = tf.getBackend();
  const initial = p.valRows.length ? validate(head, p, opts) : { loss: 0, accuracy: 0 };
  const base: Omit<HeadTrainResult, 'weights' | 'trainingMs'> = {
    epochs: [],
    bestEpoch: 0,
    initialValLoss: initial.loss,
    bestValLoss: initial.loss,
    initialValAccuracy: initial.accuracy,
    steps: 0,
    validation: '',
    tensorGrowth: 0,
    backend,
  };
  const trainable = p.trainByClass.map((rows, c) => (rows.length >= 2 ? c : -1)).filter((c) => c >= 0);
  if (p.valRows.length === 0 || trainable.length === 0) {
    const why = p.valRows.length === 0 ? 'no player has two source photos to hold one out' : 'no player has two training faces';
    const weights = head.weights();
    head.dispose();
    return { ...base, validation: `none (${why}): the head stays the identity`, weights, trainingMs: performance.now() - t0 };
  }
  const nVal = p.valRows.length;
  const validation = `triplet loss of ${nVal} held-out faces (${p.valReal.filter(Boolean).length} real photos) against ${p.refRows.length} training faces`;

  const optimizer = tf.train.adam(opts.learningRate);
  const P = Math.min(opts.playersPerBatch, trainable.length);
  const K = opts.facesPerPlayer;
  const nTrain = trainable.reduce((s, c) => s + p.trainByClass[c]!.length, 0);
  const stepsPerEpoch = Math.max(1, Math.ceil(nTrain / (P * K)));
  let best = { loss: initial.loss, epoch: 0, weights: head.weights() };
  let steps = 0;
  let firstTensors = -1;
  let lastTensors = -1;
  const epochs: EpochLog[] = [];
  try {
    for (let epoch = 1; epoch <= opts.maxEpochs; epoch++) {
      const te = performance.now();
      let lossSum = 0;
      let lossBatches = 0;
      let active = 0;
      let pairs = 0;
      let tripletCount = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch: number[] = [];
        for (const c of pick(trainable, P, rng)) batch.push(...pick(p.trainByClass[c]!, K, rng));
        batch.push(...pick(p.negRows, opts.negativesPerBatch, rng));
        const labels = Int32Array.from(batch, (r) => p.labels[r]!);
        const B = batch.length;
        const xb = tf.tidy(() => tf.tensor2d(rowsOf(p.x, p.dim, batch), [B, p.dim]));
        const fw = head.forward(xb);
        try {
          // Selection on the head's current outputs, then dL/dy of the mean hinge over the selected
          // triplets: each active (a, p, n) adds 2(y_n − y_p), 2(y_p − y_a), 2(y_a − y_n) / T.
          const y = fw.y.dataSync() as Float32Array;
          const dm = squaredDistances(y, B, p.dim);
          const sel = selectTriplets(opts.selection, dm, labels, opts.margin);
          pairs += sel.pairs;
          if (sel.triplets.length === 0) continue;
          const T = sel.triplets.length;
          const dy = new Float32Array(B * p.dim);
          let batchLoss = 0;
          for (const [a, q, n] of sel.triplets) {
            const l = dm.d[a * B + q]! - dm.d[a * B + n]! + opts.margin;
            if (l <= 0) continue;
            active++;
            batchLoss += l;
            for (let j = 0; j < p.dim; j++) {
              const ya = y[a * p.dim + j]!;
              const yp = y[q * p.dim + j]!;
              const yn = y[n * p.dim + j]!;
              dy[a * p.dim + j] += (2 * (yn - yp)) / T;
              dy[q * p.dim + j] += (2 * (yp - ya)) / T;
              dy[n * p.dim + j] += (2 * (ya - yn)) / T;
            }
          }
          lossSum += batchLoss / T;
          lossBatches++;
          tripletCount += T;
          tf.tidy(() => optimizer.applyGradients(head.gradients(xb, fw.y, fw.r, tf.tensor2d(dy, [B, p.dim]), opts.identityDecay)));
          steps++;
        } finally {
          xb.dispose();
          fw.y.dispose();
          fw.r.dispose();
        }
      }
      const val = validate(head, p, opts);
      const numTensors = tf.memory().numTensors;
      if (firstTensors < 0) firstTensors = numTensors;
      lastTensors = numTensors;
      const log: EpochLog = {
        epoch,
        trainLoss: lossBatches ? lossSum / lossBatches : 0,
        activeFraction: pairs ? active / pairs : 0,
        triplets: tripletCount,
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        numTensors,
        ms: performance.now() - te,
      };
      epochs.push(log);
      onEpoch?.(log, opts.maxEpochs);
      if (val.loss < best.loss - opts.minImprovement * initial.loss) best = { loss: val.loss, epoch, weights: head.weights() };
      else if (epoch - best.epoch >= opts.patience) break;
    }
  } finally {
    optimizer.dispose();
    head.dispose();
  }
  return {
    ...base,
    weights: best.weights,
    epochs,
    bestEpoch: best.epoch,
    bestValLoss: best.loss,
    steps,
    validation,
    tensorGrowth: firstTensors < 0 ? 0 : lastTensors - firstTensors,
    trainingMs: performance.now() - t0,
  };
}
