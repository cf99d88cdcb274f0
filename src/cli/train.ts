// `facecast train` (retrain the roster classifier) and `facecast negatives import` (known strangers).
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { addNegativePhotos, ensureBuiltinNegatives, needsBuiltinNegatives, setupConflict, trainRoster, TrainingInputError } from '../recognition/service.ts';
import { saveModel } from '../recognition/store.ts';
import { VisionEngine } from '../vision/engine.ts';
import { openDataRoster } from './context.ts';
import { fmt, printJson, table } from './output.ts';
import { ConfigError } from '../config/load.ts';
import { selectBackend } from '../vision/backend.ts';
import type { SavedAdapter } from '../recognition/adapt/adapter.ts';
import { lfwGuardPairs } from './evalLfw.ts';
import { Progress } from './progress.ts';
import { FACE_RECOGNITION_EMBEDDER } from '../vision/embedders/faceRecognitionNet.ts';

export interface TrainCliOptions {
  augment: boolean;
  json?: boolean;
  /** Train the triplet head too (used only when it beats the raw embeddings). */
  adapt?: boolean;
  /** With adapt: LFW View 1 folder for the forgetting guard. */
  lfw?: string;
  lfwLimit?: number;
  selection?: 'semi-hard' | 'batch-hard';
  margin?: number;
}

export async function runTrain(opts: TrainCliOptions, config: Config, log: Logger): Promise<number> {
  if (opts.margin !== undefined && !(opts.margin > 0)) throw new ConfigError(`--margin must be a positive number, got ${opts.margin}`);
  // The LFW embeddings come first (minutes without a cache), before the roster is opened.
  const lfw = opts.adapt && opts.lfw ? await lfwGuardPairs(opts.lfw, { limit: opts.lfwLimit ?? 0, cache: true }, config, log) : undefined;
  if (opts.adapt) await selectBackend(config.vision.backend);
  const roster = openDataRoster(config);
  try {
    const vision = { embedder: FACE_RECOGNITION_EMBEDDER, detector: config.vision.detector, alignment: config.vision.alignment };
    const conflict = setupConflict(roster.setupCounts(), vision);
    if (conflict) throw new TrainingInputError(conflict);
    if (config.recognition.builtinNegatives && needsBuiltinNegatives(roster, vision)) {
      const engine = await VisionEngine.create(config.vision, log);
      const progress = new Progress('built-in negatives', 6);
      await ensureBuiltinNegatives(engine, roster, (done) => progress.update(done));
      progress.finish();
      await engine.dispose();
    }
    const started = performance.now();
    let progress: Progress | undefined;
    const { model } = trainRoster(
      roster,
      vision,
      {
        augmented: opts.augment,
        openSet: config.recognition.openSet,
        ...(opts.adapt ? { adapt: { head: { selection: opts.selection ?? 'semi-hard', margin: opts.margin ?? 0.2 }, lfw } } : {}),
      },
      (done, total, note) => {
        progress ??= new Progress(opts.adapt ? 'train --adapt' : 'train', total);
        progress.update(done, note);
      },
    );
    progress?.finish();
    const path = saveModel(config.dataDir, model);
    const seconds = (performance.now() - started) / 1000;
    const m = model.classifier.metrics;
    const t = model.classifier.thresholds;
    const adapter = model.classifier.adapter;
    const adapterSummary = adapter && { used: adapter.used, reason: adapter.reason, training: adapter.training, cv: adapter.cv, lfw: adapter.lfw };
    const os = model.classifier.openSet;
    const openSet = os && { setup: os.setup, falseAcceptRate: os.falseAcceptRate, chances: os.chances, distanceMax: os.distanceMax, fittedGates: os.fittedGates, fittedGatesNote: os.fittedGatesNote, measured: os.measured };
    if (opts.json) printJson({ path, seconds, thresholds: t, ...(openSet ? { openSet } : {}), metrics: m, ...(adapterSummary ? { adapter: adapterSummary } : {}) });
    else {
      process.stdout.write(
        `trained on ${m.players} players, ${m.samples} embeddings${model.augmented ? ' (with augmented views)' : ''}, ${m.negatives} negatives in ${fmt(seconds, 1)} s\n` +
          `C = ${m.C}; cross-validated identification ${fmt(m.cvAccuracy * 100, 1)} %; genuine accept ${fmt(m.genuineAcceptRate * 100, 1)} %; ` +
          `false accepts ${m.falseAccepts} of ${m.impostorTrials} impostor trials\n` +
          (os
            ? `open-set rule: a face is named when within ${fmt(os.distanceMax, 3)} of its player's nearest photo and no other player's photo is nearer ` +
              `(target: ${fmt(os.falseAcceptRate * 100, 2)} % of strangers' faces named; ${fmt(os.chances, 1)} chances from the roster's photos; ` +
              `embedder statistics: ${os.measured})\n` +
              `roster-fitted gates ${os.fittedGates ? '' : '(not applied) '}${os.fittedGatesNote.replace(/^(on|off): /, '')}: ` +
              `probability ≥ ${fmt(t.pMin, 3)}, margin ≥ ${fmt(t.marginMin, 3)}, distance ≤ ${fmt(t.distMax, 3)} (${m.thresholdSource})\n`
            : `thresholds: probability ≥ ${fmt(t.pMin, 3)}, margin ≥ ${fmt(t.marginMin, 3)}, distance ≤ ${fmt(t.distMax, 3)} (${m.thresholdSource})\n`) +
          `saved ${path}\n`,
      );
      for (const w of m.warnings) process.stdout.write(`warning: ${w}\n`);
      if (adapter) process.stdout.write(adapterReport(adapter));
    }
    return 0;
  } finally {
    roster.close();
  }
}

/** What `train --adapt` prints about the head: training, the cross-validated comparison, LFW, the decision. */
export function adapterReport(a: SavedAdapter): string {
  const pct = (v: number) => `${fmt(v * 100, 1)} %`;
  const tr = a.training;
  const row = (name: string, c: SavedAdapter['cv']['raw']) => [name, `${pct(c.accuracy)}`, c.wrongNames, `${pct(c.rank1)}`, `${c.falseAccepts}/${c.strangerTrials}`];
  const lines = [
    `adaptation: triplet head (${tr.selection}, α = ${tr.margin}, P×K = ${tr.playersPerBatch}×${tr.facesPerPlayer}) on ${tr.backend}: ${tr.epochs} epochs, kept epoch ${tr.bestEpoch}, ${tr.steps} steps, ${fmt(tr.trainingMs / 1000, 1)} s`,
    `  early stopping: ${tr.validation}; loss ${fmt(tr.validationLoss.initial, 4)} → ${fmt(tr.validationLoss.best, 4)}`,
    `  held-out identification, leave-source-photo-out over ${a.cv.folds} folds (${a.cv.raw.trials} real photos, ${fmt(a.cv.ms / 1000, 1)} s):`,
    table(['embedding', 'named correctly', 'wrong names', 'rank-1', 'negatives named'], [row('raw', a.cv.raw), row('through head', a.cv.adapted)])
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  ];
  if (a.lfw) {
    lines.push(
      `  LFW View 1 (${a.lfw.trainPairs} DevTrain / ${a.lfw.testPairs} DevTest pairs): DevTest raw ${fmt(a.lfw.raw.devTest * 100, 2)} %, through head ${fmt(a.lfw.adapted.devTest * 100, 2)} % (Δ ${fmt(a.lfw.deltaPoints, 2)} points, limit ±${a.lfw.maxDeltaPoints})`,
    );
  } else lines.push('  LFW guard: not run (give --lfw <dir>)');
  lines.push(`  head ${a.used ? 'USED' : 'OFF'}: ${a.reason}`);
  return lines.join('\n') + '\n';
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.avif']);

/** Image files under dir (one level of sub-folders, as LFW has), taking at most `perFolder` from each. */
export function negativeImages(dir: string, limit: number, perFolder = 1): string[] {
  const out: string[] = [];
  const entries = readdirSync(dir).sort();
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) {
      out.push(...readdirSync(p).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort().slice(0, perFolder).map((f) => join(p, f)));
    } else if (IMAGE_EXT.has(extname(e).toLowerCase())) out.push(p);
  }
  if (out.length <= limit) return out;
  // Spread the pick over the whole list rather than the first names alphabetically.
  const step = out.length / limit;
  return Array.from({ length: limit }, (_, i) => out[Math.floor(i * step)]!);
}

export async function runNegativesImport(dir: string, opts: { source: 'lfw' | 'crowd' | 'operator'; limit: number }, config: Config, log: Logger): Promise<number> {
  const files = negativeImages(dir, opts.limit);
  const engine = await VisionEngine.create(config.vision, log);
  const roster = openDataRoster(config);
  try {
    const progress = new Progress('negatives', files.length);
    const { added, failed } = await addNegativePhotos(engine, roster, files, opts.source, 'cli', (done) => progress.update(done));
    progress.finish();
    process.stdout.write(`${added} negative face(s) added from ${files.length - failed.length} image(s); run \`facecast train\` to use them\n`);
    if (failed.length) {
      process.stdout.write(`${failed.length} image(s) could not be read and were left out (the others are imported):\n`);
      for (const f of failed) process.stdout.write(`  ${f.message}\n`);
    }
    return failed.length ? 1 : 0;
  } finally {
    roster.close();
    await engine.dispose();
  }
}
