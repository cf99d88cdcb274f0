// Shot-cut detection from how much the colour histogram changes between consecutive frames.
//
// A hard cut replaces the whole picture at once; a pan, zoom, player movement or fade in
// brightness changes the colour distribution a little per frame. A histogram ignores where colours
// are, so motion barely moves it. A missed cut is the dangerous error (a track from the old shot
// could continue on a face of the new one, name included); a false cut only makes names re-appear
// a few frames later. So the adaptive rule only ever adds cuts, never vetoes one.
//
// The histogram is HSV with soft (linear) binning: a pixel splits its weight between the two
// nearest bins of each channel, so a slow brightness ramp moves weight gradually instead of making
// a flat area jump a whole bin at once. Hue is meaningless for grey or dark pixels (noise flips it),
// so their hue weight is spread evenly over all hue bins in proportion to how little chroma they have.
import { resolveBlock, type ShotCutConfig } from './options.ts';

/** Frame pixels: RGB, 8 bit, row-major, width × height × 3 bytes (the pipeline's Frame fits). */
export interface FrameLike {
  width: number;
  height: number;
  rgb: Uint8Array;
}

export interface ShotCutResult {
  cut: boolean;
  /** Histogram distance to the previous frame, 0…1 (0 for the first frame). */
  distance: number;
  /** Mean distance of the recent non-cut frames of this shot; null until there are enough. */
  baseline: number | null;
  /** Which rule fired. */
  reason: 'threshold' | 'adaptive' | null;
}

export type HistogramOptions = Pick<ShotCutConfig, 'hueBins' | 'saturationBins' | 'valueBins' | 'sampleWidth'>;

/** Chroma (max − min, 0…1) from which hue counts fully. */
const FULL_HUE_CHROMA = 0.1;
/** Non-cut distances needed before the adaptive baseline is trusted. */
const MIN_BASELINE_SAMPLES = 3;

/**
 * Normalised HSV histogram (sums to 1) of a grid of `sampleWidth` columns × proportional rows of
 * pixels, laid out [hue][saturation][value].
 */
export function colourHistogram(frame: FrameLike, o: HistogramOptions): Float64Array {
  const { width, height, rgb } = frame;
  if (!(width > 0 && height > 0) || rgb.length < width * height * 3) {
    throw new Error(`frame of ${width}×${height} needs ${width * height * 3} RGB bytes, got ${rgb.length}`);
  }
  const nh = o.hueBins;
  const ns = o.saturationBins;
  const nv = o.valueBins;
  const hist = new Float64Array(nh * ns * nv);
  // Hue-less weight per (saturation, value) cell, spread over the hue bins at the end.
  const grey = new Float64Array(ns * nv);
  const cols = Math.min(width, o.sampleWidth);
  const rows = Math.max(1, Math.min(height, Math.round((cols * height) / width)));
  const hb: Bins = { i0: 0, i1: 0, w1: 0 };
  const sb: Bins = { i0: 0, i1: 0, w1: 0 };
  const vb: Bins = { i0: 0, i1: 0, w1: 0 };
  for (let r = 0; r < rows; r++) {
    const y = Math.floor(((r + 0.5) * height) / rows);
    for (let c = 0; c < cols; c++) {
      const x = Math.floor(((c + 0.5) * width) / cols);
      const i = (y * width + x) * 3;
      const red = rgb[i]! / 255;
      const green = rgb[i + 1]! / 255;
      const blue = rgb[i + 2]! / 255;
      const max = Math.max(red, green, blue);
      const chroma = max - Math.min(red, green, blue);
      const sat = max > 0 ? chroma / max : 0;
      softBin(sat, ns, false, sb);
      softBin(max, nv, false, vb);
      const hueWeight = Math.min(1, chroma / FULL_HUE_CHROMA);
      if (hueWeight > 0) softBin(hue(red, green, blue, max, chroma), nh, true, hb);
      for (let a = 0; a < 2; a++) {
        const si = a === 0 ? sb.i0 : sb.i1;
        const sw = a === 0 ? 1 - sb.w1 : sb.w1;
        for (let b = 0; b < 2; b++) {
          const vi = b === 0 ? vb.i0 : vb.i1;
          const w = sw * (b === 0 ? 1 - vb.w1 : vb.w1);
          if (w === 0) continue;
          const cell = si * nv + vi;
          grey[cell] += w * (1 - hueWeight);
          if (hueWeight > 0) {
            hist[hb.i0 * ns * nv + cell] += w * hueWeight * (1 - hb.w1);
            hist[hb.i1 * ns * nv + cell] += w * hueWeight * hb.w1;
          }
        }
      }
    }
  }
  for (let h = 0; h < nh; h++) for (let cell = 0; cell < ns * nv; cell++) hist[h * ns * nv + cell] += grey[cell]! / nh;
  const total = rows * cols;
  for (let k = 0; k < hist.length; k++) hist[k] /= total;
  return hist;
}

/** Distance 0 (same) … 1 (disjoint) of two normalised histograms. */
export function histogramDistance(a: Float64Array, b: Float64Array, metric: ShotCutConfig['metric']): number {
  if (a.length !== b.length) throw new Error('histograms differ in size');
  let s = 0;
  if (metric === 'bhattacharyya') {
    // Hellinger form of the Bhattacharyya distance: sqrt(1 − Σ √(p q)).
    for (let k = 0; k < a.length; k++) s += Math.sqrt(a[k]! * b[k]!);
    return Math.sqrt(Math.max(0, 1 - s));
  }
  // Symmetric chi-square, halved so disjoint histograms give 1.
  for (let k = 0; k < a.length; k++) {
    const sum = a[k]! + b[k]!;
    if (sum > 0) s += (a[k]! - b[k]!) ** 2 / sum;
  }
  return Math.min(1, s / 2);
}

export class ShotCutDetector {
  private readonly opts: ShotCutConfig;
  private previous: Float64Array | null = null;
  private recent: number[] = [];

  constructor(options: Partial<ShotCutConfig> = {}) {
    this.opts = resolveBlock('shotCut', options);
  }

  /** Feed the next frame; says whether a new shot starts with it. The first frame is never a cut. */
  push(frame: FrameLike): ShotCutResult {
    const hist = colourHistogram(frame, this.opts);
    const previous = this.previous;
    this.previous = hist;
    const baseline = this.recent.length >= Math.min(MIN_BASELINE_SAMPLES, this.opts.window) ? mean(this.recent) : null;
    if (previous === null) return { cut: false, distance: 0, baseline, reason: null };

    const distance = histogramDistance(previous, hist, this.opts.metric);
    let reason: ShotCutResult['reason'] = null;
    if (distance >= this.opts.threshold) reason = 'threshold';
    else if (this.opts.adaptive && baseline !== null && distance >= this.opts.floor && distance >= this.opts.ratio * baseline) {
      reason = 'adaptive';
    }
    if (reason === null) {
      this.recent.push(distance);
      if (this.recent.length > this.opts.window) this.recent.shift();
    } else {
      // A new shot has its own amount of motion: learn its baseline afresh.
      this.recent = [];
    }
    return { cut: reason !== null, distance, baseline, reason };
  }

  /** Forget the previous frame (e.g. the source restarted): the next frame is not compared. */
  reset(): void {
    this.previous = null;
    this.recent = [];
  }
}

interface Bins {
  i0: number;
  i1: number;
  /** Weight of i1; i0 gets 1 − w1. */
  w1: number;
}

/** Linear split of x ∈ [0, 1] between the two nearest of n bin centres (wrapping for hue). */
function softBin(x: number, n: number, wrap: boolean, out: Bins): void {
  const pos = x * n - 0.5;
  const i = Math.floor(pos);
  const f = pos - i;
  if (wrap) {
    out.i0 = ((i % n) + n) % n;
    out.i1 = (out.i0 + 1) % n;
    out.w1 = f;
  } else if (pos <= 0) {
    out.i0 = out.i1 = 0;
    out.w1 = 0;
  } else if (pos >= n - 1) {
    out.i0 = out.i1 = n - 1;
    out.w1 = 0;
  } else {
    out.i0 = i;
    out.i1 = i + 1;
    out.w1 = f;
  }
}

/** Hue 0…1 (hexcone), for chroma > 0. */
function hue(r: number, g: number, b: number, max: number, chroma: number): number {
  let h: number;
  if (max === r) h = (g - b) / chroma;
  else if (max === g) h = 2 + (b - r) / chroma;
  else h = 4 + (r - g) / chroma;
  h /= 6;
  return h < 0 ? h + 1 : h;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}
