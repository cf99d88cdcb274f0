// Reads the optional roster.csv / roster.json of `facecast roster import`: names, numbers, teams,
// positions; every other column becomes a stat. Errors name the file, line and field.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PlayerInput } from './schema.ts';

const KNOWN = new Set(['id', 'name', 'number', 'team', 'teamcolor', 'team_color', 'position']);

/** RFC 4180-style CSV: commas, double-quoted fields with "" escapes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

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
  /** What is wrong with this row; the player is then not to be used. */
  error: string | null;
}

/**
 * roster.csv text → one entry per data row, each with its own error (so an import can report
 * row by row). Throws only when the header itself is unusable.
 */
export function parseRosterCsv(text: string): CsvRow[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header?.some((h) => h.trim().toLowerCase() === 'id')) {
    throw new Error('the first line must be a header with an "id" column (and optionally name, number, team, teamColor, position; other columns are stats)');
  }
  const names = header.map((h) => h.trim());
  return rows.map((cells, i) => {
    const player = rowToPlayer(names, cells);
    return { line: i + 2, player, error: player.id ? null : 'empty id' };
  });
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
