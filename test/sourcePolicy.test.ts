// What an operator may attach, what the server tells about it, and which secrets it keeps: a real
// server (startServer) with a media root, the loopback allowed as a stream host, a real ffmpeg and
// loopback-only HLS and UDP sources. Every log line is captured, at trace level, to look for secrets.
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/load.ts';
import { FfmpegFrameSource, SourcePolicy, type Frame } from '../src/ingest/index.ts';
import { startServer, type RunningServer } from '../src/server/app.ts';
import type { ServerMessage } from '../src/shared/protocol.ts';
import { tempDir } from './helpers/fixtures.ts';
import { freeUdpPort, makeClip, makeHls, serveDir, startUdpSender, stopProcess } from './helpers/ingestMedia.ts';

const LOST_MS = 1500;
const PUBLIC_URL = 'https://graphics.example.com';
const VMIX = 'http://vmix-host:8088';

type ChannelInfo = { id: string; source: { url: string | null; status: string; detail: string | null } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, poll: () => Promise<T | null | undefined | false> | T | null | undefined | false): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await poll();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The HLS test playlist rewritten so its segments are absolute URLs on another loopback address. */
function playlistWithSegmentsAt(dir: string, base: string): string {
  const text = readFileSync(join(dir, 'index.m3u8'), 'utf8');
  const moved = join(dir, 'moved.m3u8');
  writeFileSync(moved, text.replace(/^(index\d+\.ts)$/gm, `${base}/$1`));
  return moved;
}

describe('sources, secrets and outputs on a real server', () => {
  const lines: string[] = [];
  let running: RunningServer;
  let root: string;
  let outside: string;
  let clip: string;
  let hlsDir: string;
  let hls: Awaited<ReturnType<typeof serveDir>>;
  let segmentServer: Server;
  let segmentHits = 0;
  let segmentBase: string;
  let sender: ChildProcess | undefined;

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${running.url}${path}`, { ...init, headers: { authorization: `Bearer ${running.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const attach = (channel: string, url: string) => api(`/api/channels/${channel}/source`, { method: 'PUT', body: JSON.stringify({ url }) });
  const channel = async (id: string) => ((await (await api(`/api/channels/${id}`)).json()) as { channel: ChannelInfo }).channel;

  beforeAll(async () => {
    root = tempDir('facecast-media-');
    outside = tempDir('facecast-outside-');
    clip = makeClip(root, 'clip.mp4', { width: 160, height: 120, rate: 10, seconds: 2 });
    makeClip(outside, 'secret.mp4', { width: 160, height: 120, rate: 10, seconds: 1 });
    execFileSync('mkfifo', [join(root, 'pipe.fifo')]);
    symlinkSync('/etc/passwd', join(root, 'passwd.mp4'));
    symlinkSync(join(outside, 'secret.mp4'), join(root, 'link-out.mp4'));
    mkdirSync(join(root, 'sub'));
    hlsDir = tempDir('facecast-hls-');
    makeHls(hlsDir, 3);
    hls = await serveDir(hlsDir);
    // The segments of moved.m3u8 live here, on 127.0.0.2: a host the policy does not allow.
    segmentServer = createServer((req, res) => {
      segmentHits++;
      res.writeHead(200, { 'content-type': 'video/mp2t' }).end(readFileSync(join(hlsDir, (req.url ?? '/').slice(1).split('?')[0] || 'none')));
    });
    await new Promise<void>((resolve) => segmentServer.listen(0, '127.0.0.2', resolve));
    segmentBase = `http://127.0.0.2:${(segmentServer.address() as AddressInfo).port}`;
    playlistWithSegmentsAt(hlsDir, segmentBase);

    const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: tempDir(),
        logLevel: 'trace',
        vision: { backend: 'wasm', pool: { workers: 1 } },
        // No token, key or password configured: the server makes them up, and must not log them.
        server: { host: '127.0.0.1', port: 0, apiToken: '', outputKey: '', operatorPassword: '', production: false, publicUrl: PUBLIC_URL, channels: ['1', '2'], frameAncestors: [VMIX], maxWebSockets: 4 },
        ingest: { mediaRoots: [root], allowHosts: ['127.0.0.1'], stallTimeoutSec: 10, probeSec: 1, fps: 5, maxWidth: 160, maxHeight: 160, reconnect: { baseMs: 200, jitter: 0 } },
        overlay: { lostMs: LOST_MS },
      },
    });
    running = await startServer(config, log);
  }, 120_000);

  afterAll(async () => {
    await stopProcess(sender);
    await running?.close();
    await hls?.close();
    segmentServer?.closeAllConnections();
    await new Promise<void>((resolve) => (segmentServer ? segmentServer.close(() => resolve()) : resolve()));
    for (const d of [root, outside, hlsDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('refuses local paths outside the media roots, devices, FIFOs and symlinks out, all with the same error', async () => {
    const paths = ['/etc/passwd', '/dev/zero', '/proc/self/environ', '/etc/shadow', join(root, 'pipe.fifo'), join(root, 'missing.mp4'), join(root, 'passwd.mp4'), join(root, 'link-out.mp4'), join(outside, 'secret.mp4'), join(root, 'sub'), join(root, '..', 'x.mp4')];
    const answers: string[] = [];
    for (const path of paths) {
      const res = await attach('2', path);
      expect(res.status, path).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('INPUT_REFUSED');
      answers.push(error.message.split(path).join('<path>'));
    }
    console.log(`refusal: ${answers[0]}`);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatch(/ingest\.mediaRoots/);
    expect((await channel('2')).source).toMatchObject({ url: null, status: 'idle' });
    // No ffmpeg was ever started for them.
    expect(lines.some((l) => l.includes('ffmpeg started'))).toBe(false);
    const device = await attach('2', '/dev/video0');
    expect(device.status).toBe(400);
    expect(((await device.json()) as { error: { message: string } }).error.message).toMatch(/ingest\.captureDevices/);
  });

  it('plays a file inside a media root', async () => {
    expect((await attach('2', clip)).status).toBe(200);
    await until('the clip playing or done', 60_000, async () => ['playing', 'ended'].includes((await channel('2')).source.status));
    expect((await api('/api/channels/2/source', { method: 'DELETE' })).status).toBe(200);
  }, 90_000);

  it('refuses internal hosts unless allowed, and a UDP listener on every interface', async () => {
    for (const url of ['rtmp://127.0.0.2/live/x', 'http://169.254.169.254/latest/index.m3u8', 'srt://127.0.0.3:9000', 'http://[::1]:8686/x.m3u8', 'rtmp://2130706434/live/x', 'http://10.1.2.3/a.m3u8', 'rtp://192.168.1.20:5004?localaddr=127.0.0.1']) {
      const res = await attach('2', url);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message, url).toMatch(/not allowed: .*ingest\.allowHosts/);
    }
    const listen = await attach('2', 'udp://@:15999');
    expect(listen.status).toBe(400);
    expect(((await listen.json()) as { error: { message: string } }).error.message).toMatch(/every network interface.*localaddr/);
  });

  it('refuses an HLS playlist whose segments are on a host that is not allowed; nothing reaches that host', async () => {
    const res = await attach('2', `${hls.url}/moved.m3u8`);
    expect(res.status).toBe(200); // the playlist's own host is allowed
    const info = await until('the policy refusal', 30_000, async () => {
      const c = await channel('2');
      return c.source.status === 'error' ? c : null;
    });
    expect(info.source.detail).toMatch(/refused by the source policy/);
    expect(info.source.detail).not.toMatch(/127\.0\.0\.2|403|Forbidden/);
    expect(segmentHits).toBe(0);
    expect(lines.some((l) => /request to host 127\.0\.0\.2 refused by the source policy/.test(l))).toBe(true);
    await api('/api/channels/2/source', { method: 'DELETE' });
  }, 60_000);

  it('lets the same playlist through the checking proxy once the segment host is allowed', async () => {
    const policy = new SourcePolicy({ mediaRoots: [], captureDevices: [], allowHosts: ['127.0.0.0/8'], denyHosts: [], onlyAllowedHosts: false, listenAnyAddress: false });
    const input = await policy.check(`${hls.url}/moved.m3u8`);
    const src = new FfmpegFrameSource({ input, fps: 5, maxWidth: 160, maxHeight: 160, live: false, hlsProxy: () => policy.hlsProxyUrl() });
    const frames: Frame[] = [];
    for await (const f of src) frames.push(f);
    await policy.close();
    expect(frames.length).toBeGreaterThanOrEqual(10);
    expect(segmentHits).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('checks https playlists and segments too (CONNECT through the proxy)', async () => {
    const dir = tempDir('facecast-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    let tlsSegmentHits = 0;
    const serve = (host: string, count: boolean) =>
      new Promise<HttpsServer>((resolve) => {
        const server = createHttpsServer(tls, (req, res) => {
          if (count) tlsSegmentHits++;
          const name = (req.url ?? '/').slice(1).split('?')[0] || 'none';
          res.writeHead(200).end(readFileSync(join(hlsDir, name)));
        });
        server.listen(0, host, () => resolve(server));
      });
    const [playlists, segments] = await Promise.all([serve('127.0.0.1', false), serve('127.0.0.2', true)]);
    const port = (s: HttpsServer) => (s.address() as AddressInfo).port;
    const text = readFileSync(join(hlsDir, 'index.m3u8'), 'utf8');
    writeFileSync(join(hlsDir, 'tls.m3u8'), text.replace(/^(index\d+\.ts)$/gm, `https://127.0.0.2:${port(segments)}/$1`));
    const url = `https://127.0.0.1:${port(playlists)}/tls.m3u8`;
    try {
      expect((await attach('2', url)).status).toBe(200);
      const info = await until('the policy refusal', 30_000, async () => {
        const c = await channel('2');
        return c.source.status === 'error' ? c : null;
      });
      expect(info.source.detail).toMatch(/refused by the source policy/);
      expect(tlsSegmentHits).toBe(0);
      await api('/api/channels/2/source', { method: 'DELETE' });

      const policy = new SourcePolicy({ mediaRoots: [], captureDevices: [], allowHosts: ['127.0.0.0/8'], denyHosts: [], onlyAllowedHosts: false, listenAnyAddress: false });
      const src = new FfmpegFrameSource({ input: await policy.check(url), fps: 5, maxWidth: 160, maxHeight: 160, live: false, hlsProxy: () => policy.hlsProxyUrl() });
      const frames: Frame[] = [];
      for await (const f of src) frames.push(f);
      await policy.close();
      expect(frames.length).toBeGreaterThanOrEqual(10);
      expect(tlsSegmentHits).toBeGreaterThanOrEqual(3);
    } finally {
      for (const s of [playlists, segments]) {
        s.closeAllConnections();
        s.close();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('reports a failed source as a category, not ffmpeg\'s words', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    expect((await attach('2', `rtmp://127.0.0.1:${closed}/live/x`)).status).toBe(200);
    const info = await until('a failure', 30_000, async () => {
      const c = await channel('2');
      return c.source.detail?.includes('cannot connect') ? c : null;
    });
    expect(info.source.detail).not.toMatch(/refused|Connection|127\.0\.0\.1/i);
    // The full line is in the log.
    expect(lines.some((l) => l.includes('Connection refused'))).toBe(true);
    await api('/api/channels/2/source', { method: 'DELETE' });
  }, 60_000);

  it('clears the name tags within lostMs when a live source stalls', async () => {
    const port = await freeUdpPort();
    sender = startUdpSender(port);
    const tags: { at: number; msg: Extract<ServerMessage, { type: 'tags' }> }[] = [];
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/ws?role=graphics&channel=2&key=${encodeURIComponent(running.outputKey)}`);
    ws.on('message', (d) => {
      const msg = JSON.parse(String(d)) as ServerMessage;
      if (msg.type === 'tags') tags.push({ at: Date.now(), msg });
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    expect((await attach('2', `udp://127.0.0.1:${port}?localaddr=127.0.0.1`)).status).toBe(200);
    await until('tags at the frame rate', 60_000, () => tags.length >= 10);
    sender.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      // Frames already on their way still come; then nothing for lostMs, then the clear.
      const clear = await until('a tags clear after the stall', 10_000, () => {
        for (let i = 1; i < tags.length; i++) if (tags[i]!.at > stoppedAt && tags[i]!.at - tags[i - 1]!.at >= LOST_MS * 0.9) return { gap: tags[i]!.at - tags[i - 1]!.at, msg: tags[i]!.msg };
        return null;
      });
      console.log(`tags cleared ${clear.gap} ms after the last frame's tags (lostMs ${LOST_MS})`);
      expect(clear.msg.tags).toEqual([]);
      expect(clear.gap).toBeLessThanOrEqual(LOST_MS + 500);
      // Long before the ingest watchdog (stallTimeoutSec 10) calls the source stalled.
      expect((await channel('2')).source.status).toBe('playing');
    } finally {
      sender.kill('SIGCONT');
      ws.close();
      await api('/api/channels/2/source', { method: 'DELETE' });
    }
  }, 120_000);

  it('keeps secrets out of the log, and /healthz and /api/outputs tell strangers nothing', async () => {
    // An internal error and a failed login, for good measure.
    await fetch(`${running.url}/api/channels/1/take?token=${running.token}`, { method: 'POST', headers: { authorization: `Bearer ${running.token}` }, body: '{' });
    expect(running.tokenGenerated && running.outputKeyGenerated && running.operatorPassword).toBeTruthy();
    for (const secret of [running.token, running.outputKey, running.operatorPassword!]) {
      const hits = lines.filter((l) => l.includes(secret));
      expect(hits, `secret in the log: ${hits[0]?.slice(0, 200)}`).toEqual([]);
    }
    expect(lines.length).toBeGreaterThan(20);

    expect(await (await fetch(`${running.url}/healthz`)).json()).toEqual({ ok: true });
    expect(await (await api('/healthz')).json()).toMatchObject({ ok: true, backend: 'wasm' });

    const outputs = (await (await api('/api/outputs', { headers: { host: 'evil.example' } })).json()) as { channels: { id: string; graphics: string }[] };
    expect(outputs.channels.map((c) => c.graphics.startsWith(`${PUBLIC_URL}/graphics?key=`))).toEqual(outputs.channels.map(() => true));
  });

  it('lets the output key open only existing channels, caps WebSockets, and sets frame-ancestors', async () => {
    const base = running.url.replace('http', 'ws');
    const connect = (query: string) =>
      new Promise<{ status: number; ws?: WebSocket; retryAfter?: string; body?: string }>((resolve) => {
        const ws = new WebSocket(`${base}/ws?${query}`);
        ws.on('open', () => resolve({ status: 101, ws }));
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
        });
      });
    const key = `key=${encodeURIComponent(running.outputKey)}`;
    expect((await connect(`role=graphics&channel=7&${key}`)).status).toBe(404);
    expect(running.channels.get('7')).toBeUndefined();
    const open = [await connect(`role=graphics&channel=2&${key}`), await connect(`role=graphics&channel=1&${key}`)];
    // An operator may create a channel; then pages may show it.
    open.push(await connect(`role=operator&channel=7&token=${encodeURIComponent(running.token)}`));
    open.push(await connect(`role=graphics&channel=7&${key}`));
    expect(open.map((c) => c.status)).toEqual([101, 101, 101, 101]);
    const over = await connect(`role=graphics&channel=1&${key}`);
    expect(over.status).toBe(503);
    expect(over.retryAfter).toBe('5');
    expect(JSON.parse(over.body!).error.code).toBe('TOO_MANY_CONNECTIONS');
    for (const c of open) c.ws!.close();
    await until('a free slot', 5000, async () => {
      const again = await connect(`role=graphics&channel=1&${key}`);
      again.ws?.close();
      return again.status === 101;
    });

    const graphics = await fetch(`${running.url}/graphics?${key}&channel=1`);
    expect(graphics.headers.get('content-security-policy')).toMatch(new RegExp(`frame-ancestors 'self' ${VMIX}`));
    const login = await fetch(`${running.url}/login`);
    expect(login.headers.get('content-security-policy')).toMatch(new RegExp(`frame-ancestors ${VMIX}(;|$)`));
  });
});
