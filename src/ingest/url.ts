// Which inputs facecast lets ffmpeg open, and with which ffmpeg protocols. ffmpeg understands
// dozens of protocols (concat:, subfile:, data:, pipe:, ftp://, gopher://, …) and a playlist can
// name any of them, so every input gets an explicit -protocol_whitelist: an HLS playlist from
// the network can only reach http(s), never a local file.
//
// Accepted forms:
//   /videos/match.mp4, ./clip.ts, clip.mkv     a local file (plain path only; `file:` URLs are
//                                              refused — a relative name with a colon needs ./)
//   rtmp://host/app/key, rtmps://…             RTMP(S) pull
//   srt://host:port?mode=caller&…              SRT
//   udp://127.0.0.1:5000?localaddr=…           MPEG-TS over UDP (unicast or multicast)
//   rtp://host:port                            RTP (MPEG-TS payload)
//   http(s)://host/live/index.m3u8             HLS (read with ffmpeg's hls demuxer only)
//   /dev/video0, /dev/v4l/by-id/…              a V4L2 capture device (Linux)
//   device:/dev/video0?video_size=1280x720&framerate=30&input_format=mjpeg
//                                              the same, with capture settings
import { isAbsolute, resolve } from 'node:path';

export type InputKind = 'file' | 'rtmp' | 'srt' | 'udp' | 'rtp' | 'hls' | 'device';

export interface InputSpec {
  kind: InputKind;
  /** The input as given. */
  input: string;
  /** What ffmpeg is told to open (`-i`). */
  ffmpegInput: string;
  /** The input with credentials, keys and tokens masked: safe for logs and status messages. */
  display: string;
  /** Live by nature (reconnect, drop when slow); files are not. */
  live: boolean;
  /** Reached over the network (gets -rw_timeout). */
  network: boolean;
  /** ffmpeg -protocol_whitelist for this input. */
  protocolWhitelist: string;
  /** Forced ffmpeg demuxer (-f), when the input kind fixes it. */
  format?: string;
  /** Extra ffmpeg input options (capture settings of a device). */
  inputOptions: string[];
}

export const ALLOWED_INPUTS =
  'a file path (e.g. /videos/match.mp4), rtmp://, rtmps://, srt://, udp://, rtp://, http(s):// HLS playlists, ' +
  'or a V4L2 capture device (/dev/video0 or device:/dev/video0?video_size=1280x720&framerate=30)';

export class InputRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputRefusedError';
  }
}

const NETWORK: Record<string, { kind: InputKind; whitelist: string; format?: string }> = {
  rtmp: { kind: 'rtmp', whitelist: 'rtmp,tcp' },
  rtmps: { kind: 'rtmp', whitelist: 'rtmps,tcp,tls' },
  srt: { kind: 'srt', whitelist: 'srt' },
  udp: { kind: 'udp', whitelist: 'udp' },
  rtp: { kind: 'rtp', whitelist: 'rtp,udp' },
  // crypto: AES-128 encrypted segments. No `file`: a playlist must not reach local files.
  http: { kind: 'hls', whitelist: 'http,https,tcp,tls,crypto', format: 'hls' },
  https: { kind: 'hls', whitelist: 'http,https,tcp,tls,crypto', format: 'hls' },
};

const DEVICE_OPTIONS: Record<string, RegExp> = {
  video_size: /^\d{1,5}x\d{1,5}$/,
  framerate: /^\d{1,4}(\.\d{1,4})?(\/\d{1,5})?$/,
  input_format: /^[a-z0-9_]{1,32}$/,
};

const refuse = (input: string, why: string) =>
  new InputRefusedError(`Refused input "${redact(input)}": ${why}. Allowed: ${ALLOWED_INPUTS}.`);

/** Classify an input and decide how ffmpeg may open it; throws InputRefusedError otherwise. */
export function parseInput(input: string, platform: NodeJS.Platform = process.platform): InputSpec {
  const raw = input.trim();
  if (!raw) throw refuse(input, 'the input is empty');
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw refuse(input, 'it contains control characters');

  if (raw.startsWith('device:')) return parseDevice(raw, raw.slice('device:'.length), platform);
  if (/^\/dev\/(video\d+|v4l\/)/.test(raw)) return parseDevice(raw, raw, platform);

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw)?.[1];
  const windowsDrive = platform === 'win32' && /^[a-zA-Z]:[\\/]/.test(raw);
  if (!scheme || windowsDrive) {
    const path = isAbsolute(raw) ? raw : resolve(raw);
    // `file:` makes ffmpeg take the rest literally, even a name that looks like another protocol.
    return { kind: 'file', input, ffmpegInput: `file:${path}`, display: path, live: false, network: false, protocolWhitelist: 'file', inputOptions: [] };
  }

  const protocol = scheme.toLowerCase();
  if (protocol === 'file') throw refuse(input, 'file: URLs are not accepted; give the plain path instead (e.g. /videos/match.mp4)');
  const rule = NETWORK[protocol];
  if (!rule) throw refuse(input, `protocol "${protocol}" is not allowed`);
  let url: URL;
  try {
    // ffmpeg's "udp://@:5000" (listen on every address) is not a WHATWG URL; check it without the @.
    url = new URL(raw.replace(/^(udp|rtp):\/\/@/i, '$1://0.0.0.0'));
  } catch {
    throw refuse(input, `it is not a valid ${protocol}:// URL`);
  }
  if (!url.hostname && protocol !== 'udp' && protocol !== 'rtp') throw refuse(input, `a ${protocol}:// URL needs a host`);
  return {
    kind: rule.kind,
    input,
    ffmpegInput: raw,
    display: redact(raw),
    live: true,
    network: true,
    protocolWhitelist: rule.whitelist,
    format: rule.format,
    inputOptions: [],
  };
}

function parseDevice(raw: string, rest: string, platform: NodeJS.Platform): InputSpec {
  if (platform !== 'linux') throw refuse(raw, `capture devices are supported on Linux (V4L2) only, not on ${platform}`);
  const [path, query = ''] = rest.split('?', 2);
  if (!/^\/dev\/[A-Za-z0-9._:/-]+$/.test(path) || path.includes('..')) throw refuse(raw, 'a capture device must be a path under /dev (e.g. /dev/video0)');
  const inputOptions: string[] = [];
  for (const [key, value] of new URLSearchParams(query)) {
    const pattern = DEVICE_OPTIONS[key];
    if (!pattern) throw refuse(raw, `unknown device setting "${key}" (use ${Object.keys(DEVICE_OPTIONS).join(', ')})`);
    if (!pattern.test(value)) throw refuse(raw, `bad value "${value}" for device setting ${key}`);
    inputOptions.push(`-${key}`, value);
  }
  // V4L2 opens the device itself, not through an ffmpeg protocol; the whitelist is a backstop.
  return { kind: 'device', input: raw, ffmpegInput: path, display: raw, live: true, network: false, protocolWhitelist: 'file', format: 'v4l2', inputOptions };
}

const SECRET_PARAM = /pass|key|token|secret|auth|sig|streamid|user/i;

/** Mask passwords, secret-looking query values and an RTMP stream key, for logs. */
export function redact(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return input;
  }
  if (!/^[a-z]+:\/\//i.test(input)) return input;
  if (url.username) url.username = '***';
  if (url.password) url.password = '***';
  for (const key of [...url.searchParams.keys()]) if (SECRET_PARAM.test(key)) url.searchParams.set(key, '***');
  const protocol = url.protocol.toLowerCase();
  if (protocol === 'rtmp:' || protocol === 'rtmps:') {
    // rtmp://host/app/<stream key>: the last path segment is the publisher's secret.
    const parts = url.pathname.split('/');
    if (parts.length > 2 && parts[parts.length - 1]) parts[parts.length - 1] = '***';
    url.pathname = parts.join('/');
  }
  return decodeURI(url.toString());
}
