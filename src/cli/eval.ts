// `facecast eval <dir>`: how well the roster classifier would name the people of a
// folder-per-identity image set, and how often it names a stranger, for augmentation on/off ×
// negatives on/off (protocol: src/recognition/evaluate.ts). One table for people, --json for
// machines, --report for a self-contained HTML page with ROC, histograms and confusion matrix.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { builtinNegativePhotos } from '../recognition/service.ts';
import {
  DEFAULT_CONFIG,
  equalErrorRate,
  rocCurve,
  runEvaluation,
  type ConfigResult,
  type EvalConfigName,
  type EvalResult,
  type ProgressFactory,
} from '../recognition/evaluate.ts';
import { renderReport } from '../recognition/report.ts';
import { embeddingSetupKey } from '../vision/setup.ts';
import { VisionEngine } from '../vision/engine.ts';
import { fmt, printJson, table } from './output.ts';
import { Progress } from './progress.ts';

export interface EvalCliOptions {
  json?: boolean;
  /** A folder of face images of people not in the set (searched recursively). */
  negatives?: string;
  /** Most images taken from --negatives, spread over its people (default 300; 0 = all). */
  negativesLimit?: number;
  /** Add the built-in negatives (the face-api demo photos). */
  builtinNegatives: boolean;
  /** Faces of people in neither the set nor the negatives, put to each configuration's classifier. */
  strangers?: string;
  /** Most images taken from --strangers, spread over its people (default 1000; 0 = all). */
  strangersLimit?: number;
  /** Write the HTML report here. */
  report?: string;
  /** Fixed C from the full-data training and 3 folds inside the repeated trainings. */
  quick?: boolean;
  /** Only these configurations (default: all four). */
  configs?: EvalConfigName[];
  /** Show progress bars even when stderr is not a terminal. */
  progress?: boolean;
  /** Add a `+adapt` row per configuration: every training also trains a triplet head and goes through it. */
  adapt?: boolean;
}

export const DEFAULT_NEGATIVES_LIMIT = 300;
export const DEFAULT_STRANGERS_LIMIT = 1000;

const pct = (v: number) => `${fmt(v * 100, 1)} %`;

function configRow(k: ConfigResult, unseen: boolean): (string | number)[] {
  return [
    k.name,
    k.images,
    k.detected,
    `${pct(k.accuracy)} (${k.correct})`,
    k.misidentified,
    `${pct(k.unknownRate)} (${k.unknown})`,
    `${pct(k.falseAcceptRate)} (${k.falseAccepts}/${k.strangerTrials})`,
    ...(unseen ? [`${fmt(k.unseenStrangers.rate * 100, 2)} % (${k.unseenStrangers.named.length}/${k.unseenStrangers.faces})`] : []),
    Math.round(k.meanTrainMs),
  ];
}

/** The table printed for people. */
export function evalTable(r: EvalResult): string {
  const unseen = r.unseenStrangers !== undefined;
  return table(
    ['config', 'images', 'detected', 'accuracy', 'misidentified', 'unknown rate', 'false-accept rate', ...(unseen ? ['unseen strangers named'] : []), 'mean train ms'],
    r.configs.map((k) => configRow(k, unseen)),
  );
}

/** What --json prints: top-level numbers are those of the default configuration. */
export function evalSummary(r: EvalResult, config: Config, extra: { backend?: string; report?: string } = {}) {
  const def = r.configs.find((k) => k.name === r.defaultConfig) ?? r.configs[0]!;
  const eer = (g: number[], i: number[]) => (g.length && i.length ? equalErrorRate(rocCurve(g, i, true)) : null);
  return {
    dir: r.dir,
    identities: r.identities.length,
    names: r.identities,
    images: r.images,
    detected: r.detected,
    defaultConfig: def.name,
    accuracy: def.accuracy,
    falseAcceptRate: def.falseAcceptRate,
    ...(r.unseenStrangers ? { unseenStrangerRate: def.unseenStrangers.rate } : {}),
    unknownRate: def.unknownRate,
    misidentificationRate: def.misidentificationRate,
    thresholds: { ...def.full.thresholds, verifyThreshold: config.recognition.verifyThreshold },
    protocol: {
      quick: r.quick,
      views: r.views,
      trainings: r.quick ? 'C fixed from the full-data training of each configuration, 3 folds' : 'product defaults: C by 5-fold cross-validation in every training',
    },
    negatives: r.negatives,
    ...(r.unseenStrangers ? { unseenStrangers: r.unseenStrangers } : {}),
    configs: r.configs.map((k) => ({
      name: k.name,
      adapted: k.adapted === true,
      augmentation: k.augmentation,
      negatives: k.negatives,
      negativeFaces: k.negativeFaces,
      images: k.images,
      detected: k.detected,
      correct: k.correct,
      misidentified: k.misidentified,
      unknown: k.unknown,
      notDetected: k.notDetected,
      accuracy: k.accuracy,
      misidentificationRate: k.misidentificationRate,
      unknownRate: k.unknownRate,
      strangerTrials: k.strangerTrials,
      falseAccepts: k.falseAccepts,
      falseAcceptRate: k.falseAcceptRate,
      trainings: k.trainings,
      meanTrainMs: Math.round(k.meanTrainMs),
      totalMs: Math.round(k.totalMs),
      C: k.full.C,
      thresholds: k.full.thresholds,
      looThresholds: k.looThresholds,
      errors: k.trials
        .filter((t) => t.outcome !== 'correct')
        .map((t) => ({ file: t.file, label: t.label, outcome: t.outcome, best: t.best, probability: t.probability, margin: t.margin, distance: t.distance, rejectedBy: t.rejectedBy, thresholds: t.thresholds })),
      falseAcceptTrials: k.strangers.filter((s) => s.predicted !== null),
      ...(r.unseenStrangers ? { unseenStrangers: { faces: k.unseenStrangers.faces, named: k.unseenStrangers.named.length, rate: k.unseenStrangers.rate, trials: k.unseenStrangers.named } } : {}),
      warnings: k.warnings,
    })),
    pairs: {
      genuine: r.pairs.genuine.length,
      impostor: r.pairs.impostor.length,
      negative: r.pairs.negative.length,
      eerPlayers: eer(r.pairs.genuine, r.pairs.impostor),
      eerNegatives: eer(r.pairs.genuine, r.pairs.negative),
    },
    failures: r.failures,
    timings: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, Math.round(v)])),
    ...extra,
  };
}

export async function runEval(dir: string, opts: EvalCliOptions, config: Config, log: Logger): Promise<EvalResult> {
  const engine = await VisionEngine.create(config.vision, log);
  const bars: ProgressFactory = (label, total) => {
    const p = new Progress(label, total, opts.progress ?? Boolean(process.stderr.isTTY));
    return { tick: (note) => p.tick(1, note ?? ''), finish: () => p.finish() };
  };
  let result: EvalResult;
  try {
    result = await runEvaluation(engine, resolve(dir), {
      views: config.enrolment.views,
      negativesDir: opts.negatives ? resolve(opts.negatives) : undefined,
      negativesLimit: opts.negativesLimit ?? DEFAULT_NEGATIVES_LIMIT,
      builtinNegatives: opts.builtinNegatives ? builtinNegativePhotos() : [],
      strangersDir: opts.strangers ? resolve(opts.strangers) : undefined,
      strangersLimit: opts.strangersLimit ?? DEFAULT_STRANGERS_LIMIT,
      quick: opts.quick,
      configs: opts.configs,
      // The product's open-set rule, so the table says what `train` + `identify` would do.
      trainOptions: { openSet: { setup: embeddingSetupKey(engine.setup), ...config.recognition.openSet } },
      progress: bars,
      ...(opts.adapt ? { adapt: {} } : {}),
    });
  } finally {
    await engine.dispose();
  }
  for (const f of result.failures) log.warn(f.message);
  if (result.ignoredFiles.length) log.warn({ files: result.ignoredFiles }, `${result.ignoredFiles.length} files ignored (not an image in <dir>/<person>/)`);
  for (const k of result.configs) for (const w of k.warnings) log.warn(`${k.name}: ${w}`);
  if (result.negatives.failed.length) log.warn({ files: result.negatives.failed }, `${result.negatives.failed.length} negative images had no usable face`);
  if (result.unseenStrangers?.failed.length) log.warn({ files: result.unseenStrangers.failed }, `${result.unseenStrangers.failed.length} stranger images had no usable face`);

  let reportPath: string | undefined;
  if (opts.report) {
    reportPath = resolve(opts.report);
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, renderReport(result, { verifyThreshold: config.recognition.verifyThreshold, backend: engine.backend.name }));
  }

  if (opts.json) {
    printJson(evalSummary(result, config, { backend: engine.backend.name, report: reportPath }));
    return result;
  }
  const n = result.negatives;
  const out: string[] = [
    `${result.dir}: ${result.identities.length} identities, ${result.images} images, ${result.detected} with exactly one face (${engine.backend.name})`,
    `negatives: ${n.folder ? `${n.folderFaces} faces from ${n.folderImages} images of ${n.folder}` : 'no folder'}${n.builtinImages ? `, ${n.builtinFaces} built-in faces` : ', no built-in'}; ${result.views} augmented views per image`,
    ...(result.unseenStrangers
      ? [`unseen strangers: ${result.unseenStrangers.faces} faces from ${result.unseenStrangers.images} images of ${result.unseenStrangers.folder} (people in neither the set nor the negatives), put to each configuration's full-data classifier`]
      : []),
    `protocol: leave-one-image-out identification + leave-identity-out false accepts, ${result.quick ? 'quick (C fixed from the full-data training, 3 folds)' : 'every training with the product defaults (C by 5-fold cross-validation)'}`,
    ...(result.configs.some((k) => k.adapted) ? ['+adapt rows: every training also trains a triplet head (semi-hard, α 0.2) on its own training photos and classifies through it (forced on)'] : []),
    '',
    evalTable(result),
    '',
  ];
  const def = result.configs.find((k) => k.name === DEFAULT_CONFIG);
  if (def) {
    const t = def.full.thresholds;
    out.push(`thresholds (${def.name}, all images): pMin ${fmt(t.pMin, 3)}, marginMin ${fmt(t.marginMin, 3)}, distMax ${fmt(t.distMax, 3)}; verifyThreshold ${fmt(config.recognition.verifyThreshold, 3)}`);
  }
  for (const k of result.configs) {
    for (const tr of k.trials.filter((x) => x.outcome === 'unknown' || x.outcome === 'misidentified')) {
      out.push(
        `  ${k.name}: ${tr.file} → ${tr.outcome === 'unknown' ? `unknown (best ${tr.best}, p ${fmt(tr.probability!, 3)}, margin ${fmt(tr.margin!, 3)}, distance ${fmt(tr.distance!, 3)}; failed ${tr.rejectedBy!.join(', ')})` : `${tr.predicted} (p ${fmt(tr.probability!, 3)})`}`,
      );
    }
  }
  for (const k of result.configs) {
    for (const s of k.unseenStrangers.named) out.push(`  ${k.name}: unseen stranger ${s.file} named ${s.predicted} (p ${fmt(s.probability, 3)}, margin ${fmt(s.margin, 3)}, distance ${fmt(s.distance, 3)})`);
  }
  for (const f of result.failures) out.push(`  not detected: ${f.message}`);
  const tm = result.timings;
  const strangersTime = result.unseenStrangers ? `, unseen strangers ${fmt(tm.strangersMs / 1000, 1)} s` : '';
  out.push(`time: embedding ${fmt(tm.embedMs / 1000, 1)} s, negatives ${fmt(tm.negativesMs / 1000, 1)} s${strangersTime}, trainings ${fmt(tm.trainMs / 1000, 1)} s, total ${fmt(tm.totalMs / 1000, 1)} s`);
  if (reportPath) out.push(`report: ${reportPath}`);
  process.stdout.write(out.join('\n') + '\n');
  return result;
}
