// The as-run log: every graphic that went on or off air, in the roster database (table as_run,
// migration 2), so a broadcast can be reconstructed and exported after the show. Appends are
// single INSERTs (better-sqlite3 is synchronous; one on-air change costs one fsync, a few a minute).
import type { RosterDb } from '../roster/db.ts';
import type { Layer } from '../shared/protocol.ts';
import type { AsRunAction, AsRunEntry, AsRunInput } from './types.ts';

export interface AsRunQuery {
  channel?: string;
  /** Only entries at or after this time (ISO string or Date). */
  since?: string | Date;
  /** Only entries before this time (ISO string or Date). */
  until?: string | Date;
  /** The most recent this many (default 1000, at most 100 000); always returned oldest first. */
  limit?: number;
}

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;

interface AsRunRow {
  id: number;
  at: string;
  channel: string;
  action: string;
  layer: string | null;
  player_id: string | null;
  player_name: string | null;
  confidence: number | null;
  pts: number | null;
  by: string;
  graphic_id: string | null;
  detail: string | null;
}

const CSV_COLUMNS = ['id', 'at', 'channel', 'action', 'layer', 'player_id', 'player_name', 'confidence', 'pts', 'by', 'graphic_id', 'detail'] as const;

export class AsRunLog {
  private readonly db: RosterDb;

  /** Takes the open roster database (Roster exposes it as `roster.db`). */
  constructor(db: RosterDb) {
    this.db = db;
  }

  append(input: AsRunInput): AsRunEntry {
    const at = input.at ?? this.db.now();
    const info = this.db.sqlite
      .prepare(
        `INSERT INTO as_run (at, channel, action, layer, player_id, player_name, confidence, pts, by, graphic_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(at, input.channel, input.action, input.layer, input.playerId, input.playerName, input.confidence, input.pts, input.by, input.graphicId, input.detail);
    return { ...input, at, id: Number(info.lastInsertRowid) };
  }

  /** Entries matching the query, oldest first. */
  list(q: AsRunQuery = {}): AsRunEntry[] {
    const where: string[] = [];
    const args: string[] = [];
    if (q.channel !== undefined) {
      where.push('channel = ?');
      args.push(q.channel);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(isoOf(q.since));
    }
    if (q.until !== undefined) {
      where.push('at < ?');
      args.push(isoOf(q.until));
    }
    const limit = Math.max(1, Math.min(Math.floor(q.limit ?? DEFAULT_LIMIT), MAX_LIMIT));
    // Newest `limit` rows, then put back in broadcast order; id breaks ties within a millisecond.
    const sql = `SELECT * FROM (SELECT * FROM as_run ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY at DESC, id DESC LIMIT ${limit}) ORDER BY at, id`;
    return (this.db.sqlite.prepare(sql).all(...args) as AsRunRow[]).map(toEntry);
  }

  toCsv(rows: readonly AsRunEntry[]): string {
    return asRunCsv(rows);
  }
}

/** RFC 4180 CSV (CRLF, quoted where needed) with a header row, for spreadsheets and traffic systems. */
export function asRunCsv(rows: readonly AsRunEntry[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    lines.push(
      [r.id, r.at, r.channel, r.action, r.layer, r.playerId, r.playerName, r.confidence, r.pts, r.by, r.graphicId, r.detail].map(csvField).join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  // A text cell starting like a formula would be evaluated by spreadsheet programs (a player name
  // is typed by people); a leading apostrophe makes it plain text there.
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Normalised, because stored times are compared as text ('…00Z' would sort after '…00.000Z'). */
function isoOf(t: string | Date): string {
  const d = typeof t === 'string' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new RangeError(`'${String(t)}' is not a date; give an ISO-8601 time such as 2026-05-01T19:30:00Z`);
  return d.toISOString();
}

function toEntry(r: AsRunRow): AsRunEntry {
  return {
    id: r.id,
    at: r.at,
    channel: r.channel,
    action: r.action as AsRunAction,
    layer: r.layer as Layer | null,
    playerId: r.player_id,
    playerName: r.player_name,
    confidence: r.confidence,
    pts: r.pts,
    by: r.by,
    graphicId: r.graphic_id,
    detail: r.detail,
  };
}
