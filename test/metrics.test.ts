// The Prometheus registry, read back by a strict parser of the text exposition format 0.0.4: every
// line must match the grammar, families must be HELP, TYPE, then only their own samples, histogram
// buckets must be cumulative and end at +Inf = _count, and label values must round-trip escaping.
import { describe, expect, it } from 'vitest';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { CONTENT_TYPE, LATENCY_BUCKETS, MAX_SERIES, Registry, createFacecastMetrics, escapeLabelValue, formatValue, metricsHandler } from '../src/server/metrics.ts';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const LABEL_VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]Inf|NaN)';
const HELP_LINE = new RegExp(`^# HELP (${NAME}) ((?:[^\\\\\\n]|\\\\[\\\\n])*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const PAIR = `${LABEL_NAME}=${LABEL_VALUE}`;
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${PAIR})(?:,${PAIR})*)?\\})? (${VALUE})$`);
const PAIR_G = new RegExp(`(${LABEL_NAME})=(${LABEL_VALUE})`, 'g');

const unescapeLabel = (quoted: string) => quoted.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
const unescapeHelp = (s: string) => s.replace(/\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
const parseValue = (v: string) => (v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));

/** Parses exposition text, throwing on the first line or structure that breaks the format. */
function parseExposition(text: string): Map<string, Family> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('output must end with a line feed');
  const families = new Map<string, Family>();
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  const seen = new Set<string>();
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1} "${line}"`;
      let m: RegExpExecArray | null;
      if ((m = HELP_LINE.exec(line))) {
        if (families.has(m[1]!) || pendingHelp) throw new Error(`${where}: HELP out of place or repeated`);
        pendingHelp = { name: m[1]!, help: unescapeHelp(m[2]!) };
      } else if ((m = TYPE_LINE.exec(line))) {
        if (pendingHelp?.name !== m[1]) throw new Error(`${where}: TYPE must follow its HELP`);
        current = { ...pendingHelp, type: m[2]!, samples: [] };
        families.set(current.name, current);
        pendingHelp = undefined;
      } else if ((m = SAMPLE_LINE.exec(line))) {
        if (!current || pendingHelp) throw new Error(`${where}: sample outside a family`);
        const name = m[1]!;
        const own = current.type === 'histogram' ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`] : [current.name];
        if (!own.includes(name)) throw new Error(`${where}: sample does not belong to ${current.name}`);
        const labels: Record<string, string> = {};
        for (const [, k, v] of (m[2] ?? '').matchAll(PAIR_G)) {
          if (k! in labels) throw new Error(`${where}: label ${k} repeated`);
          labels[k!] = unescapeLabel(v!);
        }
        const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
        if (seen.has(id)) throw new Error(`${where}: duplicate series`);
        seen.add(id);
        current.samples.push({ name, labels, value: parseValue(m[3]!) });
      } else {
        throw new Error(`${where}: not a HELP, TYPE or sample line`);
      }
    });
  if (pendingHelp) throw new Error(`HELP for ${pendingHelp.name} without TYPE`);
  return families;
}

/** Histogram series of a family keyed by their non-le labels, checked for cumulative buckets. */
function histogramSeries(f: Family) {
  const out = new Map<string, { buckets: [number, number][]; sum: number; count: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(rest);
    const h = out.get(key) ?? { buckets: [], sum: NaN, count: NaN };
    if (s.name.endsWith('_bucket')) h.buckets.push([parseValue(le!), s.value]);
    else if (s.name.endsWith('_sum')) h.sum = s.value;
    else h.count = s.value;
    out.set(key, h);
  }
  for (const [key, h] of out) {
    const les = h.buckets.map(([le]) => le);
    expect(les, `${f.name}${key} le order`).toEqual([...les].sort((a, b) => a - b));
    expect(les.at(-1), `${f.name}${key} ends at +Inf`).toBe(Infinity);
    for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i]![1]).toBeGreaterThanOrEqual(h.buckets[i - 1]![1]);
    expect(h.buckets.at(-1)![1], `${f.name}${key} +Inf = _count`).toBe(h.count);
  }
  return out;
}

describe('exposition format', () => {
  it('renders the facecast metrics as valid 0.0.4 text with the expected families and types', () => {
    const m = createFacecastMetrics(new Registry(), { tfMemory: () => ({ numTensors: 42, numBytes: 1024 }) });
    m.framesTotal.inc({ channel: '1' }, 3);
    m.framesDroppedTotal.inc({ channel: '1' });
    m.frameLatency.observe({ channel: '1' }, 0.12);
    m.overlayDelay.observe({ channel: '1' }, 0.4);
    m.takesTotal.inc({ channel: '1', mode: 'auto', by: 'auto' });
    m.clearsTotal.inc({ channel: '1', reason: 'track-lost' });
    m.outputsConnected.set({ channel: '1', role: 'program' }, 2);
    m.tracksActive.set({ channel: '1' }, 4);
    m.sourceUp.set({ channel: '1' }, 1);
    const families = parseExposition(m.registry.render());
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      facecast_frames_total: 'counter',
      facecast_frames_dropped_total: 'counter',
      facecast_frame_latency_seconds: 'histogram',
      facecast_overlay_delay_seconds: 'histogram',
      facecast_takes_total: 'counter',
      facecast_clears_total: 'counter',
      facecast_outputs_connected: 'gauge',
      facecast_tracks_active: 'gauge',
      facecast_source_up: 'gauge',
      process_resident_memory_bytes: 'gauge',
      process_cpu_seconds_total: 'counter',
      facecast_tf_tensors: 'gauge',
    });
    expect(families.get('facecast_frames_total')!.samples).toEqual([{ name: 'facecast_frames_total', labels: { channel: '1' }, value: 3 }]);
    expect(families.get('facecast_takes_total')!.samples[0]!.labels).toEqual({ channel: '1', mode: 'auto', by: 'auto' });
    expect(families.get('facecast_tf_tensors')!.samples[0]!.value).toBe(42);
    expect(families.get('process_resident_memory_bytes')!.samples[0]!.value).toBeGreaterThan(1e6);
    const latency = histogramSeries(families.get('facecast_frame_latency_seconds')!);
    expect([...latency.values()][0]!.buckets.map(([le]) => le)).toEqual([...LATENCY_BUCKETS, Infinity]);
    for (const f of families.values()) expect(f.help.length, f.name).toBeGreaterThan(10);
  });

  it('makes histogram buckets cumulative with inclusive upper bounds, and keeps _sum and _count', () => {
    const r = new Registry();
    const h = r.histogram('t_seconds', 'test', ['channel'], [0.05, 0.1, 1, 5]);
    for (const v of [0.01, 0.05, 0.07, 0.3, 2, 10, NaN]) h.observe({ channel: 'a' }, v);
    h.observe({ channel: 'b' }, 0.1);
    const series = histogramSeries(parseExposition(r.render()).get('t_seconds')!);
    const a = series.get(JSON.stringify({ channel: 'a' }))!;
    expect(a.buckets).toEqual([
      [0.05, 2],
      [0.1, 3],
      [1, 4],
      [5, 5],
      [Infinity, 6],
    ]);
    expect(a.count).toBe(6); // the NaN was not counted
    expect(a.sum).toBeCloseTo(12.43, 10);
    expect(series.get(JSON.stringify({ channel: 'b' }))!.buckets.map(([, c]) => c)).toEqual([0, 1, 1, 1, 1]);
    expect(r.render()).toContain('t_seconds_bucket{channel="a",le="+Inf"} 6\n');
  });

  it('escapes label values and HELP text so they parse back to the original', () => {
    const r = new Registry();
    const nasty = 'back\\slash "quoted"\nnew line, comma=} ünï 김하늘';
    const c = r.counter('esc_total', 'help with \\ backslash\nand a second line "quoted"', ['channel']);
    c.inc({ channel: nasty }, 2);
    const text = r.render();
    expect(text.split('\n')).toHaveLength(4); // HELP, TYPE, one sample, final empty string
    const f = parseExposition(text).get('esc_total')!;
    expect(f.help).toBe('help with \\ backslash\nand a second line "quoted"');
    expect(f.samples[0]!.labels.channel).toBe(nasty);
    expect(escapeLabelValue('a"b')).toBe('a\\"b');
  });

  it('formats numbers as Prometheus does', () => {
    expect([0.05, 1, 1e21, -0.5, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['0.05', '1', '1e+21', '-0.5', '+Inf', '-Inf', 'NaN']);
    const r = new Registry();
    r.gauge('g', 'test').set({}, -Infinity);
    expect(parseExposition(r.render()).get('g')!.samples[0]!.value).toBe(-Infinity);
  });
});

describe('registry rules', () => {
  it('gauges go up and down, series can be removed, and an empty registry renders nothing', () => {
    const r = new Registry();
    expect(r.render()).toBe('');
    const g = r.gauge('outputs', 'test', ['channel']);
    g.inc({ channel: '1' });
    g.inc({ channel: '1' }, 2);
    g.dec({ channel: '1' });
    g.set({ channel: '2' }, 7);
    expect(g.get({ channel: '1' })).toBe(2);
    g.remove({ channel: '2' });
    expect(parseExposition(r.render()).get('outputs')!.samples).toEqual([{ name: 'outputs', labels: { channel: '1' }, value: 2 }]);
  });

  it('refuses wrong label sets, decreasing counters, bad names, duplicate names and bad buckets', () => {
    const r = new Registry();
    const c = r.counter('c_total', 'test', ['channel']);
    // @ts-expect-error the label set is typed: a missing label does not compile
    expect(() => c.inc({})).toThrow(/takes labels \{channel\}/);
    // @ts-expect-error nor does an unknown one
    expect(() => c.inc({ channel: '1', extra: 'x' })).toThrow(/takes labels/);
    expect(() => c.inc({ channel: '1' }, -1)).toThrow(/only goes up/);
    expect(() => r.counter('c_total', 'again')).toThrow(/registered twice/);
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => r.gauge('g', 'x', ['__reserved'])).toThrow(/invalid label name/);
    expect(() => r.histogram('h', 'x', ['le'], [1])).toThrow(/reserved/);
    expect(() => r.histogram('h2', 'x', [], [1, 1])).toThrow(/strictly increasing/);
    expect(() => r.histogram('h3', 'x', [], [])).toThrow(/strictly increasing/);
  });

  it('caps the series of one metric and counts what it drops', () => {
    const m = createFacecastMetrics();
    for (let i = 0; i < MAX_SERIES + 5; i++) m.framesTotal.inc({ channel: `c${i}` });
    const families = parseExposition(m.registry.render());
    expect(families.get('facecast_frames_total')!.samples).toHaveLength(MAX_SERIES);
    expect(families.get('facecast_metrics_series_dropped_total')!.samples[0]!.value).toBe(5);
  });

  it('leaves out a callback that throws instead of failing the whole scrape', () => {
    const r = new Registry();
    r.callback('broken', 'test', 'gauge', () => {
      throw new Error('no engine');
    });
    r.gauge('fine', 'test').set({}, 1);
    const families = parseExposition(r.render());
    expect([...families.keys()]).toEqual(['fine']);
  });
});

describe('metricsHandler', () => {
  it('serves the registry as text/plain; version=0.0.4', async () => {
    const m = createFacecastMetrics();
    m.sourceUp.set({ channel: 'main' }, 1);
    const app = express();
    app.get('/metrics', metricsHandler(m.registry));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(CONTENT_TYPE);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parseExposition(await res.text());
      expect(families.get('facecast_source_up')!.samples[0]).toEqual({ name: 'facecast_source_up', labels: { channel: 'main' }, value: 1 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
