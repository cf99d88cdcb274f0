// The grabber on real files made with ffmpeg, plus its pure parts: the input whitelist, the
// stderr classifier, the command line, backoff and the frame queue.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayFrameSource,
  FfmpegFrameSource,
  FrameQueue,
  INGEST_DEFAULTS,
  IngestError,
  InputRefusedError,
  backoffDelay,
  classifyFfmpegStderr,
  describeFailure,
  ingestConfigSchema,
  parseInput,
  parseShowinfo,
  redact,
  syntheticFrames,
  type Frame,
} from '../src/ingest/index.ts';
import { buildFilterChain, buildInputOptions, buildOutputOptions } from '../src/ingest/args.ts';
import { tempDir } from './helpers/fixtures.ts';
import { makeClip, recordStatuses, sleep, waitForStatus } from './helpers/ingestMedia.ts';

async function take(source: AsyncIterable<Frame>, max = Infinity): Promise<Frame[]> {
  const frames: Frame[] = [];
  for await (const frame of source) {
    frames.push(frame);
    if (frames.length >= max) break;
  }
  return frames;
}

const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('input whitelist', () => {
  it('accepts file paths, rtmp(s), srt, udp, rtp, HLS and V4L2 devices with a protocol whitelist each', () => {
    const file = parseInput('clips/match.mp4');
    expect(file).toMatchObject({ kind: 'file', live: false, protocolWhitelist: 'file' });
    expect(file.ffmpegInput).toBe(`file:${join(process.cwd(), 'clips/match.mp4')}`);
    expect(parseInput('/videos/a:b.ts').ffmpegInput).toBe('file:/videos/a:b.ts');
    expect(parseInput('rtmp://live.example/app/secretkey')).toMatchObject({ kind: 'rtmp', live: true, protocolWhitelist: 'rtmp,tcp', display: 'rtmp://live.example/app/***' });
    expect(parseInput('rtmps://live.example/app/k').protocolWhitelist).toBe('rtmps,tcp,tls');
    expect(parseInput('srt://10.0.0.2:9000?mode=caller&passphrase=hunter22hunter')).toMatchObject({ kind: 'srt', protocolWhitelist: 'srt' });
    expect(parseInput('udp://@:5000').protocolWhitelist).toBe('udp');
    expect(parseInput('rtp://239.0.0.1:5004').protocolWhitelist).toBe('rtp,udp');
    const hls = parseInput('https://cdn.example/live/index.m3u8?token=abc');
    expect(hls).toMatchObject({ kind: 'hls', format: 'hls', network: true, display: 'https://cdn.example/live/index.m3u8?token=***' });
    expect(hls.protocolWhitelist.split(',')).not.toContain('file');
    expect(parseInput('/dev/video0', 'linux')).toMatchObject({ kind: 'device', format: 'v4l2', ffmpegInput: '/dev/video0', live: true });
    expect(parseInput('device:/dev/video2?video_size=1280x720&framerate=30&input_format=mjpeg', 'linux').inputOptions).toEqual([
      '-video_size', '1280x720', '-framerate', '30', '-input_format', 'mjpeg',
    ]);
  });

  it.each([
    ['concat:/a.ts|/b.ts', /protocol "concat" is not allowed/],
    ['file:///etc/passwd', /file: URLs are not accepted; give the plain path/],
    ['data:video/mp4;base64,AAAA', /protocol "data" is not allowed/],
    ['gopher://example.org/1', /protocol "gopher" is not allowed/],
    ['ftp://example.org/x.mp4', /protocol "ftp" is not allowed/],
    ['pipe:0', /protocol "pipe" is not allowed/],
    ['subfile:/etc/passwd', /protocol "subfile" is not allowed/],
    ['tcp://127.0.0.1:1234', /protocol "tcp" is not allowed/],
    ['device:/etc/passwd', /a capture device must be a path under \/dev/],
    ['device:/dev/video0?pixel_format=yuyv422', /unknown device setting "pixel_format"/],
    ['', /the input is empty/],
  ])('refuses %s with a clear message', (input, why) => {
    let error: unknown;
    try {
      parseInput(input, 'linux');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputRefusedError);
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toMatch(/Allowed: a file path .*rtmp:\/\/.*srt:\/\/.*udp:\/\/.*rtp:\/\/.*http\(s\):\/\/ HLS.*device/);
  });

  it('refuses capture devices off Linux and masks secrets for logs', () => {
    expect(() => parseInput('/dev/video0', 'darwin')).toThrow(/Linux \(V4L2\) only/);
    expect(redact('rtmp://user:pw@host/live/streamkey')).toBe('rtmp://***:***@host/live/***');
    expect(redact('srt://h:1?passphrase=x&latency=200')).toBe('srt://h:1?passphrase=***&latency=200');
  });
});

describe('ffmpeg stderr', () => {
  it.each([
    ['[tcp @ 0x5] Connection to tcp://127.0.0.1:1935 failed: Connection refused', 'refused', /nothing is listening there — check host and port/],
    ['[https @ 0x5] HTTP error 401 Unauthorized\nServer returned 401 Unauthorized (authorization failed)', 'auth', /check the user name, password, stream key or token/],
    ['Server returned 403 Forbidden (access denied)', 'auth', /Access denied/],
    ['Server returned 404 Not Found', 'not-found', /Not found \(404\).*is being published/],
    ['/x/match.mp4: No such file or directory', 'not-found', /Not found: IN — check the path/],
    ['[mov,mp4 @ 0x5] moov atom not found\nIN: Invalid data found when processing input', 'invalid-data', /not a playable video.*check the source/],
    ['Decoder (codec av1) not found for input stream #0:0', 'unsupported-codec', /Unsupported codec \(av1\).*H\.264/],
    ['[tcp @ 0x5] Connection to tcp://10.1.1.1:1935 failed: Connection timed out', 'timeout', /Timed out waiting for IN: check the network/],
    ['[tcp @ 0x5] Failed to resolve hostname nohost: Name or service not known', 'unreachable', /does not resolve/],
    ["[file @ 0x5] Protocol 'file' not on whitelist 'http,https,tcp,tls,crypto'!\nIN: Invalid data found when processing input", 'protocol', /tried to open a file URL.*allowed: http,https,tcp,tls,crypto/],
    ['[video4linux2,v4l2 @ 0x5] Cannot open video device /dev/video0: No such file or directory', 'device', /v4l2-ctl --list-devices/],
    ['Output file #0 does not contain any stream', 'no-video', /audio or data only/],
    ['[udp @ 0x5] bind failed: Address already in use', 'busy', /already in use.*pick another port/],
    ['[srt @ 0x5] Connection to srt://h:9?mode=caller failed: Input/output error', 'refused', /SRT connection to IN failed.*passphrase/],
  ])('%s → %s', (stderr, kind, message) => {
    const c = classifyFfmpegStderr(stderr.split('\n'), 'IN');
    expect(c?.kind).toBe(kind);
    expect(c?.message).toMatch(message);
    expect(c?.message).not.toContain('\n');
  });

  it('falls back to ffmpeg\'s last error line, without repeating the input', () => {
    expect(describeFailure(['Stream mapping:', 'IN: Something odd happened'], 'IN', 'exit 1')).toEqual({
      kind: 'unknown',
      message: 'ffmpeg failed on IN: Something odd happened — run ffmpeg by hand with this input to see more.',
    });
  });

  it('ignores showinfo lines and parses them (ffmpeg 4 and 5 formats, NOPTS)', () => {
    expect(classifyFfmpegStderr(['[Parsed_showinfo_5 @ 0x1] n: 0 pts: 0 pts_time:0 pos: 1 fmt:rgb24 sar:1/1 s:2x2 i:P'], 'IN')).toBeNull();
    const v5 = '[Parsed_showinfo_5 @ 0x5] n:  12 pts:2400000 pts_time:2.4     duration:      1 duration_time:1e-06 pos:    94376 fmt:rgb24 sar:1/1 s:320x180 i:P iskey:0 type:P checksum:1';
    expect(parseShowinfo(v5)).toEqual({ n: 12, pts: 2.4, width: 320, height: 180 });
    const v4 = '[Parsed_showinfo_5 @ 0x259a] n:  19 pts:3800000 pts_time:3.8     pos:   867334 fmt:rgb24 sar:1/1 s:300x168 i:P iskey:0 type:P checksum:2C50A644';
    expect(parseShowinfo(v4)).toEqual({ n: 19, pts: 3.8, width: 300, height: 168 });
    expect(parseShowinfo('[Parsed_showinfo_5 @ 0x5] n:   0 pts:NOPTS pts_time:NOPTS pos: -1 fmt:rgb24 sar:1/1 s:64x48 i:P')?.pts).toBeNull();
    expect(parseShowinfo('[Parsed_showinfo_5 @ 0x5] color_range:pc color_space:gbr')).toBeNull();
  });
});

describe('command line, backoff, queue, config', () => {
  it('builds the filter chain and per-input options', () => {
    const chain = buildFilterChain({ fps: 5, maxWidth: 640, maxHeight: 360 });
    expect(chain).toMatch(/^select='isnan\(prev_t\)\+not\(eq\(floor\(t\*5\+0\.000001\),floor\(prev_t\*5\+0\.000001\)\)\)',scale=/);
    expect(chain).toMatch(/setsar=1,format=rgb24,settb=AVTB,showinfo$/);
    const o = { ...INGEST_DEFAULTS, realtime: true, loop: true };
    const file = buildInputOptions(parseInput('/a.mp4'), o);
    expect(file).toEqual(expect.arrayContaining(['-copyts', '-re', '-stream_loop', '-1']));
    expect(file.join(' ')).toContain('-protocol_whitelist file');
    const hls = buildInputOptions(parseInput('http://h/x.m3u8'), o);
    expect(hls.join(' ')).toContain('-protocol_whitelist http,https,tcp,tls,crypto -f hls');
    expect(hls).not.toContain('-re');
    expect(hls).not.toContain('-stream_loop');
    expect(hls.join(' ')).toContain('-rw_timeout 10000000');
    expect(hls.join(' ')).toContain('-analyzeduration 2000000');
    expect(file).not.toContain('-analyzeduration');
    const device = buildInputOptions(parseInput('device:/dev/video0?video_size=640x480', 'linux'), o).join(' ');
    expect(device).toContain('-f v4l2');
    expect(device).toMatch(/-video_size 640x480$/);
    expect(buildOutputOptions(o, '-vsync')).toEqual(expect.arrayContaining(['-vsync', 'passthrough', '-pix_fmt', 'rgb24', '-an']));
  });

  it('backs off exponentially up to the cap, with bounded jitter', () => {
    const cfg = { baseMs: 500, factor: 2, maxMs: 4000, jitter: 0.2, maxAttempts: 0 };
    expect([1, 2, 3, 4, 5, 9].map((n) => backoffDelay(n, cfg, () => 0.5))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    expect(backoffDelay(1, cfg, () => 0)).toBe(400);
    expect(backoffDelay(1, cfg, () => 1)).toBe(600);
  });

  it('a drop-oldest queue keeps the newest frames and counts drops; ArrayFrameSource feeds frames', async () => {
    const q = new FrameQueue({ policy: 'dropOldest', capacity: 2 });
    for (const f of syntheticFrames(5, { width: 4, height: 4 })) q.push(f);
    expect(q.dropped).toBe(3);
    expect((await q.next()).value?.seq).toBe(3);

    const src = new ArrayFrameSource(syntheticFrames(6, { width: 8, height: 6, fps: 5 }));
    const statuses = recordStatuses(src);
    const frames = await take(src);
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(frames[5].pts).toBeCloseTo(1);
    expect(frames[0].rgb).toHaveLength(8 * 6 * 3);
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'playing', 'ended']);

    const live = new ArrayFrameSource([], { live: true, bufferFrames: 1, keepOpen: true });
    for (const f of syntheticFrames(4, { width: 2, height: 2 })) live.push(f);
    live.fail('boom', 'refused');
    const it = live[Symbol.asyncIterator]();
    expect((await it.next()).value?.seq).toBe(3);
    await expect(it.next()).rejects.toThrow(IngestError);
    expect(live.dropped).toBe(3);
  });

  it('the config schema describes every field and accepts its defaults', () => {
    expect(ingestConfigSchema.parse(INGEST_DEFAULTS)).toEqual(INGEST_DEFAULTS);
    const walk = (schema: unknown, path: string, out: string[]) => {
      const s = schema as { description?: string; shape?: Record<string, unknown> };
      if (!s.description) out.push(path);
      if (s.shape) for (const [k, v] of Object.entries(s.shape)) walk(v, `${path}.${k}`, out);
      return out;
    };
    expect(walk(ingestConfigSchema, 'ingest', [])).toEqual([]);
  });
});

describe('FfmpegFrameSource on files', () => {
  let dir: string;
  let clip: string; // 640×360, 25 fps, 4 s
  let short: string; // 320×240, 25 fps, 2 s
  let anamorphic: string; // 480×360 stored, SAR 4:3 → 640×360 on screen

  beforeAll(() => {
    dir = tempDir('facecast-ingest-');
    clip = makeClip(dir, 'clip.mp4', { width: 640, height: 360, rate: 25, seconds: 4 });
    short = makeClip(dir, 'short.ts', { width: 320, height: 240, rate: 25, seconds: 2 });
    anamorphic = makeClip(dir, 'anamorphic.mp4', { width: 480, height: 360, rate: 25, seconds: 1, sar: '4/3' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('samples at fps with the source pts, at the working size, then ends', async () => {
    const src = new FfmpegFrameSource({ input: clip, channel: 'cam1', fps: 5, maxWidth: 320, maxHeight: 320 });
    const statuses = recordStatuses(src);
    const frames = await take(src);
    expect(frames).toHaveLength(20); // 4 s × 5 fps
    frames.forEach((f, i) => {
      expect(f).toMatchObject({ channel: 'cam1', seq: i, width: 320, height: 180 });
      expect(f.pts).toBeCloseTo(i * 0.2, 6); // 25 fps source: every 5th frame, exact times
      expect(f.rgb).toHaveLength(320 * 180 * 3);
    });
    for (let i = 1; i < frames.length; i++) expect(frames[i].wallMs).toBeGreaterThanOrEqual(frames[i - 1].wallMs);
    expect(Buffer.compare(frames[0].rgb, frames[1].rgb)).not.toBe(0); // testsrc2 moves
    expect(statuses.map((s) => s.state)).toEqual(['connecting', 'playing', 'ended']);
    expect(src.status).toEqual({ state: 'ended', reason: 'eof' });
    expect(src.dropped).toBe(0);
  });

  it('fits any box keeping aspect, never upscales, squares anamorphic pixels, even sides', async () => {
    const size = async (input: string, maxWidth: number, maxHeight: number) => {
      const [f] = await take(new FfmpegFrameSource({ input, fps: 1, maxWidth, maxHeight }), 1);
      return `${f.width}x${f.height}`;
    };
    const sizes = await Promise.all([size(clip, 1920, 1080), size(clip, 301, 1000), size(clip, 1000, 101), size(anamorphic, 320, 320)]);
    expect(sizes).toEqual(['640x360', '300x168', '178x100', '320x180']);
  });

  it('reads as fast as possible, or in real time (-re)', async () => {
    const span = (frames: Frame[]) => frames.at(-1)!.wallMs - frames[0].wallMs;
    const [fast, realtime] = await Promise.all([
      take(new FfmpegFrameSource({ input: short, fps: 5 })),
      take(new FfmpegFrameSource({ input: short, fps: 5, realtime: true })),
    ]);
    // pts of an MPEG-TS file keep the container's clock (ffmpeg's muxer starts it near 1.4 s,
    // not on a 0.2 s boundary), so 2 s touch 10 or 11 slots; after the first, each frame is the
    // first of its slot, on the 0.2 s grid of a 25 fps source.
    expect(fast.length === 10 || fast.length === 11).toBe(true);
    expect(fast[0].pts).toBeGreaterThan(1);
    fast.slice(1).forEach((f, i) => {
      expect(f.pts - fast[1].pts).toBeCloseTo(0.2 * i, 6);
      expect(f.pts * 5).toBeCloseTo(Math.round(f.pts * 5), 6);
    });
    expect(realtime.map((f) => f.pts)).toEqual(fast.map((f) => f.pts));
    expect(span(fast)).toBeLessThan(900);
    expect(span(realtime)).toBeGreaterThan(1500); // 1.8 s of video between first and last
  });

  it('backpressure: a slow consumer of a file pauses ffmpeg and still gets every frame', async () => {
    // 40 frames × 320×180×3 = 6.9 MB: far more than pipe buffers, so ffmpeg must wait for us.
    const src = new FfmpegFrameSource({ input: clip, fps: 10, maxWidth: 320, maxHeight: 320, fileReadAheadFrames: 2 });
    const it = src[Symbol.asyncIterator]();
    const first = await it.next();
    await sleep(1500);
    expect(src.status.state).toBe('playing'); // not ended: ffmpeg is blocked on its pipe
    expect(alive(src.childPid)).toBe(true);
    const frames = [first.value as Frame];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      frames.push(r.value);
      await sleep(10);
    }
    expect(frames.map((f) => f.seq)).toEqual([...Array(40).keys()]);
    expect(src.dropped).toBe(0);
    expect(src.status).toEqual({ state: 'ended', reason: 'eof' });
  });

  it('live mode: a slow consumer gets the newest frames and drops are counted', async () => {
    const src = new FfmpegFrameSource({
      input: clip, live: true, fps: 25, maxWidth: 160, maxHeight: 160, liveBufferFrames: 2,
      reconnect: { baseMs: 60_000, jitter: 0 }, stallTimeoutSec: 0,
    });
    const it = src[Symbol.asyncIterator]();
    expect((await it.next()).value?.seq).toBe(0);
    // The whole file (100 frames) goes through while we do not pull; EOF makes a live source reconnect.
    await waitForStatus(src, (s) => s.state === 'reconnecting');
    expect(src.dropped).toBe(97);
    expect((await it.next()).value?.seq).toBe(98);
    expect((await it.next()).value?.seq).toBe(99);
    await src.stop();
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('loop: true plays the file again with increasing pts; leaving the loop stops ffmpeg', async () => {
    const src = new FfmpegFrameSource({ input: anamorphic, fps: 5, maxWidth: 64, maxHeight: 64, loop: true });
    const statuses = recordStatuses(src);
    let pid: number | undefined;
    const frames: Frame[] = [];
    for await (const f of src) {
      pid ??= src.childPid;
      frames.push(f);
      if (frames.length === 12) break; // 1 s file: 2.4 s of looping
    }
    expect(frames.map((f) => Math.round(f.pts * 10) / 10)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8, 2, 2.2]);
    expect(statuses.at(-1)).toEqual({ state: 'ended', reason: 'stopped' });
    expect(alive(pid)).toBe(false);
  });

  it('a missing file fails with the "not found" message; garbage with "invalid data"', async () => {
    const missing = new FfmpegFrameSource({ input: join(dir, 'nope.mp4') });
    const statuses = recordStatuses(missing);
    const error = await take(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ kind: 'not-found' });
    expect((error as Error).message).toMatch(/^Not found: .*nope\.mp4 — check the path/);
    expect(statuses.at(-1)).toMatchObject({ state: 'error', kind: 'not-found', fatal: true });

    const garbage = join(dir, 'garbage.mp4');
    writeFileSync(garbage, 'this is not a video\n'.repeat(100));
    await expect(take(new FfmpegFrameSource({ input: garbage }))).rejects.toMatchObject({ kind: 'invalid-data' });
  });
});
