// `facecast measure-distances`: the embedder's genuine and impostor distance distributions on LFW
// View 1 DevTrain, written into models/distance-stats.json under the running vision setup. The
// open-set rule reads its threshold from there; run it after changing detector, alignment or weights.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { devTrainImages, measureDistances } from '../eval/distanceStats.ts';
import { DistanceModel, DISTANCE_STATS_FORMAT, DISTANCE_STATS_PATH, distanceStatsFileSchema, type DistanceStatsFile } from '../recognition/openset/distanceStats.ts';
import { VisionEngine } from '../vision/engine.ts';
import { embeddingSetupKey } from '../vision/setup.ts';
import { cachedEmbeddings } from './evalLfw.ts';
import { fmt, printJson } from './output.ts';

export async function runMeasureDistances(opts: { root: string; out?: string; json?: boolean; cache: boolean }, config: Config, log: Logger): Promise<void> {
  const paths = devTrainImages(opts.root);
  const engine = await VisionEngine.create(config.vision, log);
  let embeddings: Record<string, number[] | null>;
  try {
    const alignment = config.vision.alignment;
    embeddings = (await cachedEmbeddings(engine, config.vision.detector, [alignment], paths, config, opts.cache)).get(alignment)!;
  } finally {
    await engine.dispose();
  }
  const setup = embeddingSetupKey(engine.setup);
  const stats = measureDistances(Object.fromEntries(paths.map((p) => [p, embeddings[p] ?? null])), {
    dataset: 'LFW View 1 DevTrain (every image of pairsDevTrain.txt, every pair of two of them)',
    command: `facecast measure-distances (${config.vision.detector}, ${config.vision.alignment}, ${engine.backend.name})`,
    at: new Date().toISOString().slice(0, 10),
  });
  const out = opts.out ?? DISTANCE_STATS_PATH;
  const file: DistanceStatsFile = existsSync(out)
    ? distanceStatsFileSchema.parse(JSON.parse(readFileSync(out, 'utf8')))
    : { format: DISTANCE_STATS_FORMAT, version: 1, setups: {} };
  file.setups[setup] = stats;
  writeFileSync(out, JSON.stringify(file) + '\n');
  if (opts.json) {
    printJson({ setup, out, measured: stats.measured, genuine: { count: stats.genuine.count, mean: stats.genuine.mean, sd: stats.genuine.sd }, impostor: { count: stats.impostor.count, mean: stats.impostor.mean, sd: stats.impostor.sd } });
    return;
  }
  const model = new DistanceModel(stats);
  const at = (far: number) => fmt(model.distanceAt(far), 3);
  process.stdout.write(
    `${setup}: ${stats.measured.faces} faces of ${stats.measured.identities} people (${stats.measured.images} images)\n` +
      `  genuine:  ${stats.genuine.count} pairs, mean ${fmt(stats.genuine.mean, 3)} ± ${fmt(stats.genuine.sd, 3)}\n` +
      `  impostor: ${stats.impostor.count} pairs, mean ${fmt(stats.impostor.mean, 3)} ± ${fmt(stats.impostor.sd, 3)}; ` +
      `distance at false-accept rate 1e-3: ${at(1e-3)}, 1e-4: ${at(1e-4)}, 1e-5: ${at(1e-5)}\n` +
      `written to ${out}\n`,
  );
}
