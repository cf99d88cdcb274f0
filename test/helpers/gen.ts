// A small seeded generator (mulberry32) for fuzz tests: the same seed gives the same cases.
export class Gen {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(this.a ^ (this.a >>> 15), 1 | this.a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** Text mixing ASCII, controls, combining marks, CJK, emoji and lone surrogates. */
  text(n: number): string {
    const ranges: [number, number][] = [[0x20, 0x7e], [0x00, 0x1f], [0x300, 0x36f], [0x4e00, 0x4e80], [0x1f600, 0x1f64f], [0xd800, 0xdbff]];
    let s = '';
    for (let i = 0; i < n; i++) {
      const [lo, hi] = ranges[this.chance(0.6) ? 0 : this.int(1, ranges.length - 1)]!;
      s += String.fromCodePoint(this.int(lo, hi));
    }
    return s;
  }
}
