// `facecast recognize <image...>`: faces, landmarks and (optionally) embeddings for each image.
// The models are loaded once; a bad file is reported on its own line and the others still run.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import type { ImageError, ImageResult } from '../shared/protocol.ts';
import { VisionEngine } from '../vision/engine.ts';
import { decodeImage, ImageInputError } from '../vision/image.ts';
import type { DetectorName } from '../vision/detectors/index.ts';
import { fmt, printJson, table } from './output.ts';
import type { Recognizer } from '../recognition/service.ts';
import { openRecognizer } from './context.ts';

export interface RecognizeOptions {
  detector?: DetectorName;
  json?: boolean;
  embeddings?: boolean;
}

export async function recognizeImage(engine: VisionEngine, file: string, opts: RecognizeOptions, recognizer: Recognizer | null): Promise<ImageResult> {
  const started = performance.now();
  const image = await decodeImage(file, { maxPixels: engine.config.maxImagePixels });
  const detector = opts.detector ?? engine.config.detector;
  // Identity needs the embedding even when the caller does not want it printed.
  const faces = await engine.analyse(image, { detector, embeddings: Boolean(opts.embeddings || recognizer) });
  for (const f of faces) {
    if (recognizer && f.embedding) {
      const { identity, decision } = recognizer.decide(f.embedding);
      Object.assign(f, { identity, decision });
    }
    if (!opts.embeddings) delete f.embedding;
  }
  return {
    file,
    width: image.width,
    height: image.height,
    backend: engine.backend.name,
    detector,
    ms: Math.round((performance.now() - started) * 10) / 10,
    faces,
  };
}

/** The name, or "unknown" with the best candidate and what held it back. */
function identityCell(f: ImageResult['faces'][number]): string {
  if (f.identity === undefined) return '';
  if (f.identity) return `${f.identity.name} (${fmt(f.identity.confidence * 100)} %, d ${fmt(f.decision?.distance ?? NaN, 3)})`;
  const d = f.decision;
  if (!d) return 'unknown';
  const limit = d.threshold !== undefined ? ` / ${fmt(d.threshold, 3)}` : '';
  return `unknown (best ${d.candidate.name}: d ${fmt(d.distance, 3)}${limit}, p ${fmt(d.probability, 2)}; held back by ${d.heldBackBy.join(', ')})`;
}

function printHuman(r: ImageResult): void {
  process.stdout.write(`\n${r.file}  ${r.width}×${r.height}  ${r.faces.length} face(s)  ${fmt(r.ms)} ms  [${r.detector} on ${r.backend}]\n`);
  if (r.faces.length === 0) return;
  const rows = r.faces.map((f, i) => [
    i + 1,
    identityCell(f),
    f.box.map((v) => fmt(v)).join(', '),
    fmt(f.score, 3),
    f.landmarks.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' '),
    f.embedding ? f.embedding.slice(0, 3).map((v) => fmt(v, 3)).join(' ') + ' …' : '',
  ]);
  process.stdout.write(table(['#', 'identity', 'box x, y, w, h', 'score', 'landmarks (eyes, nose, mouth)', 'embedding'], rows) + '\n');
  r.faces.forEach((f, i) => {
    if (f.decision) process.stdout.write(`  ${i + 1}: ${f.decision.reason}\n`);
  });
}

/** Runs the command; resolves to the process exit code (1 when any file failed). */
export async function runRecognize(files: string[], opts: RecognizeOptions, config: Config, log: Logger): Promise<number> {
  const engine = await VisionEngine.create(config.vision, log);
  const recognizer = openRecognizer(config, log);
  if (!opts.json) {
    process.stdout.write(`backend: ${engine.backend.name} (${engine.backend.device})\n`);
    process.stdout.write(recognizer ? `roster model: ${Object.keys(recognizer.model.players).length} players, trained ${recognizer.model.trainedAt}\n` : `roster model: none in ${config.dataDir} (faces are not named; see \`facecast train\`)\n`);
  }
  const results: (ImageResult | ImageError)[] = [];
  let failed = 0;
  try {
    for (const file of files) {
      try {
        const r = await recognizeImage(engine, file, opts, recognizer);
        results.push(r);
        if (!opts.json) printHuman(r);
      } catch (err) {
        if (!(err instanceof ImageInputError)) throw err;
        failed++;
        results.push({ file, error: err.message });
        process.stderr.write(`error: ${err.message}\n`);
      }
    }
  } finally {
    await engine.dispose();
  }
  if (opts.json) printJson(results);
  else if (failed) process.stdout.write(`\n${failed} of ${files.length} file(s) failed\n`);
  return failed > 0 ? 1 : 0;
}
