// How late graphics are behind the pictures, and the video delay an operator should set so they
// line up. Graphics for a frame can only go out after that frame was analysed; the program video
// must be held back by about as long. OBS's Render Delay filter holds at most 500 ms: above that,
// the program feed has to be delayed upstream (encoder, vision mixer or a frame synchroniser).

/** OBS's Render Delay filter accepts at most this many milliseconds. */
export const OBS_RENDER_DELAY_MAX_MS = 500;

export interface DelayReport {
  /** Measured frame arrival (from ffmpeg) → overlay message sent, over the recent window, ms. */
  samples: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** Video delay to set: p95 plus one output frame for the page to draw, rounded up to 10 ms. */
  recommendedDelayMs: number | null;
  /** One line for the operator. */
  advice: string;
}

/** A page draws on its next animation frame: about one frame at 60 Hz. */
const PAGE_RENDER_MS = 17;

export class DelayMeter {
  private readonly values: number[] = [];

  constructor(private readonly window = 300) {}

  push(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.values.push(Math.max(0, ms));
    if (this.values.length > this.window) this.values.shift();
  }

  report(): DelayReport {
    const n = this.values.length;
    if (n === 0) return { samples: 0, p50Ms: null, p95Ms: null, maxMs: null, recommendedDelayMs: null, advice: 'no frames analysed yet: attach a source to measure the graphics delay' };
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(n - 1, Math.floor(q * n))]!;
    const p95 = at(0.95);
    const recommended = Math.ceil((p95 + PAGE_RENDER_MS) / 10) * 10;
    const advice =
      recommended <= OBS_RENDER_DELAY_MAX_MS
        ? `delay the program video by ${recommended} ms (OBS: Render Delay filter on the video source) so graphics line up with the pictures`
        : `graphics run ${recommended} ms behind the pictures, more than OBS's Render Delay filter allows (${OBS_RENDER_DELAY_MAX_MS} ms): delay the program video upstream (encoder or vision mixer) by ${recommended} ms, or lower ingest.fps / vision load`;
    return { samples: n, p50Ms: Math.round(at(0.5)), p95Ms: Math.round(p95), maxMs: Math.round(sorted[n - 1]!), recommendedDelayMs: recommended, advice };
  }
}
