// Open-set identification on a folder-per-person face set (Best-Rowden et al. 2014 on LFW): a
// roster of players enrolled with one or a few photos, their other photos as genuine probes, and
// people on no roster and in no training set as strangers. The detection-and-identification rate
// (DIR: genuine probes named correctly) is read at fixed false-accept rates on the strangers by
// moving the open-set distance threshold, plus the product's own operating point.
import { createRng, shuffleInPlace } from '../recognition/svm.ts';
import { trainClassifier, type NegativeSample, type Prediction, type TrainSample } from '../recognition/linearSvmClassifier.ts';
import type { TrainOptions } from '../recognition/model.ts';

export interface Person {
  name: string;
  /** Image paths in file order; the first ones are enrolled. */
  images: string[];
  /** Whether the person's images were used to measure the embedder's distance statistics. */
  devTrain: boolean;
}

export interface PlanOptions {
  /** Most players per roster. */
  players: number;
  /** Photos enrolled per player, one roster each (e.g. [1, 3]). */
  photos: number[];
  strangers: number;
  negatives: number;
  seed: number;
}

export interface RosterPlan {
  photos: number;
  players: { name: string; enrolled: string[]; probes: string[]; devTrain: boolean }[];
}

export interface OpensetPlan {
  rosters: RosterPlan[];
  /** One image per stranger: people on no roster and not among the negatives. */
  strangers: { name: string; image: string; devTrain: boolean }[];
  /** One image per person: the faces known not to be players that training gets. */
  negatives: { name: string; image: string }[];
}

/**
 * Seeded choice of the rosters, strangers and negatives. People outside the distance statistics'
 * images come first everywhere (a threshold is only tested fairly on faces it was not set from);
 * the rest fill up. Strangers and negatives are chosen from people on none of the rosters, so one
 * stranger set serves every roster.
 */
export function planOpenset(people: Person[], o: PlanOptions): OpensetPlan {
  const rng = createRng(o.seed);
  const sorted = [...people].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const preferOutside = (pool: Person[]) => {
    const outside = pool.filter((p) => !p.devTrain);
    const inside = pool.filter((p) => p.devTrain);
    shuffleInPlace(outside, outside.length, rng);
    shuffleInPlace(inside, inside.length, rng);
    return [...outside, ...inside];
  };
  const rosters = o.photos.map((k) => ({
    photos: k,
    players: preferOutside(sorted.filter((p) => p.images.length > k))
      .slice(0, o.players)
      .map((p) => ({ name: p.name, enrolled: p.images.slice(0, k), probes: p.images.slice(k), devTrain: p.devTrain })),
  }));
  const onRoster = new Set(rosters.flatMap((r) => r.players.map((p) => p.name)));
  const rest = preferOutside(sorted.filter((p) => !onRoster.has(p.name) && p.images.length > 0));
  const strangers = rest.slice(0, o.strangers).map((p) => ({ name: p.name, image: p.images[0]!, devTrain: p.devTrain }));
  // Negatives are drawn at random from what is left, not preferring either side.
  const left = rest.slice(o.strangers);
  shuffleInPlace(left, left.length, rng);
  const negatives = left.slice(0, o.negatives).map((p) => ({ name: p.name, image: p.images[0]! }));
  return { rosters, strangers, negatives };
}

export type Embeddings = Record<string, ArrayLike<number> | null | undefined>;

/**
 * The plan with every image whose face was not found left out: a player keeps the first embedded
 * images as enrolment and needs at least one probe left, or leaves the roster.
 */
export function resolvePlan(plan: OpensetPlan, emb: Embeddings): { plan: OpensetPlan; dropped: { players: number; strangers: number; negatives: number } } {
  const has = (p: string) => Boolean(emb[p]);
  let droppedPlayers = 0;
  const rosters = plan.rosters.map((r) => ({
    photos: r.photos,
    players: r.players.flatMap((p) => {
      const images = [...p.enrolled, ...p.probes].filter(has);
      if (images.length <= r.photos) {
        droppedPlayers++;
        return [];
      }
      return [{ ...p, enrolled: images.slice(0, r.photos), probes: images.slice(r.photos) }];
    }),
  }));
  const strangers = plan.strangers.filter((s) => has(s.image));
  const negatives = plan.negatives.filter((n) => has(n.image));
  return {
    plan: { rosters, strangers, negatives },
    dropped: { players: droppedPlayers, strangers: plan.strangers.length - strangers.length, negatives: plan.negatives.length - negatives.length },
  };
}

/** One face put to the trained classifier. */
interface Scored {
  /** The true name; null for a stranger. */
  label: string | null;
  devTrain: boolean;
  prediction: Prediction;
  /** How far inside the open-set distance threshold (negative: outside); the sweep moves it. */
  slack: number;
  /** Whether every other rule (nearest reference, roster-fitted gates) lets the name through. */
  otherRulesPass: boolean;
  ms: number;
}

export interface OperatingPoint {
  /** The false-accept rate on strangers aimed at. */
  targetFar: number;
  /** The one reached (≤ target). */
  far: number;
  falseAccepts: number;
  dir: number;
  /** The open-set distance threshold (population terms) giving it, accepted below; null: none needed. */
  distanceMax: number | null;
}

export interface OpensetRow {
  /** Which faces the row counts: every one, or only people outside the distance statistics' images. */
  subset: 'all' | 'outside DevTrain';
  players: number;
  probes: number;
  strangers: number;
  /** Closed set: the SVM's top-ranked player is the right one. */
  rank1: number;
  /** The product's operating point (the trained model as it is). */
  atDefault: { dir: number; far: number; falseAccepts: number; misnamed: number; distanceMax: number };
  points: OperatingPoint[];
}

export interface RosterResult {
  photos: number;
  players: number;
  devTrainPlayers: number;
  enrolled: number;
  negatives: number;
  trainMs: number;
  /** Median time of one classifier.predict over the genuine probes. */
  identifyMsMedian: number;
  C: number;
  /** The model's roster-size-corrected threshold at the default false-accept rate, and its chances. */
  openSet: { falseAcceptRate: number; chances: number; distanceMax: number; fittedGates: boolean };
  rows: OpensetRow[];
}

export interface EvaluateOptions {
  /** Training options as the product passes them (openSet included). */
  train: Partial<TrainOptions>;
  /** False-accept rates on strangers to report DIR at. */
  targetFars: number[];
  /** A subset row (outside DevTrain) needs at least this many players and strangers. */
  minSubset: number;
  onProgress?: (done: number, total: number, note: string) => void;
}

/** Trains the roster as the product does (embeddings only, no augmentation) and scores probes and strangers. */
export function evaluateRoster(roster: RosterPlan, plan: OpensetPlan, emb: Embeddings, o: EvaluateOptions): RosterResult {
  const vec = (p: string) => emb[p]!;
  const samples: TrainSample[] = roster.players.flatMap((p) => p.enrolled.map((img) => ({ embedding: vec(img), label: p.name, group: img, augmented: false })));
  const negatives: NegativeSample[] = plan.negatives.map((n) => ({ embedding: vec(n.image), group: n.image }));
  const t0 = performance.now();
  const clf = trainClassifier(samples, negatives, o.train, o.onProgress);
  const trainMs = performance.now() - t0;
  const rule = clf.toJSON().openSet;
  if (!rule) throw new Error(`the classifier has no open-set rule (${clf.metrics.warnings.join('; ')})`);

  const score = (e: ArrayLike<number>, label: string | null, devTrain: boolean): Scored => {
    const s = performance.now();
    const prediction = clf.predict(e);
    const ms = performance.now() - s;
    const os = prediction.best.openSet!;
    return { label, devTrain, prediction, slack: os.threshold - os.distance, otherRulesPass: prediction.rejectedBy.every((g) => g === 'falseAcceptRate'), ms };
  };
  const genuine = roster.players.flatMap((p) => p.probes.map((img) => score(vec(img), p.name, p.devTrain)));
  const strangers = plan.strangers.map((s) => score(vec(s.image), null, s.devTrain));

  const rows = [scoreRow('all', roster.players.length, genuine, strangers, rule.distanceMax, o.targetFars)];
  const outsidePlayers = roster.players.filter((p) => !p.devTrain).length;
  const outsideStrangers = strangers.filter((s) => !s.devTrain);
  if (outsidePlayers >= o.minSubset && outsideStrangers.length >= o.minSubset && outsidePlayers < roster.players.length) {
    rows.push(scoreRow('outside DevTrain', outsidePlayers, genuine.filter((g) => !g.devTrain), outsideStrangers, rule.distanceMax, o.targetFars));
  }
  return {
    photos: roster.photos,
    players: roster.players.length,
    devTrainPlayers: roster.players.length - outsidePlayers,
    enrolled: samples.length,
    negatives: negatives.length,
    trainMs,
    identifyMsMedian: median(genuine.map((g) => g.ms)),
    C: clf.metrics.C,
    openSet: { falseAcceptRate: rule.falseAcceptRate, chances: rule.chances, distanceMax: rule.distanceMax, fittedGates: rule.fittedGates },
    rows,
  };
}

/**
 * A face is named at threshold τ' when the other rules pass and slack + (τ' − τ) ≥ 0, so the sweep
 * needs no retraining: the ranked player and the nearest-reference rule do not depend on τ.
 */
function scoreRow(subset: OpensetRow['subset'], players: number, genuine: Scored[], strangers: Scored[], tau: number, targetFars: number[]): OpensetRow {
  const right = (g: Scored) => g.prediction.best.id === g.label;
  const frac = (n: number, d: number) => (d > 0 ? n / d : 0);
  const named = strangers.filter((s) => s.prediction.identity !== null).length;
  const atDefault = {
    dir: frac(genuine.filter((g) => g.prediction.identity?.id === g.label).length, genuine.length),
    far: frac(named, strangers.length),
    falseAccepts: named,
    misnamed: genuine.filter((g) => g.prediction.identity !== null && g.prediction.identity.id !== g.label).length,
    distanceMax: tau,
  };
  // The shift of τ each stranger needs to be named, ascending.
  const needs = strangers.filter((s) => s.otherRulesPass).map((s) => -s.slack).sort((a, b) => a - b);
  const points = targetFars.map((target): OperatingPoint => {
    const allowed = Math.floor(target * strangers.length + 1e-9);
    // Named strictly below the first stranger beyond the budget; with none, every face passes.
    const cut = allowed < needs.length ? needs[allowed]! : Infinity;
    const accepts = (s: Scored) => s.otherRulesPass && -s.slack < cut;
    const falseAccepts = strangers.filter(accepts).length;
    return {
      targetFar: target,
      far: frac(falseAccepts, strangers.length),
      falseAccepts,
      dir: frac(genuine.filter((g) => accepts(g) && right(g)).length, genuine.length),
      distanceMax: Number.isFinite(cut) ? tau + cut : null,
    };
  });
  return { subset, players, probes: genuine.length, strangers: strangers.length, rank1: frac(genuine.filter(right).length, genuine.length), atDefault, points };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
