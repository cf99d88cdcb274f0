// Live inputs on loopback only: an ffmpeg process sends MPEG-TS to udp://127.0.0.1:<port>, and a
// node http server on 127.0.0.1 serves HLS. Nothing leaves the machine.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegFrameSource, IngestError, type Frame } from '../src/ingest/index.ts';
import { tempDir } from './helpers/fixtures.ts';
import { freeUdpPort, makeHls, recordStatuses, serveDir, startUdpSender, stopProcess, waitForStatus } from './helpers/ingestMedia.ts';

/** Pull frames until `until` says enough; the iterator stays usable. */
async function pull(it: AsyncIterator<Frame>, into: Frame[], until: (f: Frame) => boolean): Promise<void> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error('source ended');
    into.push(r.value);
    if (until(r.value)) return;
  }
}

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

describe('live UDP input', () => {
  let port: number;
  let sender: ChildProcess;

  beforeAll(async () => {
    port = await freeUdpPort();
    sender = startUdpSender(port);
  });
  afterAll(() => stopProcess(sender));

  const udpSource = (stallTimeoutSec: number) =>
    new FfmpegFrameSource({
      input: `udp://127.0.0.1:${port}?localaddr=127.0.0.1`,
      channel: 'udp',
      fps: 5,
      maxWidth: 160,
      maxHeight: 160,
      stallTimeoutSec,
      probeSec: 1,
      reconnect: { baseMs: 200, jitter: 0 },
    });

  it('reconnects after its ffmpeg is killed (SIGKILL) and frames continue', async () => {
    const src = udpSource(10);
    const statuses = recordStatuses(src);
    const it = src[Symbol.asyncIterator]();
    const frames: Frame[] = [];
    await pull(it, frames, () => frames.length >= 3);
    const firstPid = src.childPid;
    expect(src.killChild('SIGKILL')).toBe(true);
    const before = frames.length;
    await pull(it, frames, (f) => f.seq >= before && src.childPid !== firstPid && statuses.some((s) => s.state === 'reconnecting'));
    await pull(it, frames, () => frames.length >= before + 4);
    await src.stop();

    expect(statuses).toContainEqual(expect.objectContaining({ state: 'error', kind: 'killed', fatal: false }));
    expect(statuses).toContainEqual(expect.objectContaining({ state: 'reconnecting', attempt: 1, delayMs: 200 }));
    const states = statuses.map((s) => s.state);
    expect(states.lastIndexOf('playing')).toBeGreaterThan(states.indexOf('reconnecting'));
    expect(src.childPid).toBeUndefined();
    expect(increasing(frames.map((f) => f.seq))).toBe(true);
    // -copyts: the sender's clock carries on across our reconnect, so pts keep increasing.
    expect(increasing(frames.map((f) => f.pts))).toBe(true);
    expect(frames.every((f) => f.width === 160 && f.height === 120)).toBe(true);
  });

  it('the watchdog restarts an input that stalls (the sender pauses)', async () => {
    const src = udpSource(2);
    const statuses = recordStatuses(src);
    const it = src[Symbol.asyncIterator]();
    const frames: Frame[] = [];
    await pull(it, frames, () => frames.length >= 2);
    sender.kill('SIGSTOP');
    let stalledAt = Infinity;
    try {
      const stalled = await waitForStatus(src, (s) => s.state === 'error' && s.kind === 'stalled', 10_000);
      stalledAt = Date.now();
      expect(stalled).toMatchObject({ fatal: false, message: expect.stringMatching(/No frame from udp:\/\/127\.0\.0\.1:\d+.* for 2 s: the input stalled — restarting it\./) });
    } finally {
      sender.kill('SIGCONT');
    }
    // Frames buffered before the stall come first; wait for ones from the restarted ffmpeg.
    await pull(it, frames, (f) => f.wallMs > stalledAt);
    await src.stop();
    const states = statuses.map((s) => s.state);
    expect(states.indexOf('reconnecting')).toBeGreaterThan(states.indexOf('error'));
    expect(states.lastIndexOf('playing')).toBeGreaterThan(states.indexOf('reconnecting'));
  });
});

describe('live errors', () => {
  it('retries a refused connection with backoff, then gives up after maxAttempts', async () => {
    const empty = tempDir('facecast-closed-');
    const server = await serveDir(empty);
    const url = `${server.url}/live.m3u8`;
    await server.close(); // nothing listens there any more
    rmSync(empty, { recursive: true });
    const src = new FfmpegFrameSource({ input: url, reconnect: { baseMs: 100, factor: 3, jitter: 0, maxAttempts: 2 } });
    const statuses = recordStatuses(src);
    const error = await (async () => {
      for await (const _ of src) throw new Error('no frame may come through');
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'refused', message: expect.stringMatching(/^Gave up on http:\/\/127\.0\.0\.1:\d+\/live\.m3u8 after 2 attempts: Connection refused by .* check host and port/) });
    expect(statuses.filter((s) => s.state === 'reconnecting').map((s) => s.state === 'reconnecting' && s.delayMs)).toEqual([100, 300]);
    expect(statuses.filter((s) => s.state === 'error').map((s) => s.state === 'error' && s.fatal)).toEqual([false, false, false, true]);
  });
});

describe('HLS over http://127.0.0.1', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serveDir>>;

  beforeAll(async () => {
    dir = tempDir('facecast-hls-');
    makeHls(dir, 2);
    // The same playlist, but its segments point at local files: must be refused.
    const playlist = readFileSync(join(dir, 'index.m3u8'), 'utf8');
    writeFileSync(join(dir, 'evil.m3u8'), playlist.replace(/^index(\d+)\.ts$/gm, `file://${dir}/index$1.ts`));
    server = await serveDir(dir);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays a playlist through the http whitelist', async () => {
    const src = new FfmpegFrameSource({ input: `${server.url}/index.m3u8`, live: false, fps: 5, maxWidth: 160, maxHeight: 160 });
    const frames: Frame[] = [];
    for await (const f of src) frames.push(f);
    expect(frames.length).toBeGreaterThanOrEqual(10);
    expect(frames.length).toBeLessThanOrEqual(11);
    expect(src.status).toEqual({ state: 'ended', reason: 'eof' });
  });

  it('refuses a playlist that points at local files, even for a live input', async () => {
    const src = new FfmpegFrameSource({ input: `${server.url}/evil.m3u8`, fps: 5 });
    const error = await (async () => {
      for await (const _ of src) throw new Error('no frame may come through');
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ kind: 'protocol', message: expect.stringMatching(/tried to open a file URL.*allowed: http,https,tcp,tls,crypto/) });
  });
});
