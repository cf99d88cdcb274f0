// Measures an embedder's genuine and impostor distance distributions on LFW View 1 DevTrain: every
// pair of two embedded DevTrain images, same person or not (millions of impostor pairs, so the
// tail where a roster's false accepts live is measured, not guessed). DevTest is never read.
import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { DistanceSetupStats } from '../recognition/openset/distanceStats.ts';
import { euclidean } from '../recognition/openset/rule.ts';
import { lfwImagePath, readPairs } from './lfw.ts';

/** The DevTrain images of LFW View 1 (every image named in pairsDevTrain.txt). */
export function devTrainImages(root: string): string[] {
  const pairs = readPairs(root, 'DevTrain');
  return [...new Set(pairs.flatMap((p) => [lfwImagePath(root, p.a), lfwImagePath(root, p.b)]))].sort();
}

/** Every image of a folder-per-person face set (LFW layout), by person. */
export function imagesByIdentity(root: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of readdirSync(root, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    const files = readdirSync(`${root}/${d.name}`).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
    if (files.length) out.set(d.name, files.map((f) => `${root}/${d.name}/${f}`));
  }
  return out;
}

const LOWEST_KEPT = 5000;
const HIST_STEP = 0.01;
const HIST_BINS = 160;

/** All-pairs distance statistics of embedded images; the identity of an image is its folder. */
export function measureDistances(
  embeddings: Record<string, ArrayLike<number> | null>,
  measured: Omit<DistanceSetupStats['measured'], 'faces' | 'identities' | 'images'>,
): DistanceSetupStats {
  const paths = Object.keys(embeddings).sort();
  const items = paths.flatMap((p) => (embeddings[p] ? [{ who: basename(dirname(p)), e: embeddings[p] }] : []));
  const dim = items[0]?.e.length ?? 0;
  const genuine = newHistogram();
  const impostor = newHistogram();
  const g = { n: 0, s: 0, ss: 0 };
  const im = { n: 0, s: 0, ss: 0 };
  // A bounded max-heap would be tidier; a threshold-and-compact buffer is as fast and simpler.
  let low: number[] = [];
  let lowCut = Infinity;
  for (let i = 0; i < items.length; i++) {
    const a = items[i]!;
    for (let j = i + 1; j < items.length; j++) {
      const b = items[j]!;
      let s = 0;
      for (let k = 0; k < dim; k++) s += (a.e[k]! - b.e[k]!) ** 2;
      const d = Math.sqrt(s);
      if (a.who === b.who) {
        add(genuine, d);
        g.n++;
        g.s += d;
        g.ss += d * d;
      } else {
        add(impostor, d);
        im.n++;
        im.s += d;
        im.ss += d * d;
        if (d < lowCut) {
          low.push(d);
          if (low.length >= 4 * LOWEST_KEPT) {
            low = low.sort((x, y) => x - y).slice(0, LOWEST_KEPT);
            lowCut = low[LOWEST_KEPT - 1]!;
          }
        }
      }
    }
  }
  low = low.sort((x, y) => x - y).slice(0, LOWEST_KEPT);
  const tau = low[Math.min(low.length - 1, Math.max(0, Math.round(1e-4 * im.n) - 1))] ?? 0.3;
  const summary = (t: { n: number; s: number; ss: number }) => {
    const mean = t.n ? t.s / t.n : 0;
    return { count: t.n, mean: round(mean), sd: round(Math.sqrt(Math.max(0, t.ss / Math.max(1, t.n) - mean * mean))) };
  };
  return {
    measured: { ...measured, images: paths.length, faces: items.length, identities: new Set(items.map((x) => x.who)).size },
    genuine: { ...summary(g), histogram: genuine },
    impostor: { ...summary(im), histogram: impostor, lowest: low.map(round) },
    galleryExponent: round(galleryExponent(items, tau)),
  };
}

/**
 * How acceptance grows with the photos of one person: for people with at least GALLERY_N images,
 * every other person's image is compared with the nearest of their first 1 … GALLERY_N images at
 * the tail distance `tau`; the exponent fits rate(n) = rate(1)·n^e by least squares on log-log.
 */
function galleryExponent(items: { who: string; e: ArrayLike<number> }[], tau: number): number {
  const by = new Map<string, ArrayLike<number>[]>();
  for (const it of items) by.set(it.who, [...(by.get(it.who) ?? []), it.e]);
  const people = [...by.entries()].filter(([, es]) => es.length >= GALLERY_N);
  const hits = new Array<number>(GALLERY_N).fill(0);
  for (const [who, es] of people) {
    for (const x of items) {
      if (x.who === who) continue;
      let nearest = Infinity;
      for (let n = 0; n < GALLERY_N; n++) {
        nearest = Math.min(nearest, euclidean(x.e, es[n]!));
        if (nearest <= tau) hits[n]!++;
      }
    }
  }
  if (hits[0]! === 0) return 1;
  let sxy = 0;
  let sxx = 0;
  for (let n = 2; n <= GALLERY_N; n++) {
    const x = Math.log(n);
    sxy += x * Math.log(Math.max(1, hits[n - 1]!) / hits[0]!);
    sxx += x * x;
  }
  return Math.min(1, Math.max(0, sxy / sxx));
}

const GALLERY_N = 4;


function newHistogram(): { start: number; step: number; counts: number[] } {
  return { start: 0, step: HIST_STEP, counts: new Array<number>(HIST_BINS).fill(0) };
}

function add(h: { step: number; counts: number[] }, d: number): void {
  h.counts[Math.min(h.counts.length - 1, Math.floor(d / h.step))]!++;
}

function round(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}
