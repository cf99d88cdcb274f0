// The pool's bounded queue of frames waiting for a worker, with a policy per source:
// live sources drop their oldest waiting frame when it is full (the newest picture matters most),
// file sources never drop: their frames park outside the queue until there is room, and the
// caller (who reads the file) waits for that before reading on.

export type SourcePolicy = 'live' | 'file';

export interface QueuedFrame {
  readonly policy: SourcePolicy;
  /** The source; "oldest of that source" is decided per channel. */
  readonly channel: string;
  /** Called once when the frame enters the queue or is dropped: the pool no longer holds it back. */
  admit(): void;
}

export class FrameQueue<F extends QueuedFrame> {
  private readonly waiting: F[] = [];
  /** File frames waiting for room, in arrival order. */
  private readonly parked: F[] = [];

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`queue capacity must be an integer ≥ 1, got ${capacity}`);
  }

  /** Frames waiting for a worker. */
  get length(): number {
    return this.waiting.length;
  }

  /** File frames waiting for room in the queue. */
  get parkedLength(): number {
    return this.parked.length;
  }

  /**
   * Queues a frame and returns the frames dropped to make room (live only): the oldest waiting
   * frame of the same channel, else the oldest waiting live frame of any channel, else, when only
   * file frames wait, the new frame itself.
   */
  offer(frame: F): F[] {
    if (frame.policy === 'file') {
      // Behind parked frames even when there is room, so a file's frames stay in order.
      if (this.parked.length === 0 && this.waiting.length < this.capacity) this.enter(frame);
      else this.parked.push(frame);
      return [];
    }
    if (this.waiting.length < this.capacity) {
      this.enter(frame);
      return [];
    }
    let victim = this.waiting.findIndex((f) => f.policy === 'live' && f.channel === frame.channel);
    if (victim < 0) victim = this.waiting.findIndex((f) => f.policy === 'live');
    if (victim < 0) {
      frame.admit();
      return [frame];
    }
    const [dropped] = this.waiting.splice(victim, 1);
    this.enter(frame);
    return [dropped!];
  }

  /** The next frame for a worker, oldest first. */
  take(): F | undefined {
    const frame = this.waiting.shift();
    while (this.parked.length > 0 && this.waiting.length < this.capacity) this.enter(this.parked.shift()!);
    return frame;
  }

  /** Empties the queue (on close), parked frames included. */
  drain(): F[] {
    const all = [...this.waiting.splice(0), ...this.parked.splice(0)];
    for (const f of all) f.admit();
    return all;
  }

  private enter(frame: F): void {
    this.waiting.push(frame);
    frame.admit();
  }
}
