// Faults for bench:soak, the things a long broadcast meets: ffmpeg dying (killed every few
// minutes; the live source must reconnect), a vision worker dying once (the pool must replace it)
// and a burst of bad uploads (garbage, truncated, empty and bomb images, and frames of odd sizes;
// each must be refused or answered, never crash anything). The soak counts a crash as a worker
// restart it did not cause, a pipeline that ends early, or an uncaught error.
import sharp from 'sharp';
import type { FfmpegFrameSource } from '../src/ingest/index.ts';
import { decodeImage, ImageInputError } from '../src/vision/image.ts';
import { PoolError, type VisionPool } from '../src/vision/pool/index.ts';

export interface FaultOptions {
  /** Kill ffmpeg this often (ms; 0 = never). */
  killFfmpegEveryMs: number;
  /** Kill vision worker 0 once at this time (ms from the start; < 0 = never). */
  killWorkerAtMs: number;
  /** Bad uploads in the burst (0 = none), sent at badUploadsAtMs. */
  badUploads: number;
  badUploadsAtMs: number;
  /** Also send frames of extreme sizes (1×4096, 2×3000) straight to the pool with the burst. */
  oddFrames: boolean;
}

export interface FaultReport {
  ffmpegKills: number;
  /** Times the source went back to playing after a kill. */
  ffmpegRecovered: number;
  workerKills: number;
  badUploads: { sent: number; refused: number; answered: number; unexpected: string[] };
}

/** "3m", "90s", "1500ms", "0.2m" or a bare number of minutes → ms. */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: '${text}' (write 3m, 90s or 1500ms)`);
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'm') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * scale;
}

/** Random bytes from a seeded generator (mulberry32), so a failing burst can be replayed. */
function randomBytes(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

/** Upload bodies that must be refused: what a broken client or a hostile one sends. */
async function badBodies(n: number): Promise<Buffer[]> {
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } }).jpeg().toBuffer();
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#808080' } }).png().toBuffer();
  const kinds = [
    (i: number) => randomBytes(i, 1 + (i * 977) % 5000),
    (i: number) => jpeg.subarray(0, 1 + (i * 31) % (jpeg.length - 1)),
    (i: number) => png.subarray(0, 1 + (i * 17) % (png.length - 1)),
    () => Buffer.alloc(0),
    (i: number) => Buffer.concat([jpeg.subarray(0, 20), randomBytes(i, 2000)]),
  ];
  return Array.from({ length: n }, (_, i) => kinds[i % kinds.length]!(i));
}

/**
 * Frames of sizes a camera never sends, straight to the pool: each must be answered or refused.
 * Off by default: on wasm, a frame a pixel or two wide can leave a worker failing every later
 * frame until it is replaced, and the soak then reports it as a crash.
 */
function oddFrames(): { width: number; height: number }[] {
  return [
    { width: 1, height: 1 },
    { width: 2, height: 3000 },
    { width: 3000, height: 2 },
    { width: 7, height: 5 },
    { width: 4096, height: 1 },
  ];
}

export class FaultInjector {
  readonly report: FaultReport = { ffmpegKills: 0, ffmpegRecovered: 0, workerKills: 0, badUploads: { sent: 0, refused: 0, answered: 0, unexpected: [] } };
  private readonly timers: NodeJS.Timeout[] = [];
  private awaitingRecovery = false;
  /** performance.now() of the last worker kill (samples just after it are not compared). */
  lastWorkerKillAt = -Infinity;
  private burst: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: FaultOptions,
    private readonly pool: VisionPool,
    private readonly source: FfmpegFrameSource,
    private readonly say: (line: string) => void,
  ) {}

  get any(): boolean {
    return this.opts.killFfmpegEveryMs > 0 || this.opts.killWorkerAtMs >= 0 || this.opts.badUploads > 0;
  }

  start(): void {
    this.source.onStatus((s) => {
      if (s.state === 'playing' && this.awaitingRecovery) {
        this.awaitingRecovery = false;
        this.report.ffmpegRecovered++;
      }
    });
    const { killFfmpegEveryMs: every, killWorkerAtMs: workerAt, badUploads, badUploadsAtMs } = this.opts;
    if (every > 0) this.timers.push(setInterval(() => this.killFfmpeg(), every));
    if (workerAt >= 0) this.timers.push(setTimeout(() => this.killWorker(), workerAt));
    if (badUploads > 0) this.timers.push(setTimeout(() => (this.burst = this.sendBadUploads()), badUploadsAtMs));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await this.burst;
  }

  private killFfmpeg(): void {
    if (!this.source.killChild('SIGKILL')) return;
    this.report.ffmpegKills++;
    this.awaitingRecovery = true;
    this.say(`fault: killed ffmpeg (kill ${this.report.ffmpegKills})`);
  }

  private killWorker(): void {
    this.pool.crashWorkerForTest(0, 'exit', 'now');
    this.lastWorkerKillAt = performance.now();
    this.report.workerKills++;
    this.say('fault: killed vision worker 0');
  }

  private async sendBadUploads(): Promise<void> {
    const r = this.report.badUploads;
    const bodies = await badBodies(this.opts.badUploads);
    await Promise.all(
      bodies.map(async (body, i) => {
        r.sent++;
        try {
          await decodeImage(body, { maxPixels: 4_000_000 });
          r.answered++; // random bytes can, rarely, be a valid image
        } catch (err) {
          if (err instanceof ImageInputError) r.refused++;
          else r.unexpected.push(`body ${i}: ${(err as Error).message}`);
        }
      }),
    );
    await Promise.all(
      (this.opts.oddFrames ? oddFrames() : []).map(async ({ width, height }, i) => {
        r.sent++;
        const frame = { channel: 'bad-uploads', seq: i, pts: 0, wallMs: Date.now(), width, height, rgb: randomBytes(1000 + i, width * height * 3) };
        try {
          await this.pool.submit(frame, { policy: 'file' }).result;
          r.answered++;
        } catch (err) {
          if (err instanceof PoolError && err.code !== 'lost') r.refused++;
          else r.unexpected.push(`${width}×${height} frame: ${(err as Error).message}`);
        }
      }),
    );
    this.say(`fault: ${r.sent} bad uploads: ${r.refused} refused, ${r.answered} answered, ${r.unexpected.length} unexpected`);
  }
}
