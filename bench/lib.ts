// Shared pieces of the live-pipeline benches (pipeline.ts, baseline.ts, soak.ts): the test video,
// the labelled gallery and the trained roster they run against, the child-process protocol, memory
// sampling and small statistics. Generated inputs are cached under the OS temp dir, keyed by what
// they are made from, so a second run starts at once.
import { execFile, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { Config } from '../src/config/schema.ts';
import { resolveFfmpeg } from '../src/ingest/index.ts';
import { ensureBuiltinNegatives, trainRoster } from '../src/recognition/service.ts';
import { modelPath, saveModel } from '../src/recognition/store.ts';
import { enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { openRoster } from '../src/roster/roster.ts';
import type { Logger } from '../src/shared/log.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage } from '../src/vision/image.ts';
import { packageDir } from '../src/vision/weights.ts';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
/**
 * The shared real-data fixtures (absent in a fresh clone: the face-api demo photos stand in).
 * FACECAST_BENCH_FACES points elsewhere (a missing folder tries the fallback).
 */
export const FACES = process.env.FACECAST_BENCH_FACES ?? join(REPO, '..', 'shared', 'fixtures', 'faces');
export const HAVE_SHARED = existsSync(join(FACES, 'group')) && existsSync(join(FACES, 'gallery'));
export const FACEAPI_DIR = packageDir('@vladmandic/face-api');
export const CACHE = join(tmpdir(), 'facecast-bench');

const IMAGE = /\.(jpe?g|png|webp)$/i;

// ---- statistics -------------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100); NaN for no samples. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for no samples. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}
export const mb = (bytes: number) => bytes / 2 ** 20;
export const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

// ---- memory ------------------------------------------------------------------------------------

/**
 * RSS of this process (worker threads included: they share it), sampled on a timer. The peak is the
 * larger of the sampled maximum and the kernel's high-water mark (resourceUsage().maxRSS), which
 * also catches spikes between samples.
 */
export class RssSampler {
  private maxSampled = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 100) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    this.maxSampled = Math.max(this.maxSampled, rss);
    return rss;
  }

  /** Peak RSS so far, bytes. */
  get peak(): number {
    return Math.max(this.maxSampled, process.resourceUsage().maxRSS * 1024);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** CPU seconds (user + system, all threads) this process used so far. */
export function cpuSeconds(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

/**
 * CPU seconds of the main thread alone (Linux /proc; NaN elsewhere). The rest of cpuSeconds() is
 * the other threads: vision workers, V8's GC helpers, libuv.
 */
export function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ of Linux's /proc times: 100 on every mainstream build. */
const CLOCK_TICKS = 100;

// ---- machine load ------------------------------------------------------------------------------

export interface MachineLoad {
  cores: number;
  loadavg: [number, number, number];
}

export function machineLoad(): MachineLoad {
  const [a, b, c] = loadavg();
  return { cores: cpus().length, loadavg: [round(a!, 2), round(b!, 2), round(c!, 2)] };
}

/** Busy fraction of all cores between two os.cpus() snapshots (everything on the machine, ours included). */
export function cpuBusy(before: ReturnType<typeof cpus>, after: ReturnType<typeof cpus>): number {
  let busy = 0;
  let total = 0;
  after.forEach((c, i) => {
    const b = before[i]!.times;
    const d = { user: c.times.user - b.user, nice: c.times.nice - b.nice, sys: c.times.sys - b.sys, idle: c.times.idle - b.idle, irq: c.times.irq - b.irq };
    busy += d.user + d.nice + d.sys + d.irq;
    total += d.user + d.nice + d.sys + d.irq + d.idle;
  });
  return total > 0 ? busy / total : 0;
}

// ---- one measured run, as a child reports it -----------------------------------------------------

export interface RunResult {
  system: 'facecast' | 'baseline';
  mode: 'throughput' | 'realtime';
  /** Frames the source delivered / analysed / dropped (live policy only). */
  frames: number;
  analysed: number;
  dropped: number;
  /** Wall seconds from starting the source to the last result. */
  seconds: number;
  /** analysed / seconds. */
  fps: number;
  /** Frame arrival (ingest's wallMs) → result, ms. */
  latency: { p50: number; p95: number; max: number };
  /** Baseline only: read from the source → result, ms (the per-frame call as its users time it). */
  readLatency?: { p50: number; p95: number; max: number };
  /** CPU seconds of the whole process (all threads) per analysed frame, ms: less sensitive to other load than fps. */
  cpuMsPerFrame: number;
  rss: { peakMb: number; finalMb: number; readyMb: number };
  /** Models loaded, gallery/roster ready, warmed up: ms. */
  setupMs: number;
  faces: { perFrame: number; named: number; embedded: number };
  names: Record<string, number>;
  /** tf tensors alive after the run (baseline: its tf; facecast: the worker's, as pool.stats() reports). */
  numTensors: number;
  /** Main thread's CPU per analysed frame, ms (facecast: ingest, shot cuts, tracking; the rest is the vision worker). */
  mainCpuMsPerFrame: number;
  /** Facecast only: the model worker's busy (wall) time per analysed frame (detection + embedding), ms. */
  workerMsPerFrame?: number;
  /** Facecast only: its log's warnings and errors during the run, message → count (lost frames, failed embeddings). */
  warnings?: Record<string, number>;
  notes: string[];
}

export function latencySummary(xs: readonly number[]) {
  return { p50: round(percentile(xs, 50)), p95: round(percentile(xs, 95)), max: round(Math.max(...xs)) };
}

/**
 * Runs `script` (a bench file) in a child Node process with the same loader (tsx) and returns the
 * message it sends over IPC (a RunResult, or Prepared). stdout/stderr of the child pass through.
 */
export function runChild<T = RunResult>(script: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: T | undefined;
    child.on('message', (m) => (result = m as T));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`${basename(script)} ${args.join(' ')} exited (${signal ?? code}) without a result`));
    });
  });
}

/** In a child: hand the result to the parent (or print it when run on its own). */
export function report(result: RunResult | Prepared): void {
  if (process.send) process.send(result);
  else console.log(JSON.stringify(result, null, 2));
}

/** What a bench runs on: the video, the labelled gallery, and facecast's trained data dir. */
export interface Prepared {
  video: string;
  gallery: string;
  data: string;
}

/**
 * Makes (or finds in the cache) the video, gallery and roster. Building a roster loads models into
 * this process, which then stays bigger: a bench that measures its own RSS calls this in a child
 * (`bench/pipeline.ts --child prepare`, see prepareInChild).
 */
export async function prepare(config: Config, log: Logger, given: { video?: string; data?: string } = {}): Promise<Prepared> {
  const video = given.video ?? (await defaultVideo(DEFAULT_VIDEO, config.ingest.ffmpegPath));
  const gallery = await galleryDir(config, log);
  const data = given.data ?? (await rosterDataDir(config, gallery, log));
  return { video, gallery, data };
}

export function prepareInChild(given: { video?: string; data?: string } = {}): Promise<Prepared> {
  const args = ['--child', 'prepare', ...(given.video ? ['--video', given.video] : []), ...(given.data ? ['--data', given.data] : [])];
  return runChild<Prepared>(fileURLToPath(new URL('./pipeline.ts', import.meta.url)), args);
}

// ---- inputs: the video -------------------------------------------------------------------------

export interface VideoSpec {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** Shots (hard cuts between them), each a pan or a zoom over one photo. */
  shots: number;
}

export const DEFAULT_VIDEO: VideoSpec = { seconds: 30, width: 1280, height: 720, fps: 25, shots: 8 };

/** The photos the default video is cut from: the shared group photos, else the face-api demo photos. */
export function videoPhotos(): string[] {
  const dir = HAVE_SHARED ? join(FACES, 'group') : join(FACEAPI_DIR, 'demo');
  const pick = HAVE_SHARED ? (f: string) => IMAGE.test(f) : (f: string) => /^sample\d+\.jpg$/.test(f);
  return readdirSync(dir).filter(pick).sort().map((f) => join(dir, f));
}

/** .ts files under dir, recursively, sorted. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => join(dir, f));
}

function keyOf(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 12);
}

const fileKey = (f: string) => [basename(f), statSync(f).size, Math.round(statSync(f).mtimeMs)];

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 16 * 2 ** 20 }, (err, _out, stderr) => (err ? reject(new Error(`${basename(cmd)} failed: ${stderr.trim().split('\n').slice(-3).join(' | ') || err.message}`)) : resolve()));
  });
}

/**
 * A broadcast-like clip from still photos: `shots` shots with hard cuts, each slowly panning
 * (left/right, up/down) or zooming over one photo scaled to cover the frame. H.264, yuv420p.
 */
export async function defaultVideo(spec: VideoSpec = DEFAULT_VIDEO, ffmpegPath = ''): Promise<string> {
  const photos = videoPhotos();
  if (photos.length === 0) throw new Error('no photos to make the bench video from');
  const out = join(CACHE, `video-${keyOf([2, spec, photos.map(fileKey)])}.mp4`);
  if (existsSync(out)) return out;
  mkdirSync(CACHE, { recursive: true });
  const { path: ffmpeg } = await resolveFfmpeg(ffmpegPath);
  const { width: W, height: H, fps } = spec;
  const d = spec.seconds / spec.shots;
  const frames = Math.round(d * fps);
  const inputs: string[] = [];
  const chains: string[] = [];
  for (let k = 0; k < spec.shots; k++) {
    const photo = photos[k % photos.length]!;
    inputs.push('-loop', '1', '-framerate', String(fps), '-t', d.toFixed(3), '-i', photo);
    // Cover a frame 30 % larger than the output, then move a W×H window over it.
    const cover = `scale=${Math.round(W * 1.3)}:${Math.round(H * 1.3)}:force_original_aspect_ratio=increase,setsar=1`;
    const motion = [
      `crop=${W}:${H}:x='(iw-${W})*t/${d}':y='(ih-${H})/2'`, // pan left → right
      `crop=${W}:${H}:x='(iw-${W})*(1-t/${d})':y='(ih-${H})/3'`, // pan right → left
      `zoompan=z='1+0.25*on/${frames}':d=1:x='iw/2-iw/zoom/2':y='ih/2-ih/zoom/2':s=${W}x${H}:fps=${fps}`, // push in
      `crop=${W}:${H}:x='(iw-${W})/2':y='(ih-${H})*t/${d}'`, // tilt down
    ][k % 4]!;
    chains.push(`[${k}:v]${cover},${motion},fps=${fps},format=yuv420p[v${k}]`);
  }
  const graph = `${chains.join(';')};${Array.from({ length: spec.shots }, (_, k) => `[v${k}]`).join('')}concat=n=${spec.shots}:v=1:a=0[out]`;
  const tmp = `${out}.${process.pid}.tmp.mp4`;
  await run(ffmpeg, [
    '-v', 'error', '-y', ...inputs,
    '-filter_complex', graph, '-map', '[out]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-r', String(fps), '-t', String(spec.seconds),
    tmp,
  ]);
  renameSync(tmp, out);
  return out;
}

// ---- inputs: the labelled gallery and facecast's roster ---------------------------------------------

/**
 * One folder per person, photos inside: the shared gallery (8 people × 5 tight crops), or without
 * it a demo roster cut from the face-api demo photos (each face found in them, with margin, as a
 * person of its own: `sample1-0`, …).
 */
export async function galleryDir(config: Config, log: Logger): Promise<string> {
  if (HAVE_SHARED) return join(FACES, 'gallery');
  const photos = videoPhotos();
  const dir = join(CACHE, `demo-gallery-${keyOf([1, config.vision.detector, photos.map(fileKey)])}`);
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const engine = await VisionEngine.create(config.vision, log);
  try {
    for (const photo of photos) {
      const image = await decodeImage(photo, { maxPixels: config.vision.maxImagePixels });
      const faces = await engine.analyse(image, { embeddings: false });
      for (const [i, f] of faces.entries()) {
        const [x, y, w, h] = f.box;
        if (Math.min(w, h) < 60) continue; // too small to enrol
        const side = Math.max(w, h) * 1.8;
        const left = Math.max(0, Math.round(x + w / 2 - side / 2));
        const top = Math.max(0, Math.round(y + h / 2 - side / 2));
        const width = Math.min(image.width - left, Math.round(side));
        const height = Math.min(image.height - top, Math.round(side));
        const person = join(tmp, `${basename(photo, extname(photo))}-${i}`);
        mkdirSync(person, { recursive: true });
        const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).extract({ left, top, width, height }).png().toBuffer();
        writeFileSync(join(person, '1.png'), png);
      }
    }
  } finally {
    await engine.dispose();
  }
  renameSync(tmp, dir);
  return dir;
}

export function galleryPeople(dir: string): { label: string; files: string[] }[] {
  return readdirSync(dir)
    .filter((p) => statSync(join(dir, p)).isDirectory())
    .sort()
    .map((label) => ({ label, files: readdirSync(join(dir, label)).filter((f) => IMAGE.test(f)).sort().map((f) => join(dir, label, f)) }))
    .filter((p) => p.files.length > 0);
}

/**
 * A data dir with facecast's roster enrolled from the gallery (the configured enrolment: augmented
 * views) and a trained classifier, as `facecast roster import` + `facecast train` would leave it.
 * The built-in negatives are added unless the gallery itself was cut from those demo photos.
 */
export async function rosterDataDir(config: Config, gallery: string, log: Logger): Promise<string> {
  const people = galleryPeople(gallery);
  const negatives = config.recognition.builtinNegatives && HAVE_SHARED;
  const v = config.vision;
  const { pool: _pool, ...vision } = v;
  // Keyed by the code that makes a roster too: enrolment, augmentation and training change under us.
  const code = ['vision', 'roster', 'recognition'].flatMap((d) => sourceFiles(join(REPO, 'src', d)).map((f) => createHash('sha256').update(readFileSync(f)).digest('hex')));
  const dir = join(CACHE, `roster-${keyOf([2, vision, config.enrolment, negatives, code, people.map((p) => [p.label, p.files.map(fileKey)])])}`);
  if (existsSync(modelPath(dir))) return dir;
  process.stderr.write(`enrolling facecast's roster from ${gallery} and training it, into ${dir} (once: cached)…\n`);
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const engine = await VisionEngine.create(config.vision, log);
  const roster = openRoster(tmp);
  try {
    for (const { label, files } of people) {
      roster.upsertPlayer({ id: label, name: label }, 'bench');
      const reports = await enrolPhotos(engine, roster, label, await readPhotos(files), { augment: config.enrolment.augment, views: config.enrolment.views, actor: 'bench' });
      for (const r of reports) if (r.status !== 'enrolled' && r.status !== 'unchanged') log.warn(r.message);
    }
    if (negatives) await ensureBuiltinNegatives(engine, roster);
    // The engine names its own setup, so the bench can never train under a stale embedder name.
    const { model } = trainRoster(roster, engine.setup, { augmented: config.enrolment.augment });
    saveModel(tmp, model);
  } finally {
    roster.close();
    await engine.dispose();
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}
