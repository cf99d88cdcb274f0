// LFW View 1 verification: pair lists, the distance threshold picked on DevTrain, accuracy on
// DevTest. A pair whose image is missing or whose face was not found counts as a wrong answer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LfwImageRef {
  name: string;
  index: number;
}
export interface LfwPair {
  a: LfwImageRef;
  b: LfwImageRef;
  same: boolean;
}

export function parsePairs(text: string): LfwPair[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const declared = Number(lines[0]);
  const pairs = lines.slice(1).map((line, i): LfwPair => {
    const f = line.trim().split(/\s+/);
    if (f.length === 3) return { a: { name: f[0]!, index: Number(f[1]) }, b: { name: f[0]!, index: Number(f[2]) }, same: true };
    if (f.length === 4) return { a: { name: f[0]!, index: Number(f[1]) }, b: { name: f[2]!, index: Number(f[3]) }, same: false };
    throw new Error(`pairs file line ${i + 2}: expected 3 or 4 fields, got "${line}"`);
  });
  const same = pairs.filter((p) => p.same).length;
  if (Number.isFinite(declared) && (same !== declared || pairs.length - same !== declared)) {
    throw new Error(`pairs file declares ${declared} same + ${declared} different pairs, found ${same} + ${pairs.length - same}`);
  }
  return pairs;
}

export function readPairs(root: string, split: 'DevTrain' | 'DevTest'): LfwPair[] {
  return parsePairs(readFileSync(join(root, `pairs${split}.txt`), 'utf8'));
}

export function lfwImagePath(root: string, ref: LfwImageRef): string {
  return join(root, ref.name, `${ref.name}_${String(ref.index).padStart(4, '0')}.jpg`);
}

/** Distance per pair; null when either face is missing (always a wrong answer). */
export interface ScoredPair {
  distance: number | null;
  same: boolean;
}

export function accuracyAt(pairs: ScoredPair[], threshold: number): number {
  let correct = 0;
  for (const p of pairs) if (p.distance !== null && p.distance < threshold === p.same) correct++;
  return pairs.length ? correct / pairs.length : 0;
}

/** The threshold (midpoint between neighbouring distances) with the best accuracy on these pairs. */
export function bestThreshold(pairs: ScoredPair[]): { threshold: number; accuracy: number } {
  const ds = pairs.flatMap((p) => (p.distance === null ? [] : [p.distance])).sort((x, y) => x - y);
  let best = { threshold: 0.6, accuracy: accuracyAt(pairs, 0.6) };
  for (let i = 0; i + 1 < ds.length; i++) {
    const t = (ds[i]! + ds[i + 1]!) / 2;
    const acc = accuracyAt(pairs, t);
    if (acc > best.accuracy) best = { threshold: t, accuracy: acc };
  }
  return best;
}

export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
