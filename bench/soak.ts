// npm run bench:soak -- --minutes 10 — facecast's live pipeline left running: the bench clip looped
// in real time (ffmpeg -re -stream_loop, live policy: the pool drops rather than queues), as a live
// stream would feed it. Every --every seconds (60) it samples this process's memory (RSS, JS heap,
// array buffers) and the vision worker's tf.memory().numTensors (pool.stats()), prints a row, and at
// the end says whether memory stayed flat:
//   - RSS: last − first sample within --tolerance-mb (32) — the first sample is taken after one
//     interval of running (a fresh process grows its heaps and allocator pools during the first
//     minute); with fewer than 3 samples (a smoke run) RSS is not judged;
//   - numTensors less kept frames (the frames a worker holds for the tracker's embed requests, one
//     tensor each): unchanged from first to last (±2), or tensors leak; samples within 10 s of a
//     worker kill are left out (a new worker reports its load-time tensors until its first frame).
// Exit code 1 when either is not flat.
//
// With faults (bench/faults.ts): --kill-ffmpeg-every 3m (ffmpeg SIGKILLed that often; the clip is
// then read as a live input, which reconnects), --kill-worker-at 5m (vision worker 0 exits once;
// the pool replaces it), --bad-uploads N (a burst of N undecodable image bodies at
// --bad-uploads-at, default a third of the run; --odd-frames adds frames 1 or 2 pixels wide, sent
// straight to the pool). Then it also reports crashes (worker restarts it
// did not cause, an early end, uncaught errors, a kill never recovered from) and exits 1 on any.
//
// Options: --minutes N (10; 0.2 for a smoke run), --every S (60), --video FILE (default: the
// generated bench clip), --data DIR (a trained data dir; default: the bench roster),
// --tolerance-mb MB (32).
import { parseArgs } from 'node:util';
import { createPool } from '../src/pipeline/pool.ts';
import { openRecognizer } from '../src/cli/context.ts';
import { table } from '../src/cli/output.ts';
import { loadConfig } from '../src/config/load.ts';
import { FfmpegFrameSource } from '../src/ingest/index.ts';
import { SourcePipeline } from '../src/pipeline/sourcePipeline.ts';
import { createLogger } from '../src/shared/log.ts';
import { durationMs, FaultInjector } from './faults.ts';
import { machineLoad, mb, percentile, prepareInChild, round } from './lib.ts';

const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    every: { type: 'string', default: '60' },
    video: { type: 'string' },
    data: { type: 'string' },
    'tolerance-mb': { type: 'string', default: '32' },
    'kill-ffmpeg-every': { type: 'string' },
    'kill-worker-at': { type: 'string' },
    'bad-uploads': { type: 'string', default: '0' },
    'bad-uploads-at': { type: 'string' },
    'odd-frames': { type: 'boolean', default: false },
  },
});
const minutes = Number(opts.minutes);
const every = Number(opts.every);
const toleranceMb = Number(opts['tolerance-mb']);
if (!(minutes > 0) || !(every > 0)) throw new Error('--minutes and --every must be positive numbers');
const faultOptions = {
  killFfmpegEveryMs: opts['kill-ffmpeg-every'] ? durationMs(opts['kill-ffmpeg-every']) : 0,
  killWorkerAtMs: opts['kill-worker-at'] ? durationMs(opts['kill-worker-at']) : -1,
  badUploads: Number(opts['bad-uploads']),
  badUploadsAtMs: opts['bad-uploads-at'] ? durationMs(opts['bad-uploads-at']) : (minutes * 60_000) / 3,
  oddFrames: opts['odd-frames'],
};
// The crash hook of the pool (worker 0 exits on request) is off unless asked for.
if (faultOptions.killWorkerAtMs >= 0) process.env.FACECAST_TEST_HOOKS = '1';
const uncaught: string[] = [];
process.on('uncaughtException', (err) => uncaught.push(err.stack ?? String(err)));
process.on('unhandledRejection', (err) => uncaught.push(String(err)));

const log = createLogger('warn');
// Video and roster are made in a child: building a roster here would load models into this process.
const { video, data: dataDir } = await prepareInChild({ video: opts.video, data: opts.data });
const config = loadConfig({ overrides: { dataDir, ingest: { realtime: true, loop: true } } });
const pool = await createPool(config, log);
const recognizer = openRecognizer(config, log);
// Killing ffmpeg only makes sense on an input that reconnects, as a live one does.
const live = faultOptions.killFfmpegEveryMs > 0 ? { live: true } : {};
const source = new FfmpegFrameSource({ ...config.ingest, reconnect: config.ingest.reconnect, input: video, channel: 'main', logger: log, ...live });
const pipeline = new SourcePipeline({ source, pool, config, recognizer: () => recognizer, policy: 'live', log });

interface Sample {
  minute: number;
  rssMb: number;
  heapMb: number;
  arrayBuffersMb: number;
  numTensors: number;
  keptFrames: number;
  analysed: number;
  dropped: number;
  p95: number;
  /** Every worker up and none just replaced: a fresh worker reports its load-time tensors until its first frame. */
  settled: boolean;
}
const samples: Sample[] = [];
let analysed = 0;
let window: number[] = [];
pipeline.on('frame', (a) => {
  analysed++;
  window.push(a.latencyMs);
});
const startedAt = performance.now();
const load0 = machineLoad();

const p95 = (s: Sample) => (Number.isFinite(s.p95) ? s.p95 : '-');

function sample(): Sample {
  const m = process.memoryUsage();
  const workers = pool.stats().workers;
  const s: Sample = {
    minute: round((performance.now() - startedAt) / 60_000, 2),
    rssMb: round(mb(m.rss)),
    heapMb: round(mb(m.heapUsed)),
    arrayBuffersMb: round(mb(m.arrayBuffers)),
    numTensors: workers.reduce((n, w) => n + w.numTensors, 0),
    keptFrames: workers.reduce((n, w) => n + w.keptFrames, 0),
    analysed,
    dropped: pipeline.summary().dropped,
    p95: round(percentile(window, 95)),
    settled: workers.every((w) => w.ready) && performance.now() - faults.lastWorkerKillAt > 10_000,
  };
  window = [];
  samples.push(s);
  console.log(`  ${s.minute} min: RSS ${s.rssMb} MB, heap ${s.heapMb} MB, worker tensors ${s.numTensors} (${s.keptFrames} kept frames), ${s.analysed} frames, ${s.dropped} dropped, p95 ${p95(s)} ms`);
  return s;
}

console.log(`soak: ${video} looped in real time at ${config.ingest.fps} fps for ${minutes} min, a sample every ${every} s`);
console.log(`machine: ${load0.cores} cores, load average ${load0.loadavg.join(' ')}; ${pool.size} vision worker(s) on ${pool.backend?.name}`);
const faults = new FaultInjector(faultOptions, pool, source, (line) => console.log(`  ${line}`));
if (faults.any) console.log(`faults: ${JSON.stringify(faultOptions)}`);
const ticker = setInterval(sample, every * 1000);
let stoppedByUs = false;
const stopAt = setTimeout(() => {
  stoppedByUs = true;
  void pipeline.stop();
}, minutes * 60_000 + 500);
const running = pipeline.start();
sample();
faults.start();
const summary = await running;
await faults.stop();
clearInterval(ticker);
clearTimeout(stopAt);
const poolStats = pool.stats();
// A last sample at the end, unless the timer just took one.
const last = performance.now() - startedAt - samples.at(-1)!.minute * 60_000 > 5000 ? sample() : samples.at(-1)!;
await pool.close();

console.log();
console.log(
  table(
    ['min', 'RSS MB', 'heap MB', 'arrayBuf MB', 'tensors', 'kept', 'frames', 'dropped', 'p95 ms'],
    samples.map((s) => [s.minute, s.rssMb, s.heapMb, s.arrayBuffersMb, s.numTensors, s.keptFrames, s.analysed, s.dropped, p95(s)]),
  ),
);
const first = samples.length >= 3 ? samples[1]! : samples[0]!;
const rssDelta = round(last.rssMb - first.rssMb);
// Tensors from the first sample on are the models' before any frame: compare later settled samples.
const settled = samples.slice(1).filter((s) => s.settled);
const [tFirst, tLast] = [settled.length >= 3 ? settled[1]! : (settled[0] ?? last), settled.at(-1) ?? last];
const tensorDelta = tLast.numTensors - tLast.keptFrames - (tFirst.numTensors - tFirst.keptFrames);
// With fewer than 3 samples the first is taken at start, mid warm-up: too early to judge RSS by.
const rssJudged = samples.length >= 3;
const rssFlat = !rssJudged || Math.abs(rssDelta) <= toleranceMb;
const tensorsFlat = Math.abs(tensorDelta) <= 2;
console.log(
  `\n${summary.frames} frames analysed in ${round((performance.now() - startedAt) / 60_000, 2)} min, ${summary.dropped} dropped, ${summary.lost} lost; ` +
    `latency p50/p95 ${summary.latencyMs.p50} / ${summary.latencyMs.p95} ms (the pipeline's recent-frames window)`,
);
const rssVerdict = !rssJudged ? 'not judged (fewer than 3 samples: run longer than 2 × --every)' : rssFlat ? 'flat' : 'NOT flat';
console.log(`RSS ${first.rssMb} → ${last.rssMb} MB (from ${first.minute} min): ${rssDelta >= 0 ? '+' : ''}${rssDelta} MB, ${rssVerdict} (tolerance ±${toleranceMb} MB)`);
console.log(
  `worker tensors less kept frames ${tFirst.numTensors - tFirst.keptFrames} → ${tLast.numTensors - tLast.keptFrames} (${tFirst.minute} → ${tLast.minute} min): ${tensorDelta >= 0 ? '+' : ''}${tensorDelta}, ${tensorsFlat ? 'flat' : 'NOT flat (leak)'}`,
);
console.log(`machine load average ${load0.loadavg[0]} → ${machineLoad().loadavg[0]} on ${load0.cores} cores`);
const f = faults.report;
const crashes = [
  ...uncaught.map((e) => `uncaught: ${e.split('\n')[0]}`),
  ...(poolStats.restarts > f.workerKills ? [`${poolStats.restarts - f.workerKills} vision worker restart(s) not caused by the soak`] : []),
  ...(stoppedByUs ? [] : ['the pipeline ended before the time was up']),
  ...(f.ffmpegRecovered < f.ffmpegKills - 1 ? [`ffmpeg killed ${f.ffmpegKills} times but the source came back only ${f.ffmpegRecovered} times`] : []),
  ...f.badUploads.unexpected.map((e) => `bad upload: ${e}`),
  // Frames lost beyond the one a killed worker takes with it: a worker failing every frame is broken, not busy.
  ...(summary.lost > poolStats.lost ? [`${summary.lost - poolStats.lost} frame(s) failed inside a vision worker (a worker left broken?)`] : []),
];
if (faults.any) {
  console.log(
    `faults: ffmpeg killed ${f.ffmpegKills}× (back to playing ${f.ffmpegRecovered}×), vision worker killed ${f.workerKills}× (pool restarts ${poolStats.restarts}), ` +
      `bad uploads ${f.badUploads.sent} (${f.badUploads.refused} refused, ${f.badUploads.answered} answered); ${poolStats.lost} frames lost with the worker`,
  );
}
console.log(`crashes: ${crashes.length}${crashes.length ? `\n  ${crashes.join('\n  ')}` : ''}`);
process.exitCode = rssFlat && tensorsFlat && crashes.length === 0 ? 0 : 1;
