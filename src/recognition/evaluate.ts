// Offline evaluation of the roster classifier on a folder-per-identity image set (`facecast eval`).
//
// Protocol:
//  1. Every image is embedded once (original + augmented views, as enrolment does); an image counts
//     as detected when exactly one face is found. The others are reported and count as failures.
//  2. Negatives (faces of people known to be none of the identities) come from an optional folder
//     (sampled over different people) and the built-in pool (the face-api demo photos).
//  3. Leave-one-image-out identification: for each detected image, a classifier is trained from
//     scratch on every other image (original, plus its augmented views when augmentation is on; the
//     held-out image's own views never) and the negatives, then asked about the held-out original.
//     Correct = the true name; "unknown" and a wrong name are failures, counted separately.
//  4. Open-set false accepts: each identity is left out entirely, a classifier is trained on the
//     others (+ negatives) and every original image of the left-out identity is a stranger trial;
//     any name is a false accept.
//  5. 1–4 for {augmentation on/off} × {negatives on/off}.
// Each training is the product's own trainClassifier (C by cross-validation, Platt calibration,
// threshold selection), so the numbers are what a roster of these photos would get on air. The
// quick mode fixes C to the one the full-data training of the same configuration picked and uses
// 3 folds: about twice as fast, but C has then seen the held-out image.
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { embedPhoto, readPhotos, type EnrolStatus } from '../roster/enroll.ts';
import type { VisionEngine } from '../vision/engine.ts';
import { decodeImage } from '../vision/image.ts';
import { euclidean } from '../eval/lfw.ts';
import { trainClassifier, type Gate, type NegativeSample, type TrainSample, type TrainedClassifier } from './linearSvmClassifier.ts';
import type { Thresholds, TrainOptions } from './model.ts';
import { adaptAndTrain, type AdaptOptions } from './adapt/adaptRoster.ts';

// ───────────────────────────── data ─────────────────────────────

const IMAGE_RE = /\.(jpe?g|png|webp|gif|tiff?|avif)$/i;

/** Natural order, so person2.png sorts before person10.png. */
const naturalCompare = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** stat() follows symbolic links, so a linked person folder or photo counts like a real one. */
const isDir = (p: string) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() === true;

export interface IdentityImageRef {
  label: string;
  file: string;
}

/**
 * The images of a folder-per-identity set: `<dir>/<identity>/<image>`. Files directly in `dir` and
 * deeper folders are ignored (listed in `ignored`). Throws when fewer than two identities have images.
 */
export function listIdentitySet(dir: string): { identities: string[]; images: IdentityImageRef[]; ignored: string[] } {
  const images: IdentityImageRef[] = [];
  const ignored: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    throw new EvalInputError(`cannot read the evaluation folder ${dir}: ${(err as Error).message}`);
  }
  for (const e of entries.sort((a, b) => naturalCompare(a.name, b.name))) {
    if (e.name.startsWith('.')) continue;
    if (!isDir(join(dir, e.name))) {
      ignored.push(join(dir, e.name));
      continue;
    }
    for (const f of readdirSync(join(dir, e.name)).sort(naturalCompare)) {
      if (f.startsWith('.')) continue;
      const path = join(dir, e.name, f);
      if (IMAGE_RE.test(f) && isFile(path)) images.push({ label: e.name, file: path });
      else ignored.push(path);
    }
  }
  const identities = [...new Set(images.map((i) => i.label))];
  if (identities.length < 2) {
    throw new EvalInputError(`${dir} must hold one folder of face images per person, at least two people (found ${identities.length})`);
  }
  return { identities, images, ignored };
}

/** A user-fixable problem with the evaluation input (printed as one line by the CLI). */
export class EvalInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalInputError';
  }
}

function walkImages(dir: string): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => naturalCompare(a.name, b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkImages(path));
    else if (e.isFile() && IMAGE_RE.test(e.name)) out.push(path);
  }
  return out;
}

/**
 * Picks up to `limit` items spread over groups: round r takes the r-th item of groups that have
 * one, all of them when the budget allows, else an evenly spaced subset. So 300 from LFW's 3,000
 * people are 300 different people across the alphabet, not the first 300 images.
 */
export function spreadSample<T>(groups: readonly (readonly T[])[], limit: number): T[] {
  const out: T[] = [];
  for (let round = 0; out.length < limit; round++) {
    const avail = groups.filter((g) => g.length > round);
    if (avail.length === 0) break;
    const need = limit - out.length;
    const pick = need >= avail.length ? avail : Array.from({ length: need }, (_, i) => avail[Math.floor((i * avail.length) / need)]!);
    for (const g of pick) out.push(g[round]!);
  }
  return out;
}

/**
 * Images of a negatives folder, recursively, grouped by the folder they are in (one person per
 * folder, as in LFW; files directly in `dir` are each their own group); `limit` ≤ 0 = all.
 */
export function listNegativeImages(dir: string, limit: number): { file: string; group: string }[] {
  const groups = [...imagesByPerson(dir, 'negatives').values()];
  return limit > 0 ? spreadSample(groups, limit) : groups.flat();
}

/**
 * Images of a strangers folder (grouped as listNegativeImages), leaving out the people in
 * `exclude`: the strangers must be people the classifier never saw, negatives included.
 */
export function listStrangerImages(dir: string, limit: number, exclude: ReadonlySet<string>): { file: string; group: string }[] {
  const groups = [...imagesByPerson(dir, 'strangers')].filter(([group]) => !exclude.has(group)).map(([, g]) => g);
  return limit > 0 ? spreadSample(groups, limit) : groups.flat();
}

function imagesByPerson(dir: string, what: string): Map<string, { file: string; group: string }[]> {
  let files: string[];
  try {
    files = walkImages(dir);
  } catch (err) {
    throw new EvalInputError(`cannot read the ${what} folder ${dir}: ${(err as Error).message}`);
  }
  const byGroup = new Map<string, { file: string; group: string }[]>();
  for (const file of files) {
    const rel = relative(dir, dirname(file));
    const group = rel === '' ? relative(dir, file) : rel.split(sep).join('/');
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)!.push({ file, group });
  }
  return byGroup;
}

export interface EvalImage extends IdentityImageRef {
  /** Exactly one face was found. */
  detected: boolean;
  status?: Exclude<EnrolStatus, 'enrolled' | 'unchanged'>;
  message?: string;
  /** The original view's embedding (detected images only). */
  original?: Float32Array;
  /** Augmented views' embeddings. */
  augmented: Float32Array[];
}

export interface NegativeFace {
  embedding: Float32Array;
  /** Person (folder) or photo: faces of one group stay in one cross-validation fold. */
  group: string;
  source: 'folder' | 'builtin' | 'stranger';
  file: string;
}

export interface ProgressSink {
  tick(note?: string): void;
  finish(): void;
}
/** Makes a progress display for a phase of `total` steps (the CLI's Progress bar fits). */
export type ProgressFactory = (label: string, total: number) => ProgressSink;

const noProgress: ProgressFactory = () => ({ tick: () => {}, finish: () => {} });

/** Embeds each image once: the original and `views` augmented views (enrolment's embedPhoto). */
export async function embedIdentitySet(
  engine: VisionEngine,
  refs: readonly IdentityImageRef[],
  opts: { augment: boolean; views: number },
  progress: ProgressFactory = noProgress,
): Promise<EvalImage[]> {
  const bar = progress('embedding', refs.length);
  const out: EvalImage[] = [];
  try {
    for (const ref of refs) {
      const [photo] = await readPhotos([ref.file]);
      const r = await embedPhoto(engine, photo!, { augment: opts.augment, views: opts.views });
      if (r.ok) {
        const original = r.photo.views.find((v) => v.augmentation === '')!.embedding;
        const augmented = r.photo.views.filter((v) => v.augmentation !== '').map((v) => v.embedding);
        out.push({ ...ref, detected: true, original, augmented });
      } else {
        out.push({ ...ref, detected: false, status: r.status, message: r.message, augmented: [] });
      }
      bar.tick(basename(ref.file));
    }
  } finally {
    bar.finish();
  }
  return out;
}

/** Every face of each negative image (original only). Unreadable or faceless images are counted. */
export async function embedNegativeImages(
  engine: VisionEngine,
  files: readonly { file: string; group: string }[],
  source: NegativeFace['source'],
  progress: ProgressFactory = noProgress,
): Promise<{ faces: NegativeFace[]; images: number; failed: string[] }> {
  const bar = progress({ builtin: 'built-in negatives', folder: 'negatives', stranger: 'unseen strangers' }[source], files.length);
  const faces: NegativeFace[] = [];
  const failed: string[] = [];
  try {
    for (const { file, group } of files) {
      try {
        const image = await decodeImage(file, { maxPixels: engine.config.maxImagePixels });
        // Tight crops (LFW) need the padded retry; the demo photos are whole scenes.
        const found = await engine.analyse(image, { padRetry: source !== 'builtin' });
        const embedded = found.filter((f) => f.embedding);
        if (embedded.length === 0) failed.push(`${file}: no face found`);
        for (const f of embedded) faces.push({ embedding: Float32Array.from(f.embedding!), group: `${source}:${group}`, source, file });
      } catch (err) {
        failed.push(`${file}: ${(err as Error).message}`);
      }
      bar.tick(basename(file));
    }
  } finally {
    bar.finish();
  }
  return { faces, images: files.length, failed };
}

// ───────────────────────────── metric helpers ─────────────────────────────

export interface RocPoint {
  /** Accept when score ≤ threshold (distances) or ≥ threshold (probabilities). */
  threshold: number;
  /** Share of impostor scores accepted. */
  far: number;
  /** Share of genuine scores accepted. */
  tar: number;
}

/**
 * ROC points of a score, one per distinct score value, from (0, 0) (accept nothing) to (1, 1).
 * `lowerIsGenuine`: true for distances (accept d ≤ t), false for probabilities (accept p ≥ t).
 */
export function rocCurve(genuine: readonly number[], impostor: readonly number[], lowerIsGenuine: boolean): RocPoint[] {
  const sign = lowerIsGenuine ? 1 : -1;
  const g = genuine.map((v) => v * sign).sort((a, b) => a - b);
  const im = impostor.map((v) => v * sign).sort((a, b) => a - b);
  const values = [...new Set([...g, ...im])].sort((a, b) => a - b);
  const points: RocPoint[] = [{ threshold: sign * -Infinity, far: 0, tar: 0 }];
  let gi = 0;
  let ii = 0;
  for (const v of values) {
    while (gi < g.length && g[gi]! <= v) gi++;
    while (ii < im.length && im[ii]! <= v) ii++;
    points.push({ threshold: v * sign, far: im.length ? ii / im.length : 0, tar: g.length ? gi / g.length : 0 });
  }
  return points;
}

/** TAR and FAR of one threshold. */
export function ratesAt(genuine: readonly number[], impostor: readonly number[], threshold: number, lowerIsGenuine: boolean): { tar: number; far: number } {
  const accept = (v: number) => (lowerIsGenuine ? v <= threshold : v >= threshold);
  const share = (xs: readonly number[]) => (xs.length ? xs.filter(accept).length / xs.length : 0);
  return { tar: share(genuine), far: share(impostor) };
}

/** The highest TAR reachable with FAR ≤ `far` on these points. */
export function tarAtFar(points: readonly RocPoint[], far: number): number {
  let best = 0;
  for (const p of points) if (p.far <= far + 1e-12 && p.tar > best) best = p.tar;
  return best;
}

/** Equal error rate: where the miss rate (1 − TAR) meets FAR, from the ROC points. */
export function equalErrorRate(points: readonly RocPoint[]): number {
  let best = { gap: Infinity, eer: 1 };
  for (const p of points) {
    const frr = 1 - p.tar;
    const gap = Math.abs(frr - p.far);
    if (gap < best.gap) best = { gap, eer: (frr + p.far) / 2 };
  }
  return best.eer;
}

/** Area under the ROC curve (trapezoids over the points in FAR order). */
export function rocAuc(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) area += ((points[i]!.far - points[i - 1]!.far) * (points[i]!.tar + points[i - 1]!.tar)) / 2;
  return area;
}

export interface Histogram {
  min: number;
  max: number;
  binWidth: number;
  counts: number[];
  total: number;
}

/** `bins` equal bins over [min, max]; values outside are counted in the first / last bin. */
export function histogram(values: readonly number[], min: number, max: number, bins: number): Histogram {
  if (!(max > min) || bins < 1) throw new Error(`histogram needs max > min and bins ≥ 1 (got ${min}, ${max}, ${bins})`);
  const binWidth = (max - min) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const i = Math.min(bins - 1, Math.max(0, Math.floor((v - min) / binWidth)));
    counts[i]!++;
  }
  return { min, max, binWidth, counts, total: counts.reduce((a, b) => a + b, 0) };
}

export interface ConfusionMatrix {
  /** Row labels: true identities. */
  labels: string[];
  /** Column labels: the identities, then "unknown" (and "no face" when some image had none). */
  columns: string[];
  counts: number[][];
}

export const UNKNOWN_COLUMN = 'unknown';
export const NO_FACE_COLUMN = 'no face';

/** Rows true identity, columns predicted identity + unknown (+ no face). */
export function confusionMatrix(labels: readonly string[], trials: readonly { label: string; predicted: string | null; detected: boolean }[]): ConfusionMatrix {
  const anyMissing = trials.some((t) => !t.detected);
  const columns = [...labels, UNKNOWN_COLUMN, ...(anyMissing ? [NO_FACE_COLUMN] : [])];
  const col = new Map(columns.map((c, i) => [c, i]));
  const row = new Map(labels.map((l, i) => [l, i]));
  const counts = labels.map(() => new Array<number>(columns.length).fill(0));
  for (const t of trials) {
    const r = row.get(t.label);
    if (r === undefined) continue;
    const c = !t.detected ? col.get(NO_FACE_COLUMN)! : t.predicted === null ? col.get(UNKNOWN_COLUMN)! : (col.get(t.predicted) ?? col.get(UNKNOWN_COLUMN)!);
    counts[r]![c]!++;
  }
  return { labels: [...labels], columns, counts };
}

/** Euclidean distances between original embeddings: same identity, different identities, identity × negative. */
export function pairDistances(images: readonly EvalImage[], negatives: readonly NegativeFace[]): { genuine: number[]; impostor: number[]; negative: number[] } {
  const det = images.filter((i) => i.detected && i.original);
  const genuine: number[] = [];
  const impostor: number[] = [];
  const negative: number[] = [];
  for (let a = 0; a < det.length; a++) {
    for (let b = a + 1; b < det.length; b++) (det[a]!.label === det[b]!.label ? genuine : impostor).push(euclidean(det[a]!.original!, det[b]!.original!));
    for (const n of negatives) negative.push(euclidean(det[a]!.original!, n.embedding));
  }
  return { genuine, impostor, negative };
}

// ───────────────────────────── the protocol ─────────────────────────────

export const CONFIG_NAMES = ['original', 'original+negatives', 'augmented', 'augmented+negatives'] as const;
export type EvalConfigName = (typeof CONFIG_NAMES)[number];
export const DEFAULT_CONFIG: EvalConfigName = 'augmented+negatives';

export function configSpec(name: EvalConfigName): { augmentation: boolean; negatives: boolean } {
  return { augmentation: name.startsWith('augmented'), negatives: name.endsWith('+negatives') };
}

export type TrialOutcome = 'correct' | 'unknown' | 'misidentified' | 'not-detected';

export interface IdentificationTrial {
  file: string;
  label: string;
  detected: boolean;
  /** The name given, null = unknown (or no face). */
  predicted: string | null;
  outcome: TrialOutcome;
  /** The best-scoring identity and its scores, accepted or not (detected images only). */
  best?: string;
  probability?: number;
  margin?: number;
  distance?: number;
  rejectedBy?: Gate[];
  /** Thresholds of the classifier that answered (trained without this image). */
  thresholds?: Thresholds;
}

export interface StrangerTrial {
  file: string;
  /** The identity left out of training. */
  label: string;
  predicted: string | null;
  best: string;
  probability: number;
  margin: number;
  distance: number;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** A configuration's row: `+adapt` when every training also trained a triplet head and went through it. */
export type EvalRowName = EvalConfigName | `${EvalConfigName}+adapt`;

export interface ConfigResult {
  name: EvalRowName;
  /** Every training went through a triplet head trained on its own training photos (forced on). */
  adapted?: boolean;
  augmentation: boolean;
  negatives: boolean;
  /** Negative faces in training (0 when negatives are off). */
  negativeFaces: number;
  images: number;
  detected: number;
  correct: number;
  misidentified: number;
  unknown: number;
  notDetected: number;
  /** Shares of all images (detection failures included): accuracy + misidentification + unknown + not detected = 1. */
  accuracy: number;
  misidentificationRate: number;
  unknownRate: number;
  strangerTrials: number;
  falseAccepts: number;
  /** False accepts / stranger trials (detected originals of left-out identities). */
  falseAcceptRate: number;
  /** Leave-one-out + leave-identity-out trainings (the full-data training not counted). */
  trainings: number;
  meanTrainMs: number;
  totalMs: number;
  /** What the classifier trained on every image of this configuration would use. */
  full: { C: number; thresholds: Thresholds; trainingMs: number; genuineAcceptRate: number; falseAcceptRate: number };
  /** Spread of the thresholds the leave-one-out classifiers chose. */
  looThresholds: Record<keyof Thresholds, Spread>;
  trials: IdentificationTrial[];
  strangers: StrangerTrial[];
  /**
   * Faces of people in neither the set nor the training negatives (--strangers), each put to the
   * full-data classifier: the false accepts a broadcast would see from faces nobody prepared for.
   */
  unseenStrangers: { faces: number; named: StrangerTrial[]; rate: number };
  confusion: ConfusionMatrix;
  /** Distinct training warnings, each with how many trainings gave it. */
  warnings: string[];
}

export interface EvaluateOptions {
  /** Configurations to run (default: all four, in CONFIG_NAMES order). */
  configs?: readonly EvalConfigName[];
  /** Fixed C (from the full-data training) and 3 folds inside the repeated trainings. */
  quick?: boolean;
  /** Options for every training (default: the product's defaults). */
  trainOptions?: Partial<TrainOptions>;
  /**
   * Also train a triplet head in every training and classify through it (forced on, no nested
   * cross-validation: this measures the head itself). runEvaluation adds these as `+adapt` rows.
   */
  adapt?: Partial<AdaptOptions>;
  /** Faces of people never seen in training, put to each configuration's full-data classifier. */
  unseenStrangers?: readonly NegativeFace[];
}

function spread(values: number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}

function samplesOf(images: readonly EvalImage[], augmentation: boolean): TrainSample[] {
  const out: TrainSample[] = [];
  for (const im of images) {
    if (!im.detected) continue;
    out.push({ embedding: im.original!, label: im.label, group: im.file, augmented: false });
    if (augmentation) for (const e of im.augmented) out.push({ embedding: e, label: im.label, group: im.file, augmented: true });
  }
  return out;
}

function timedTrain(samples: TrainSample[], negatives: NegativeSample[], options: Partial<TrainOptions>, adapt?: Partial<AdaptOptions>): { clf: TrainedClassifier; ms: number } {
  const t0 = performance.now();
  const clf = adapt
    ? adaptAndTrain(samples, negatives, { ...adapt, classifier: options, force: true, skipCv: true }).classifier
    : trainClassifier(samples, negatives, options);
  return { clf, ms: performance.now() - t0 };
}

/** Trainings one configuration needs: full data + one per detected image + one per identity. */
export function trainingsPerConfig(images: readonly EvalImage[], identities: readonly string[]): number {
  return 1 + images.filter((i) => i.detected).length + identities.length;
}

/** Leave-one-image-out identification and leave-identity-out false accepts for one configuration. */
export function evaluateConfig(
  name: EvalConfigName,
  identities: readonly string[],
  images: readonly EvalImage[],
  negatives: readonly NegativeFace[],
  opts: EvaluateOptions = {},
  onTraining?: (note: string) => void,
): ConfigResult {
  const t0 = performance.now();
  const { augmentation, negatives: useNegatives } = configSpec(name);
  const negs: NegativeSample[] = useNegatives ? negatives.map((n) => ({ embedding: n.embedding, group: n.group })) : [];
  // Training warnings, counted per training ("3 SVM solves stopped…" and "5 SVM solves stopped…" are one kind).
  const warnings = new Map<string, number>();
  const note = (clf: TrainedClassifier) => {
    for (const w of new Set(clf.metrics.warnings.map((x) => x.replace(/^\d+ /, '')))) warnings.set(w, (warnings.get(w) ?? 0) + 1);
  };
  const base = opts.trainOptions ?? {};

  const row: EvalRowName = opts.adapt ? `${name}+adapt` : name;
  const full = timedTrain(samplesOf(images, augmentation), negs, base, opts.adapt);
  onTraining?.(`${row}: all images`);
  note(full.clf);
  const loopOptions: Partial<TrainOptions> = opts.quick ? { ...base, cGrid: [full.clf.metrics.C], folds: 3 } : base;

  const times: number[] = [];
  const trials: IdentificationTrial[] = [];
  const looT: Thresholds[] = [];
  for (const im of images) {
    if (!im.detected) {
      trials.push({ file: im.file, label: im.label, detected: false, predicted: null, outcome: 'not-detected' });
      continue;
    }
    const rest = images.filter((o) => o !== im);
    const { clf, ms } = timedTrain(samplesOf(rest, augmentation), negs, loopOptions, opts.adapt);
    times.push(ms);
    note(clf);
    looT.push(clf.thresholds);
    const p = clf.predict(im.original!);
    const predicted = p.identity?.id ?? null;
    trials.push({
      file: im.file,
      label: im.label,
      detected: true,
      predicted,
      outcome: predicted === null ? 'unknown' : predicted === im.label ? 'correct' : 'misidentified',
      best: p.best.id,
      probability: p.best.probability,
      margin: p.best.margin,
      distance: p.best.distance,
      rejectedBy: p.rejectedBy,
      thresholds: clf.thresholds,
    });
    onTraining?.(`${row}: without ${basename(im.file)}`);
  }

  const strangers: StrangerTrial[] = [];
  for (const id of identities) {
    const held = images.filter((i) => i.label === id && i.detected);
    const rest = images.filter((i) => i.label !== id);
    if (held.length > 0 && rest.some((i) => i.detected)) {
      const { clf, ms } = timedTrain(samplesOf(rest, augmentation), negs, loopOptions, opts.adapt);
      times.push(ms);
      note(clf);
      for (const im of held) {
        const p = clf.predict(im.original!);
        strangers.push({
          file: im.file,
          label: id,
          predicted: p.identity?.id ?? null,
          best: p.best.id,
          probability: p.best.probability,
          margin: p.best.margin,
          distance: p.best.distance,
        });
      }
    }
    onTraining?.(`${row}: without ${id}`);
  }

  const unseen = (opts.unseenStrangers ?? []).flatMap((s) => {
    const p = full.clf.predict(s.embedding);
    const trial = { file: s.file, label: s.group, predicted: p.identity?.id ?? null, best: p.best.id, probability: p.best.probability, margin: p.best.margin, distance: p.best.distance };
    return trial.predicted === null ? [] : [trial];
  });
  const unseenFaces = opts.unseenStrangers?.length ?? 0;

  const count = (o: TrialOutcome) => trials.filter((t) => t.outcome === o).length;
  const n = images.length;
  const falseAccepts = strangers.filter((s) => s.predicted !== null).length;
  const m = full.clf.metrics;
  return {
    name: row,
    adapted: opts.adapt !== undefined,
    augmentation,
    negatives: useNegatives,
    negativeFaces: negs.length,
    images: n,
    detected: images.filter((i) => i.detected).length,
    correct: count('correct'),
    misidentified: count('misidentified'),
    unknown: count('unknown'),
    notDetected: count('not-detected'),
    accuracy: n ? count('correct') / n : 0,
    misidentificationRate: n ? count('misidentified') / n : 0,
    unknownRate: n ? count('unknown') / n : 0,
    strangerTrials: strangers.length,
    falseAccepts,
    falseAcceptRate: strangers.length ? falseAccepts / strangers.length : 0,
    trainings: times.length,
    meanTrainMs: times.length ? times.reduce((a, b) => a + b, 0) / times.length : 0,
    totalMs: performance.now() - t0,
    full: { C: m.C, thresholds: full.clf.thresholds, trainingMs: full.ms, genuineAcceptRate: m.genuineAcceptRate, falseAcceptRate: m.falseAcceptRate },
    looThresholds: {
      pMin: spread(looT.map((t) => t.pMin)),
      marginMin: spread(looT.map((t) => t.marginMin)),
      distMax: spread(looT.map((t) => t.distMax)),
    },
    trials,
    strangers,
    unseenStrangers: { faces: unseenFaces, named: unseen, rate: unseenFaces ? unseen.length / unseenFaces : 0 },
    confusion: confusionMatrix(identities, trials),
    warnings: [...warnings].map(([w, n]) => `${w} (in ${n} of ${times.length + 1} trainings)`),
  };
}

/** Classifier scores of one configuration: best probability and distance, genuine vs stranger. */
export function classifierScores(c: ConfigResult): { genuine: { p: number[]; d: number[] }; impostor: { p: number[]; d: number[] } } {
  // A held-out photo whose best guess is the wrong player is an impostor trial: accepting it names the wrong person.
  const right = c.trials.filter((t) => t.detected && t.best === t.label);
  const wrong = c.trials.filter((t) => t.detected && t.best !== t.label);
  return {
    genuine: { p: right.map((t) => t.probability!), d: right.map((t) => t.distance!) },
    impostor: {
      p: [...c.strangers.map((s) => s.probability), ...wrong.map((t) => t.probability!)],
      d: [...c.strangers.map((s) => s.distance), ...wrong.map((t) => t.distance!)],
    },
  };
}

// ───────────────────────────── the whole evaluation ─────────────────────────────

export interface EvalRunOptions extends EvaluateOptions {
  /** Augmented views per image for the augmented configurations (config.enrolment.views). */
  views: number;
  /** A folder of face images of people not in the set. */
  negativesDir?: string;
  /** Most images taken from negativesDir, spread over its people (≤ 0: all). */
  negativesLimit: number;
  /** Built-in negative photos (builtinNegativePhotos()), or none. */
  builtinNegatives: readonly string[];
  /** A folder of faces of people in neither the set nor the negatives (the negatives' people are left out when it is negativesDir). */
  strangersDir?: string;
  /** Most images taken from strangersDir, spread over its people (≤ 0: all). */
  strangersLimit?: number;
  progress?: ProgressFactory;
}

export interface EvalResult {
  dir: string;
  identities: string[];
  images: number;
  detected: number;
  /** Images without exactly one face, with why. */
  failures: { file: string; label: string; status: string; message: string }[];
  ignoredFiles: string[];
  views: number;
  negatives: {
    folder?: string;
    folderImages: number;
    folderFaces: number;
    builtinImages: number;
    builtinFaces: number;
    failed: string[];
  };
  unseenStrangers?: { folder: string; images: number; faces: number; failed: string[] };
  quick: boolean;
  defaultConfig: EvalConfigName;
  configs: ConfigResult[];
  /** Euclidean distances between original embeddings (for the ROC and histograms). */
  pairs: { genuine: number[]; impostor: number[]; negative: number[] };
  timings: { embedMs: number; negativesMs: number; strangersMs: number; trainMs: number; totalMs: number };
}

/** The configurations worth running: "negatives on" is skipped when there are no negatives. */
export function runnableConfigs(requested: readonly EvalConfigName[], haveNegatives: boolean): EvalConfigName[] {
  return requested.filter((c) => haveNegatives || !configSpec(c).negatives);
}

/** Embeds the set and the negatives, then runs every configuration. */
export async function runEvaluation(engine: VisionEngine, dir: string, opts: EvalRunOptions): Promise<EvalResult> {
  const t0 = performance.now();
  const progress = opts.progress ?? noProgress;
  const set = listIdentitySet(dir);
  const images = await embedIdentitySet(engine, set.images, { augment: true, views: opts.views }, progress);
  const tEmbed = performance.now();

  const folderFiles = opts.negativesDir ? listNegativeImages(opts.negativesDir, opts.negativesLimit) : [];
  if (opts.negativesDir && folderFiles.length === 0) throw new EvalInputError(`no images found under the negatives folder ${opts.negativesDir}`);
  const folder = await embedNegativeImages(engine, folderFiles, 'folder', progress);
  const builtin = await embedNegativeImages(
    engine,
    opts.builtinNegatives.map((f) => ({ file: f, group: basename(f) })),
    'builtin',
    progress,
  );
  const negatives = [...folder.faces, ...builtin.faces];
  const tNeg = performance.now();
  const usedPeople = new Set(opts.strangersDir === opts.negativesDir ? folderFiles.map((f) => f.group) : []);
  const strangerFiles = opts.strangersDir ? listStrangerImages(opts.strangersDir, opts.strangersLimit ?? 0, usedPeople) : [];
  if (opts.strangersDir && strangerFiles.length === 0) throw new EvalInputError(`no images of people outside the negatives found under the strangers folder ${opts.strangersDir}`);
  const strangers = await embedNegativeImages(engine, strangerFiles, 'stranger', progress);
  const tStrangers = performance.now();

  const configs = runnableConfigs(opts.configs ?? CONFIG_NAMES, negatives.length > 0);
  if (configs.length === 0) throw new EvalInputError('no configuration to run (negatives were asked for but none were found)');
  const perConfig = trainingsPerConfig(images, set.identities);
  // With adapt: every configuration again, each training through its own triplet head.
  const rows = [...configs.map((c) => [c, false] as const), ...(opts.adapt ? configs.map((c) => [c, true] as const) : [])];
  const bar = progress('training', perConfig * rows.length);
  const results: ConfigResult[] = [];
  try {
    for (const [name, adapted] of rows) {
      const rowOpts = { ...opts, adapt: adapted ? opts.adapt : undefined, unseenStrangers: strangers.faces };
      results.push(evaluateConfig(name, set.identities, images, negatives, rowOpts, (note) => bar.tick(note)));
    }
  } finally {
    bar.finish();
  }
  const tEnd = performance.now();
  return {
    dir,
    identities: set.identities,
    images: images.length,
    detected: images.filter((i) => i.detected).length,
    failures: images.filter((i) => !i.detected).map((i) => ({ file: i.file, label: i.label, status: i.status ?? 'no-face', message: i.message ?? '' })),
    ignoredFiles: set.ignored,
    views: opts.views,
    negatives: {
      folder: opts.negativesDir,
      folderImages: folder.images,
      folderFaces: folder.faces.length,
      builtinImages: builtin.images,
      builtinFaces: builtin.faces.length,
      failed: [...folder.failed, ...builtin.failed],
    },
    ...(opts.strangersDir
      ? { unseenStrangers: { folder: opts.strangersDir, images: strangerFiles.length, faces: strangers.faces.length, failed: strangers.failed } }
      : {}),
    quick: opts.quick === true,
    defaultConfig: configs.includes(DEFAULT_CONFIG) ? DEFAULT_CONFIG : configs[configs.length - 1]!,
    configs: results,
    pairs: pairDistances(images, negatives),
    timings: { embedMs: tEmbed - t0, negativesMs: tNeg - tEmbed, strangersMs: tStrangers - tNeg, trainMs: tEnd - tStrangers, totalMs: tEnd - t0 },
  };
}
