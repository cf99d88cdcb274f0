// The one structured logger. It writes to stderr so that stdout stays clean for the CLI's own
// output (tables for people, --json for machines): JSON lines for log collectors, or, when stderr
// is a terminal, one short readable line per entry (FACECAST_LOG_FORMAT=json|pretty overrides).
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every entry has, or that are too long for a terminal line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'fallbacks', 'version']);

/** One JSON entry as `10:31:07 WARN  message  key=value …` (objects shown as compact JSON). */
export function prettyLine(json: string): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = new Date(typeof e.time === 'number' ? e.time : Date.now()).toTimeString().slice(0, 8);
  const level = (LEVEL_NAMES[Number(e.level)] ?? String(e.level)).padEnd(5);
  const fields = Object.entries(e)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${level} ${String(e.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

function prettyStderr(): DestinationStream {
  return { write: (line: string) => void process.stderr.write(prettyLine(line)) };
}

export function createLogger(level: LogLevel = (process.env.FACECAST_LOG_LEVEL as LogLevel) ?? 'info'): Logger {
  const format = process.env.FACECAST_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  return pino({ name: 'facecast', level: LEVELS.includes(level) ? level : 'info' }, format === 'pretty' ? prettyStderr() : pino.destination(2));
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
