// The ffmpeg command line of a grabber, as pure functions (tested without running ffmpeg).
//
// How frames get their timestamps — the same way for files and live streams:
//   select      keeps the first frame of every 1/fps slot of *source* time
//               (floor(t·fps) changes), so each kept frame is a real decoded frame with its real
//               timestamp: nothing is duplicated or re-timed (the fps filter would invent frames to
//               fill gaps and move timestamps to a grid), gaps and clock jumps just skip slots;
//   scale/setsar/format   working size (fit inside maxWidth × maxHeight, never upscaled, square
//               pixels, even sides) and RGB24;
//   settb=AVTB  time base 1/1000000, so showinfo prints pts as an exact integer of microseconds
//               (its pts_time has only 6 significant digits: 0.1 s steps at MPEG-TS clock values);
//   showinfo    logs "n:… pts:… s:WxH" on stderr for each frame it passes, in the same order as
//               the frames leave on stdout, which is how each raw frame gets its pts and size.
// -copyts keeps the source's own clock (a file starts near 0, MPEG-TS / RTMP / HLS carry the
// encoder's timestamps) instead of ffmpeg's shift to 0; passthrough frame-rate mode makes ffmpeg
// write exactly the frames the filters produce, one-to-one with the showinfo lines.
import type { InputSpec } from './url.ts';

export interface GrabOptions {
  fps: number;
  maxWidth: number;
  maxHeight: number;
  /** Files: -re. */
  realtime: boolean;
  /** Files: -stream_loop -1. */
  loop: boolean;
  /** Network inputs: -rw_timeout in seconds (0 = off). */
  ioTimeoutSec: number;
  /** Live inputs: -analyzeduration in seconds. */
  probeSec: number;
}

/** `-fps_mode` since ffmpeg 5.1; older builds only know `-vsync` (see ffmpegBinary.ts). */
export type FpsModeFlag = '-fps_mode' | '-vsync';

const num = (x: number) => String(Number(x.toFixed(6)));

export function buildFilterChain(o: Pick<GrabOptions, 'fps' | 'maxWidth' | 'maxHeight'>): string {
  // A micro-second of slack keeps exact slot starts (t = k/fps) from rounding into the slot before.
  const slot = (t: string) => `floor(${t}*${num(o.fps)}+0.000001)`;
  const select = `select='isnan(prev_t)+not(eq(${slot('t')},${slot('prev_t')}))'`;
  // Ratio that fits the display size (iw·sar × ih) inside the box, never above 1.
  const ratio = `min(1,min(${o.maxWidth}/(iw*sar),${o.maxHeight}/ih))`;
  const scale = `scale=w='max(2,trunc(${ratio}*iw*sar/2)*2)':h='max(2,trunc(${ratio}*ih/2)*2)'`;
  return [select, scale, 'setsar=1', 'format=rgb24', 'settb=AVTB', 'showinfo'].join(',');
}

/** httpProxy: HLS only, the checking proxy (hlsProxy.ts) every playlist and segment request goes through. */
export function buildInputOptions(spec: InputSpec, o: GrabOptions, live = spec.live, httpProxy?: string): string[] {
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-copyts'];
  const proxied = httpProxy !== undefined && spec.kind === 'hls';
  // https through a proxy is a CONNECT tunnel, ffmpeg's httpproxy protocol.
  args.push('-protocol_whitelist', proxied ? `${spec.protocolWhitelist},httpproxy` : spec.protocolWhitelist);
  if (proxied) args.push('-http_proxy', httpProxy);
  if (spec.format) args.push('-f', spec.format);
  if (spec.kind === 'file') {
    if (o.realtime) args.push('-re');
    if (o.loop) args.push('-stream_loop', '-1');
  }
  // Joining a live stream mid-way, ffmpeg would analyse the whole default 5 s before the first frame.
  if (live) args.push('-analyzeduration', String(Math.round(o.probeSec * 1e6)));
  if (spec.network && o.ioTimeoutSec > 0) args.push('-rw_timeout', String(Math.round(o.ioTimeoutSec * 1e6)));
  args.push(...spec.inputOptions);
  return args;
}

export function buildOutputOptions(o: Pick<GrabOptions, 'fps' | 'maxWidth' | 'maxHeight'>, fpsModeFlag: FpsModeFlag): string[] {
  return ['-an', '-sn', '-dn', '-vf', buildFilterChain(o), fpsModeFlag, 'passthrough', '-pix_fmt', 'rgb24'];
}
