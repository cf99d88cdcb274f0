// `facecast analyze <source>`: the live pipeline on a file or stream, one JSON line per analysed
// frame and a last summary line. A progress bar on stderr for files.
import { execFile } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { FfmpegFrameSource, parseInput } from '../ingest/index.ts';
import { SourcePipeline, type FrameAnalysis, type PipelineSummary } from '../pipeline/sourcePipeline.ts';
import type { Logger } from '../shared/log.ts';
import { createPool } from '../pipeline/pool.ts';
import { openRecognizer } from './context.ts';
import { Progress } from './progress.ts';

export interface AnalyzeOptions {
  out?: string;
  /** Stop after this many seconds of wall time (live sources run until stopped otherwise). */
  duration?: number;
}

/** Seconds of a media file from ffprobe (next to ffmpeg), or null when it cannot tell. */
export function probeDuration(file: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file], { timeout: 10_000 }, (err, stdout) => {
      const d = Number(stdout.trim());
      resolve(err || !Number.isFinite(d) || d <= 0 ? null : d);
    });
  });
}

/** The frame line of the JSON output: what the contract names, nothing internal. */
export function frameLine(a: FrameAnalysis) {
  return { frame: a.frame, pts: Math.round(a.pts * 1000) / 1000, wallMs: a.wallMs, cut: a.cut || undefined, tracks: a.tracks };
}

export async function runAnalyze(input: string, opts: AnalyzeOptions, config: Config, log: Logger): Promise<PipelineSummary> {
  const spec = parseInput(input); // refuses unlisted protocols before anything starts
  const isFile = spec.kind === 'file';
  const source = new FfmpegFrameSource({ ...config.ingest, reconnect: config.ingest.reconnect, input, channel: 'main', logger: log });
  const pool = await createPool(config, log);
  log.info({ backend: pool.backend?.name, device: pool.backend?.device, workers: pool.size }, `vision workers: ${pool.size} on ${pool.backend?.name}`);
  const recognizer = openRecognizer(config, log);
  if (!recognizer) log.warn(`no trained roster model in ${config.dataDir}: faces are tracked but not named (see \`facecast train\`)`);
  const pipeline = new SourcePipeline({ source, pool, config, recognizer: () => recognizer, policy: isFile && !config.ingest.realtime ? 'file' : 'live', log });
  const out: WriteStream | NodeJS.WriteStream = opts.out ? createWriteStream(opts.out) : process.stdout;
  const duration = isFile && !config.ingest.loop ? await probeDuration(spec.ffmpegInput) : null;
  const progress = duration ? new Progress('analyze', Math.floor(duration * config.ingest.fps)) : undefined;
  pipeline.on('frame', (a) => {
    out.write(JSON.stringify(frameLine(a)) + '\n');
    progress?.update(a.frame + 1, `${a.tracks.length} track(s)`);
  });
  pipeline.on('status', (s) => {
    if (s.state === 'error') log.error({ kind: s.kind, fatal: s.fatal }, s.message);
    else if (s.state === 'reconnecting') log.warn({ attempt: s.attempt, delayMs: s.delayMs }, `reconnecting: ${s.reason}`);
  });
  const stopOnSignal = () => void pipeline.stop();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const timer = opts.duration ? setTimeout(stopOnSignal, opts.duration * 1000) : undefined;
  try {
    const summary = await pipeline.start();
    progress?.finish();
    out.write(JSON.stringify({ summary }) + '\n');
    return summary;
  } finally {
    if (timer) clearTimeout(timer);
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await pool.close();
    if (opts.out) await new Promise<void>((resolve) => (out as WriteStream).end(resolve));
  }
}
