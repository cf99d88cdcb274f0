// `facecast eval-lfw`: face verification on LFW View 1 for each detector × alignment. The distance
// threshold is picked on pairsDevTrain and accuracy is reported on pairsDevTest; a missing image or
// a face not found is a wrong answer, never a skipped pair.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { accuracyAt, bestThreshold, euclidean, lfwImagePath, readPairs, type LfwPair, type ScoredPair } from '../eval/lfw.ts';
import { createAligner, type AlignmentName } from '../vision/align.ts';
import type { DetectorName } from '../vision/detectors/index.ts';
import { VisionEngine } from '../vision/engine.ts';
import { decodeImage } from '../vision/image.ts';
import type { DetectedFace } from '../vision/types.ts';
import { fmt, printJson, table } from './output.ts';
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
    const { tensor, faces, offset } = await engine.detectWithRetry(image, det, true);
    try {
      const face = centralFace(faces, image.width + 2 * offset, image.height + 2 * offset);
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
}

export async function runEvalLfw(opts: EvalLfwOptions, config: Config, log: Logger): Promise<LfwRow[]> {
  const train = limitPairs(readPairs(opts.root, 'DevTrain'), opts.limit);
  const test = limitPairs(readPairs(opts.root, 'DevTest'), opts.limit);
  const paths = [...new Set([...train, ...test].flatMap((p) => [lfwImagePath(opts.root, p.a), lfwImagePath(opts.root, p.b)]))];
  const engine = await VisionEngine.create(config.vision, log);
  const cacheDir = join(config.dataDir, 'cache');
  const rows: LfwRow[] = [];
  try {
    for (const detector of opts.detectors) {
      // The cache is only valid for the same embedding setup: detector, alignment and flip averaging.
      const cacheFile = (a: AlignmentName) => join(cacheDir, `lfw-${detector}-${a}${config.vision.flipAverage ? '-flip' : ''}.json`);
      const cache = new Map<AlignmentName, Embeddings>(
        opts.alignments.map((a) => [a, opts.cache && existsSync(cacheFile(a)) ? (JSON.parse(readFileSync(cacheFile(a), 'utf8')) as Embeddings) : {}]),
      );
      await embedAll(engine, detector, opts.alignments, paths, cache);
      if (opts.cache) {
        mkdirSync(cacheDir, { recursive: true });
        for (const [a, e] of cache) writeFileSync(cacheFile(a), JSON.stringify(e));
      }
      for (const alignment of opts.alignments) {
        const emb = cache.get(alignment)!;
        const { threshold, accuracy } = bestThreshold(score(train, opts.root, emb));
        rows.push({
          detector,
          alignment,
          threshold,
          trainAccuracy: accuracy,
          testAccuracy: accuracyAt(score(test, opts.root, emb), threshold),
          facesNotFound: paths.filter((p) => emb[p] === null).length,
          images: paths.length,
        });
      }
    }
  } finally {
    await engine.dispose();
  }
  if (opts.json) printJson({ backend: engine.backend.name, pairs: { train: train.length, test: test.length }, rows });
  else {
    process.stdout.write(`LFW View 1: threshold picked on ${train.length} DevTrain pairs, accuracy on ${test.length} DevTest pairs (${engine.backend.name})\n`);
    process.stdout.write(
      table(
        ['detector', 'alignment', 'threshold', 'DevTrain acc', 'DevTest acc', 'no face / images'],
        rows.map((r) => [r.detector, r.alignment, fmt(r.threshold, 3), `${fmt(r.trainAccuracy * 100, 2)} %`, `${fmt(r.testAccuracy * 100, 2)} %`, `${r.facesNotFound} / ${r.images}`]),
      ) + '\n',
    );
  }
  return rows;
}
