// ffmpeg talks on stderr. Two kinds of line matter: the showinfo filter's one line per output
// frame (its timestamp and size, see args.ts), and error messages, which are turned here into one
// line that says what went wrong and what to do about it.
import type { IngestErrorKind } from './types.ts';

export interface ShowinfoFrame {
  /** Frame index within this ffmpeg run. */
  n: number;
  /** Presentation time in seconds (showinfo runs after settb=AVTB, so pts is in microseconds); null when the frame had none. */
  pts: number | null;
  width: number;
  height: number;
}

// Only the fields up to s:WxH are matched: showinfo prints them in one write, while the
// checksums after them come in separate writes that another thread's log line could split.
const SHOWINFO = /\] n:\s*(\d+) pts:\s*(-?\d+|NOPTS)\s.*?\bs:(\d+)x(\d+)/;

export function parseShowinfo(line: string): ShowinfoFrame | null {
  if (!line.includes('Parsed_showinfo')) return null;
  const m = SHOWINFO.exec(line);
  if (!m) return null;
  return { n: Number(m[1]), pts: m[2] === 'NOPTS' ? null : Number(m[2]) / 1e6, width: Number(m[3]), height: Number(m[4]) };
}

export interface ClassifiedError {
  kind: IngestErrorKind;
  message: string;
}

interface Rule {
  kind: IngestErrorKind;
  test: RegExp;
  message: (display: string, match: RegExpExecArray) => string;
}

// First matching rule wins, so the specific ones come before the generic ones (a refused
// playlist segment also ends in "Invalid data"; a missing device also says "No such file").
const RULES: Rule[] = [
  {
    // The reason phrase of hlsProxy.ts's 403: a playlist, key or segment on a host the policy refuses.
    kind: 'protocol',
    test: /Forbidden by the facecast source policy/,
    message: (d) => `${d} needs a host the source policy refuses (see the log for which); if that host is yours, add it to ingest.allowHosts.`,
  },
  {
    kind: 'protocol',
    test: /Protocol '([\w+-]+)' not on whitelist '([^']*)'/,
    message: (d, m) =>
      `${d} tried to open a ${m[1]} URL, which this input may not use (allowed: ${m[2]}); a playlist pointing at local files or another scheme is refused on purpose — fix the source.`,
  },
  {
    kind: 'protocol',
    test: /Protocol not found|Protocol '[\w+-]+' not found/i,
    message: (d) => `${d}: this ffmpeg build does not support the protocol — use a full ffmpeg build (set ingest.ffmpegPath).`,
  },
  {
    kind: 'device',
    test: /Cannot open video device|VIDIOC_\w+|Device or resource busy|Not a video capture device/,
    message: (d) =>
      `Cannot open capture device ${d}: check it exists (v4l2-ctl --list-devices), that no other program uses it, and that facecast may read it (video group).`,
  },
  {
    kind: 'auth',
    test: /\b40[13]\b.*(Unauthorized|Forbidden|authoriz|access denied)|(Unauthorized|Forbidden).*\b40[13]\b|NetConnection\.Connect\.Rejected|[Aa]uthentication failed|Connection rejected/,
    message: (d) => `Access denied (401/403) by ${d}: check the user name, password, stream key or token in the URL.`,
  },
  {
    kind: 'not-found',
    test: /No such file or directory/,
    message: (d) => `Not found: ${d} — check the path (is the file there, spelled right, readable?).`,
  },
  {
    kind: 'not-found',
    test: /\b404\b.*Not Found|NetStream\.Play\.StreamNotFound|Stream not found/i,
    message: (d) => `Not found (404) at ${d}: check the URL and stream name, and that the stream is being published.`,
  },
  {
    kind: 'refused',
    test: /Connection refused/,
    message: (d) => `Connection refused by ${d}: nothing is listening there — check host and port, and that the stream server or encoder is running.`,
  },
  {
    // libsrt says only "Input/output error" whether nobody answered or the listener refused us.
    kind: 'refused',
    test: /\[srt @ [^\]]*\] Connection to .* failed/,
    message: (d) => `SRT connection to ${d} failed: no listener answered or it rejected the caller — check host, port, mode, passphrase and streamid.`,
  },
  {
    kind: 'unreachable',
    test: /Failed to resolve hostname|Name or service not known|Temporary failure in name resolution|Network is unreachable|No route to host/,
    message: (d) => `Cannot reach ${d}: the host name does not resolve or the network is unreachable — check the host name and the network.`,
  },
  {
    kind: 'busy',
    test: /Address already in use/,
    message: (d) => `Cannot listen for ${d}: the address/port is already in use by another program or source — pick another port or stop the other one.`,
  },
  {
    kind: 'timeout',
    test: /timed out|Timeout|ETIMEDOUT/,
    message: (d) => `Timed out waiting for ${d}: check the network path and firewall, and that the source is sending.`,
  },
  {
    kind: 'permission',
    test: /Permission denied/,
    message: (d) => `Permission denied opening ${d}: check that facecast's user may read it.`,
  },
  {
    kind: 'unsupported-codec',
    test: /Decoder \(codec ([\w-]+)\) not found|no decoder found for:?\s*([\w-]+)|Unsupported codec|Unknown decoder '([\w-]+)'/i,
    message: (d, m) =>
      `Unsupported codec${m[1] || m[2] || m[3] ? ` (${m[1] || m[2] || m[3]})` : ''} in ${d}: this ffmpeg cannot decode it — send H.264/HEVC/VP9, or use a fuller ffmpeg build (ingest.ffmpegPath).`,
  },
  {
    kind: 'no-video',
    test: /does not contain any stream|Stream map '.*' matches no streams|Output file #\d+ does not contain/,
    message: (d) => `No video stream in ${d}: it carries audio or data only — check the source.`,
  },
  {
    kind: 'invalid-data',
    test: /Invalid data found when processing input|moov atom not found|could not find codec parameters|Invalid frame dimensions/i,
    message: (d) =>
      `Invalid data from ${d}: not a playable video (wrong format, a corrupt or truncated file, or the wrong protocol or port) — check the source.`,
  },
];

/** Map ffmpeg's last stderr lines to one clear message; null when nothing there looks like an error. */
export function classifyFfmpegStderr(lines: readonly string[], display: string): ClassifiedError | null {
  const text = lines.filter((l) => !l.includes('Parsed_showinfo')).join('\n');
  for (const rule of RULES) {
    const m = rule.test.exec(text);
    if (m) return { kind: rule.kind, message: rule.message(display, m) };
  }
  return null;
}

/** The last line that reads like an error, for messages about failures no rule knows. */
export function lastErrorLine(lines: readonly string[]): string | undefined {
  const candidates = lines.filter((l) => l.trim() && !l.includes('Parsed_showinfo'));
  const errorish = candidates.filter((l) => /error|fail|invalid|cannot|could not|unable/i.test(l));
  return (errorish.at(-1) ?? candidates.at(-1))?.trim();
}

/** One line for a failure: the classified message, or ffmpeg's own last error line. */
export function describeFailure(lines: readonly string[], display: string, fallback: string): ClassifiedError {
  const classified = classifyFfmpegStderr(lines, display);
  if (classified) return classified;
  let last = lastErrorLine(lines) ?? fallback;
  if (last.startsWith(`${display}: `)) last = last.slice(display.length + 2); // ffmpeg repeats the input name
  return { kind: 'unknown', message: `ffmpeg failed on ${display}: ${last} — run ffmpeg by hand with this input to see more.` };
}
