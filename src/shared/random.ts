// Seeded randomness shared by everything that must be repeatable for a given seed (solver
// permutations, augmentation parameters, test data).

/** mulberry32: a small, fast, seedable 32-bit PRNG giving uniform floats in [0, 1). */
export function createRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
