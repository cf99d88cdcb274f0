// npm run bench:pipeline [video] — facecast's live pipeline against the face-api baseline on the
// same video, in one run.
//
// Each system runs in a child process of its own (RSS is then per system), one after the other and
// alternating (facecast, baseline, facecast, baseline, … for --rounds) so that noise from whatever
// else the machine runs hits both. Both read the video through facecast's ffmpeg frame source at
// the configured fps (default 5) with the file policy (nothing dropped; the reader waits for the
// consumer), warm up on the first frame (untimed), then time the whole clip:
//   - analysed frames/s: frames analysed / wall time from starting the source to the last result;
//   - latency p50/p95: frame arrival from ffmpeg (Frame.wallMs) → result; for the baseline also
//     read → result (one per-frame call, as its users time it);
//   - CPU ms/frame: user+system CPU of the whole process (all threads) per frame; less sensitive to
//     other load on the machine than frames/s;
//   - RSS: peak (kernel high-water mark and 100 ms samples) and final (after the last frame, models
//     still loaded).
// Then facecast once more in real-time mode (ffmpeg -re, live policy: frames arrive at 5 fps and the
// pool drops rather than queues), which is what a live stream gives: its p95 latency is the number
// that matters on air.
//
// The default video is generated once (cached in the OS temp dir): 30 s, 1280×720, 25 fps, 8 shots
// with hard cuts, each panning or zooming over one of the shared group photos (face-api demo photos
// without ../shared). Facecast's roster is enrolled from the shared gallery (augmented views, built-in
// negatives) and trained, once, into a cached data dir; the baseline builds its FaceMatcher from the
// same gallery photos at start-up (outside the timed part).
//
// Options: --rounds N (2), --no-realtime, --realtime-seconds S (whole clip), --only facecast|baseline,
// --frames N (stop each throughput run after N frames), --data DIR (a trained data dir instead of the
// generated roster), --facecast-config JSON (config overrides for facecast only, for tuning),
// --json FILE (write every run's result).
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createPool } from '../src/pipeline/pool.ts';
import { openRecognizer } from '../src/cli/context.ts';
import { table } from '../src/cli/output.ts';
import { loadConfig } from '../src/config/load.ts';
import { FfmpegFrameSource } from '../src/ingest/index.ts';
import { SourcePipeline } from '../src/pipeline/sourcePipeline.ts';
import { pino } from 'pino';
import { createLogger } from '../src/shared/log.ts';
import {
  cpuBusy,
  cpuSeconds,
  DEFAULT_VIDEO,
  HAVE_SHARED,
  latencySummary,
  machineLoad,
  mainThreadCpuSeconds,
  mb,
  median,
  prepare,
  prepareInChild,
  report,
  round,
  RssSampler,
  runChild,
  type RunResult,
} from './lib.ts';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    child: { type: 'string' },
    video: { type: 'string' },
    data: { type: 'string' },
    mode: { type: 'string', default: 'throughput' },
    rounds: { type: 'string', default: '2' },
    frames: { type: 'string', default: '0' },
    only: { type: 'string' },
    'no-realtime': { type: 'boolean', default: false },
    'realtime-seconds': { type: 'string', default: '0' },
    'facecast-config': { type: 'string' },
    json: { type: 'string' },
  },
});

const SELF = fileURLToPath(import.meta.url);
const BASELINE = fileURLToPath(new URL('./baseline.ts', import.meta.url));

/** The child: facecast's pipeline wired as `facecast analyze` wires it (src/cli/analyze.ts). */
async function facecastChild(): Promise<void> {
  const rss = new RssSampler();
  const t0 = performance.now();
  const realtime = opts.mode === 'realtime';
  const tuning = opts['facecast-config'] ? (JSON.parse(opts['facecast-config']) as Record<string, unknown>) : {};
  const config = loadConfig({ overrides: { ...tuning, dataDir: opts.data!, ingest: { ...((tuning.ingest as object) ?? {}), realtime, loop: false } } });
  // Warnings are counted, not printed: a lost frame or a failed embedding is part of the result.
  const warnings: Record<string, number> = {};
  const log = pino({ level: 'warn' }, {
    write(line: string) {
      const { msg, err } = JSON.parse(line) as { msg?: string; err?: string };
      const key = err ? `${msg}: ${err}` : (msg ?? line.trim());
      warnings[key] = (warnings[key] ?? 0) + 1;
    },
  });
  const pool = await createPool(config, log);
  const recognizer = openRecognizer(config, log);
  if (!recognizer) throw new Error(`no trained roster model in ${opts.data}`);

  // Warm-up on the clip's first frame (kernels, buffers for this frame size), untimed.
  const warm = new FfmpegFrameSource({ ...config.ingest, realtime: false, input: opts.video!, channel: 'warmup', logger: log });
  for await (const frame of warm) {
    await pool.submit(frame, { policy: 'file', embed: 'all' }).result;
    break;
  }
  await warm.stop();
  const setupMs = performance.now() - t0;
  const readyRss = rss.sample();
  const busyMs = () => pool.stats().workers.reduce((n, w) => n + w.busyMs, 0);
  const busy0 = busyMs();

  const source = new FfmpegFrameSource({ ...config.ingest, reconnect: config.ingest.reconnect, input: opts.video!, channel: 'main', logger: log });
  const pipeline = new SourcePipeline({ source, pool, config, recognizer: () => recognizer, policy: realtime ? 'live' : 'file', log });
  const latency: number[] = [];
  const names: Record<string, number> = {};
  let faces = 0;
  let named = 0;
  let embedded = 0;
  const maxFrames = Number(opts.frames);
  pipeline.on('frame', (a) => {
    latency.push(a.latencyMs);
    faces += a.faces;
    embedded += a.embedded;
    for (const t of a.tracks) {
      if (!t.identity || t.state !== 'confirmed') continue;
      named++;
      names[t.identity.id] = (names[t.identity.id] ?? 0) + 1;
    }
    if (!realtime && maxFrames > 0 && latency.length >= maxFrames) void pipeline.stop();
  });
  const seconds = Number(opts['realtime-seconds']);
  const timer = realtime && seconds > 0 ? setTimeout(() => void pipeline.stop(), seconds * 1000) : undefined;
  const cpu0 = cpuSeconds();
  const main0 = mainThreadCpuSeconds();
  const start = performance.now();
  const summary = await pipeline.start();
  const wall = (performance.now() - start) / 1000;
  clearTimeout(timer);
  const cpu = cpuSeconds() - cpu0;
  const mainCpu = mainThreadCpuSeconds() - main0;
  const finalRss = rss.sample();
  const stats = pool.stats();
  const workerMs = busyMs() - busy0;
  rss.stop();
  await pool.close();
  const n = summary.frames;
  const result: RunResult = {
    system: 'facecast',
    mode: realtime ? 'realtime' : 'throughput',
    frames: n + summary.dropped + summary.lost,
    analysed: n,
    dropped: summary.dropped,
    seconds: round(wall, 2),
    fps: round(n / wall, 2),
    latency: latencySummary(latency),
    cpuMsPerFrame: round((cpu * 1000) / n),
    mainCpuMsPerFrame: round((mainCpu * 1000) / n),
    rss: { peakMb: round(mb(rss.peak)), finalMb: round(mb(finalRss)), readyMb: round(mb(readyRss)) },
    setupMs: Math.round(setupMs),
    faces: { perFrame: round(faces / n, 2), named, embedded },
    names,
    numTensors: stats.workers.reduce((s, w) => s + w.numTensors, 0),
    workerMsPerFrame: round(workerMs / n),
    warnings,
    notes: [
      `${pool.size} vision worker(s) on ${pool.backend?.name}; detector ${config.vision.detector}, detectMaxSide ${config.vision.pool.detectMaxSide}`,
      `${Object.keys(recognizer.model.players).length} players in the roster; ${summary.tracks} tracks`,
    ],
  };
  report(result);
}

const fmtLat = (l: RunResult['latency'] | undefined) => (l ? `${l.p50} / ${l.p95}` : '');

function runRow(r: RunResult): (string | number)[] {
  return [
    r.system,
    r.mode,
    `${r.analysed}${r.dropped ? ` (+${r.dropped} dropped)` : ''}`,
    r.fps,
    fmtLat(r.latency),
    fmtLat(r.readLatency),
    r.cpuMsPerFrame,
    r.mainCpuMsPerFrame,
    r.workerMsPerFrame ?? '',
    r.rss.peakMb,
    r.rss.finalMb,
    r.faces.perFrame,
    r.faces.embedded,
    r.faces.named,
    r.setupMs,
  ];
}

const HEADER = ['system', 'mode', 'frames', 'fps', 'lat p50/p95 ms', 'read→res p50/p95', 'cpu ms/f', 'main cpu ms/f', 'worker busy ms/f', 'peak MB', 'final MB', 'faces/f', 'embeds', 'named', 'setup ms'];

async function main(): Promise<void> {
  const config = loadConfig();
  const rounds = Number(opts.rounds);
  const { video, gallery, data } = await prepareInChild({ video: positionals[0] ?? opts.video, data: opts.data });
  const load0 = machineLoad();
  const cpus0 = cpus();
  const started = Date.now();
  console.log(`video: ${video}${positionals[0] ? '' : ` (generated: ${DEFAULT_VIDEO.seconds} s ${DEFAULT_VIDEO.width}×${DEFAULT_VIDEO.height} ${DEFAULT_VIDEO.fps} fps, ${DEFAULT_VIDEO.shots} shots)`}`);
  console.log(`sampled at ${config.ingest.fps} fps; gallery ${gallery}${HAVE_SHARED ? '' : ' (demo roster)'}; facecast data dir ${data}`);
  console.log(`machine: ${load0.cores} cores, load average ${load0.loadavg.join(' ')} at start`);
  if (opts['facecast-config']) console.log(`facecast config overrides: ${opts['facecast-config']}`);

  const common = ['--video', video, '--frames', opts.frames!];
  const facecast = (mode: 'throughput' | 'realtime') =>
    runChild(SELF, ['--child', 'facecast', '--mode', mode, '--data', data, '--realtime-seconds', opts['realtime-seconds']!, ...common, ...(opts['facecast-config'] ? ['--facecast-config', opts['facecast-config']] : [])]);
  const baseline = () => runChild(BASELINE, ['--gallery', gallery, '--fps', String(config.ingest.fps), ...common]);

  const results: RunResult[] = [];
  const done = (r: RunResult) => {
    results.push(r);
    process.stderr.write(`  ${r.system} ${r.mode}: ${r.analysed} frames, ${r.fps} frames/s, p95 ${r.latency.p95} ms, peak ${r.rss.peakMb} MB\n`);
  };
  for (let i = 0; i < rounds; i++) {
    if (opts.only !== 'baseline') done(await facecast('throughput'));
    if (opts.only !== 'facecast') done(await baseline());
  }
  if (!opts['no-realtime'] && opts.only !== 'baseline') done(await facecast('realtime'));
  const busy = cpuBusy(cpus0, cpus());
  const load1 = machineLoad();

  console.log('\nEvery run (latency: frame arrival → result; read→res: baseline per-frame call)');
  console.log(table(HEADER, results.map(runRow)));

  const of = (system: RunResult['system']) => results.filter((r) => r.system === system && r.mode === 'throughput');
  const summaryRow = (system: RunResult['system']): (string | number)[] => {
    const rs = of(system);
    if (rs.length === 0) return [system, 'n/a'];
    const m = (f: (r: RunResult) => number) => round(median(rs.map(f)), 1);
    return [system, m((r) => r.fps), `${m((r) => r.latency.p50)} / ${m((r) => r.latency.p95)}`, m((r) => r.cpuMsPerFrame), m((r) => r.rss.peakMb), m((r) => r.rss.finalMb)];
  };
  console.log(`\nThroughput mode, median of ${rounds} run(s) each`);
  console.log(table(['system', 'analysed fps', 'lat p50/p95 ms', 'cpu ms/frame', 'peak RSS MB', 'final RSS MB'], [summaryRow('facecast'), summaryRow('baseline')]));
  const f = of('facecast');
  const b = of('baseline');
  if (f.length && b.length) {
    const fps = median(f.map((r) => r.fps)) / median(b.map((r) => r.fps));
    const cpuRatio = median(b.map((r) => r.cpuMsPerFrame)) / median(f.map((r) => r.cpuMsPerFrame));
    const rssRatio = median(b.map((r) => r.rss.peakMb)) / median(f.map((r) => r.rss.peakMb));
    console.log(`\nfacecast / baseline: ${round(fps, 2)}× the analysed frames/s (target ≥ 2×: ${fps >= 2 ? 'met' : 'NOT met'}); ${round(cpuRatio, 2)}× less CPU per frame; peak RSS ${round(1 / rssRatio, 2)}× the baseline's`);
  }
  const rt = results.find((r) => r.mode === 'realtime');
  if (rt) {
    console.log(
      `\nfacecast real-time (${config.ingest.fps} fps arriving, live policy): p50 ${rt.latency.p50} ms, p95 ${rt.latency.p95} ms, max ${rt.latency.max} ms; ` +
        `${rt.analysed} of ${rt.frames} frames analysed, ${rt.dropped} dropped; final RSS ${rt.rss.finalMb} MB`,
    );
  }
  const names = (r: RunResult) => Object.entries(r.names).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  console.log('\nNames given (face-frames per name; facecast counts confirmed named tracks)');
  for (const s of ['facecast', 'baseline'] as const) {
    const r = of(s)[0];
    if (r) console.log(`  ${s}: ${names(r) || 'none'}`);
  }
  for (const s of ['facecast', 'baseline'] as const) {
    const r = of(s)[0];
    if (r) console.log(`  ${s}: ${r.notes.join('; ')}`);
  }
  for (const r of results) {
    const w = Object.entries(r.warnings ?? {});
    if (w.length) console.log(`  warnings in ${r.system} ${r.mode}: ${w.map(([k, v]) => `${v}× ${k}`).join('; ')}`);
  }
  console.log(
    `\nmachine while running (${Math.round((Date.now() - started) / 1000)} s): all cores ${Math.round(busy * 100)} % busy (the benches included); ` +
      `load average ${load0.loadavg[0]} → ${load1.loadavg[0]} on ${load1.cores} cores`,
  );
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ video, gallery, data, load: { before: load0, after: load1, busy }, results }, null, 2));
}

if (opts.child === 'facecast') await facecastChild();
else if (opts.child === 'prepare') report(await prepare(loadConfig(), createLogger('warn'), { video: opts.video, data: opts.data }));
else if (opts.child) throw new Error(`unknown --child ${opts.child}`);
else await main();
