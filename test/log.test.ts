// The logger's terminal format: one readable line per JSON entry, nothing lost that matters.
import { describe, expect, it } from 'vitest';
import { prettyLine } from '../src/shared/log.ts';

describe('prettyLine', () => {
  it('turns a pino entry into time, level, message and the entry’s own fields', () => {
    const time = new Date(2026, 10, 27, 10, 31, 7).getTime();
    const line = prettyLine(JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', name: 'facecast', channel: '1', attempt: 3, err: { code: 'E' }, msg: 'reconnecting' }));
    expect(line).toBe('10:31:07 WARN  reconnecting  channel=1 attempt=3 err={"code":"E"}\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(prettyLine('not json\n')).toBe('not json\n');
  });
});
