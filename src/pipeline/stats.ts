// Running numbers of one source's pipeline: throughput, latency percentiles, screen time.

/** Percentile (0…100) of a list, nearest-rank; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Keeps the last `size` latencies so a long live run reports recent percentiles in bounded memory. */
export class LatencyWindow {
  private readonly values: number[] = [];
  private next = 0;

  constructor(private readonly size = 2000) {}

  push(ms: number): void {
    if (this.values.length < this.size) this.values.push(ms);
    else this.values[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  summary(): { p50: number; p95: number } {
    const r = (v: number) => Math.round(v * 10) / 10;
    return { p50: r(percentile(this.values, 50)), p95: r(percentile(this.values, 95)) };
  }
}

/** Seconds each named player was on screen, counted per analysed frame at the sampling interval. */
export class ScreenTime {
  private readonly seconds = new Map<string, { name: string; s: number }>();

  add(identities: Iterable<{ id: string; name: string }>, frameSeconds: number): void {
    const seen = new Set<string>();
    for (const { id, name } of identities) {
      if (seen.has(id)) continue;
      seen.add(id);
      const e = this.seconds.get(id) ?? { name, s: 0 };
      e.s += frameSeconds;
      this.seconds.set(id, e);
    }
  }

  list(): { id: string; name: string; screenTimeS: number }[] {
    return [...this.seconds.entries()]
      .map(([id, { name, s }]) => ({ id, name, screenTimeS: Math.round(s * 100) / 100 }))
      .sort((a, b) => b.screenTimeS - a.screenTimeS);
  }
}
