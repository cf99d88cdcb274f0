// Bounded fuzzing of the real server: a few hundred generated requests (image bodies, roster CSV
// bodies, JSON bodies for the API routes, WebSocket messages) from a seeded generator, so a
// failure replays with FACECAST_FUZZ_SEED=<seed>. Whatever arrives, the server answers with a 4xx
// or a 2xx, never a 5xx; it keeps running; and the players the fuzzing did not address are
// byte-for-byte as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startTestServer, API_TOKEN, type TestServer } from './helpers/apiServer.ts';
import { Gen } from './helpers/gen.ts';

const SEED = Number(process.env.FACECAST_FUZZ_SEED ?? 20260312);
const OUTPUT_KEY = 'fuzz-output-key-0123456789';
/** Players the fuzzing never names: they must come through untouched. */
const SENTINELS = [
  { id: 'sentinel-a', name: 'Sentinel A', number: 7, team: 'Keep FC', stats: { goals: 3, note: 'x' } },
  { id: 'sentinel-b', name: 'Ünïcødé B', position: 'Goalkeeper', stats: {} },
];

let t: TestServer;
const failures: string[] = [];

/** Records anything that is not a client error or a success, with what was sent. */
async function send(what: string, path: string, init: RequestInit): Promise<number> {
  let res: Response;
  try {
    res = await t.api(path, init);
  } catch (err) {
    failures.push(`${what}: ${path}: no answer (${(err as Error).message})`);
    return 0;
  }
  const text = await res.text();
  if (res.status >= 500) failures.push(`${what}: ${init.method} ${path} → ${res.status} ${text.slice(0, 300)}`);
  else if (res.status >= 400 && !/"error":\{"code":"[A-Z_]+","message":"[^"]+/.test(text)) failures.push(`${what}: ${path} → ${res.status} without an {error:{code,message}} body: ${text.slice(0, 200)}`);
  return res.status;
}

async function sentinelRows() {
  const rows = [];
  for (const s of SENTINELS) rows.push(await (await t.api(`/api/players/${s.id}`)).text());
  return rows;
}

async function image(g: Gen, width: number, height: number, format: 'png' | 'jpeg' | 'webp' | 'gif'): Promise<Buffer> {
  const raw = g.bytes(width * height * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}

/** Image bodies: random bytes, truncated and corrupted real images, odd sizes and formats. */
async function imageBody(g: Gen): Promise<{ body: Uint8Array; note: string }> {
  const kind = g.int(0, 6);
  if (kind === 0) return { body: g.bytes(g.int(0, 4000)), note: 'random bytes' };
  const w = g.pick([1, 2, 3, 8, 17, 64, 97]);
  const h = g.pick([1, 2, 5, 16, 33, 64]);
  const format = g.pick(['png', 'jpeg', 'webp', 'gif'] as const);
  const img = await image(g, w, h, format);
  if (kind === 1) return { body: img.subarray(0, g.int(1, img.length)), note: `${format} ${w}×${h} truncated` };
  if (kind === 2) {
    const bad = Buffer.from(img);
    for (let i = 0; i < 8; i++) bad[g.int(0, bad.length - 1)] = g.int(0, 255);
    return { body: bad, note: `${format} ${w}×${h} corrupted` };
  }
  if (kind === 3) return { body: Buffer.concat([img.subarray(0, 16), g.bytes(g.int(0, 500))]), note: `${format} header + noise` };
  return { body: img, note: `${format} ${w}×${h}` };
}

/** Roster CSV bodies: quotes, separators, line ends, BOMs and odd text in random order. */
function csvBody(g: Gen): string {
  const atoms = ['"', '""', ',', '\n', '\r\n', '\r', ' ', 'id', 'name', 'number', 'goals', '\uFEFF', 'fz-a', 'fz-b', '999', '-1', '1e9', 'ø', '\u0000', '#', ';', '\t'];
  const header = g.chance(0.8) ? `${g.pick(['id', 'ID', ' id ', 'name'])},${g.pick(['name', 'number', 'goals', 'teamColor', ''])},goals\n` : '';
  let body = header;
  const n = g.int(0, 60);
  for (let i = 0; i < n; i++) body += g.chance(0.3) ? g.text(g.int(0, 12)) : g.pick(atoms);
  // Keep fuzzed ids away from the sentinels.
  return body.replace(/sentinel/gi, 'fz');
}

/** A random JSON value, mostly shapes an API would half expect. */
function jsonValue(g: Gen, depth = 0): unknown {
  const k = g.int(0, depth > 2 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return g.pick([0, -1, 1.5, 1e308, -0, 999, 1000, 2 ** 53]);
    case 2:
      return g.text(g.int(0, 40));
    case 3:
      return g.chance(0.5);
    case 4:
      return g.pick(['', 'fz-x', '#1d428a', 'intro', 'stats', 'auto', 'manual', 'lowerThird', '../../etc/passwd', '<script>', 'x'.repeat(5000)]);
    case 5:
      return g.pick([[], {}, '__proto__']);
    case 6:
      return Array.from({ length: g.int(0, 4) }, () => jsonValue(g, depth + 1));
    default: {
      const keys = ['id', 'name', 'number', 'team', 'teamColor', 'position', 'stats', 'photo', 'goals', 'playerId', 'cueId', 'card', 'layer', 'mode', 'on', 'url', 'loop', 'adapt', 'dropStale', '__proto__', 'constructor'];
      const o: Record<string, unknown> = {};
      for (let i = g.int(0, 5); i > 0; i--) o[g.pick(keys)] = jsonValue(g, depth + 1);
      return o;
    }
  }
}

/** Source URLs that must all be refused before ffmpeg or the vision pool start. */
const BAD_URLS = ['file:/etc/passwd', 'concat:a|b', 'data:video/mp4;base64,AAAA', 'ftp://x/y', 'gopher://x', '', ' ', 'rtmp://', 'srt://:0', 'javascript:alert(1)', 'x'.repeat(5000)];

function jsonRequest(g: Gen): { method: string; path: string; body: string } {
  const id = g.pick(['fz-a', 'fz-b', 'nobody', encodeURIComponent(Buffer.from(g.text(g.int(1, 20)).replace(/sentinel/gi, 'fz')).toString()), '%00', '..']);
  const ch = g.pick(['1', '2', 'x', '%2F', '999999']);
  const [method, path] = g.pick([
    ['POST', '/api/players'],
    ['PATCH', `/api/players/${id}`],
    ['PATCH', `/api/players/${id}/stats`],
    ['DELETE', `/api/players/${id}`],
    ['GET', `/api/players/${id}`],
    ['POST', `/api/channels/${ch}/take`],
    ['POST', `/api/channels/${ch}/clear`],
    ['POST', `/api/channels/${ch}/cue`],
    ['POST', `/api/channels/${ch}/take-next`],
    ['PUT', `/api/channels/${ch}/mode`],
    ['PUT', `/api/channels/${ch}/name-tags`],
    ['PUT', `/api/channels/${ch}/source`],
    ['POST', `/api/channels/${ch}/tracks/${g.int(-1, 5)}/relabel`],
    ['GET', `/api/as-run?format=${g.pick(['csv', 'json', '%00', ''])}&limit=${g.pick(['-1', '1e9', 'x', '5'])}`],
    ['POST', '/api/verify'],
    ['GET', '/api/model'],
  ] as const);
  let value = jsonValue(g);
  if (path.endsWith('/source') && g.chance(0.7)) value = { url: g.pick(BAD_URLS), loop: g.chance(0.5) };
  if (path === '/api/players' && g.chance(0.5)) value = { id: `fz-${g.int(0, 20)}`, name: g.text(g.int(0, 30)) || 'x', number: g.int(-5, 1200) };
  let body = JSON.stringify(value) ?? 'null';
  if (g.chance(0.1)) body = body.slice(0, g.int(0, body.length)); // broken JSON
  return { method, path, body };
}

function wsMessage(g: Gen): string | Buffer {
  const k = g.int(0, 9);
  if (k === 0) return g.text(g.int(0, 200));
  if (k === 1) return Buffer.from(g.bytes(g.int(0, 300)));
  const type = g.pick(['ping', 'take', 'clear', 'cue', 'mode', 'nameTags', 'takeNext', 'attach', 'detach', 'relabel', 'nope', '', '__proto__']);
  const msg: Record<string, unknown> = { type };
  for (let i = g.int(0, 4); i > 0; i--) msg[g.pick(['t', 'playerId', 'cueId', 'card', 'layer', 'mode', 'on', 'url', 'loop', 'trackId'])] = jsonValue(g, 1);
  if (type === 'attach') msg.url = g.pick(BAD_URLS);
  const text = JSON.stringify(msg);
  return g.chance(0.1) ? text.slice(0, g.int(0, text.length)) : text;
}

beforeAll(async () => {
  t = await startTestServer({ server: { outputKey: OUTPUT_KEY } }, 'facecast-fuzz-');
  for (const s of SENTINELS) {
    const res = await t.api('/api/players', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(s) });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await t?.close();
});

describe(`fuzzing the server (seed ${SEED}; replay with FACECAST_FUZZ_SEED=${SEED})`, () => {
  it('answers generated images, CSV, JSON and WebSocket messages without a 5xx, and leaves the roster intact', async () => {
    const g = new Gen(SEED);
    const before = await sentinelRows();
    const counts = { image: 0, csv: 0, json: 0, ws: 0 };

    for (let i = 0; i < 70; i++) {
      const { body, note } = await imageBody(g);
      const blob = new Blob([new Uint8Array(body)]);
      const target = g.int(0, 2);
      if (target === 0) {
        await send(`image #${i} (${note})`, '/api/recognize', { method: 'POST', headers: { 'content-type': g.pick(['image/jpeg', 'image/png', 'application/octet-stream', 'text/plain']) }, body: blob });
      } else {
        const fd = new FormData();
        fd.append(target === 1 ? 'image' : 'a', blob, g.pick(['x.jpg', 'x.png', '', '../x']));
        if (target === 2) fd.append('b', new Blob([new Uint8Array((await imageBody(g)).body)]), 'b.jpg');
        const path = target === 1 ? g.pick(['/api/recognize', '/api/players/fz-a/photos']) : '/api/verify';
        await send(`image #${i} (${note}, multipart)`, path, { method: 'POST', body: fd });
      }
      counts.image++;
    }

    for (let i = 0; i < 80; i++) {
      const type = g.pick(['text/csv', 'text/plain', 'text/csv; charset=utf-8', 'text/csv; charset=utf-7', 'text/csv; charset=latin1', 'application/json']);
      const body = g.chance(0.1) ? new Blob([new Uint8Array(g.bytes(g.int(0, 500)))]) : csvBody(g);
      await send(`csv #${i}`, '/api/players/import', { method: 'POST', headers: { 'content-type': type }, body });
      counts.csv++;
    }

    for (let i = 0; i < 150; i++) {
      const { method, path, body } = jsonRequest(g);
      const withBody = method !== 'GET' && method !== 'DELETE';
      await send(`json #${i} ${body.slice(0, 80)}`, path, { method, ...(withBody ? { headers: { 'content-type': 'application/json' }, body } : {}) });
      counts.json++;
    }

    const wsBase = t.server.url.replace(/^http/, 'ws');
    const ws = new WebSocket(`${wsBase}/ws?role=operator&channel=1&token=${API_TOKEN}`);
    const closed: string[] = [];
    ws.on('close', (code) => closed.push(String(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    for (let i = 0; i < 100; i++) {
      ws.send(wsMessage(g));
      counts.ws++;
    }
    // A server that is still serving this socket answers a ping after all of that.
    const pong = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      ws.on('message', (data) => {
        if (String(data).includes('"pong"') && String(data).includes('"t":4242')) {
          clearTimeout(timer);
          resolve(true);
        }
      });
      ws.send(JSON.stringify({ type: 'ping', t: 4242 }));
    });
    ws.close();
    expect({ pong, closed }).toEqual({ pong: true, closed: [] });

    console.log(`fuzz seed ${SEED}: ${JSON.stringify(counts)}, ${failures.length} failures`);
    expect(failures).toEqual([]);
    const health = await fetch(`${t.server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await sentinelRows()).toEqual(before);
    expect(t.server.ctx.roster.db.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
  });
});
