// Prometheus metrics in the text exposition format 0.0.4, without a client library: counters,
// gauges (set, or read from a callback at scrape time) and histograms, each with a fixed set of
// label names, plus the metrics facecast exports. Recording is a map lookup and an add, so it is
// cheap enough for the per-frame path; all formatting happens in render(), once per scrape.
import type { RequestHandler } from 'express';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Series per metric kept at most. Label values come from configuration (channel ids, roles), but a
 * bug that put a player id or a URL in a label must not grow memory without bound: past the cap,
 * new series are dropped and counted in Registry.droppedSeries.
 */
export const MAX_SERIES = 1000;

export type Labels<L extends string> = { readonly [K in L]: string | number };

/** Prometheus numbers: Go's spelling of infinities and NaN, shortest round-trip decimals otherwise. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Label values escape backslash, double quote and line feed. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and line feed (a quote is fine there). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

type MetricType = 'counter' | 'gauge' | 'histogram';

/** What the registry renders: a metric family's header and its sample lines. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  samples(): string[];
}

abstract class Metric<L extends string, S> implements Family {
  protected readonly series = new Map<string, { labels: Labels<L>; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    readonly type: MetricType,
    private readonly onDrop: () => void,
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name "${l}" on ${name}`);
      if (l === 'le' && type === 'histogram') throw new Error(`"le" is reserved for histogram buckets (${name})`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label names on ${name}`);
  }

  protected abstract initial(): S;

  /** The series for these labels, created on first use; undefined when the cap drops it. */
  protected state(labels: Labels<L>): S | undefined {
    const key = this.key(labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) {
        this.onDrop();
        return undefined;
      }
      s = { labels: this.copy(labels), state: this.initial() };
      this.series.set(key, s);
    }
    return s.state;
  }

  /** The series' state if it exists (reads never create one). */
  protected find(labels: Labels<L>): S | undefined {
    return this.series.get(this.key(labels))?.state;
  }

  /** A wrong label set is a programming error: fail loudly rather than export a mislabelled series. */
  private key(labels: Labels<L>): string {
    const given = Object.keys(labels);
    if (given.length !== this.labelNames.length || this.labelNames.some((l) => !(l in labels))) {
      throw new Error(`${this.name} takes labels {${this.labelNames.join(', ')}}, got {${given.join(', ')}}`);
    }
    return JSON.stringify(this.labelNames.map((l) => String(labels[l])));
  }

  private copy(labels: Labels<L>): Labels<L> {
    return Object.fromEntries(this.labelNames.map((l) => [l, String(labels[l])])) as Labels<L>;
  }

  /** Forgets one series (e.g. a channel that was removed), so it stops being exported. */
  remove(labels: Labels<L>): void {
    this.series.delete(this.key(labels));
  }

  reset(): void {
    this.series.clear();
  }

  protected static labelText(labels: Record<string, string | number>, extra?: [string, string]): string {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(String(v))}"`);
    if (extra) parts.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
    return parts.length ? `{${parts.join(',')}}` : '';
  }

  /** Sample lines without the HELP/TYPE header. */
  abstract samples(): string[];
}

export class Counter<L extends string = never> extends Metric<L, { value: number }> {
  constructor(name: string, help: string, labelNames: readonly L[], onDrop: () => void) {
    super(name, help, labelNames, 'counter', onDrop);
  }

  protected initial() {
    return { value: 0 };
  }

  inc(labels: Labels<L>, by = 1): void {
    if (!(by >= 0)) throw new Error(`${this.name}: a counter only goes up (inc by ${by})`);
    const s = this.state(labels);
    if (s) s.value += by;
  }

  get(labels: Labels<L>): number {
    return this.find(labels)?.value ?? 0;
  }

  samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${Metric.labelText(s.labels)} ${formatValue(s.state.value)}`);
  }
}

export class Gauge<L extends string = never> extends Metric<L, { value: number }> {
  constructor(name: string, help: string, labelNames: readonly L[], onDrop: () => void) {
    super(name, help, labelNames, 'gauge', onDrop);
  }

  protected initial() {
    return { value: 0 };
  }

  set(labels: Labels<L>, value: number): void {
    const s = this.state(labels);
    if (s) s.value = value;
  }

  inc(labels: Labels<L>, by = 1): void {
    const s = this.state(labels);
    if (s) s.value += by;
  }

  dec(labels: Labels<L>, by = 1): void {
    this.inc(labels, -by);
  }

  get(labels: Labels<L>): number {
    return this.find(labels)?.value ?? 0;
  }

  samples(): string[] {
    return [...this.series.values()].map((s) => `${this.name}${Metric.labelText(s.labels)} ${formatValue(s.state.value)}`);
  }
}

/** A value read when scraped (memory, tensor counts): nothing to keep up to date. */
export class CallbackMetric implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    private readonly read: () => number,
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name "${name}"`);
  }

  samples(): string[] {
    return [`${this.name} ${formatValue(this.read())}`];
  }
}

export class Histogram<L extends string = never> extends Metric<L, { counts: number[]; sum: number; count: number }> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[], onDrop: () => void) {
    super(name, help, labelNames, 'histogram', onDrop);
    const b = buckets.filter((v) => v !== Infinity);
    if (b.length === 0 || b.some((v, i) => !Number.isFinite(v) || (i > 0 && v <= b[i - 1]!))) {
      throw new Error(`${name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = b;
  }

  protected initial() {
    // One slot per finite bucket plus +Inf; counts are per bucket and made cumulative when rendered.
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(labels: Labels<L>, value: number): void {
    if (Number.isNaN(value)) return; // a NaN would poison _sum for good
    const s = this.state(labels);
    if (!s) return;
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  samples(): string[] {
    const out: string[] = [];
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0;
      state.counts.forEach((c, i) => {
        cumulative += c;
        const le = i < this.buckets.length ? formatValue(this.buckets[i]!) : '+Inf';
        out.push(`${this.name}_bucket${Metric.labelText(labels, ['le', le])} ${cumulative}`);
      });
      out.push(`${this.name}_sum${Metric.labelText(labels)} ${formatValue(state.sum)}`);
      out.push(`${this.name}_count${Metric.labelText(labels)} ${state.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Family>();
  /** Observations dropped because a metric reached MAX_SERIES. */
  droppedSeries = 0;

  private add<M extends Family>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} is registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  private readonly drop = () => {
    this.droppedSeries++;
  };

  counter<const L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return this.add(new Counter<L>(name, help, labelNames, this.drop));
  }

  gauge<const L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return this.add(new Gauge<L>(name, help, labelNames, this.drop));
  }

  histogram<const L extends string = never>(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]): Histogram<L> {
    return this.add(new Histogram<L>(name, help, labelNames, buckets, this.drop));
  }

  /** A gauge (or a counter kept elsewhere, like CPU seconds) read from `read` at every scrape. */
  callback(name: string, help: string, type: 'counter' | 'gauge', read: () => number): CallbackMetric {
    return this.add(new CallbackMetric(name, help, type, read));
  }

  /**
   * The exposition text: per metric a HELP and a TYPE line, then its samples; ends with a newline.
   * A callback that throws leaves its metric out of this scrape instead of failing all of it.
   */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) {
      let samples: string[];
      try {
        samples = m.samples();
      } catch {
        continue;
      }
      lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...samples);
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}

/** Serves the registry for Prometheus to scrape (mount behind the API's auth). */
export function metricsHandler(registry: Registry): RequestHandler {
  return (_req, res) => {
    res.set('Content-Type', CONTENT_TYPE).set('Cache-Control', 'no-store').send(registry.render());
  };
}

// ───────────────────────────── facecast's metrics ─────────────────────────────

/** Seconds: from "fast enough for live graphics" (50 ms) to "something is stuck" (5 s). */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5] as const;

export interface FacecastMetricsOptions {
  /** TensorFlow.js memory (VisionEngine.memory()); its tensor count going up between scrapes is a leak. */
  tfMemory?: () => { numTensors: number; numBytes: number };
}

/**
 * Every metric facecast exports, typed by its labels. Label values: `channel` is the channel id;
 * `mode` 'auto' | 'manual'; `by` who took it ('auto', 'operator', 'api'); `reason` why a graphic
 * left air ('operator', 'timeout', 'track-lost', 'cut', …); `role` the output's role
 * ('program', 'preview', 'dashboard').
 */
export function createFacecastMetrics(registry = new Registry(), opts: FacecastMetricsOptions = {}) {
  const metrics = {
    registry,
    framesTotal: registry.counter('facecast_frames_total', 'Frames analysed (detected, tracked, identified).', ['channel']),
    framesDroppedTotal: registry.counter('facecast_frames_dropped_total', 'Frames dropped before analysis because the pipeline was busy (live sources only).', ['channel']),
    frameLatency: registry.histogram('facecast_frame_latency_seconds', 'Frame arrival to its analysis being done, in seconds.', ['channel'], LATENCY_BUCKETS),
    overlayDelay: registry.histogram('facecast_overlay_delay_seconds', 'Frame arrival to the overlay message it caused being sent, in seconds.', ['channel'], LATENCY_BUCKETS),
    takesTotal: registry.counter('facecast_takes_total', 'Graphics taken to air.', ['channel', 'mode', 'by']),
    clearsTotal: registry.counter('facecast_clears_total', 'Graphics cleared from air, by reason.', ['channel', 'reason']),
    outputsConnected: registry.gauge('facecast_outputs_connected', 'Overlay outputs (browser sources, dashboards) connected now.', ['channel', 'role']),
    tracksActive: registry.gauge('facecast_tracks_active', 'Face tracks alive in the latest analysed frame.', ['channel']),
    sourceUp: registry.gauge('facecast_source_up', '1 while the channel\'s video source delivers frames, 0 while it is down or reconnecting.', ['channel']),
  };
  registry.callback('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => process.memoryUsage.rss());
  registry.callback('process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', 'counter', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const started = Date.now() / 1000 - process.uptime();
  registry.callback('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', 'gauge', () => Math.round(started));
  registry.callback('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', 'gauge', () => process.memoryUsage().heapUsed);
  const tf = opts.tfMemory;
  if (tf) {
    registry.callback('facecast_tf_tensors', 'TensorFlow.js tensors allocated now (steady while healthy; growth is a leak).', 'gauge', () => tf().numTensors);
    registry.callback('facecast_tf_bytes', 'TensorFlow.js tensor memory allocated now, in bytes.', 'gauge', () => tf().numBytes);
  }
  registry.callback('facecast_metrics_series_dropped_total', `Observations dropped because a metric already had ${MAX_SERIES} label sets.`, 'counter', () => registry.droppedSeries);
  return metrics;
}

export type FacecastMetrics = ReturnType<typeof createFacecastMetrics>;
