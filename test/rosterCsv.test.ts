// roster.csv parsing (csv-parse underneath), the same for `facecast roster import` and the
// import route: line numbers that match an editor's, one bad row never hides the rows after it.
import { describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRosterCsv, parseRosterCsvAsync, readRosterFile } from '../src/roster/rosterFile.ts';
import { tempDir } from './helpers/fixtures.ts';

const lines = (rows: { line: number; player: { id: string }; error: string | null }[]) => rows.map((r) => [r.line, r.player.id, r.error === null ? 'ok' : 'error']);

describe('parseRosterCsv', () => {
  it('numbers lines as an editor does after blank lines and quoted newlines, LF or CRLF', async () => {
    const lf = 'id,name,bio\na,A,short\n\n\nb,B,"two\nlines"\nc,C,x\n   \nd,D,y';
    const expected = [
      [2, 'a', 'ok'],
      [5, 'b', 'ok'],
      [7, 'c', 'ok'],
      [9, 'd', 'ok'],
    ];
    expect(lines(parseRosterCsv(lf))).toEqual(expected);
    expect(lines(await parseRosterCsvAsync(lf))).toEqual(expected);
    const crlf = lf.replace(/\n/g, '\r\n');
    expect(lines(parseRosterCsv(crlf))).toEqual(expected);
    expect(lines(await parseRosterCsvAsync(crlf))).toEqual(expected);
    expect(parseRosterCsv(lf)[1]!.player.stats).toEqual({ bio: 'two\nlines' });
  });

  it('reports an unclosed quote on the row it starts and still reads the rows after it', async () => {
    const text = 'id,name\na,A\nb,"Bob\nc,C\n\nd,D\n';
    for (const rows of [parseRosterCsv(text), await parseRosterCsvAsync(text)]) {
      expect(lines(rows)).toEqual([
        [2, 'a', 'ok'],
        [3, '', 'error'],
        [4, 'c', 'ok'],
        [6, 'd', 'ok'],
      ]);
      expect(rows[1]!.error).toMatch(/closing quote is missing/);
    }
  });

  it('keeps quotes inside unquoted fields, "" escapes and commas in quotes; a row with extra fields is refused', () => {
    const rows = parseRosterCsv('\uFEFFid,name,team\na,Joe "Big" Smith,X\nb,"Smith, ""J""",Y\nc,Smith, J,Z\n');
    expect(rows.map((r) => r.player.name)).toEqual(['Joe "Big" Smith', 'Smith, "J"', 'Smith']);
    expect(rows[2]!.error).toMatch(/4 fields but the header has 3/);
    expect(rows[0]!.named).toBe(true);
    expect(parseRosterCsv('id,goals\na,1\n')[0]).toMatchObject({ named: false, player: { id: 'a', stats: { goals: 1 } } });
  });

  it('parses a large file in slices to the same rows', async () => {
    const text = `id,name,goals\n${Array.from({ length: 20_000 }, (_, i) => `p${i},"P ${i}",${i}`).join('\n')}\n`;
    const [sync, async] = [parseRosterCsv(text), await parseRosterCsvAsync(text)];
    expect(async).toEqual(sync);
    expect(async.at(-1)).toMatchObject({ line: 20_001, player: { id: 'p19999', stats: { goals: 19999 } } });
  });

  it('the CLI folder import reads roster.csv with the same parser and names the file and line of a bad row', () => {
    const dir = tempDir('facecast-csv-');
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'roster.csv'), 'id,name,number\nalex,"Alex\nL",1\n\nbo,Bo,2\n');
      const players = readRosterFile(dir);
      expect([...players.keys()]).toEqual(['alex', 'bo']);
      expect(players.get('alex')!.name).toBe('Alex\nL');
      writeFileSync(join(dir, 'roster.csv'), 'id,name\nalex,Alex\n\nbo,"Bo\ncy,Cy\n');
      expect(() => readRosterFile(dir)).toThrow(/roster\.csv line 4: .*closing quote/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
