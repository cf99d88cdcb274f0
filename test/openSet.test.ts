// The open-set rule's numeric core against brute-force references: the measured distance
// statistics, the false-accept rate and its inverse, the threshold for a roster, the per-photo
// tightening, and the recorded statistics that ship with facecast.
import { describe, expect, it } from 'vitest';
import { measureDistances } from '../src/eval/distanceStats.ts';
import { DistanceModel, loadDistanceStats, type DistanceSetupStats } from '../src/recognition/openset/distanceStats.ts';
import { buildOpenSet, OpenSetRule } from '../src/recognition/openset/rule.ts';
import { trainClassifier } from '../src/recognition/linearSvmClassifier.ts';

/** Deterministic normal deviates (Box–Muller over a small LCG). */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 2 ** 32;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** People as points on the unit sphere in `dim` dimensions, `per` noisy images each, keyed like LFW paths. */
function syntheticFaceSet(people: number, per: number, dim: number, noise: number, seed = 1): Record<string, number[]> {
  const g = gaussian(seed);
  const out: Record<string, number[]> = {};
  for (let p = 0; p < people; p++) {
    const centre = unit(Array.from({ length: dim }, g));
    for (let i = 0; i < per; i++) out[`/lfw/P${p}/P${p}_${i}.jpg`] = unit(centre.map((c) => c + noise * g()));
  }
  return out;
}

const euclid = (a: number[], b: number[]) => Math.hypot(...a.map((v, i) => v - b[i]!));

describe('distance statistics', () => {
  const faces = syntheticFaceSet(60, 3, 8, 0.25);
  const stats = measureDistances({ ...faces, '/lfw/P0/missing.jpg': null as unknown as number[] }, { dataset: 'synthetic', command: 'test', at: '2026-01-01' });
  const paths = Object.keys(faces);
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < paths.length; i++) {
    for (let j = i + 1; j < paths.length; j++) {
      const same = paths[i]!.split('/')[2] === paths[j]!.split('/')[2];
      (same ? genuine : impostor).push(euclid(faces[paths[i]!]!, faces[paths[j]!]!));
    }
  }
  impostor.sort((a, b) => a - b);

  it('counts every pair once, by person, and keeps the lowest impostor distances exactly', () => {
    expect(stats.measured).toMatchObject({ images: paths.length + 1, faces: paths.length, identities: 60 });
    expect(stats.genuine.count).toBe(genuine.length);
    expect(stats.impostor.count).toBe(impostor.length);
    expect(stats.impostor.lowest.slice(0, 50)).toEqual(impostor.slice(0, 50).map((d) => Math.round(d * 1e5) / 1e5));
    expect(stats.impostor.mean).toBeCloseTo(impostor.reduce((s, d) => s + d, 0) / impostor.length, 4);
    expect(stats.genuine.histogram.counts.reduce((s, c) => s + c, 0)).toBe(genuine.length);
  });

  it('the false-accept rate and the threshold for a rate agree with counting the pairs', () => {
    const model = new DistanceModel(stats);
    for (const k of [1, 5, 40, 300]) {
      const far = k / impostor.length;
      const d = model.distanceAt(far);
      // Exactly k impostor pairs fall within the threshold for a rate of k pairs.
      expect(impostor.filter((x) => x <= d).length).toBe(k);
      expect(model.falseAcceptRate(d)).toBeCloseTo(far, 8);
    }
    // Below the smallest measured pair the rate keeps falling (the fitted tail), never to below zero.
    const low = model.falseAcceptRate(impostor[0]! - 0.05);
    expect(low).toBeGreaterThan(0);
    expect(low).toBeLessThan(1 / impostor.length);
    expect(model.distanceAt(low)).toBeCloseTo(impostor[0]! - 0.05, 3);
    // More evidence for "same person" at the typical genuine distance than at the typical impostor one.
    expect(model.logLikelihoodRatio(stats.genuine.mean)).toBeGreaterThan(0);
    expect(model.logLikelihoodRatio(stats.impostor.mean)).toBeLessThan(0);
  });

  it('photos of one person add fewer than one chance each', () => {
    expect(stats.galleryExponent).toBeGreaterThan(0);
    expect(stats.galleryExponent).toBeLessThanOrEqual(1);
  });
});

describe('the recorded statistics of the default setup', () => {
  const stats = loadDistanceStats('faceRecognitionNet/mtcnn/landmarks68');
  it('ship with facecast, say how they were measured, and order genuine below impostor', () => {
    expect(stats).not.toBeNull();
    const s = stats as DistanceSetupStats;
    expect(s.measured.dataset).toMatch(/LFW View 1 DevTrain/);
    expect(s.impostor.count).toBeGreaterThan(1_000_000);
    expect(s.genuine.mean).toBeLessThan(s.impostor.mean - 0.15);
    const model = new DistanceModel(s);
    // The threshold tightens as the target does, and stays between the two distributions.
    expect(model.distanceAt(1e-2)).toBeGreaterThan(model.distanceAt(1e-3));
    expect(model.distanceAt(1e-3)).toBeGreaterThan(model.distanceAt(1e-5));
    expect(model.distanceAt(1e-3)).toBeGreaterThan(s.genuine.mean);
    expect(model.distanceAt(1e-3)).toBeLessThan(s.impostor.mean);
  });
  it('an unmeasured setup has none', () => {
    expect(loadDistanceStats('faceRecognitionNet/ssd/nonsense')).toBeNull();
  });
});

describe('the open-set rule for a roster', () => {
  const faces = syntheticFaceSet(200, 2, 8, 0.25, 7);
  const stats = measureDistances(faces, { dataset: 'synthetic', command: 'test', at: '2026-01-01' });
  const g = gaussian(3);
  const players = Array.from({ length: 6 }, () => unit(Array.from({ length: 8 }, g)));

  it('splits the target over the roster\'s chances: more photos, a tighter threshold', () => {
    const one = buildOpenSet({ stats, setup: 's', falseAcceptRate: 0.01, references: players.map((p) => [p]), negatives: [] });
    const three = buildOpenSet({ stats, setup: 's', falseAcceptRate: 0.01, references: players.map((p) => [p, p, p]), negatives: [] });
    expect(one.chances).toBe(6);
    expect(three.chances).toBeCloseTo(6 * 3 ** stats.galleryExponent, 6);
    const model = new DistanceModel(stats);
    expect(one.distanceMax).toBeCloseTo(model.distanceAt(1 - 0.99 ** (1 / 6)), 5);
    expect(three.distanceMax).toBeLessThanOrEqual(one.distanceMax);
  });

  it('tightens a photo that strangers come close to, and never loosens one', () => {
    const hubNegatives = Array.from({ length: 40 }, () => unit(players[0]!.map((c) => c + 0.3 * g())));
    const built = buildOpenSet({ stats, setup: 's', falseAcceptRate: 0.01, references: players.map((p) => [p]), negatives: hubNegatives });
    expect(built.references[0]![0]!.shift).toBeLessThan(-0.05);
    for (const refs of built.references) for (const r of refs) expect(r.shift).toBeLessThanOrEqual(0);
    // Too few negatives to say: no tightening.
    const few = buildOpenSet({ stats, setup: 's', falseAcceptRate: 0.01, references: players.map((p) => [p]), negatives: hubNegatives.slice(0, 5) });
    expect(few.references[0]![0]!.shift).toBe(0);
  });

  it('names a face near its player\'s photo, holds back a far one and one nearer another player', () => {
    const built = buildOpenSet({ stats, setup: 's', falseAcceptRate: 0.01, references: players.map((p) => [p]), negatives: [] });
    const rule = new OpenSetRule({ ...built, fittedGates: false, fittedGatesNote: '' });
    const near = unit(players[2]!.map((c) => c + 0.02 * g()));
    const a = rule.assess(near, 2);
    expect(a.passes).toEqual({ distance: true, nearest: true });
    expect(a.distance).toBeCloseTo(euclid(near, players[2]!), 6);
    expect(a.confidence).toBeGreaterThan(0);
    const far = unit(Array.from({ length: 8 }, g));
    expect(rule.assess(far, 2).passes.distance).toBe(euclid(far, players[2]!) <= built.distanceMax);
    expect(rule.assess(near, 3).passes.nearest).toBe(false);
    expect(rule.assess(near, 3).runnerUp?.cls).toBe(2);
  });

  it('a trained classifier with the rule names a one-photo roster and reports the rule that held a stranger back', () => {
    const samples = players.map((p, i) => ({ embedding: p, label: `p${i}`, group: `g${i}` }));
    const negatives = Array.from({ length: 30 }, () => unit(Array.from({ length: 8 }, g)));
    const clf = trainClassifier(samples, negatives, { openSet: { setup: 'test', falseAcceptRate: 0.01, fittedGatesMinPhotos: 3 }, cGrid: [1] });
    // No statistics for the setup 'test': the classifier says so and falls back to the fitted gates.
    expect(clf.metrics.warnings.join('\n')).toMatch(/no measured distance statistics for test/);
    expect(clf.toJSON().openSet).toBeUndefined();
  });
});
