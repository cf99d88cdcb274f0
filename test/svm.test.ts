// The roster classifier's maths: the dual coordinate descent SVM against hand-solved optima, Platt
// calibration, and the open-set one-vs-rest classifier on synthetic face-like embeddings.
import { describe, expect, it } from 'vitest';
import { createRng, decisionValue, trainLinearSvm, type SvmModel } from '../src/recognition/svm.ts';
import { fitPlatt, plattProbability } from '../src/recognition/platt.ts';
import { loadClassifier, trainClassifier, type TrainSample, type TrainedClassifier } from '../src/recognition/linearSvmClassifier.ts';
import { SERVICE_LEVEL } from './helpers/serviceLevels.ts';

// ───────────── helpers ─────────────

type Label = 1 | -1;

function margins(m: SvmModel, x: number[][], y: Label[]): number[] {
  return x.map((xi, i) => y[i]! * decisionValue(m, xi));
}

/** ½(‖w‖² + b²) + C Σ hinge: the primal that the solver minimises (bias regularised, B = 1). */
function primal(w: number[], b: number, x: number[][], y: Label[], C: number): number {
  let s = 0.5 * (w.reduce((a, v) => a + v * v, 0) + b * b);
  x.forEach((xi, i) => {
    s += C * Math.max(0, 1 - y[i]! * (b + xi.reduce((a, v, j) => a + v * w[j]!, 0)));
  });
  return s;
}

/** Synthetic "faces": unit vectors around identity centres, with realistic distances. */
function faceWorld(seed: number, dim = 128) {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const noise = (s: number) => Array.from({ length: dim }, () => (gauss() * s) / Math.sqrt(dim));
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const add = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);
  // A shared component makes different identities ~0.9 apart rather than the √2 of random directions.
  const base = unit(noise(1)).map((v) => v * 1.2);
  return {
    identity: () => unit(add(base, noise(1))),
    /** A new photo of an identity: ~0.4 from other photos of it. */
    photo: (c: number[]) => unit(add(c, noise(0.28))),
    /** An augmented view of a photo (flip, crop jitter…): very near it. */
    view: (p: number[]) => unit(add(p, noise(0.08))),
  };
}

type World = ReturnType<typeof faceWorld>;

function enrol(w: World, centres: number[][], photos: number, views: number, prefix = 'player'): TrainSample[] {
  const out: TrainSample[] = [];
  centres.forEach((c, i) => {
    for (let p = 0; p < photos; p++) {
      const photo = w.photo(c);
      for (let v = 0; v < views; v++) {
        out.push({ embedding: v === 0 ? photo : w.view(photo), label: `${prefix}${i}`, group: `${prefix}${i}/${p}`, augmented: v > 0 });
      }
    }
  });
  return out;
}

function strangers(w: World, identities: number, photos: number, views: number): { embedding: number[]; group: string }[] {
  return enrol(w, Array.from({ length: identities }, () => w.identity()), photos, views, 'stranger').map((s) => ({
    embedding: s.embedding as number[],
    group: s.group!,
  }));
}

// ───────────── the solver ─────────────

describe('linear SVM by dual coordinate descent', () => {
  // Hard-margin optimum by hand: every point satisfies y(w·x + b) ≥ 1; the points on x1 = ±1 force
  // w1 ≥ 1 and b = 0, (±1, ±1) force w2 = 0, so the minimum-norm separator is w = (1, 0), b = 0.
  const symX = [[1, 0], [1, 1], [1, -1], [2, 0.5], [-1, 0], [-1, 1], [-1, -1], [-2, -0.3]];
  const symY: Label[] = [1, 1, 1, 1, -1, -1, -1, -1];
  // Shifted copy with a non-zero bias: x1 ∈ {0, 2} forces 2w1 + b ≥ 1 and b ≤ −1, so w1 ≥ 1 and
  // |b| ≥ 1; w = (1, 0), b = −1 meets both with equality (the same with or without bias regularisation).
  const shiftX = [[2, 0], [2, 1], [2, -1], [3, 5], [0, 0], [0, 1], [0, -1], [-4, 2]];

  it.each([
    ['symmetric set', symX, 0],
    ['shifted set', shiftX, -1],
  ] as const)('matches the hand-solved maximum-margin separator with large C (%s)', (_, x, bExpected) => {
    const X = x.map((r) => [...r]);
    const m = trainLinearSvm(X, symY, { C: 1e4, eps: 1e-9, maxIter: 100_000, seed: 7 });
    expect(m.converged).toBe(true);
    expect(m.w[0]).toBeCloseTo(1, 3);
    expect(m.w[1]).toBeCloseTo(0, 3);
    expect(m.b).toBeCloseTo(bExpected, 3);
    // Geometric margin 1/‖w‖ = 1; every point on or outside it.
    expect(1 / Math.hypot(m.w[0]!, m.w[1]!)).toBeCloseTo(1, 3);
    for (const yf of margins(m, X, symY)) expect(yf).toBeGreaterThanOrEqual(1 - 1e-6);
    // Strong duality: primal = dual = ½‖w̃‖² at the optimum.
    const optimum = 0.5 * (1 + bExpected * bExpected);
    expect(m.primalObjective).toBeCloseTo(optimum, 6);
    expect(m.dualObjective).toBeCloseTo(optimum, 6);
    expect(m.primalObjective - m.dualObjective).toBeGreaterThanOrEqual(-1e-9);
    expect(m.primalObjective - m.dualObjective).toBeLessThan(1e-6);
    // Complementary slackness: only points exactly on the margin carry dual weight.
    margins(m, X, symY).forEach((yf, i) => {
      if (m.alpha[i]! > 1e-9) expect(yf).toBeCloseTo(1, 6);
    });
  });

  it('meets the KKT conditions and closes the duality gap on a noisy, non-separable problem', () => {
    const rng = createRng(3);
    const x: number[][] = [];
    const y: Label[] = [];
    for (let i = 0; i < 200; i++) {
      const label: Label = i % 2 === 0 ? 1 : -1;
      x.push([label * 0.5 + rng() * 2 - 1, rng() * 2 - 1, rng() * 2 - 1]);
      y.push(label);
    }
    const C = 2;
    const m = trainLinearSvm(x, y, { C, eps: 1e-6, maxIter: 100_000, seed: 1 });
    expect(m.converged).toBe(true);
    const gap = m.primalObjective - m.dualObjective;
    expect(gap).toBeGreaterThanOrEqual(-1e-9);
    expect(gap / m.primalObjective).toBeLessThan(1e-4);
    // KKT of the box-constrained dual, per sample.
    const yf = margins(m, x, y);
    let bounded = 0;
    m.alpha.forEach((a, i) => {
      if (a <= 1e-12) expect(yf[i]).toBeGreaterThanOrEqual(1 - 1e-4);
      else if (a >= C - 1e-12) {
        expect(yf[i]).toBeLessThanOrEqual(1 + 1e-4);
        bounded++;
      } else expect(yf[i]).toBeCloseTo(1, 4);
    });
    expect(bounded).toBeGreaterThan(0); // the overlap really makes it a soft-margin problem
    // The reported primal is the true primal, and no nearby point does better.
    const w = Array.from(m.w);
    expect(primal(w, m.b, x, y, C)).toBeCloseTo(m.primalObjective, 9);
    for (let k = 0; k < 20; k++) {
      const dw = w.map(() => (rng() - 0.5) * 0.02);
      expect(primal(w.map((v, j) => v + dw[j]!), m.b + (rng() - 0.5) * 0.02, x, y, C)).toBeGreaterThan(m.primalObjective - 1e-6);
    }
  });

  it('is deterministic for a seed, and a zero sample weight removes that sample', () => {
    const x = [[1, 0.2], [0.8, -0.4], [1.5, 1], [-1, 0.3], [-0.7, -0.9], [-1.2, 0.8]];
    const y: Label[] = [1, 1, 1, -1, -1, -1];
    const opts = { C: 10, eps: 1e-8, maxIter: 10_000, seed: 11 };
    const a = trainLinearSvm(x, y, opts);
    const b = trainLinearSvm(x, y, opts);
    expect(Array.from(a.w)).toEqual(Array.from(b.w));
    expect(a.b).toBe(b.b);
    // An outlier on the wrong side, weighted 0, must not move the solution.
    const withOutlier = trainLinearSvm([...x, [3, 3]], [...y, -1], { ...opts, sampleWeight: [1, 1, 1, 1, 1, 1, 0] });
    expect(withOutlier.w[0]).toBeCloseTo(a.w[0]!, 6);
    expect(withOutlier.w[1]).toBeCloseTo(a.w[1]!, 6);
    expect(withOutlier.b).toBeCloseTo(a.b, 6);
    // …whereas with full weight it does.
    const counted = trainLinearSvm([...x, [3, 3]], [...y, -1], opts);
    expect(Math.abs(counted.w[0]! - a.w[0]!)).toBeGreaterThan(1e-2);
  });

  it('class weights bound each side’s dual variables and shift the boundary towards the cheap side', () => {
    const rng = createRng(5);
    const x = Array.from({ length: 100 }, (_, i) => [(i % 2 === 0 ? 0.3 : -0.3) + rng() * 2 - 1]);
    const y: Label[] = x.map((_, i) => (i % 2 === 0 ? 1 : -1));
    const base = { C: 1, eps: 1e-6, maxIter: 50_000, seed: 2 };
    const plain = trainLinearSvm(x, y, base);
    const heavy = trainLinearSvm(x, y, { ...base, classWeight: { positive: 10, negative: 1 } });
    heavy.alpha.forEach((a, i) => expect(a).toBeLessThanOrEqual((y[i] === 1 ? 10 : 1) + 1e-12));
    expect(heavy.alpha.some((a, i) => y[i] === 1 && a > 1 + 1e-9)).toBe(true);
    // Errors on positives now cost 10×: more of the line is called positive.
    const positives = (m: SvmModel) => x.filter((xi) => decisionValue(m, xi) > 0).length;
    expect(positives(heavy)).toBeGreaterThan(positives(plain));
  });
});

// ───────────── Platt scaling ─────────────

describe('Platt scaling', () => {
  it('recovers a known sigmoid and is non-decreasing in the decision value', () => {
    const rng = createRng(9);
    const f: number[] = [];
    const pos: boolean[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = rng() * 8 - 4;
      f.push(v);
      pos.push(rng() < 1 / (1 + Math.exp(-2 * v + 0.5))); // A = −2, B = 0.5
    }
    const fit = fitPlatt(f, pos);
    expect(fit.clamped).toBe(false);
    expect(fit.A).toBeCloseTo(-2, 1);
    expect(fit.B).toBeCloseTo(0.5, 1);
    let prev = -1;
    for (let v = -50; v <= 50; v += 0.25) {
      const p = plattProbability(v, fit);
      expect(p).toBeGreaterThanOrEqual(prev);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      prev = p;
    }
    // No overflow at absurd decision values.
    expect(plattProbability(1e308, fit)).toBe(1);
    expect(plattProbability(-1e308, fit)).toBe(0);
  });

  it('uses the smoothed targets on a separable set instead of running off to infinity', () => {
    const f = [-3, -2.5, -2, -1.5, 1.5, 2, 2.5, 3];
    const pos = f.map((v) => v > 0);
    const fit = fitPlatt(f, pos);
    expect(Number.isFinite(fit.A) && Number.isFinite(fit.B)).toBe(true);
    expect(fit.A).toBeLessThan(0);
    // The largest probability cannot exceed what the target (N+ + 1)/(N+ + 2) = 5/6 pulls towards by much.
    expect(plattProbability(3, fit)).toBeLessThan(0.97);
    expect(plattProbability(3, fit)).toBeGreaterThan(0.75);
  });

  it('replaces an anti-correlated fit by a constant so probability never falls as f rises', () => {
    const f = [-2, -1, -0.5, 0.5, 1, 2];
    const pos = [true, true, true, false, false, false];
    const fit = fitPlatt(f, pos);
    expect(fit.clamped).toBe(true);
    expect(fit.A).toBe(0);
    expect(plattProbability(-5, fit)).toBeCloseTo(plattProbability(5, fit), 12);
    expect(plattProbability(0, fit)).toBeCloseTo(0.5, 6); // mean of the symmetric smoothed targets
  });
});

// ───────────── the open-set classifier ─────────────

describe('one-vs-rest roster classifier', () => {
  const world = faceWorld(2024);
  const players = Array.from({ length: 6 }, () => world.identity());
  const training = enrol(world, players, 4, 5);
  const negatives = strangers(world, 40, 3, 3);
  let clf: TrainedClassifier;

  it('trains in seconds and reports its choices', () => {
    const progress: number[] = [];
    clf = trainClassifier(training, negatives, {}, (done, total) => progress.push(done / total));
    const m = clf.metrics;
    expect(progress.at(-1)).toBe(1);
    expect(m.players).toBe(6);
    expect(m.samples).toBe(120);
    expect(m.negatives).toBe(360);
    expect([0.01, 0.1, 1, 10, 100]).toContain(m.C);
    expect(m.cv).toHaveLength(5);
    expect(m.cvAccuracy).toBeGreaterThanOrEqual(0.9);
    // Genuine trials are the real photos only (augmented views are excluded): 6 × 4.
    expect(m.genuineTrials).toBe(24);
    // Cross-validated negatives (all 360) + each player left out in turn (120 samples) together
    // with one fold of negatives each time (120 photo groups dealt over 5 folds: 24 × 3 views).
    expect(m.strangerTrials).toBe(360 + 120 + 6 * 72);
    expect(m.falseAccepts).toBe(0);
    expect(m.falseAcceptRate).toBe(0);
    expect(m.genuineAcceptRate).toBeGreaterThanOrEqual(0.8);
    expect(m.thresholdSource).toBe('data');
    expect(clf.thresholds.pMin).toBeGreaterThanOrEqual(0.5);
    expect(clf.thresholds.marginMin).toBeGreaterThanOrEqual(0.1);
    expect(clf.thresholds.distMax).toBeLessThanOrEqual(0.6);
    expect(m.trainingMs).toBeLessThan(SERVICE_LEVEL.trainingMs);
  });

  it('names every training sample correctly and never names the wrong player', () => {
    let accepted = 0;
    for (const s of training) {
      const r = clf.predict(s.embedding);
      expect(r.best.id).toBe(s.label);
      if (r.identity) {
        expect(r.identity.id).toBe(s.label);
        expect(r.identity.confidence).toBeGreaterThanOrEqual(0);
        expect(r.identity.confidence).toBeLessThanOrEqual(1);
        accepted++;
      }
    }
    expect(accepted / training.length).toBeGreaterThanOrEqual(0.95);
  });

  it('accepts most new photos of the players, and no wrong names', () => {
    let right = 0;
    let wrong = 0;
    players.forEach((c, i) => {
      for (let k = 0; k < 30; k++) {
        const id = clf.predict(world.photo(c)).identity;
        if (id?.id === `player${i}`) right++;
        else if (id) wrong++;
      }
    });
    expect(wrong).toBe(0);
    expect(right / 180).toBeGreaterThanOrEqual(0.8);
  });

  it('calls strangers never seen in training unknown', () => {
    for (let s = 0; s < 60; s++) {
      const c = world.identity();
      for (let k = 0; k < 5; k++) {
        const r = clf.predict(world.photo(c));
        expect(r.identity).toBeNull();
        expect(r.rejectedBy.length).toBeGreaterThan(0);
      }
    }
  });

  it('calls a face unknown when it is deep on a player’s side of the hyperplane but far from all his photos', () => {
    // A linear SVM extrapolates: moving along w raises the decision value without limit, although
    // such a face resembles none of the enrolled photos. Only the distance gate catches this.
    const model = clf.toJSON();
    const w = model.classes[0]!.w;
    const wn = Math.hypot(...w);
    const q = players[0]!.map((v, j) => v + (1.5 * w[j]!) / wn);
    const qn = Math.hypot(...q);
    const r = clf.predict(q.map((v) => v / qn));
    expect(r.best.id).toBe('player0');
    expect(r.best.probability).toBeGreaterThanOrEqual(clf.thresholds.pMin);
    expect(r.best.margin).toBeGreaterThanOrEqual(clf.thresholds.marginMin);
    expect(r.rejectedBy).toEqual(['distance']);
    expect(r.identity).toBeNull();
  });

  it('keeps probabilities monotone in the decision value for every player', () => {
    // Each player's saved sigmoid, swept over decision values well beyond the observed range.
    const model = clf.toJSON();
    for (const cls of model.classes) {
      expect(cls.platt.A).toBeLessThanOrEqual(0);
      const pts = [...Array(50).keys()].map((i) => plattProbability(-10 + (i * 20) / 49, cls.platt));
      for (let i = 1; i < pts.length; i++) expect(pts[i]).toBeGreaterThanOrEqual(pts[i - 1]!);
    }
  });

  it('survives a save → load round trip with identical predictions', () => {
    const json = JSON.stringify(clf);
    const loaded = loadClassifier(JSON.parse(json));
    expect(loaded.labels).toEqual(clf.labels);
    expect(loaded.thresholds).toEqual(clf.thresholds);
    const queries = [...training.slice(0, 30).map((s) => Array.from(s.embedding)), ...Array.from({ length: 30 }, () => world.photo(world.identity()))];
    for (const q of queries) expect(loaded.predict(q)).toEqual(clf.predict(q));
  });

  it('refuses a corrupted model with a message that says what is wrong', () => {
    const good = clf.toJSON();
    const shortW = structuredClone(good);
    shortW.classes[2]!.w.pop();
    expect(() => loadClassifier(shortW)).toThrow(/invalid facecast classifier model[\s\S]*has 127 weights, expected dim = 128[\s\S]*at classes\[2\]\.w/);
    const badPlatt = structuredClone(good);
    badPlatt.classes[0]!.platt.A = 3;
    expect(() => loadClassifier(badPlatt)).toThrow(/Platt A must be ≤ 0[\s\S]*at classes\[0\]\.platt\.A/);
    const noThresholds: Record<string, unknown> = structuredClone(good);
    delete noThresholds.thresholds;
    expect(() => loadClassifier(noThresholds)).toThrow(/at thresholds/);
    expect(() => loadClassifier({ ...good, format: 'something-else' })).toThrow(/at format/);
    expect(() => loadClassifier({ ...good, classes: [good.classes[0], good.classes[0]] })).toThrow(/duplicate label/);
    expect(() => loadClassifier('not a model')).toThrow(/invalid facecast classifier model/);
  });
});

describe('roster classifier edge cases', () => {
  const world = faceWorld(77);

  it('keeps augmented views of one photo in one fold (groups), so CV cannot peek', () => {
    // Each player has ONE photo and 8 augmented views of it. With groups, a held-out player has no
    // photo left to train on, so cross-validated identification must fail; without groups, views
    // of the same photo land in train and test and CV would look perfect.
    const centres = Array.from({ length: 3 }, () => world.identity());
    const grouped = enrol(world, centres, 1, 8);
    const opts = { cGrid: [1], leaveIdentityOut: false };
    const withGroups = trainClassifier(grouped, [], opts);
    expect(withGroups.metrics.cvAccuracy).toBe(0);
    expect(withGroups.metrics.warnings.join('\n')).toMatch(/single photo group/);
    const ungrouped = grouped.map(({ embedding, label }) => ({ embedding, label }));
    expect(trainClassifier(ungrouped, [], opts).metrics.cvAccuracy).toBe(1);
  });

  it('works with a single player against negatives only', () => {
    const c = world.identity();
    const clf = trainClassifier(enrol(world, [c], 5, 4), strangers(world, 20, 3, 2));
    expect(clf.labels).toEqual(['player0']);
    expect(clf.metrics.thresholdSource).toBe('data');
    expect(clf.metrics.falseAccepts).toBe(0);
    let right = 0;
    for (let k = 0; k < 30; k++) if (clf.predict(world.photo(c)).identity?.id === 'player0') right++;
    expect(right).toBeGreaterThanOrEqual(24);
    for (let k = 0; k < 30; k++) expect(clf.predict(world.photo(world.identity())).identity).toBeNull();
  });

  it('works without negatives: other players, left out in turn, are the strangers', () => {
    const centres = Array.from({ length: 4 }, () => world.identity());
    const clf = trainClassifier(enrol(world, centres, 4, 3), []);
    expect(clf.metrics.negatives).toBe(0);
    expect(clf.metrics.strangerTrials).toBe(4 * 4 * 3);
    expect(clf.metrics.falseAccepts).toBe(0);
    for (let k = 0; k < 30; k++) expect(clf.predict(world.photo(world.identity())).identity).toBeNull();
    centres.forEach((c, i) => expect(clf.predict(world.photo(c)).best.id).toBe(`player${i}`));
  });

  it('works with one player and no negatives, falling back on the distance ceiling', () => {
    const c = world.identity();
    const clf = trainClassifier(enrol(world, [c], 3, 2), []);
    expect(clf.metrics.thresholdSource).toBe('no-impostors');
    expect(clf.metrics.warnings.join('\n')).toMatch(/no impostor trials/);
    expect(clf.thresholds.distMax).toBe(0.6);
    expect(clf.predict(world.photo(c)).identity?.id).toBe('player0');
    expect(clf.predict(world.photo(world.identity())).identity).toBeNull();
  });

  it('is deterministic for a seed', () => {
    const centres = Array.from({ length: 3 }, () => world.identity());
    const samples = enrol(world, centres, 3, 3);
    const negs = strangers(world, 10, 2, 2);
    const strip = (c: TrainedClassifier) => {
      const { created: _c, metrics, ...rest } = c.toJSON();
      return { ...rest, metrics: { ...metrics, trainingMs: 0 } };
    };
    const a = trainClassifier(samples, negs, { seed: 5 });
    expect(strip(trainClassifier(samples, negs, { seed: 5 }))).toEqual(strip(a));
    expect(strip(trainClassifier(samples, negs, { seed: 6 }))).not.toEqual(strip(a));
  });

  it('rejects bad input clearly', () => {
    expect(() => trainClassifier([], [])).toThrow(/without player samples/);
    expect(() => trainClassifier([{ embedding: [1, 0], label: 'a' }, { embedding: [1, 0, 0], label: 'b' }], [])).toThrow(/features, expected 2/);
    expect(() => trainClassifier([{ embedding: [1, 0], label: 'a' }], [], { folds: 1 })).toThrow(/invalid training options/);
    const clf = trainClassifier([{ embedding: [1, 0], label: 'a' }, { embedding: [0.9, 0.1], label: 'a' }], [[0, 1]], { cGrid: [1] });
    expect(() => clf.predict([1, 0, 0])).toThrow(/expects 2/);
    expect(() => clf.predict([NaN, 0])).toThrow(/not a finite number/);
  });
});
