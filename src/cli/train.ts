// `facecast train` (retrain the roster classifier) and `facecast negatives import` (known strangers).
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { addNegativePhotos, ensureBuiltinNegatives, trainRoster } from '../recognition/service.ts';
import { saveModel } from '../recognition/store.ts';
import { VisionEngine } from '../vision/engine.ts';
import { openDataRoster } from './context.ts';
import { fmt, printJson } from './output.ts';
import { Progress } from './progress.ts';

export async function runTrain(opts: { augment: boolean; json?: boolean }, config: Config, log: Logger): Promise<number> {
  const roster = openDataRoster(config);
  try {
    if (config.recognition.builtinNegatives && roster.listNegatives('builtin').length === 0) {
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
      { embedder: 'faceRecognition', detector: config.vision.detector, alignment: config.vision.alignment },
      { augmented: opts.augment },
      (done, total, note) => {
        progress ??= new Progress('train', total);
        progress.update(done, note);
      },
    );
    progress?.finish();
    const path = saveModel(config.dataDir, model);
    const seconds = (performance.now() - started) / 1000;
    const m = model.classifier.metrics;
    const t = model.classifier.thresholds;
    if (opts.json) printJson({ path, seconds, thresholds: t, metrics: m });
    else {
      process.stdout.write(
        `trained on ${m.players} players, ${m.samples} embeddings${model.augmented ? ' (with augmented views)' : ''}, ${m.negatives} negatives in ${fmt(seconds, 1)} s\n` +
          `C = ${m.C}; cross-validated identification ${fmt(m.cvAccuracy * 100, 1)} %; genuine accept ${fmt(m.genuineAcceptRate * 100, 1)} %; ` +
          `false accepts ${m.falseAccepts} of ${m.impostorTrials} impostor trials\n` +
          `thresholds: probability ≥ ${fmt(t.pMin, 3)}, margin ≥ ${fmt(t.marginMin, 3)}, distance ≤ ${fmt(t.distMax, 3)} (${m.thresholdSource})\n` +
          `saved ${path}\n`,
      );
      for (const w of m.warnings) process.stdout.write(`warning: ${w}\n`);
    }
    return 0;
  } finally {
    roster.close();
  }
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
    const added = await addNegativePhotos(engine, roster, files, opts.source, 'cli', (done) => progress.update(done));
    progress.finish();
    process.stdout.write(`${added} negative face(s) added from ${files.length} image(s); run \`facecast train\` to use them\n`);
    return 0;
  } finally {
    roster.close();
    await engine.dispose();
  }
}
