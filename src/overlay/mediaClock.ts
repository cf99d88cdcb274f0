// Source time for the recognition rules. confirmMs and lostMs are measured on the stream's pts,
// not on wall time, so a file analysed faster or slower than real time makes the same decisions
// as the live broadcast it recorded. pts is not monotonic in general, though: a looping file
// starts again at 0 and a reconnected live input may restart its timestamps. This clock turns the
// pts of successive analysed frames into a monotonic "media time" in ms:
//  - a step backwards counts as no time at all (a loop or reconnect is not time passing);
//  - a step forwards is capped at MAX_STEP_MS, so a jump in the timestamps (a new pts base after a
//    reconnect) cannot make every timer expire at once, while a real gap (frames dropped, a short
//    stall) still counts, up to the cap, which is longer than any default rule.

export const MAX_STEP_MS = 10_000;

export class MediaClock {
  private lastPts: number | null = null;
  private media = 0;

  /** Feeds one analysed frame's pts (seconds); returns the media time of that frame (ms). */
  advance(pts: number): number {
    if (this.lastPts !== null && Number.isFinite(pts)) {
      const stepMs = (pts - this.lastPts) * 1000;
      if (stepMs > 0) this.media += Math.min(stepMs, MAX_STEP_MS);
    }
    if (Number.isFinite(pts)) this.lastPts = pts;
    return this.media;
  }

  /** The source was replaced: its next pts starts a new base, counted as no time. */
  rebase(): void {
    this.lastPts = null;
  }

  /** Media time (ms) of the latest frame; 0 before any. */
  get now(): number {
    return this.media;
  }

  /** pts (s) of the latest frame, null before any. */
  get pts(): number | null {
    return this.lastPts;
  }
}
