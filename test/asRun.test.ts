// The as-run log in a real roster database file: the migration that creates it (new files and
// upgrades of version-1 files), appends, queries, persistence across reopen, and the CSV export.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, openRosterDb, type RosterDb } from '../src/roster/db.ts';
import { openRoster } from '../src/roster/roster.ts';
import { AsRunLog, asRunCsv } from '../src/overlay/asRun.ts';
import type { AsRunEntry, AsRunInput } from '../src/overlay/types.ts';

const dirs: string[] = [];
const dbs: RosterDb[] = [];

afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'facecast-asrun-'));
  dirs.push(d);
  return d;
}

function open(dir: string): RosterDb {
  const db = openRosterDb(dir);
  dbs.push(db);
  return db;
}

function entry(over: Partial<AsRunInput> = {}): AsRunInput {
  return {
    channel: 'main',
    action: 'take',
    layer: 'lowerThird',
    playerId: 'sheldon',
    playerName: 'Sheldon Cooper',
    confidence: 0.82,
    pts: 12.4,
    by: 'auto',
    graphicId: 'g-1',
    detail: null,
    ...over,
  };
}

describe('as_run migration', () => {
  it('a new roster file has the as_run table at the newest schema version', () => {
    const db = open(tempDir());
    expect(MIGRATIONS.map((m) => m.version)).toEqual([1, 2, 3, 4]);
    expect(db.schemaVersion).toBe(MIGRATIONS.length);
    const cols = db.sqlite.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all('as_run');
    expect(cols).toEqual(['id', 'at', 'channel', 'action', 'layer', 'player_id', 'player_name', 'confidence', 'pts', 'by', 'graphic_id', 'detail']);
  });

  it('upgrades a version-1 file and keeps its players', () => {
    const dir = tempDir();
    const v1 = openRosterDb(dir, { migrations: MIGRATIONS.slice(0, 1) });
    v1.sqlite
      .prepare("INSERT INTO players (id, name, created_at, updated_at) VALUES ('penny', 'Penny', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')")
      .run();
    expect(v1.schemaVersion).toBe(1);
    v1.close();
    const db = open(dir);
    expect(db.schemaVersion).toBe(MIGRATIONS.length);
    expect(db.sqlite.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.sqlite.prepare("SELECT name FROM players WHERE id = 'penny'").pluck().get()).toBe('Penny');
    expect(new AsRunLog(db).append(entry()).id).toBe(1);
  });

  it('rejects a confidence outside 0…1 (a bug upstream, not something to store)', () => {
    const log = new AsRunLog(open(tempDir()));
    expect(() => log.append(entry({ confidence: 1.5 }))).toThrow(/CHECK constraint/);
  });
});

describe('AsRunLog', () => {
  it('appends rows with ids and the database clock, and lists them oldest first', () => {
    const dir = tempDir();
    let now = '2026-05-01T19:30:00.000Z';
    const db = openRosterDb(dir, { now: () => new Date(now) });
    dbs.push(db);
    const log = new AsRunLog(db);
    const a = log.append(entry());
    now = '2026-05-01T19:30:05.000Z';
    const b = log.append(entry({ action: 'auto-out', by: 'auto', detail: 'lost', pts: 14 }));
    expect(a).toMatchObject({ id: 1, at: '2026-05-01T19:30:00.000Z' });
    expect(b).toMatchObject({ id: 2, at: '2026-05-01T19:30:05.000Z', detail: 'lost' });
    expect(log.list()).toEqual([a, b]);
  });

  it('filters by channel and time, and limit keeps the most recent rows', () => {
    const log = new AsRunLog(open(tempDir()));
    for (let i = 0; i < 6; i++) {
      log.append(entry({ at: `2026-05-01T19:3${i}:00.000Z`, channel: i % 2 ? 'wide' : 'main', graphicId: `g-${i}` }));
    }
    expect(log.list({ channel: 'main' }).map((r) => r.graphicId)).toEqual(['g-0', 'g-2', 'g-4']);
    expect(log.list({ since: '2026-05-01T19:32:00Z' }).map((r) => r.graphicId)).toEqual(['g-2', 'g-3', 'g-4', 'g-5']);
    expect(log.list({ since: new Date('2026-05-01T19:31:00Z'), until: '2026-05-01T19:33:00Z' }).map((r) => r.graphicId)).toEqual(['g-1', 'g-2']);
    expect(log.list({ limit: 2 }).map((r) => r.graphicId)).toEqual(['g-4', 'g-5']);
    expect(log.list({ channel: 'main', limit: 2 }).map((r) => r.graphicId)).toEqual(['g-2', 'g-4']);
    expect(() => log.list({ since: 'yesterday-ish' })).toThrow(/not a date/);
  });

  it('survives closing and reopening the database, next to the roster', () => {
    const dir = tempDir();
    const roster = openRoster(dir);
    roster.upsertPlayer({ id: 'sheldon', name: 'Sheldon Cooper' });
    const written = new AsRunLog(roster.db).append(entry());
    roster.close();
    const again = openRoster(dir);
    try {
      expect(new AsRunLog(again.db).list()).toEqual([written]);
    } finally {
      again.close();
    }
  });
});

describe('CSV export', () => {
  it('writes a header and RFC 4180 rows, empty cells for nulls, formulas defused', () => {
    const rows: AsRunEntry[] = [
      { id: 1, at: '2026-05-01T19:30:00.000Z', ...entry() },
      { id: 2, at: '2026-05-01T19:30:05.000Z', ...entry({ playerName: 'O"Neil, Jr.\nline 2', confidence: null, pts: null, detail: 'replaced by raj' }) },
      { id: 3, at: '2026-05-01T19:30:06.000Z', ...entry({ playerName: '=HYPERLINK("x")', layer: null, playerId: null, graphicId: null, action: 'mode', detail: 'auto' }) },
    ];
    const csv = asRunCsv(rows);
    expect(new AsRunLog(open(tempDir())).toCsv(rows)).toBe(csv);
    expect(csv.split('\r\n')).toEqual([
      'id,at,channel,action,layer,player_id,player_name,confidence,pts,by,graphic_id,detail',
      '1,2026-05-01T19:30:00.000Z,main,take,lowerThird,sheldon,Sheldon Cooper,0.82,12.4,auto,g-1,',
      '2,2026-05-01T19:30:05.000Z,main,take,lowerThird,sheldon,"O""Neil, Jr.\nline 2",,,auto,g-1,replaced by raj',
      `3,2026-05-01T19:30:06.000Z,main,mode,,,"'=HYPERLINK(""x"")",0.82,12.4,auto,,auto`,
      '',
    ]);
    expect(asRunCsv([])).toBe('id,at,channel,action,layer,player_id,player_name,confidence,pts,by,graphic_id,detail\r\n');
  });
});
