// The hand-over between a producer (ffmpeg's pipe, or a test) and the one consumer pulling with
// an async iterator. Two policies, because files and live streams want opposite things when the
// consumer is slow:
//  - 'block': never drop; once `capacity` frames wait, ask the producer to pause (onFull) and
//    to resume (onSpace) when the consumer takes one. A file then simply reads more slowly.
//  - 'dropOldest': keep at most `capacity` frames, dropping the oldest, so a live consumer always
//    works on the newest picture and latency stays bounded; drops are counted.
import type { Frame } from './types.ts';

export type QueuePolicy = 'block' | 'dropOldest';

export interface FrameQueueOptions {
  policy: QueuePolicy;
  capacity: number;
  onFull?: () => void;
  onSpace?: () => void;
}

type Waiter = { resolve: (r: IteratorResult<Frame>) => void; reject: (e: unknown) => void };

export class FrameQueue {
  private readonly items: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  private done = false;
  private error: unknown = null;
  private droppedCount = 0;

  constructor(private readonly opts: FrameQueueOptions) {
    if (!(opts.capacity >= 1)) throw new RangeError('FrameQueue capacity must be at least 1');
  }

  get dropped(): number {
    return this.droppedCount;
  }

  get length(): number {
    return this.items.length;
  }

  get closed(): boolean {
    return this.done;
  }

  push(frame: Frame): void {
    if (this.done) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value: frame, done: false });
      return;
    }
    if (this.opts.policy === 'dropOldest' && this.items.length >= this.opts.capacity) {
      this.items.shift();
      this.droppedCount++;
    }
    this.items.push(frame);
    if (this.opts.policy === 'block' && this.items.length >= this.opts.capacity) this.opts.onFull?.();
  }

  /** No more frames: the consumer gets what is buffered, then done. */
  end(): void {
    if (this.done) return;
    this.done = true;
    this.flushWaiters();
  }

  /** Fatal error: the consumer gets what is buffered, then the error once, then done. */
  fail(error: unknown): void {
    if (this.done) return;
    this.error = error;
    this.end();
  }

  /** Throw away buffered frames (stop()). */
  clear(): void {
    this.items.length = 0;
  }

  next(): Promise<IteratorResult<Frame>> {
    const frame = this.items.shift();
    if (frame) {
      if (this.opts.policy === 'block' && this.items.length < this.opts.capacity) this.opts.onSpace?.();
      return Promise.resolve({ value: frame, done: false });
    }
    if (this.done) return this.finish();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private finish(): Promise<IteratorResult<Frame>> {
    if (this.error !== null) {
      const error = this.error;
      this.error = null;
      return Promise.reject(error);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  private flushWaiters(): void {
    // Waiters exist only while the buffer is empty, so they all see the end (or the error).
    for (const waiter of this.waiters.splice(0)) this.finish().then(waiter.resolve, waiter.reject);
  }
}
