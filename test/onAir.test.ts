// The whole product on the built-in demo, as `npm start` runs it: the demo roster and video, the
// live pipeline on channel 1 in auto mode, the WebSocket hub, the graphics page in a real headless
// Chromium, and the HTTP API. What goes on air must be the right player, in time, where the face
// is, and must follow the server through stats updates and restarts.
//
// The demo roster and video are kept in a temp folder between runs (prepareDemoRoster and
// makeDemoVideo reuse what matches), so only the first run pays for building them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import WebSocket from 'ws';
import { demoConfig } from '../src/cli/demo.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { prepareDemoRoster, type DemoRoster } from '../src/demo/roster.ts';
import { makeDemoVideo, type DemoVideo } from '../src/demo/video.ts';
import { startServer, type RunningServer } from '../src/server/app.ts';
import { silentLogger } from '../src/shared/log.ts';
import type { ChannelState, Graphic, ServerMessage } from '../src/shared/protocol.ts';
import type { GraphicsPageHook } from './helpers/graphicsPageHook.ts';
import { freeUdpPort } from './helpers/ingestMedia.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`${CHROMIUM} not found: on-air demo tests skipped (Debian: apt-get install -y chromium fonts-noto-cjk)`);

const TOKEN = 'on-air-test-token';
const KEY = 'on-air-test-key';
const DEMO_CACHE = join(tmpdir(), 'facecast-test-demo');

declare global {
  interface Window {
    facecast: GraphicsPageHook;
    __appeared: Record<string, number>;
  }
}

type Rect = { x: number; y: number; w: number; h: number };
const overlaps = (a: Rect, b: Rect) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
/** How far a graphic's drop shadow may reach beyond its box (the lower third's is the widest). */
const SHADOW = 48;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function until<T>(what: string, timeoutMs: number, poll: () => T | null | undefined | false): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = poll();
      if (v) return resolve(v);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

describe.skipIf(!HAVE_CHROMIUM)('on air: the built-in demo end to end', () => {
  let config: Config;
  let running: RunningServer;
  let roster: DemoRoster;
  let video: DemoVideo;
  let browser: Browser;
  let page: Page;
  /** pts of the latest name tags sent (to pick the matching video frame for the docs screenshot). */
  let lastTagsPts = 0;
  /** Every lower third the server put on air, in order. */
  const takes: Graphic[] = [];
  const pageErrors: string[] = [];

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${running.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  async function start(port = 0): Promise<RunningServer> {
    const server = await startServer({ ...config, server: { ...config.server, port } }, silentLogger);
    server.channels.get('1')!.controller.on('tags', (m) => (lastTagsPts = m.pts));
    server.channels.get('1')!.controller.on('state', (s) => {
      const g = s.onAir.lowerThird;
      if (g && takes.at(-1)?.id !== g.id) takes.push(g);
    });
    return server;
  }

  async function attachDemo(server: RunningServer): Promise<void> {
    server.ctx.reloadRecognizer();
    await server.channels.attach('1', video.path, { loop: true, realtime: true });
  }

  beforeAll(async () => {
    config = demoConfig(loadConfig({ env: {}, overrides: { dataDir: DEMO_CACHE, logLevel: 'silent', vision: { backend: 'wasm' }, server: { apiToken: TOKEN, outputKey: KEY } } }));
    running = await start();
    [roster, video] = await Promise.all([
      running.ctx.useEngine((engine) => prepareDemoRoster(engine, config.dataDir, silentLogger)),
      makeDemoVideo(join(config.dataDir, 'demo.mp4')),
    ]);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // When each graphic id first appears on the page, by the wall clock the server uses too.
    await page.addInitScript(() => {
      window.__appeared = {};
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes) {
            const id = n instanceof HTMLElement ? n.dataset.graphicId : undefined;
            if (id && !(id in window.__appeared)) window.__appeared[id] = Date.now();
          }
      }).observe(document, { childList: true, subtree: true });
    });
    await page.goto(`${running.url}/graphics?key=${KEY}&channel=1`);
    // Connected with the stock template loaded: the takes timed below then need no fetch.
    await page.waitForFunction(() => window.facecast?.connected === true && window.facecast.templateReady, null, { timeout: 15_000 });
    await attachDemo(running);
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    expect(pageErrors).toEqual([]);
  });

  it('an auto take puts the right player on the page within 1 s', async () => {
    const g = await until('an auto take', 120_000, () => takes.find((t) => t.takenBy === 'auto'));
    // The right player: one who is in the photo of the shot on screen at the take's pts.
    const t = g.pts! % video.durationS;
    const shot = video.shots.find((s) => t >= s.startS && t < s.endS)!;
    expect(roster.appearances[g.player.id]?.map((a) => a.photo.split('/').pop())).toContain(shot.photo.split('/').pop());
    const appeared = await page.waitForFunction((id) => window.__appeared[id] ?? null, g.id, { timeout: 5000 }).then((h) => h.jsonValue() as Promise<number>);
    console.log(`auto take of ${g.player.name} (track ${g.trackId}, confidence ${g.confidence}) on the page ${appeared - g.takenAt} ms after the take`);
    expect(appeared - g.takenAt).toBeLessThanOrEqual(1000);
    await page.waitForFunction((name) => document.querySelector('#layer-lower-third .lt:not(.fc-out) .lt-name')?.textContent === name, g.player.name, { timeout: 1000 });
  });

  it('name tags follow the faces and never cover them', async () => {
    let samples = 0;
    const started = Date.now();
    while (Date.now() - started < 8000) {
      const tags = await page.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>('#layer-name-tags .fc-name-tag:not(.fc-hidden):not(.fc-out)')].map((el) => {
          const r = el.getBoundingClientRect();
          const [x, y, w, h] = el.dataset.box!.split(',').map(Number);
          return { tag: { x: r.x, y: r.y, w: r.width, h: r.height }, box: { x: x!, y: y!, w: w!, h: h! } };
        }),
      );
      for (const { tag, box } of tags) {
        samples++;
        expect(overlaps(tag, box), `tag ${JSON.stringify(tag)} over face ${JSON.stringify(box)}`).toBe(false);
        // Next to its face: horizontally over it, and just above or below it.
        expect(tag.x < box.x + box.w && box.x < tag.x + tag.w).toBe(true);
        expect(Math.min(Math.abs(tag.y + tag.h - box.y), Math.abs(tag.y - (box.y + box.h)))).toBeLessThan(box.h);
      }
      await sleep(150);
    }
    expect(samples).toBeGreaterThan(10);
  });

  it('keeps the page transparent outside the graphics', async () => {
    // Tags move at the frame rate: the graphics' rects are read just before and just after the
    // screenshot, and a few tries are allowed for a tag that moved further in between.
    const rectsNow = () => page.evaluate(() => [...document.querySelectorAll('.fc-graphic')].map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
    const attempts: number[] = [];
    const firstOpaque: string[] = [];
    for (let attempt = 0; attempt < 3 && attempts.at(-1) !== 0; attempt++) {
      const before = await rectsNow();
      const png = await page.screenshot({ omitBackground: true });
      const rects = [...before, ...(await rectsNow())];
      expect(rects.length).toBeGreaterThan(0);
      const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      let opaque = 0;
      let sampled = 0;
      for (let y = 0; y < info.height; y += 4)
        for (let x = 0; x < info.width; x += 4) {
          // SHADOW px around each graphic for its drop shadow.
          if (rects.some((r) => x >= r.x - SHADOW && x <= r.right + SHADOW && y >= r.y - SHADOW && y <= r.bottom + SHADOW)) continue;
          sampled++;
          if (data[(y * info.width + x) * 4 + 3]! > 0) {
            opaque++;
            if (opaque === 1) firstOpaque.push(`(${x}, ${y}) near ${JSON.stringify(rects.map((r) => [r.x, r.y, r.right, r.bottom].map(Math.round)))}`);
          }
        }
      expect(sampled).toBeGreaterThan(50_000);
      attempts.push(opaque);
    }
    expect(attempts.at(-1), `opaque pixels outside the graphics per try: ${attempts.join(', ')}; first at ${firstOpaque.join('; ')}`).toBe(0);
    if (process.env.FACECAST_UPDATE_DOCS === '1') await writeDocsScreenshot();
  });

  /** docs/on-air.png for the README: the transparent page composited over the frame it annotates. */
  async function writeDocsScreenshot(): Promise<void> {
    const at = lastTagsPts % video.durationS;
    const png = await page.screenshot({ omitBackground: true });
    const frame = execFileSync('ffmpeg', ['-v', 'error', '-ss', at.toFixed(3), '-i', video.path, '-frames:v', '1', '-vf', 'scale=1920:1080', '-f', 'image2pipe', '-vcodec', 'png', '-'], { maxBuffer: 64 << 20 });
    const out = fileURLToPath(new URL('../docs/on-air.png', import.meta.url));
    // sharp resizes before it composites within one pipeline: composite first, then scale.
    const composited = await sharp(frame).composite([{ input: png }]).png().toBuffer();
    await sharp(composited).resize(1280, 720).png().toFile(out);
    console.log(`wrote ${out} (frame at ${at.toFixed(2)} s)`);
  }

  it('shows a stats update from a feed on the lower third on air', async () => {
    const g = await until('a lower third on air', 60_000, () => running.channels.get('1')!.state().onAir.lowerThird);
    const res = await api(`/api/players/${g.player.id}/stats`, { method: 'PATCH', body: JSON.stringify({ goals: 987 }) });
    expect(res.status).toBe(200);
    await page.waitForFunction(
      (id) => {
        const el = document.querySelector<HTMLElement>(`#layer-lower-third [data-graphic-id="${id}"]`);
        return el?.querySelector('.lt-stats')?.textContent?.includes('987') ?? false;
      },
      g.id,
      { timeout: 1000 },
    );
  });

  it('refuses output pages and sockets without the right key, and the API without the token', async () => {
    for (const q of ['', '?key=wrong&channel=1']) expect((await fetch(`${running.url}/graphics${q}`)).status).toBe(401);
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${running.url.replace('http', 'ws')}/ws?role=graphics&channel=1&key=wrong`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(code).toBe(401);
    for (const path of ['/api/channels', '/metrics', '/api/as-run']) expect((await fetch(`${running.url}${path}`)).status).toBe(401);
  });

  it('answers bad commands with clear errors and keeps running', async () => {
    const refused = await api('/api/channels/1/source', { method: 'PUT', body: JSON.stringify({ url: 'gopher://example.com/match' }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/gopher/);
    const unknown = await api('/api/channels/1/take', { method: 'POST', body: JSON.stringify({ playerId: 'nobody' }) });
    expect(unknown.status).toBe(404);
    const malformed = await api('/api/channels/1/mode', { method: 'PUT', body: JSON.stringify({ mode: 'sometimes' }) });
    expect(malformed.status).toBe(400);
    const info = (await (await api('/api/channels/1')).json()) as { channel: { source: { status: string } } };
    expect(info.channel.source.status).toBe('playing');
  });

  it('delivers a take to 50 graphics pages at once, logs it as-run and counts it in /metrics', async () => {
    const base = running.url.replace('http', 'ws');
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => {
        const ws = new WebSocket(`${base}/ws?role=graphics&channel=1&key=${KEY}`);
        const got: ServerMessage[] = [];
        ws.on('message', (d) => got.push(JSON.parse(String(d)) as ServerMessage));
        return new Promise<{ ws: WebSocket; got: ServerMessage[] }>((resolve, reject) => {
          ws.on('open', () => resolve({ ws, got }));
          ws.on('error', reject);
        });
      }),
    );
    await until('every client synced', 10_000, () => clients.every((c) => c.got.some((m) => m.type === 'state')));
    const player = roster.players.at(-1)!;
    const res = await api('/api/channels/1/take', { method: 'POST', body: JSON.stringify({ playerId: player.id }), headers: { 'x-facecast-operator': 'test' } });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { state: ChannelState }).state.onAir.lowerThird!.id;
    await until('the take on all 50', 5000, () =>
      clients.every((c) => c.got.some((m) => m.type === 'state' && m.state.onAir.lowerThird?.id === id)),
    );
    for (const c of clients) c.ws.close();
    const asRun = (await (await api('/api/as-run?channel=1')).json()) as { entries: { action: string; playerId: string; by: string }[] };
    expect(asRun.entries.some((e) => e.action === 'take' && e.playerId === player.id && e.by === 'api:test')).toBe(true);
    expect(asRun.entries.some((e) => e.action === 'take' && e.by === 'auto')).toBe(true);
    const metrics = await (await api('/metrics')).text();
    expect(metrics).toMatch(/^facecast_takes_total\{channel="1",mode="auto",by="auto"\} [1-9]/m);
    expect(metrics).toMatch(/^facecast_frames_total\{channel="1"\} [1-9]/m);
    const outputs = (await (await api('/api/outputs')).json()) as { channels: { id: string; graphics: string; obs: string }[] };
    const graphics = new URL(outputs.channels[0]!.graphics);
    expect([graphics.port, graphics.pathname, graphics.searchParams.get('key'), graphics.searchParams.get('channel')]).toEqual([String(running.port), '/graphics', KEY, '1']);
    expect(outputs.channels[0]!.obs).toContain('layer-width=1920');
    const timing = (await (await api('/api/timing')).json()) as { channels: { id: string; recommendedDelayMs: number; advice: string }[] };
    expect(timing.channels[0]!.recommendedDelayMs).toBeGreaterThan(0);
    console.log(`graphics delay advice: ${timing.channels[0]!.advice}`);
  });

  it('takes the name tags off within lostMs when a live feed stalls, long before the ingest watchdog', async () => {
    // The demo video as a live MPEG-TS feed over loopback UDP (copied, not re-encoded) replaces the
    // file on channel 1, so the page shows its tags; the file comes back afterwards.
    const port = await freeUdpPort();
    const sender = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', video.path, '-c:v', 'copy', '-an', '-f', 'mpegts', `udp://127.0.0.1:${port}?localaddr=127.0.0.1&pkt_size=1316`], { stdio: 'ignore' });
    const tags: { at: number; names: string[] }[] = [];
    // The stall: facecast's own ffmpeg stops delivering, paused the moment named tags went out
    // (pausing the sender would not do on a busy machine, where that ffmpeg still decodes seconds
    // of buffered UDP packets).
    let receiver = 0;
    let stoppedAt = 0;
    const record = (m: Extract<ServerMessage, { type: 'tags' }>) => {
      tags.push({ at: Date.now(), names: m.tags.map((t) => t.name) });
      if (receiver && !stoppedAt && m.tags.length > 0) {
        process.kill(receiver, 'SIGSTOP');
        stoppedAt = Date.now();
      }
    };
    const controller = running.channels.get('1')!.controller;
    controller.on('tags', record);
    const ffmpegPids = () => {
      try {
        return execFileSync('pgrep', ['-f', `udp://127.0.0.1:${port}`], { encoding: 'utf8' }).split('\n').map(Number).filter((pid) => pid > 0);
      } catch {
        return []; // pgrep exits 1 when nothing matches
      }
    };
    const lostMs = config.overlay.lostMs;
    try {
      await running.channels.attach('1', `udp://127.0.0.1:${port}?localaddr=127.0.0.1`);
      await until('the live feed playing', 60_000, () => running.channels.get('1')!.info().source.status === 'playing');
      tags.length = 0; // from here on, only the live feed's
      receiver = await until(`facecast's ffmpeg for the feed (sender ${sender.pid})`, 10_000, () => ffmpegPids().find((pid) => pid !== sender.pid));
      await until('named tags from the live feed, and the stall', 120_000, () => stoppedAt);
      await page.waitForFunction(() => document.querySelectorAll('#layer-name-tags .fc-name-tag:not(.fc-out)').length > 0, null, { timeout: 1000 });
      const clear = await until('the tags clear', 15_000, () => {
        for (let i = 1; i < tags.length; i++) if (tags[i]!.at > stoppedAt && tags[i]!.at - tags[i - 1]!.at >= lostMs * 0.9) return { i, gap: tags[i]!.at - tags[i - 1]!.at };
        return null;
      });
      const named = tags.slice(0, clear.i).filter((t) => t.at > stoppedAt - 2000 && t.names.length > 0);
      console.log(`stall: tags (${named.at(-1)?.names.join(', ') ?? 'none'} just before) cleared ${clear.gap} ms after the last frame's (lostMs ${lostMs})`);
      expect(named.length).toBeGreaterThan(0);
      expect(tags[clear.i]!.names).toEqual([]);
      expect(clear.gap).toBeLessThanOrEqual(lostMs + 500);
      await page.waitForFunction(() => document.querySelectorAll('#layer-name-tags .fc-name-tag:not(.fc-out)').length === 0, null, { timeout: 1000 });
      expect(running.channels.get('1')!.info().source.status).toBe('playing');
    } finally {
      if (stoppedAt) process.kill(receiver, 'SIGCONT');
      sender.kill('SIGKILL');
      controller.off('tags', record);
      await attachDemo(running);
    }
  }, 180_000);

  it('keeps channels apart: a page for channel 2 sees channel 2 only', async () => {
    const base = running.url.replace('http', 'ws');
    const open = (channel: string) => {
      const ws = new WebSocket(`${base}/ws?role=graphics&channel=${channel}&key=${KEY}`);
      const got: ServerMessage[] = [];
      ws.on('message', (d) => got.push(JSON.parse(String(d)) as ServerMessage));
      return new Promise<{ ws: WebSocket; got: ServerMessage[] }>((resolve, reject) => {
        ws.on('open', () => resolve({ ws, got }));
        ws.on('error', reject);
      });
    };
    // Channel 2 has no source yet: an output page may still connect (the OBS scene is set up first).
    const two = await open('2');
    const one = await open('1');
    await until('both synced', 5000, () => [one, two].every((c) => c.got.some((m) => m.type === 'state')));
    const player = roster.players[0]!;
    const res = await api('/api/channels/2/take', { method: 'POST', body: JSON.stringify({ playerId: player.id }) });
    expect(res.status).toBe(200);
    await until('the take on channel 2', 5000, () => two.got.some((m) => m.type === 'state' && m.state.channel === '2' && m.state.onAir.lowerThird?.player.id === player.id));
    expect(one.got.every((m) => m.type !== 'state' || m.state.channel === '1')).toBe(true);
    expect(two.got.every((m) => m.type !== 'tags')).toBe(true);
    for (const c of [one, two]) c.ws.close();
    expect((await api('/api/channels/2/clear', { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it('resyncs the page to the new server after a restart, with nothing stale on air', async () => {
    await until('a lower third on air', 60_000, () => running.channels.get('1')!.state().onAir.lowerThird);
    const before = await page.evaluate(() => window.facecast.onAir?.id ?? null);
    expect(before).not.toBeNull();
    const port = running.port;
    await running.close();
    await page.waitForFunction(() => window.facecast.connected === false, null, { timeout: 10_000 });
    running = await start(port);
    await page.waitForFunction(() => window.facecast.connected === true, null, { timeout: 20_000 });
    // The new server has nothing on air yet: the old graphic must be gone from the page.
    const state = running.channels.get('1')!.state();
    expect(state.onAir.lowerThird).toBeNull();
    await page.waitForFunction(() => document.querySelectorAll('#layer-lower-third .lt:not(.fc-out)').length === 0, null, { timeout: 2000 });
    await attachDemo(running);
    const g = await until('a take after the restart', 120_000, () => running.channels.get('1')!.state().onAir.lowerThird);
    await page.waitForFunction((id) => window.facecast.onAir?.id === id, g.id, { timeout: 2000 });
  });
});
