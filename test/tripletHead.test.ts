// Triplet-loss adaptation (src/recognition/adapt/): the selection rules on hand-made and random
// distance matrices, the head's maths (identity start, hand-written gradients against finite
// differences), training on a synthetic problem with known structure, the stored adapter and the
// decision to use it or keep it off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../src/vision/tf.ts';
import { selectBackend } from '../src/vision/backend.ts';
import { createRng } from '../src/recognition/svm.ts';
import { loadClassifier, trainClassifier, type TrainSample } from '../src/recognition/linearSvmClassifier.ts';
import { parseSavedModel } from '../src/recognition/model.ts';
import { loadModel, saveModel, STORED_MODEL_VERSION, type StoredModel } from '../src/recognition/store.ts';
import { applyHead, identityWeights, storedWeights, type HeadWeights, type SavedAdapter } from '../src/recognition/adapt/adapter.ts';
import { TripletHead } from '../src/recognition/adapt/tripletHead.ts';
import { trainTripletHead } from '../src/recognition/adapt/trainHead.ts';
import { adaptAndTrain, adaptSamples, decide, lfwGuard, withAdapter } from '../src/recognition/adapt/adaptRoster.ts';
import { Recognizer, trainRoster } from '../src/recognition/service.ts';
import { openRoster } from '../src/roster/roster.ts';
import { trainRequestSchema } from '../src/server/apiSchemas.ts';
import {
  batchHardTriplets,
  crossTripletLoss,
  isSemiHard,
  semiHardTriplets,
  squaredDistances,
  tripletLoss,
  type DistanceMatrix,
} from '../src/recognition/adapt/triplets.ts';

beforeAll(async () => {
  await selectBackend('auto');
});

// ───────────── a synthetic world with known structure ─────────────

const DIM = 16;

/**
 * Four players in 16-D. Each photo is a unit vector: a shared base (dim 4), the player's small
 * signal on dims 0–3 and, when `nuisance` > 0, a large random component in a shared nuisance plane
 * (dims 5–6: pose, light…) that has nothing to do with who it is. Raw distances are dominated by
 * the nuisance, so classes overlap; a linear map that drops dims 5–6 separates them (the L2 norm
 * undoes the rescaling).
 */
function world(seed: number, nuisance: number, signal = 0.25) {
  const nuisanceDims = 2;
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const photo = (k: number) => {
    const v = Array.from({ length: DIM }, () => gauss() * 0.04);
    v[k]! += signal;
    v[4]! += 1;
    for (let j = 5; j < 5 + nuisanceDims; j++) v[j]! += gauss() * nuisance;
    return unit(v);
  };
  const view = (p: number[]) => unit(p.map((x) => x + gauss() * 0.01));
  /** `photos` photos per player, each with `views` − 1 augmented views. */
  const enrol = (photos: number, views: number, prefix = 'p'): TrainSample[] => {
    const out: TrainSample[] = [];
    for (let k = 0; k < 4; k++) {
      for (let i = 0; i < photos; i++) {
        const p = photo(k);
        for (let v = 0; v < views; v++) out.push({ embedding: v === 0 ? p : view(p), label: `c${k}`, group: `${prefix}${k}-${i}`, augmented: v > 0 });
      }
    }
    return out;
  };
  return { photo, enrol };
}

/** Nearest-neighbour identification of `test` against `train`, optionally through a head. */
function nnAccuracy(train: readonly TrainSample[], test: readonly TrainSample[], h?: HeadWeights): number {
  const f = (e: ArrayLike<number>) => (h ? applyHead(h, e) : e);
  const refs = train.map((s) => ({ e: f(s.embedding), label: s.label }));
  let ok = 0;
  for (const t of test) {
    const e = f(t.embedding);
    let best = '';
    let bestD = Infinity;
    for (const r of refs) {
      let d = 0;
      for (let j = 0; j < DIM; j++) d += (e[j]! - r.e[j]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = r.label;
      }
    }
    if (best === t.label) ok++;
  }
  return ok / test.length;
}

function randomMatrix(seed: number, n: number): DistanceMatrix {
  const rng = createRng(seed);
  const d = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) d[i * n + k] = d[k * n + i] = rng() * 2;
  return { n, d };
}

// ───────────── selection ─────────────

describe('triplet selection', () => {
  // Anchor 0 and positive 1 at distance 0.5; negatives at 0.3 (hard), 0.6 and 0.65 (semi-hard with
  // α = 0.2) and 0.9 (easy). Row 1 is the positive's view of the same points.
  const labels = [0, 0, 1, 1, 2, 2];
  const n = 6;
  const d = new Float64Array(n * n);
  const set = (i: number, k: number, v: number) => (d[i * n + k] = d[k * n + i] = v);
  set(0, 1, 0.5);
  set(0, 2, 0.3);
  set(0, 3, 0.65);
  set(0, 4, 0.6);
  set(0, 5, 0.9);
  set(1, 2, 2);
  set(1, 3, 2);
  set(1, 4, 2);
  set(1, 5, 2);
  set(2, 3, 0.1);
  set(2, 4, 1);
  set(2, 5, 1);
  set(3, 4, 1);
  set(3, 5, 1);
  set(4, 5, 0.1);
  const m = { n, d };

  it('semi-hard: the closest negative with d(a,p) < d(a,n) < d(a,p) + α, nothing when there is none', () => {
    const { triplets, pairs } = semiHardTriplets(m, labels, 0.2);
    expect(pairs).toBe(6); // ordered same-label pairs: (0,1) (1,0) (2,3) (3,2) (4,5) (5,4)
    const from0 = triplets.filter(([a]) => a === 0);
    expect(from0).toEqual([[0, 1, 4]]); // 0.6, not the hard 0.3 nor the other semi-hard 0.65 nor the easy 0.9
    // Anchor 1: every negative is at 2 ≥ 0.5 + 0.2: all easy, no triplet.
    expect(triplets.filter(([a]) => a === 1)).toEqual([]);
    for (const t of triplets) expect(isSemiHard(m, labels, t, 0.2)).toBe(true);
  });

  it('batch-hard: the farthest positive and the closest negative of each anchor', () => {
    const { triplets } = batchHardTriplets(m, labels);
    expect(triplets.find(([a]) => a === 0)).toEqual([0, 1, 2]);
    expect(triplets.find(([a]) => a === 1)).toEqual([1, 0, 2]);
  });

  it('on random matrices: only semi-hard triplets, one for every pair that has one; batch-hard = brute force', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const n = 24;
      const mm = randomMatrix(seed, n);
      const rng = createRng(seed + 100);
      // Labels 0..3, a few −1 (negative-pool faces: never anchors or positives).
      const lab = Array.from({ length: n }, () => (rng() < 0.15 ? -1 : Math.floor(rng() * 4)));
      const margin = 0.1 + rng() * 0.5;
      const { triplets, pairs } = semiHardTriplets(mm, lab, margin);
      let expectedPairs = 0;
      let expectedTriplets = 0;
      for (let a = 0; a < n; a++) {
        for (let p = 0; p < n; p++) {
          if (a === p || lab[a]! < 0 || lab[p] !== lab[a]) continue;
          expectedPairs++;
          const candidates = Array.from({ length: n }, (_, k) => k).filter((k) => isSemiHard(mm, lab, [a, p, k], margin));
          const got = triplets.filter(([x, y]) => x === a && y === p);
          if (candidates.length === 0) expect(got).toEqual([]);
          else {
            expectedTriplets++;
            expect(got).toHaveLength(1);
            const best = Math.min(...candidates.map((k) => mm.d[a * n + k]!));
            expect(mm.d[a * n + got[0]![2]]).toBe(best);
          }
        }
      }
      expect(pairs).toBe(expectedPairs);
      expect(triplets).toHaveLength(expectedTriplets);
      for (const t of triplets) {
        expect(isSemiHard(mm, lab, t, margin)).toBe(true);
        const [a, p, k] = t;
        expect(mm.d[a * n + p]!).toBeLessThan(mm.d[a * n + k]!);
        expect(mm.d[a * n + k]!).toBeLessThan(mm.d[a * n + p]! + margin);
      }
      // Semi-hard triplets always have a positive loss below the margin.
      const l = tripletLoss(mm, triplets, margin);
      if (triplets.length) {
        expect(l.active).toBe(triplets.length);
        expect(l.loss).toBeGreaterThan(0);
        expect(l.loss).toBeLessThan(margin);
      }

      for (const [a, p, k] of batchHardTriplets(mm, lab).triplets) {
        const same = Array.from({ length: n }, (_, j) => j).filter((j) => j !== a && lab[j] === lab[a]);
        const diff = Array.from({ length: n }, (_, j) => j).filter((j) => lab[j] !== lab[a]);
        expect(mm.d[a * n + p]).toBe(Math.max(...same.map((j) => mm.d[a * n + j]!)));
        expect(mm.d[a * n + k]).toBe(Math.min(...diff.map((j) => mm.d[a * n + j]!)));
      }
    }
  });

  it('cross-set validation loss equals the brute-force mean over every triplet', () => {
    const rng = createRng(5);
    const A = 7;
    const R = 30;
    const d = Float64Array.from({ length: A * R }, () => rng() * 2);
    const al = Array.from({ length: A }, (_, i) => i % 3);
    const rl = Array.from({ length: R }, (_, i) => (i % 7 === 0 ? -1 : i % 3));
    let s = 0;
    let c = 0;
    for (let a = 0; a < A; a++) {
      for (let p = 0; p < R; p++) {
        if (rl[p] !== al[a]) continue;
        for (let k = 0; k < R; k++) {
          if (rl[k] === al[a]) continue;
          s += Math.max(0, d[a * R + p]! - d[a * R + k]! + 0.3);
          c++;
        }
      }
    }
    const r = crossTripletLoss(d, al, rl, 0.3);
    expect(r.triplets).toBe(c);
    expect(r.loss).toBeCloseTo(s / c, 10);
  });

  it('squared distances of rows', () => {
    const m2 = squaredDistances([0, 0, 3, 4, 1, 0], 3, 2);
    expect(Array.from(m2.d)).toEqual([0, 25, 1, 25, 0, 20, 1, 20, 0]);
  });
});

// ───────────── the head ─────────────

describe('triplet head', () => {
  it('starts as the identity: L2-normalised embeddings come out unchanged (tfjs and plain JS)', () => {
    const w = world(3, 1.5);
    const xs = w.enrol(2, 1).map((s) => s.embedding);
    const id = identityWeights(DIM);
    const head = new TripletHead(DIM);
    const out = head.transform(xs.flatMap((x) => Array.from(x)), xs.length);
    head.dispose();
    xs.forEach((x, i) => {
      const js = applyHead(id, x);
      for (let j = 0; j < DIM; j++) {
        expect(js[j]).toBeCloseTo(x[j]!, 12);
        expect(out[i * DIM + j]).toBeCloseTo(x[j]!, 6);
      }
    });
  });

  it('hand-written gradients match finite differences', () => {
    const rng = createRng(11);
    const g = () => rng() * 2 - 1;
    const d = 5;
    const B = 6;
    const W0 = Float64Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0) + 0.3 * g());
    const b0 = Float64Array.from({ length: d }, () => 0.2 * g());
    const x = Float32Array.from({ length: B * d }, g);
    const c = Float32Array.from({ length: B * d }, g);
    const lambda = 0.1;
    // L = Σ c·y + λ(‖W − I‖² + ‖b‖²), evaluated in float64 with the plain-JS head.
    const L = (W: Float64Array, b: Float64Array) => {
      let s = 0;
      for (let i = 0; i < B; i++) {
        const y = applyHead({ dim: d, W, b }, x.subarray(i * d, (i + 1) * d));
        for (let j = 0; j < d; j++) s += c[i * d + j]! * y[j]!;
      }
      for (let i = 0; i < d; i++) {
        s += lambda * b[i]! ** 2;
        for (let j = 0; j < d; j++) s += lambda * (W[i * d + j]! - (i === j ? 1 : 0)) ** 2;
      }
      return s;
    };
    const head = new TripletHead(d, { dim: d, W: W0, b: b0 });
    const [gW, gb] = tf.tidy(() => {
      const xt = tf.tensor2d(x, [B, d]);
      const fw = head.forward(xt);
      return head.gradients(xt, fw.y, fw.r, tf.tensor2d(c, [B, d]), lambda).map((t) => Array.from(t.tensor.dataSync()));
    });
    head.dispose();
    const e = 1e-5;
    for (let i = 0; i < d * d; i++) {
      const Wp = W0.slice();
      const Wm = W0.slice();
      Wp[i]! += e;
      Wm[i]! -= e;
      expect(gW![i]).toBeCloseTo((L(Wp, b0) - L(Wm, b0)) / (2 * e), 3);
    }
    for (let i = 0; i < d; i++) {
      const bp = b0.slice();
      const bm = b0.slice();
      bp[i]! += e;
      bm[i]! -= e;
      expect(gb![i]).toBeCloseTo((L(W0, bp) - L(W0, bm)) / (2 * e), 3);
    }
  });

  it('separates classes that overlap in the raw space: the loss falls, nearest-neighbour accuracy rises, no tensor leaks', () => {
    const w = world(7, 1.5);
    const train = w.enrol(8, 3);
    const test = w.enrol(25, 1, 'test');
    const before = tf.memory().numTensors;
    const logs: { loss: number; active: number }[] = [];
    const r = trainTripletHead(train, [], { learningRate: 0.01, maxEpochs: 60, patience: 60, negativesPerBatch: 0 }, (l) =>
      logs.push({ loss: l.valLoss, active: l.activeFraction }),
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(r.tensorGrowth).toBe(0);
    expect(new Set(r.epochs.map((e) => e.numTensors)).size).toBe(1);

    const raw = nnAccuracy(train, test);
    const adapted = nnAccuracy(train, test, r.weights);
    expect(raw).toBeLessThan(0.5);
    expect(adapted).toBeGreaterThan(0.9);
    // Held-out triplet loss: from the identity's to a small fraction of it.
    expect(r.bestEpoch).toBeGreaterThan(0);
    expect(r.bestValLoss).toBeLessThan(r.initialValLoss * 0.2);
    expect(logs.at(-1)!.active).toBeLessThan(logs[0]!.active);
  }, 60_000);

  it('batch-hard selection trains too and leaks nothing', () => {
    const w = world(8, 1);
    const before = tf.memory().numTensors;
    const r = trainTripletHead(w.enrol(5, 3), [], { selection: 'batch-hard', maxEpochs: 5, patience: 5 });
    expect(r.epochs.length).toBeGreaterThan(0);
    expect(r.tensorGrowth).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stays the identity when no player has a second photo to hold out', () => {
    const r = trainTripletHead(world(9, 1.5).enrol(1, 4), [], {});
    expect(r.validation).toMatch(/^none/);
    expect(Array.from(r.weights.W)).toEqual(Array.from(identityWeights(DIM).W));
  });
});

// ───────────── storage and the decision ─────────────

function fakeAdapter(h: HeadWeights, used: boolean): SavedAdapter {
  const cv = { trials: 1, accuracy: 1, wrongNames: 0, rank1: 1, strangerTrials: 0, falseAccepts: 0 };
  return {
    kind: 'linear-l2',
    dim: h.dim,
    ...storedWeights(h),
    used,
    reason: used ? 'used: test' : 'kept off: test',
    training: {
      selection: 'semi-hard',
      margin: 0.2,
      playersPerBatch: 4,
      facesPerPlayer: 8,
      epochs: 1,
      bestEpoch: 1,
      steps: 1,
      validation: 'test',
      validationLoss: { initial: 1, best: 0.5 },
      trainingMs: 1,
      backend: 'cpu',
    },
    cv: { folds: 2, raw: cv, adapted: cv, ms: 1 },
  };
}

describe('stored adapter', () => {
  const w = world(21, 0.3, 0.5);
  const samples = w.enrol(4, 3);
  // A head that drops the nuisance dims: what a well-trained head would be.
  const drop: HeadWeights = identityWeights(DIM);
  for (let j = 5; j < 7; j++) drop.W[j * DIM + j] = 0;

  it('round-trips through JSON and the model file; a model without one still loads and ignores nothing', () => {
    const rawClf = trainClassifier(samples, [], { leaveIdentityOut: false, cGrid: [1] });
    const json = rawClf.toJSON();
    expect(json.adapter).toBeUndefined();
    expect(() => parseSavedModel(JSON.parse(JSON.stringify(json)))).not.toThrow();

    const adaClf = withAdapter(trainClassifier(adaptSamples(drop, samples), [], { leaveIdentityOut: false, cGrid: [1] }), fakeAdapter(drop, true));
    const dir = mkdtempSync(join(tmpdir(), 'facecast-adapter-'));
    try {
      const stored: StoredModel = {
        version: STORED_MODEL_VERSION,
        trainedAt: new Date().toISOString(),
        rosterHash: 'x',
        players: {},
        vision: { embedder: 'faceRecognitionNet', detector: 'mtcnn', alignment: 'similarity' },
        augmented: true,
        negatives: 0,
        classifier: adaClf.toJSON(),
      };
      saveModel(dir, stored);
      const back = loadModel(dir)!;
      expect(back.classifier.adapter!.used).toBe(true);
      expect(back.classifier.adapter!.W).toEqual(adaClf.toJSON().adapter!.W);
      const reloaded = loadClassifier(back.classifier);
      // The loaded classifier takes raw embeddings and applies the head itself.
      for (const s of w.enrol(2, 1, 'probe')) {
        const a = reloaded.predict(s.embedding);
        const b = adaClf.predict(s.embedding);
        expect(a.best.id).toBe(b.best.id);
        expect(a.best.probability).toBeCloseTo(b.best.probability, 9);
        expect(a.best.distance).toBeCloseTo(b.best.distance, 9);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is applied only when used: a kept-off adapter changes no answer', () => {
    const rawClf = trainClassifier(samples, [], { leaveIdentityOut: false, cGrid: [1] });
    const off = withAdapter(rawClf, fakeAdapter(drop, false));
    const on = loadClassifier({ ...rawClf.toJSON(), adapter: fakeAdapter(drop, true) });
    let differs = 0;
    for (const s of w.enrol(3, 1, 'probe')) {
      expect(off.predict(s.embedding)).toEqual(rawClf.predict(s.embedding));
      if (on.predict(s.embedding).best.distance !== rawClf.predict(s.embedding).best.distance) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('rejects an adapter of the wrong size', () => {
    const json = { ...trainClassifier(samples, [], { leaveIdentityOut: false, cGrid: [1] }).toJSON(), adapter: fakeAdapter(identityWeights(4), true) };
    expect(() => parseSavedModel(json)).toThrow(/adapter/);
  });
});

describe('the decision', () => {
  const cv = (accuracy: number, wrongNames = 0, falseAccepts = 0) => ({ trials: 40, accuracy, wrongNames, rank1: 1, strangerTrials: 20, falseAccepts });
  const lfw = (delta: number) => ({
    root: 'lfw',
    trainPairs: 10,
    testPairs: 10,
    raw: { threshold: 0.5, devTrain: 0.9, devTest: 0.9 },
    adapted: { threshold: 0.5, devTrain: 0.9, devTest: 0.9 + delta / 100 },
    deltaPoints: delta,
    maxDeltaPoints: 0.5,
  });
  const both = (raw: ReturnType<typeof cv>, adapted: ReturnType<typeof cv>) => ({ folds: 5, raw, adapted });

  it('uses the head only when strictly better, with no more wrong names or strangers named and LFW within 0.5 points', () => {
    expect(decide(both(cv(0.9), cv(0.95)), undefined, true).used).toBe(true);
    const tie = decide(both(cv(0.9), cv(0.9)), undefined, true);
    expect(tie.used).toBe(false);
    expect(tie.reason).toMatch(/not better/);
    expect(decide(both(cv(0.9), cv(0.85)), undefined, true).used).toBe(false);
    expect(decide(both(cv(0.9, 0), cv(0.95, 1)), undefined, true).reason).toMatch(/wrong names/);
    expect(decide(both(cv(0.9), cv(0.95, 0, 1)), undefined, true).reason).toMatch(/strangers/);
    expect(decide(both(cv(0.9), cv(0.95)), lfw(-0.4), true).used).toBe(true);
    const forgot = decide(both(cv(0.9), cv(0.95)), lfw(-0.6), true);
    expect(forgot.used).toBe(false);
    expect(forgot.reason).toMatch(/LFW/);
    expect(decide(both(cv(0.9), cv(0.95)), lfw(0.6), true).used).toBe(false);
    expect(decide(both(cv(0.9), cv(0.95)), undefined, false).reason).toMatch(/identity/);
    expect(decide(null, undefined, true).reason).toMatch(/cannot cross-validate/);
  });

  it('LFW guard: the identity head changes nothing', () => {
    const w = world(31, 0.2, 0.5);
    const faces = w.enrol(6, 1);
    const pairs = faces.slice(0, 12).map((s, i) => ({ a: s.embedding, b: faces[(i * 5 + 1) % faces.length]!.embedding, same: s.label === faces[(i * 5 + 1) % faces.length]!.label }));
    const g = lfwGuard(identityWeights(DIM), { root: 'x', train: pairs, test: [...pairs, { a: null, b: pairs[0]!.b, same: true }] }, 0.5);
    expect(g.deltaPoints).toBeCloseTo(0, 9);
    expect(g.adapted.devTest).toBeCloseTo(g.raw.devTest, 12);
  });

  it('keeps the head off when the raw embedding is already perfect, with the reason', () => {
    const w = world(41, 0, 0.6);
    const samples = w.enrol(5, 3);
    const r = adaptAndTrain(samples, [], { folds: 3, head: { maxEpochs: 5 } });
    expect(r.adapter.cv.raw.accuracy).toBe(1);
    expect(r.adapter.used).toBe(false);
    expect(r.adapter.reason).toMatch(/^kept off/);
    // Kept off: the classifier answers from raw embeddings, but the weights are stored.
    expect(r.classifier.toJSON().adapter!.W).toHaveLength(DIM);
    const plain = trainClassifier(samples, []);
    for (const s of w.enrol(2, 1, 'probe')) expect(r.classifier.predict(s.embedding).best).toEqual(plain.predict(s.embedding).best);
  }, 60_000);

  it('uses the head when it clearly beats the raw embedding on held-out photos', () => {
    const w = world(7, 1.5);
    const r = adaptAndTrain(w.enrol(8, 3), [], { folds: 3, head: { learningRate: 0.01, maxEpochs: 60, patience: 60, negativesPerBatch: 0 } });
    expect(r.adapter.cv.adapted.accuracy).toBeGreaterThan(r.adapter.cv.raw.accuracy + 0.2);
    expect(r.adapter.used).toBe(true);
    expect(r.adapter.reason).toMatch(/^used/);
  }, 120_000);
});

describe('the roster service and the API flag', () => {
  it('trainRoster({adapt}) stores the head with the classifier and the Recognizer answers through it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'facecast-adapt-roster-'));
    const roster = openRoster(dir);
    try {
      // The synthetic 16-D world, zero-padded to the embedder's 128 dimensions.
      const w = world(7, 1.5);
      const pad = (e: ArrayLike<number>) => {
        const out = new Float32Array(128);
        out.set(Array.from(e));
        return out;
      };
      const samples = w.enrol(8, 3);
      const sha = (g: string) => Buffer.from(g.padEnd(32, '.')).toString('hex').slice(0, 64);
      for (let k = 0; k < 4; k++) roster.upsertPlayer({ id: `c${k}`, name: `Player ${k}` });
      samples.forEach((s, i) => {
        roster.addFaces(s.label, [{ sourceSha256: sha(s.group!), embedding: pad(s.embedding), quality: 1, augmentation: s.augmented ? `jitter-${i}` : '' }]);
      });
      const vision = { embedder: 'faceRecognitionNet', detector: 'mtcnn', alignment: 'similarity' };
      const { model } = trainRoster(roster, vision, {
        augmented: true,
        adapt: { folds: 3, head: { learningRate: 0.01, maxEpochs: 60, patience: 60, negativesPerBatch: 0 } },
      });
      const adapter = model.classifier.adapter!;
      expect(adapter.dim).toBe(128);
      expect(adapter.cv.raw.trials).toBe(32);
      expect(adapter.used).toBe(true);
      const recognizer = new Recognizer(model, roster);
      // The model remembers the vision setup its embeddings came from and says when the run differs.
      expect(recognizer.visionMismatch({ detector: 'mtcnn', alignment: 'similarity' })).toBeNull();
      expect(recognizer.visionMismatch({ detector: 'mtcnn', alignment: 'landmarks68' })).toMatch(/similarity alignment.*landmarks68.*re-embed the roster \(facecast roster reembed.*enrol the players' photos and the negatives again\) and retrain/);
      const direct = loadClassifier(model.classifier);
      for (const s of w.enrol(3, 1, 'probe')) expect(recognizer.predict(pad(s.embedding))).toEqual(direct.predict(pad(s.embedding)));
      // Without adapt nothing changes: no adapter in the model.
      expect(trainRoster(roster, vision, { augmented: true }).model.classifier.adapter).toBeUndefined();
    } finally {
      roster.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('POST /api/train takes {adapt: true}', () => {
    expect(trainRequestSchema.parse({ adapt: true })).toEqual({ adapt: true });
    expect(trainRequestSchema.parse({ augmented: false })).toEqual({ augmented: false });
    expect(() => trainRequestSchema.parse({ adapt: 'yes' })).toThrow();
  });
});
