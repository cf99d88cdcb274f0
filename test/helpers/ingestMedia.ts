// Test media for the ingest tests, made on the spot with the ffmpeg on PATH: clips of a known
// size, rate and length, a UDP MPEG-TS sender and a static HTTP server — all on loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createReadStream, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import type { FrameSource, SourceStatus } from '../../src/ingest/types.ts';

const FFMPEG = 'ffmpeg';

function ffmpegSync(args: string[]): void {
  const r = spawnSync(FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr || r.error}`);
}

/** testsrc2 at width×height, `rate` fps, `seconds` long; .mp4 gets H.264, anything else MPEG-2. sar: pixel aspect, e.g. '4/3'. */
export function makeClip(dir: string, name: string, o: { width: number; height: number; rate: number; seconds: number; sar?: string }): string {
  const file = join(dir, name);
  const codec = name.endsWith('.mp4') ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'] : ['-c:v', 'mpeg2video', '-q:v', '5'];
  const sar = o.sar ? ['-vf', `setsar=${o.sar}`] : [];
  ffmpegSync(['-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.rate}:duration=${o.seconds}`, ...sar, ...codec, file]);
  return file;
}

/** A VOD HLS playlist (index.m3u8 + 1 s segments) of a testsrc2 clip. */
export function makeHls(dir: string, seconds: number): string {
  ffmpegSync([
    '-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=25:duration=${seconds}`,
    '-c:v', 'mpeg2video', '-g', '25', '-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'vod', join(dir, 'index.m3u8'),
  ]);
  return join(dir, 'index.m3u8');
}

/** A UDP port that was free on 127.0.0.1 a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** ffmpeg sending a live testsrc2 as MPEG-TS to udp://127.0.0.1:port, paced in real time. */
export function startUdpSender(port: number): ChildProcess {
  return spawn(
    FFMPEG,
    [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
      '-c:v', 'mpeg2video', '-g', '10', '-q:v', '8',
      '-f', 'mpegts', `udp://127.0.0.1:${port}?localaddr=127.0.0.1&pkt_size=1316`,
    ],
    { stdio: 'ignore' },
  );
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT'); // in case a test left it paused
  child.kill('SIGKILL');
  await gone;
}

/** Serve `dir` read-only over http://127.0.0.1:<port>/. */
export async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0])));
    if (!path.startsWith(dir) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': path.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Record every status of a source. */
export function recordStatuses(source: FrameSource): SourceStatus[] {
  const seen: SourceStatus[] = [];
  source.onStatus((s) => seen.push(s));
  return seen;
}

/** Resolve when a status matching `pred` arrives (or was already recorded). */
export function waitForStatus(source: FrameSource, pred: (s: SourceStatus) => boolean, timeoutMs = 20_000): Promise<SourceStatus> {
  return new Promise((resolve, reject) => {
    if (pred(source.status)) return resolve(source.status);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`status not reached in ${timeoutMs} ms; last: ${JSON.stringify(source.status)}`));
    }, timeoutMs);
    const off = source.onStatus((s) => {
      if (!pred(s)) return;
      clearTimeout(timer);
      off();
      resolve(s);
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
