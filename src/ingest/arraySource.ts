// A FrameSource fed by code instead of ffmpeg: tests and benches push synthetic frames and get
// the same iteration, status and buffering behaviour as from a real input.
import { FrameQueue } from './frameQueue.ts';
import { StatusHub } from './status.ts';
import { IngestError, type Frame, type FrameSource, type IngestErrorKind, type SourceStatus, type StatusListener } from './types.ts';

export interface ArraySourceOptions {
  channel?: string;
  /** Behave like a live input: keep at most `bufferFrames`, dropping the oldest (default false: keep all). */
  live?: boolean;
  bufferFrames?: number;
  /** Keep the source open after the initial frames so more can be push()ed (default false). */
  keepOpen?: boolean;
}

export class ArrayFrameSource implements FrameSource {
  readonly channel: string;
  private readonly hub = new StatusHub();
  private readonly queue: FrameQueue;
  private started = false;
  private stopped = false;
  private size = { width: 0, height: 0 };

  constructor(frames: Iterable<Frame> = [], options: ArraySourceOptions = {}) {
    this.channel = options.channel ?? 'test';
    this.queue = options.live
      ? new FrameQueue({ policy: 'dropOldest', capacity: options.bufferFrames ?? 2 })
      : new FrameQueue({ policy: 'block', capacity: Number.MAX_SAFE_INTEGER });
    for (const frame of frames) this.push(frame);
    if (!options.keepOpen) this.end();
  }

  get dropped(): number {
    return this.queue.dropped;
  }

  get status(): SourceStatus {
    return this.hub.status;
  }

  onStatus(listener: StatusListener): () => void {
    return this.hub.on(listener);
  }

  push(frame: Frame): void {
    if (!this.size.width) this.size = { width: frame.width, height: frame.height };
    this.queue.push(frame);
  }

  /** No more frames: iteration finishes after the buffered ones. */
  end(): void {
    if (this.queue.closed) return;
    this.queue.end();
    if (this.started) this.hub.emit({ state: 'ended', reason: 'eof' });
  }

  /** Make the iteration throw, as a real source does on a fatal error. */
  fail(message: string, kind: IngestErrorKind = 'unknown'): void {
    this.hub.emit({ state: 'error', kind, message, fatal: true });
    this.queue.fail(new IngestError(kind, message));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.clear();
    this.queue.end();
    const s = this.hub.status;
    if (s.state !== 'ended' && !(s.state === 'error' && s.fatal)) this.hub.emit({ state: 'ended', reason: 'stopped' });
  }

  [Symbol.asyncIterator](): AsyncIterator<Frame> {
    if (!this.started) {
      this.started = true;
      this.hub.emit({ state: 'connecting', attempt: 0 });
      this.hub.emit({ state: 'playing', ...this.size });
      if (this.queue.closed) this.hub.emit({ state: 'ended', reason: 'eof' });
    }
    return {
      next: () => this.queue.next(),
      return: async () => {
        await this.stop();
        return { value: undefined, done: true };
      },
    };
  }
}

/**
 * A recognisable RGB test picture: a diagonal gradient with a white square whose position moves
 * with `seq`, so consecutive frames differ and a frame's content tells which one it was.
 */
export function syntheticFrame(o: { width: number; height: number; seq: number; pts?: number; channel?: string; wallMs?: number }): Frame {
  const { width, height, seq } = o;
  const rgb = new Uint8Array(width * height * 3);
  const side = Math.max(2, Math.floor(Math.min(width, height) / 4));
  const x0 = (seq * 7) % Math.max(1, width - side);
  const y0 = (seq * 5) % Math.max(1, height - side);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inSquare = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
      rgb[i] = inSquare ? 255 : (x * 255) / Math.max(1, width - 1);
      rgb[i + 1] = inSquare ? 255 : (y * 255) / Math.max(1, height - 1);
      rgb[i + 2] = inSquare ? 255 : (seq * 16) & 255;
    }
  }
  return { channel: o.channel ?? 'test', seq, pts: o.pts ?? seq / 5, wallMs: o.wallMs ?? Date.now(), width, height, rgb };
}

/** `count` synthetic frames at `fps` (pts = seq / fps). */
export function syntheticFrames(count: number, o: { width: number; height: number; fps?: number; channel?: string }): Frame[] {
  const fps = o.fps ?? 5;
  return Array.from({ length: count }, (_, seq) => syntheticFrame({ ...o, seq, pts: seq / fps }));
}
