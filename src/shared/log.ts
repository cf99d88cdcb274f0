// The one structured logger. It writes JSON lines to stderr so that stdout stays clean for the
// CLI's own output (tables for people, --json for machines).
import { pino, type Logger } from 'pino';

export type { Logger };

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

export function createLogger(level: LogLevel = (process.env.FACECAST_LOG_LEVEL as LogLevel) ?? 'info'): Logger {
  return pino({ name: 'facecast', level: LEVELS.includes(level) ? level : 'info' }, pino.destination(2));
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
