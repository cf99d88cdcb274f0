// Opens the roster database (<dataDir>/facecast.db) with the settings that make it safe on air,
// and brings its schema up to date through an ordered list of migrations.
//
// Versioning: PRAGMA user_version is the authority (it lives in the file header and is written
// inside the same transaction as the migration, so it can never disagree with the tables).
// schema_migrations keeps a human-readable history of when each step ran.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DB_FILE_NAME = 'facecast.db';
/** Marks the file as ours in its header ("FCST"), so we never migrate some other app's database. */
export const APPLICATION_ID = 0x46435354;
/** How long a writer waits for another process's write lock before failing (the CLI and the server may overlap). */
export const BUSY_TIMEOUT_MS = 5000;

export type RosterErrorCode = 'NOT_FOUND' | 'INVALID' | 'SCHEMA_TOO_NEW' | 'NOT_A_ROSTER' | 'OPEN_FAILED';

/** An error whose message tells a person what to do; `code` lets the HTTP layer pick a status. */
export class RosterError extends Error {
  readonly code: RosterErrorCode;
  constructor(code: RosterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RosterError';
    this.code = code;
  }
}

type Sqlite = Database.Database;

/** One schema step. Versions must be 1, 2, 3, … in order; append new ones, never edit shipped ones. */
export interface Migration {
  version: number;
  name: string;
  /** SQL script, or a function for steps that need to compute (e.g. backfill from existing rows). */
  up: string | ((db: Sqlite) => void);
  /**
   * Set for steps that rebuild a table (create new, copy, drop old, rename): SQLite can only switch
   * foreign keys off outside a transaction, and with them on, dropping `players` would cascade.
   * The runner then checks PRAGMA foreign_key_check before committing.
   */
  foreignKeysOff?: boolean;
}

// Times are ISO-8601 UTC strings with milliseconds: readable in the sqlite3 shell and in audit
// exports, and they sort correctly as text.
const MIGRATION_1_SQL = `
CREATE TABLE players (
  id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  number      INTEGER CHECK (number BETWEEN 0 AND 999),
  team        TEXT,
  team_color  TEXT CHECK (team_color GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
  position    TEXT,
  stats       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(stats) AND json_type(stats) = 'object'),
  photo       BLOB,
  photo_mime  TEXT CHECK ((photo IS NULL) = (photo_mime IS NULL)),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

-- AUTOINCREMENT so a deleted face's id is never handed out again: rosterHash() includes face ids,
-- and "delete + re-add" must not reproduce an old hash.
-- augmentation is '' (not NULL) for originals because UNIQUE treats NULLs as distinct, which would
-- make re-enrolling the same original photo insert a duplicate.
CREATE TABLE faces (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  player_id     TEXT NOT NULL REFERENCES players(id) ON DELETE CASCADE ON UPDATE CASCADE,
  source_sha256 TEXT NOT NULL CHECK (length(source_sha256) = 64),
  embedding     BLOB NOT NULL CHECK (length(embedding) = 512),
  quality       REAL NOT NULL,
  augmented     INTEGER NOT NULL CHECK (augmented IN (0, 1)),
  augmentation  TEXT NOT NULL DEFAULT '',
  source_file   TEXT,
  created_at    TEXT NOT NULL,
  CHECK (augmented = (augmentation <> '')),
  UNIQUE (player_id, source_sha256, augmentation)
) STRICT;

CREATE TABLE negatives (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  embedding     BLOB NOT NULL CHECK (length(embedding) = 512),
  source        TEXT NOT NULL CHECK (length(source) > 0),
  source_sha256 TEXT NOT NULL CHECK (length(source_sha256) = 64),
  face_index    INTEGER NOT NULL DEFAULT 0 CHECK (face_index >= 0),
  augmentation  TEXT NOT NULL DEFAULT '',
  note          TEXT,
  created_at    TEXT NOT NULL,
  UNIQUE (source_sha256, face_index, augmentation)
) STRICT;

-- No foreign key to players: the history of a removed player must outlive the player.
CREATE TABLE audit (
  id       INTEGER PRIMARY KEY AUTOINCREMENT,
  at       TEXT NOT NULL,
  actor    TEXT NOT NULL,
  action   TEXT NOT NULL,
  subject  TEXT,
  details  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;
CREATE INDEX audit_subject ON audit (subject, id);
`;

// The as-run log: what went on and off air, when, for whom and why (src/overlay/asRun.ts).
// No foreign key to players, like audit: the record of a broadcast must outlive a roster edit.
// player_name is copied for the same reason. pts: source time (s) of the triggering frame for a
// take or cue, of the latest analysed frame for anything else.
const MIGRATION_2_SQL = `
CREATE TABLE as_run (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  at           TEXT NOT NULL,
  channel      TEXT NOT NULL,
  action       TEXT NOT NULL CHECK (length(action) > 0),
  layer        TEXT,
  player_id    TEXT,
  player_name  TEXT,
  confidence   REAL CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
  pts          REAL,
  by           TEXT NOT NULL,
  graphic_id   TEXT,
  detail       TEXT
) STRICT;
CREATE INDEX as_run_channel ON as_run (channel, at);
CREATE INDEX as_run_at ON as_run (at);
`;

// Which vision setup (embedder/detector/alignment, src/vision/setup.ts) made each embedding:
// embeddings of different setups live in different spaces and must not train one model. '' for
// rows written before this column existed (the setup is unknown).
const MIGRATION_3_SQL = `
ALTER TABLE faces ADD COLUMN embedded_with TEXT NOT NULL DEFAULT '';
ALTER TABLE negatives ADD COLUMN embedded_with TEXT NOT NULL DEFAULT '';
`;

// The photos that faces and negatives were embedded from, by content hash, so a roster can be
// re-embedded after a change of detector or alignment without the original files
// (src/roster/reembed.ts). Shared by every row of the same photo; a photo no row refers to any
// more is deleted with the last of them.
const MIGRATION_4_SQL = `
CREATE TABLE source_photos (
  sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
  bytes       BLOB NOT NULL CHECK (length(bytes) > 0),
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;
`;

/** The schema history, oldest first. To change the schema, append { version: N + 1, … }. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'players, faces, negatives, audit', up: MIGRATION_1_SQL },
  { version: 2, name: 'as_run', up: MIGRATION_2_SQL },
  { version: 3, name: 'embedded_with on faces and negatives', up: MIGRATION_3_SQL },
  { version: 4, name: 'source_photos', up: MIGRATION_4_SQL },
];

export interface OpenOptions {
  /** Override the schema history (tests use this to simulate older and newer builds). */
  migrations?: readonly Migration[];
  /** Clock for created/updated/audit times; tests pin it. */
  now?: () => Date;
}

/** An open roster database. Only one per process per file is needed; better-sqlite3 is synchronous. */
export class RosterDb {
  readonly file: string;
  readonly sqlite: Sqlite;
  private readonly clock: () => Date;

  constructor(file: string, sqlite: Sqlite, clock: () => Date) {
    this.file = file;
    this.sqlite = sqlite;
    this.clock = clock;
  }

  /** Current time as stored in the database (ISO-8601 UTC). */
  now(): string {
    return this.clock().toISOString();
  }

  get schemaVersion(): number {
    return userVersion(this.sqlite);
  }

  /**
   * Runs fn in a write transaction, all or nothing. IMMEDIATE takes the write lock up front: a
   * deferred transaction that reads first and writes later can fail with SQLITE_BUSY at the write
   * without waiting for busy_timeout when another process wrote in between. Nested calls become
   * savepoints, so repository methods compose.
   */
  write<T>(fn: () => T): T {
    if (this.sqlite.inTransaction) return this.sqlite.transaction(fn)();
    return this.sqlite.transaction(fn).immediate();
  }

  close(): void {
    if (!this.sqlite.open) return;
    // Lets SQLite refresh query-planner statistics it found worth refreshing; cheap, as documented.
    this.sqlite.pragma('optimize');
    this.sqlite.close();
  }
}

/** Opens (creating if needed) <dataDir>/facecast.db and migrates it to the newest schema. */
export function openRosterDb(dataDir: string, options: OpenOptions = {}): RosterDb {
  const migrations = options.migrations ?? MIGRATIONS;
  checkMigrationList(migrations);
  const file = resolve(join(dataDir, DB_FILE_NAME));
  const sqlite = openFile(dataDir, file);
  try {
    configure(sqlite, file);
    checkOwnership(sqlite, file);
    migrate(sqlite, migrations, file, options.now ?? (() => new Date()));
  } catch (err) {
    sqlite.close();
    throw err;
  }
  return new RosterDb(file, sqlite, options.now ?? (() => new Date()));
}

function openFile(dataDir: string, file: string): Sqlite {
  try {
    mkdirSync(dataDir, { recursive: true });
    return new Database(file);
  } catch (err) {
    throw new RosterError('OPEN_FAILED', `cannot open the roster database ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Durability settings. WAL lets the graphics server read while an operator enrols faces.
 * synchronous = FULL: in WAL mode, NORMAL survives a process crash but may roll back the last
 * commits on power loss or an OS crash, because the WAL is only fsynced at checkpoints. Roster
 * writes are rare (enrolment, stats edits), so an fsync per commit costs nothing noticeable, and a
 * confirmed "player added" should stay added even if the truck loses power.
 */
function configure(sqlite: Sqlite, file: string): void {
  let mode: unknown;
  try {
    mode = sqlite.pragma('journal_mode = WAL', { simple: true });
  } catch (err) {
    throw new RosterError('NOT_A_ROSTER', `${file} is not a readable SQLite database (${(err as Error).message}); move it aside and facecast will create a new one`, {
      cause: err,
    });
  }
  if (mode !== 'wal') {
    throw new RosterError('OPEN_FAILED', `cannot switch ${file} to WAL journaling (got '${String(mode)}'); keep the data directory on a local disk, not a network share`);
  }
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

/** Refuses files that some other program made, before any migration writes into them. */
function checkOwnership(sqlite: Sqlite, file: string): void {
  const appId = sqlite.pragma('application_id', { simple: true }) as number;
  if (appId === APPLICATION_ID) return;
  const tables = (sqlite.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }).n;
  if (appId === 0 && tables === 0) return; // brand new file
  throw new RosterError('NOT_A_ROSTER', `${file} is a SQLite database but not a facecast roster; point --data-dir elsewhere or move the file aside`);
}

export function userVersion(sqlite: Sqlite): number {
  return sqlite.pragma('user_version', { simple: true }) as number;
}

/** Versions must run 1..N without gaps, or an upgrade could silently skip a step. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: entry ${i} has version ${m.version}, expected ${i + 1}`);
  });
}

function tooNewMessage(file: string, found: number, known: number): string {
  return (
    `${file} has roster schema version ${found}, but this facecast only knows versions up to ${known}: ` +
    'it was written by a newer facecast. Upgrade facecast, or open a backup made with this version; ' +
    'refusing to open it so the newer data is not damaged.'
  );
}

/** Applies every migration newer than the file's version, each in its own transaction. */
export function migrate(sqlite: Sqlite, migrations: readonly Migration[], file: string, clock: () => Date = () => new Date()): void {
  const latest = migrations.length;
  const current = userVersion(sqlite);
  if (current > latest) throw new RosterError('SCHEMA_TOO_NEW', tooNewMessage(file, current, latest));
  for (const m of migrations) {
    if (m.version > current) applyMigration(sqlite, m, file, clock);
  }
}

function applyMigration(sqlite: Sqlite, m: Migration, file: string, clock: () => Date): void {
  if (m.foreignKeysOff) sqlite.pragma('foreign_keys = OFF');
  try {
    // IMMEDIATE + re-reading the version inside: if two processes open an old file at once, the
    // second waits for the lock, then sees the step already done and skips it.
    sqlite
      .transaction(() => {
        const v = userVersion(sqlite);
        if (v >= m.version) return;
        if (v !== m.version - 1) throw new Error(`cannot apply migration ${m.version} to ${file} at version ${v}`);
        runStep(sqlite, m);
        recordStep(sqlite, m, clock);
      })
      .immediate();
  } catch (err) {
    if (err instanceof RosterError) throw err;
    const msg = `schema migration ${m.version} (${m.name}) failed on ${file}: ${(err as Error).message}; ` +
      `the file was left unchanged at version ${userVersion(sqlite)}`;
    throw new RosterError('OPEN_FAILED', msg, { cause: err });
  } finally {
    if (m.foreignKeysOff) sqlite.pragma('foreign_keys = ON');
  }
}

function runStep(sqlite: Sqlite, m: Migration): void {
  if (typeof m.up === 'string') sqlite.exec(m.up);
  else m.up(sqlite);
  if (!m.foreignKeysOff) return;
  const broken = sqlite.pragma('foreign_key_check') as unknown[];
  if (broken.length > 0) throw new Error(`migration ${m.version} (${m.name}) left ${broken.length} rows with broken foreign keys`);
}

function recordStep(sqlite: Sqlite, m: Migration, clock: () => Date): void {
  sqlite.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  sqlite.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, clock().toISOString());
  // Both header fields are written by this transaction, so they commit or vanish with the step.
  sqlite.pragma(`application_id = ${APPLICATION_ID}`);
  sqlite.pragma(`user_version = ${m.version}`);
}
