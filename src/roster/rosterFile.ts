// Reads the optional roster.csv / roster.json of `facecast roster import`: names, numbers, teams,
// positions; every other column becomes a stat. Errors name the file, line and field.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlayerInput } from './schema.ts';
import { csvRecords, csvRecordsAsync, type CsvRecord } from './csvRecords.ts';

const KNOWN = new Set(['id', 'name', 'number', 'team', 'teamcolor', 'team_color', 'position']);

function numberOrText(v: string): number | string {
  const n = Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : v;
}

/** One CSV row → a player input (validation happens in the roster). */
function rowToPlayer(header: string[], cells: string[]): PlayerInput {
  const get = (k: string) => {
    const i = header.findIndex((h) => h.toLowerCase() === k);
    return i >= 0 ? cells[i]?.trim() || undefined : undefined;
  };
  const stats: Record<string, number | string> = {};
  header.forEach((h, i) => {
    const v = cells[i]?.trim();
    if (!KNOWN.has(h.toLowerCase()) && v) stats[h] = numberOrText(v);
  });
  const number = get('number');
  return {
    id: get('id') ?? '',
    name: get('name') ?? get('id') ?? '',
    ...(number !== undefined ? { number: Number(number) } : {}),
    ...(get('team') ? { team: get('team') } : {}),
    ...(get('teamcolor') ?? get('team_color') ? { teamColor: get('teamcolor') ?? get('team_color') } : {}),
    ...(get('position') ? { position: get('position') } : {}),
    stats,
  };
}

export interface CsvRow {
  /** 1-based line in the file (the header is line 1). */
  line: number;
  player: PlayerInput;
  /** Whether the row had a name (else the name is the id, which an update must not copy). */
  named: boolean;
  /** What is wrong with this row; the player is then not to be used. */
  error: string | null;
}

const NO_HEADER =
  'the first line must be a header with an "id" column (and optionally name, number, team, teamColor, position; other columns are stats)';

/** The header's column names; throws when it is unusable. */
function headerOf(records: CsvRecord[]): string[] {
  const header = records[0];
  if (!header || header.error || !header.cells.some((h) => h.trim().toLowerCase() === 'id')) throw new Error(NO_HEADER);
  return header.cells.map((h) => h.trim());
}

/** One data record → its row, or null for a blank line (whitespace only). */
function toRow(names: string[], { line, cells, error }: CsvRecord): CsvRow | null {
  if (error) return { line, player: { id: '', name: '' }, named: false, error };
  if (cells.every((c) => c.trim() === '')) return null;
  const player = rowToPlayer(names, cells);
  const nameAt = names.findIndex((h) => h.toLowerCase() === 'name');
  const named = nameAt >= 0 && (cells[nameAt]?.trim() ?? '') !== '';
  if (cells.length > names.length) {
    return { line, player, named, error: `${cells.length} fields but the header has ${names.length}; quote a field that contains a comma ("Smith, J")` };
  }
  return { line, player, named, error: player.id ? null : 'empty id' };
}

/**
 * roster.csv text → one entry per data row, each with its own error (so an import can report
 * row by row). Throws only when the header itself is unusable.
 */
export function parseRosterCsv(text: string): CsvRow[] {
  const records = csvRecords(text);
  const names = headerOf(records);
  return records.slice(1).flatMap((r) => toRow(names, r) ?? []);
}

/** parseRosterCsv for the server: the same rows, parsed without holding the event loop. */
export async function parseRosterCsvAsync(text: string): Promise<CsvRow[]> {
  const records = await csvRecordsAsync(text);
  const names = headerOf(records);
  const rows: CsvRow[] = [];
  for (let i = 1; i < records.length; i++) {
    if (i % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
    const row = toRow(names, records[i]!);
    if (row) rows.push(row);
  }
  return rows;
}

/** The roster file in dir (roster.json preferred, then roster.csv), keyed by player id; empty when none. */
export function readRosterFile(dir: string): Map<string, PlayerInput> {
  const out = new Map<string, PlayerInput>();
  const jsonPath = join(dir, 'roster.json');
  const csvPath = join(dir, 'roster.csv');
  if (existsSync(jsonPath)) {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(jsonPath, 'utf8'));
    } catch (err) {
      throw new Error(`${jsonPath} is not valid JSON (${(err as Error).message}); fix the file`);
    }
    const list = Array.isArray(data) ? data : (data as { players?: unknown }).players;
    if (!Array.isArray(list)) throw new Error(`${jsonPath}: expected an array of players or {"players": [...]}`);
    for (const [i, p] of list.entries()) {
      const id = (p as { id?: unknown }).id;
      if (typeof id !== 'string') throw new Error(`${jsonPath}: player #${i + 1} has no "id"`);
      out.set(id, p as PlayerInput);
    }
  } else if (existsSync(csvPath)) {
    let rows: CsvRow[];
    try {
      rows = parseRosterCsv(readFileSync(csvPath, 'utf8'));
    } catch (err) {
      throw new Error(`${csvPath}: ${(err as Error).message}`);
    }
    for (const r of rows) {
      if (r.error) throw new Error(`${csvPath} line ${r.line}: ${r.error}`);
      out.set(r.player.id, r.player);
    }
  }
  return out;
}
