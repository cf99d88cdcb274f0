// An embedder's genuine and impostor distance distributions, measured once on a large face set
// (`facecast measure-distances`, LFW View 1 DevTrain) and shipped in models/distance-stats.json.
// They are a property of the embedder, not of a roster: a one-photo roster has no data of its own
// to set an open-set threshold from, but the false-accept rate of a distance is known from these.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../../vision/weights.ts';

export const DISTANCE_STATS_FORMAT = 'facecast-distance-stats';

const histogramSchema = z.object({
  start: z.number().describe('lower edge of the first bin'),
  step: z.number().positive().describe('bin width'),
  counts: z.array(z.number().int().nonnegative()).min(2).describe('distances per bin'),
});

export const distanceSetupStatsSchema = z.object({
  measured: z
    .object({
      dataset: z.string().describe('which face set, which split'),
      images: z.number().int().nonnegative().describe('images read'),
      faces: z.number().int().nonnegative().describe('images whose face was found and embedded'),
      identities: z.number().int().nonnegative(),
      command: z.string().describe('the command that wrote these figures'),
      at: z.string().describe('when (ISO date)'),
    })
    .describe('how the figures were measured'),
  genuine: z.object({
    count: z.number().int().positive().describe('pairs of two images of one person'),
    mean: z.number(),
    sd: z.number().nonnegative(),
    histogram: histogramSchema,
  }),
  impostor: z.object({
    count: z.number().int().positive().describe('pairs of images of two different people'),
    mean: z.number(),
    sd: z.number().nonnegative(),
    histogram: histogramSchema,
    lowest: z.array(z.number()).min(10).describe('the smallest impostor distances, ascending: the lower tail where false accepts happen'),
  }),
  galleryExponent: z
    .number()
    .min(0)
    .max(1)
    .describe(
      'a stranger compared with n photos of one person is accepted about n^e times as often as with one (photos of one person are alike, so e < 1); fitted on people with several images',
    ),
});
export type DistanceSetupStats = z.infer<typeof distanceSetupStatsSchema>;

export const distanceStatsFileSchema = z.object({
  format: z.literal(DISTANCE_STATS_FORMAT),
  version: z.literal(1),
  setups: z.record(z.string(), distanceSetupStatsSchema).describe('embedding setup key (embedder/detector/alignment) → its figures'),
});
export type DistanceStatsFile = z.infer<typeof distanceStatsFileSchema>;

export const DISTANCE_STATS_PATH = join(PROJECT_ROOT, 'models', 'distance-stats.json');

/** The shipped figures for one embedding setup, or null when that setup was never measured. */
export function loadDistanceStats(setupKey: string, path = DISTANCE_STATS_PATH): DistanceSetupStats | null {
  if (!existsSync(path)) return null;
  const parsed = distanceStatsFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path} is not a facecast distance-statistics file: ${z.prettifyError(parsed.error)}; write it again with \`facecast measure-distances\``);
  return parsed.data.setups[setupKey] ?? null;
}

/** How many of the lowest impostor distances the exponential tail is fitted on. */
const TAIL_FIT_POINTS = 200;

/**
 * The false-accept side of the statistics: F(d) = P(impostor distance ≤ d), its inverse, and the
 * log-likelihood ratio of a distance. Below the smallest measured impostor distances F follows an
 * exponential fitted to the lowest ones (log F is close to linear in d there), so a league-sized
 * roster, whose per-photo target is smaller than one pair in the sample, still gets a threshold.
 */
export class DistanceModel {
  private readonly lowest: number[];
  private readonly count: number;
  /** log F(d) ≈ a + b·d below the sample's resolution. */
  private readonly tail: { a: number; b: number };

  constructor(readonly stats: DistanceSetupStats) {
    this.lowest = [...stats.impostor.lowest].sort((x, y) => x - y);
    this.count = stats.impostor.count;
    this.tail = fitExponentialTail(this.lowest.slice(0, TAIL_FIT_POINTS), this.count);
  }

  /** P(an impostor pair lies within d). */
  falseAcceptRate(d: number): number {
    const L = this.lowest;
    if (d < L[0]!) return Math.min(1 / this.count, Math.exp(this.tail.a + this.tail.b * d));
    if (d <= L[L.length - 1]!) return upperIndex(L, d) / this.count;
    const h = this.stats.impostor.histogram;
    return Math.min(1, cumulative(h, d) / this.count);
  }

  /** The distance whose impostor false-accept rate is `far` (the acceptance threshold for it). */
  distanceAt(far: number): number {
    if (!(far > 0)) return 0;
    const L = this.lowest;
    const k = far * this.count;
    if (k < 1) return Math.max(0, (Math.log(far) - this.tail.a) / this.tail.b);
    if (k < L.length) {
      const i = Math.floor(k);
      // Between the i-th and (i+1)-th smallest: exactly i impostor pairs are accepted.
      return (L[i - 1]! + L[i]!) / 2;
    }
    const h = this.stats.impostor.histogram;
    let acc = 0;
    for (let b = 0; b < h.counts.length; b++) {
      if (acc + h.counts[b]! >= k) return h.start + h.step * (b + (k - acc) / h.counts[b]!);
      acc += h.counts[b]!;
    }
    return h.start + h.step * h.counts.length;
  }

  /**
   * log(genuine density / impostor density) at d: how much one face at this distance says "same
   * person". The impostor density in the tail comes from the exponential fit (f = b·F).
   */
  logLikelihoodRatio(d: number): number {
    const g = density(this.stats.genuine.histogram, this.stats.genuine.count, d);
    const tailEnd = this.lowest[Math.min(this.lowest.length, TAIL_FIT_POINTS) - 1]!;
    const f = d <= tailEnd ? this.tail.b * Math.exp(this.tail.a + this.tail.b * d) : density(this.stats.impostor.histogram, this.count, d);
    const llr = Math.log(Math.max(g, 1e-9) / Math.max(f, 1e-12));
    return Math.max(-LLR_CAP, Math.min(LLR_CAP, llr));
  }
}

/** One face's evidence is capped: no single frame may decide a track on its own. */
export const LLR_CAP = 8;

/** Number of sorted values ≤ x. */
function upperIndex(sorted: number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Histogram counts below x, linear within a bin. */
function cumulative(h: z.infer<typeof histogramSchema>, x: number): number {
  let acc = 0;
  for (let b = 0; b < h.counts.length; b++) {
    const lo = h.start + h.step * b;
    if (x >= lo + h.step) acc += h.counts[b]!;
    else {
      if (x > lo) acc += (h.counts[b]! * (x - lo)) / h.step;
      break;
    }
  }
  return acc;
}

/** Density at x from a histogram, averaged over three bins (the measured bins are narrow). */
function density(h: z.infer<typeof histogramSchema>, total: number, x: number): number {
  const b = Math.floor((x - h.start) / h.step);
  let s = 0;
  for (let i = b - 1; i <= b + 1; i++) s += i >= 0 && i < h.counts.length ? h.counts[i]! : 0;
  return s / 3 / total / h.step;
}

/** Least squares of log((i+1)/n) on d_i over the lowest distances. */
function fitExponentialTail(lowest: number[], n: number): { a: number; b: number } {
  const xs = lowest;
  const ys = lowest.map((_, i) => Math.log((i + 1) / n));
  const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
  const my = ys.reduce((s, v) => s + v, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  // A degenerate sample (all equal) gets a steep tail: nothing below it is accepted by chance.
  const b = sxx > 0 && sxy > 0 ? sxy / sxx : 100;
  return { a: my - b * mx, b };
}
