// `facecast eval-lfw`: face verification on LFW View 1 for each detector × alignment. The distance
// threshold is picked on pairsDevTrain and accuracy is reported on pairsDevTest; a missing image or
// a face not found is a wrong answer, never a skipped pair.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { accuracyAt, bestThreshold, euclidean, lfwImagePath, readPairs, type LfwPair, type ScoredPair } from '../eval/lfw.ts';
import { createAligner, type AlignmentName } from '../vision/align.ts';
import type { DetectorName } from '../vision/detectors/index.ts';
import { VisionEngine } from '../vision/engine.ts';
import { decodeImage } from '../vision/image.ts';
import { PROJECT_ROOT } from '../vision/weights.ts';
import type { DetectedFace } from '../vision/types.ts';
import { fmt, printJson, table } from './output.ts';
import { applyHead, headWeightsOf, type HeadWeights } from '../recognition/adapt/adapter.ts';
import type { LfwGuardPairs } from '../recognition/adapt/adaptRoster.ts';
import { loadModel, ModelStoreError } from '../recognition/store.ts';
import { Progress } from './progress.ts';

export interface EvalLfwOptions {
  root: string;
  detectors: DetectorName[];
  alignments: AlignmentName[];
  /** Use only the first N pairs of each kind per split (quick checks); 0 = all. */
  limit: number;
  json?: boolean;
  /** Keep per-image embeddings under <dataDir>/cache so a rerun skips finished images. */
  cache: boolean;
  /** Also report accuracy through the triplet head of the model in this data directory. */
  adapter?: string;
}

type Embeddings = Record<string, number[] | null>;

function limitPairs(pairs: LfwPair[], limit: number): LfwPair[] {
  if (!limit) return pairs;
  return [...pairs.filter((p) => p.same).slice(0, limit), ...pairs.filter((p) => !p.same).slice(0, limit)];
}

/** The face nearest the image centre: LFW images are centred on the named person. */
function centralFace(faces: DetectedFace[], width: number, height: number): DetectedFace | undefined {
  const d = (f: DetectedFace) => Math.hypot(f.box[0] + f.box[2] / 2 - width / 2, f.box[1] + f.box[3] / 2 - height / 2);
  return [...faces].sort((a, b) => d(a) - d(b))[0];
}

async function embedAll(
  engine: VisionEngine,
  detector: DetectorName,
  alignments: AlignmentName[],
  paths: string[],
  cache: Map<AlignmentName, Embeddings>,
): Promise<void> {
  const det = await engine.detector(detector);
  const aligners = alignments.map((a) => [a, createAligner(a)] as const);
  const todo = paths.filter((p) => alignments.some((a) => !(p in cache.get(a)!)));
  const progress = new Progress(`lfw ${detector}`, todo.length);
  for (const path of todo) {
    progress.tick();
    if (!existsSync(path)) {
      for (const [a] of aligners) cache.get(a)![path] = null;
      continue;
    }
    const image = await decodeImage(path, { maxPixels: engine.config.maxImagePixels });
    const { tensor, faces, image: seen } = await engine.detectWithRetry(image, det, true);
    try {
      const face = centralFace(faces, seen.width, seen.height);
      for (const [name, aligner] of aligners) {
        cache.get(name)![path] = face ? Array.from((await engine.embedFaces(tensor, [face], aligner))[0]!) : null;
      }
    } finally {
      tensor.dispose();
    }
  }
  progress.finish();
}

function score(pairs: LfwPair[], root: string, emb: Embeddings): ScoredPair[] {
  return pairs.map((p) => {
    const a = emb[lfwImagePath(root, p.a)];
    const b = emb[lfwImagePath(root, p.b)];
    return { same: p.same, distance: a && b ? euclidean(a, b) : null };
  });
}

export interface LfwRow {
  detector: DetectorName;
  alignment: AlignmentName;
  threshold: number;
  trainAccuracy: number;
  testAccuracy: number;
  facesNotFound: number;
  images: number;
  /** The same through a trained adapter (--adapter). */
  adapted?: LfwAdaptedRow;
}

export interface LfwAdaptedRow {
  threshold: number;
  trainAccuracy: number;
  testAccuracy: number;
  /** adapted − raw DevTest accuracy, percentage points. */
  deltaPoints: number;
}

type EmbeddingCache = Map<AlignmentName, Embeddings>;

/**
 * A digest of what makes an embedding besides the config: the vision code and the weight manifest.
 * Embeddings cached by other code (an alignment change, a new model) are then never reused.
 */
function visionCodeKey(): string {
  const dir = join(PROJECT_ROOT, 'src', 'vision');
  const hash = createHash('sha256');
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts')).sort()) {
    hash.update(f).update(readFileSync(join(dir, f)));
  }
  hash.update(readFileSync(join(PROJECT_ROOT, 'models', 'manifest.json')));
  return hash.digest('hex').slice(0, 12);
}

/** Embeddings of `paths` for one detector and its alignments, from/to <dataDir>/cache when `useCache`. */
export async function cachedEmbeddings(
  engine: VisionEngine,
  detector: DetectorName,
  alignments: AlignmentName[],
  paths: string[],
  config: Config,
  useCache: boolean,
): Promise<EmbeddingCache> {
  const cacheDir = join(config.dataDir, 'cache');
  // The cache is only valid for the same embedding setup: detector, alignment, flip averaging and code.
  const code = useCache ? visionCodeKey() : '';
  const cacheFile = (a: AlignmentName) => join(cacheDir, `lfw-${detector}-${a}${config.vision.flipAverage ? '-flip' : ''}-${code}.json`);
  const cache: EmbeddingCache = new Map(
    alignments.map((a) => [a, useCache && existsSync(cacheFile(a)) ? (JSON.parse(readFileSync(cacheFile(a), 'utf8')) as Embeddings) : {}]),
  );
  await embedAll(engine, detector, alignments, paths, cache);
  if (useCache) {
    mkdirSync(cacheDir, { recursive: true });
    for (const [a, e] of cache) writeFileSync(cacheFile(a), JSON.stringify(e));
  }
  return cache;
}

/**
 * LFW View 1 pairs with the configured detector's and alignment's embeddings, for the adaptation's
 * forgetting guard (`facecast train --adapt --lfw <dir>`).
 */
export async function lfwGuardPairs(root: string, opts: { limit: number; cache: boolean }, config: Config, log: Logger): Promise<LfwGuardPairs> {
  const train = limitPairs(readPairs(root, 'DevTrain'), opts.limit);
  const test = limitPairs(readPairs(root, 'DevTest'), opts.limit);
  const paths = [...new Set([...train, ...test].flatMap((p) => [lfwImagePath(root, p.a), lfwImagePath(root, p.b)]))];
  const engine = await VisionEngine.create(config.vision, log);
  try {
    const emb = (await cachedEmbeddings(engine, config.vision.detector, [config.vision.alignment], paths, config, opts.cache)).get(config.vision.alignment)!;
    const resolve = (pairs: LfwPair[]) => pairs.map((p) => ({ same: p.same, a: emb[lfwImagePath(root, p.a)] ?? null, b: emb[lfwImagePath(root, p.b)] ?? null }));
    return { root, train: resolve(train), test: resolve(test) };
  } finally {
    await engine.dispose();
  }
}

export async function runEvalLfw(opts: EvalLfwOptions, config: Config, log: Logger): Promise<LfwRow[]> {
  const train = limitPairs(readPairs(opts.root, 'DevTrain'), opts.limit);
  const test = limitPairs(readPairs(opts.root, 'DevTest'), opts.limit);
  const paths = [...new Set([...train, ...test].flatMap((p) => [lfwImagePath(opts.root, p.a), lfwImagePath(opts.root, p.b)]))];
  let head: HeadWeights | undefined;
  if (opts.adapter) {
    const model = loadModel(opts.adapter);
    if (!model) throw new ModelStoreError(`no model in ${opts.adapter}: train one with \`facecast train --adapt\` first`);
    if (!model.classifier.adapter) throw new ModelStoreError(`the model in ${opts.adapter} has no adapter: train it with \`facecast train --adapt\``);
    head = headWeightsOf(model.classifier.adapter);
  }
  const engine = await VisionEngine.create(config.vision, log);
  const rows: LfwRow[] = [];
  try {
    for (const detector of opts.detectors) {
      const cache = await cachedEmbeddings(engine, detector, opts.alignments, paths, config, opts.cache);
      for (const alignment of opts.alignments) {
        const emb = cache.get(alignment)!;
        const { threshold, accuracy } = bestThreshold(score(train, opts.root, emb));
        const testAccuracy = accuracyAt(score(test, opts.root, emb), threshold);
        let adapted: LfwAdaptedRow | undefined;
        if (head) {
          const h = head;
          const through: Embeddings = Object.fromEntries(Object.entries(emb).map(([k, v]) => [k, v ? Array.from(applyHead(h, v)) : null]));
          const a = bestThreshold(score(train, opts.root, through));
          const t = accuracyAt(score(test, opts.root, through), a.threshold);
          adapted = { threshold: a.threshold, trainAccuracy: a.accuracy, testAccuracy: t, deltaPoints: (t - testAccuracy) * 100 };
        }
        rows.push({
          detector,
          alignment,
          threshold,
          trainAccuracy: accuracy,
          testAccuracy,
          facesNotFound: paths.filter((p) => emb[p] === null).length,
          images: paths.length,
          ...(adapted ? { adapted } : {}),
        });
      }
    }
  } finally {
    await engine.dispose();
  }
  if (opts.json) printJson({ backend: engine.backend.name, pairs: { train: train.length, test: test.length }, rows });
  else {
    process.stdout.write(`LFW View 1: threshold picked on ${train.length} DevTrain pairs, accuracy on ${test.length} DevTest pairs (${engine.backend.name})\n`);
    const headCols = head ? ['through head: threshold', 'DevTrain acc', 'DevTest acc', 'Δ points'] : [];
    process.stdout.write(
      table(
        ['detector', 'alignment', 'threshold', 'DevTrain acc', 'DevTest acc', 'no face / images', ...headCols],
        rows.map((r) => [
          r.detector,
          r.alignment,
          fmt(r.threshold, 3),
          `${fmt(r.trainAccuracy * 100, 2)} %`,
          `${fmt(r.testAccuracy * 100, 2)} %`,
          `${r.facesNotFound} / ${r.images}`,
          ...(r.adapted
            ? [fmt(r.adapted.threshold, 3), `${fmt(r.adapted.trainAccuracy * 100, 2)} %`, `${fmt(r.adapted.testAccuracy * 100, 2)} %`, fmt(r.adapted.deltaPoints, 2)]
            : []),
        ]),
      ) + '\n',
    );
    if (head) process.stdout.write(`through head: the adapter of ${opts.adapter}/models/classifier.json (used by recognition: ${loadModel(opts.adapter!)!.classifier.adapter!.used})\n`);
  }
  return rows;
}
