// The roster store against real SQLite files in temp directories: migrations, CRUD with audit,
// all-or-nothing enrolment, cascades, the roster hash, and crash safety with a SIGKILLed writer.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { DB_FILE_NAME, MIGRATIONS, RosterError, openRosterDb, type Migration } from '../src/roster/db.ts';
import { Roster, openRoster, type FaceRecord } from '../src/roster/roster.ts';
import { EMBEDDING_DIM, slugify, type FaceInput } from '../src/roster/schema.ts';
import { trainRoster } from '../src/recognition/service.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROSTER_MODULE = pathToFileURL(join(REPO_ROOT, 'src/roster/roster.ts')).href;

const dirs: string[] = [];
const open: Roster[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'facecast-roster-'));
  dirs.push(d);
  return d;
}

function track(r: Roster): Roster {
  open.push(r);
  return r;
}

afterEach(() => {
  for (const r of open.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A deterministic, distinct embedding per seed. */
function embedding(seed: number): Float32Array {
  const e = new Float32Array(EMBEDDING_DIM);
  for (let i = 0; i < EMBEDDING_DIM; i++) e[i] = Math.sin(seed * 1000 + i) * 0.1;
  return e;
}

function face(source: string, augmentation?: string, seed = 1): FaceInput {
  return { sourceSha256: sha(source), embedding: embedding(seed), quality: 0.8, augmentation, sourceFile: `${source}.png` };
}

const PNG_1PX = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);

describe('migrations', () => {
  it('creates the schema on a new file and records the version', () => {
    const dir = join(tempDir(), 'nested', 'data'); // the data dir need not exist yet
    const db = openRosterDb(dir);
    try {
      expect(db.file).toBe(join(dir, DB_FILE_NAME));
      expect(db.schemaVersion).toBe(MIGRATIONS.length);
      const tables = db.sqlite.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['audit', 'faces', 'negatives', 'players', 'schema_migrations']));
      const history = db.sqlite.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      expect(history).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.sqlite.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(db.sqlite.pragma('busy_timeout', { simple: true })).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('reopening a current file changes nothing', () => {
    const dir = tempDir();
    const r = openRoster(dir);
    r.upsertPlayer({ id: 'sheldon', name: 'Sheldon Cooper' });
    const before = r.db.sqlite.prepare('SELECT * FROM schema_migrations').all();
    r.close();
    const again = track(openRoster(dir));
    expect(again.db.sqlite.prepare('SELECT * FROM schema_migrations').all()).toEqual(before);
    expect(again.getPlayer('sheldon')?.name).toBe('Sheldon Cooper');
  });

  it('upgrades an older file step by step and keeps its data', () => {
    const dir = tempDir();
    const r = openRoster(dir);
    r.upsertPlayer({ id: 'penny', name: 'Penny' });
    r.close();
    const next = MIGRATIONS.length + 1;
    const step: Migration = { version: next, name: 'extra', up: 'CREATE TABLE extra (id INTEGER PRIMARY KEY, player_id TEXT) STRICT;' };
    const db = openRosterDb(dir, { migrations: [...MIGRATIONS, step] });
    try {
      expect(db.schemaVersion).toBe(next);
      expect(db.sqlite.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all()).toEqual([...MIGRATIONS.map((m) => m.version), next]);
      expect(db.sqlite.prepare("SELECT name FROM players WHERE id = 'penny'").pluck().get()).toBe('Penny');
      expect(() => db.sqlite.prepare('SELECT count(*) FROM extra').get()).not.toThrow();
    } finally {
      db.close();
    }
  });

  it('a failing migration leaves the file at the previous version, with no half-applied step', () => {
    const dir = tempDir();
    openRoster(dir).close();
    const current = MIGRATIONS.length;
    const broken: Migration = { version: current + 1, name: 'broken', up: 'CREATE TABLE half (a INTEGER); INSERT INTO no_such_table VALUES (1);' };
    expect(() => openRosterDb(dir, { migrations: [...MIGRATIONS, broken] })).toThrow(
      new RegExp(`migration ${current + 1} \\(broken\\) failed .*no_such_table.*left unchanged at version ${current}`),
    );
    const db = openRosterDb(dir);
    try {
      expect(db.schemaVersion).toBe(current);
      expect(db.sqlite.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('a table-rebuild migration with foreignKeysOff keeps the faces that point at the table', () => {
    const dir = tempDir();
    const r = openRoster(dir);
    r.upsertPlayer({ id: 'raj', name: 'Raj' });
    r.addFaces('raj', [face('raj1'), face('raj2')]);
    r.close();
    const rebuild: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'players: add nickname (rebuild)',
      foreignKeysOff: true,
      up: `CREATE TABLE players_new (
             id TEXT PRIMARY KEY, name TEXT NOT NULL, number INTEGER, team TEXT, team_color TEXT, position TEXT,
             stats TEXT NOT NULL DEFAULT '{}', photo BLOB, photo_mime TEXT, nickname TEXT,
             created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
           INSERT INTO players_new (id, name, number, team, team_color, position, stats, photo, photo_mime, created_at, updated_at)
             SELECT id, name, number, team, team_color, position, stats, photo, photo_mime, created_at, updated_at FROM players;
           DROP TABLE players;
           ALTER TABLE players_new RENAME TO players;`,
    };
    const db = openRosterDb(dir, { migrations: [...MIGRATIONS, rebuild] });
    try {
      expect(db.sqlite.prepare('SELECT count(*) FROM faces').pluck().get()).toBe(2);
      expect(db.sqlite.pragma('foreign_keys', { simple: true })).toBe(1); // switched back on
      db.sqlite.prepare("DELETE FROM players WHERE id = 'raj'").run();
      expect(db.sqlite.prepare('SELECT count(*) FROM faces').pluck().get()).toBe(0); // cascade still wired
    } finally {
      db.close();
    }
  });

  it('refuses a file written by a newer facecast, and does not touch it', () => {
    const dir = tempDir();
    openRoster(dir).close();
    const raw = new Database(join(dir, DB_FILE_NAME));
    raw.pragma('user_version = 7');
    raw.close();
    let err: unknown;
    try {
      openRosterDb(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RosterError);
    expect((err as RosterError).code).toBe('SCHEMA_TOO_NEW');
    expect((err as Error).message).toMatch(new RegExp(`schema version 7.*only knows versions up to ${MIGRATIONS.length}.*newer facecast`));
    const check = new Database(join(dir, DB_FILE_NAME));
    expect(check.pragma('user_version', { simple: true })).toBe(7);
    check.close();
  });

  it("refuses files that are not a facecast roster", () => {
    const foreign = tempDir();
    const other = new Database(join(foreign, DB_FILE_NAME));
    other.exec('CREATE TABLE invoices (id INTEGER)');
    other.close();
    expect(() => openRosterDb(foreign)).toThrow(/not a facecast roster/);

    const garbage = tempDir();
    writeFileSync(join(garbage, DB_FILE_NAME), 'this is not sqlite at all, just some text '.repeat(200));
    expect(() => openRosterDb(garbage)).toThrow(RosterError);
  });
});

describe('players', () => {
  let clock = new Date('2025-01-01T00:00:00.000Z');
  const tick = () => (clock = new Date(clock.getTime() + 1000));
  const openAt = () => track(openRoster(tempDir(), { now: () => clock }));

  it('creates, reads, updates, patches stats and removes, writing an audit row for each change', () => {
    const r = openAt();
    const created = r.upsertPlayer(
      { id: 'sheldon', name: 'Sheldon Cooper', number: 73, team: 'Caltech', teamColor: '#FF6C0C', position: 'Theorist', stats: { iq: 187 }, photo: PNG_1PX },
      'alice',
    );
    expect(created.outcome).toBe('created');
    expect(created.player).toMatchObject({ id: 'sheldon', number: 73, teamColor: '#ff6c0c', stats: { iq: 187 }, hasPhoto: true });
    expect(r.getPlayerPhoto('sheldon')).toEqual({ mime: 'image/png', data: PNG_1PX });

    tick();
    expect(r.upsertPlayer({ id: 'sheldon', name: 'Sheldon Cooper' }, 'alice').outcome).toBe('unchanged');
    expect(r.getPlayer('sheldon')?.updatedAt).toBe(created.player.updatedAt); // no change, no bump

    const updated = r.updatePlayer('sheldon', { number: 42, position: null }, 'bob');
    expect(updated).toMatchObject({ number: 42, position: null, team: 'Caltech', stats: { iq: 187 } });
    expect(updated.updatedAt).toBe(clock.toISOString());
    expect(updated.createdAt).toBe(created.player.createdAt);

    const patched = r.patchStats('sheldon', { goals: 2, iq: null, height: '6\'1"' }, 'carol');
    expect(patched.stats).toEqual({ goals: 2, height: '6\'1"' });

    r.upsertPlayer({ id: 'amy', name: 'Amy Farrah Fowler' }, 'alice');
    expect(r.listPlayers().map((p) => p.id)).toEqual(['amy', 'sheldon']);

    expect(r.removePlayer('sheldon', 'dave')).toEqual({ removedFaces: 0 });
    expect(r.getPlayer('sheldon')).toBeNull();

    const trail = r.listAudit({ subject: 'sheldon' });
    expect(trail.map((a) => [a.action, a.actor])).toEqual([
      ['player.remove', 'dave'],
      ['player.stats', 'carol'],
      ['player.update', 'bob'],
      ['player.create', 'alice'],
    ]);
    expect(trail[2].details).toEqual({ number: { from: 73, to: 42 }, position: { from: 'Theorist', to: null } });
    expect(trail[0].details).toMatchObject({ name: 'Sheldon Cooper', number: 42 });
    expect(r.counts().auditEntries).toBe(5);
  });

  it('rejects invalid players with the field and the rule, and writes nothing', () => {
    const r = openAt();
    const bad: [unknown, RegExp][] = [
      [{ id: 'Sheldon Cooper', name: 'x' }, /id: must be a lowercase slug/],
      [{ id: 'a--b', name: 'x' }, /id: must be a lowercase slug/],
      [{ id: 'x', name: 'x', number: 1000 }, /number: must be 0\.\.999/],
      [{ id: 'x', name: 'x', number: 7.5 }, /number: must be a whole number/],
      [{ id: 'x', name: 'x', stats: { goals: [1] } }, /stats\.goals/],
      [{ id: 'x', name: 'x', teamColour: '#ffffff' }, /teamColour/],
      [{ id: 'x', name: 'x', photo: Buffer.from('GIF89a') }, /photo: must be a PNG, JPEG or WebP/],
      [{ id: 'x', name: '' }, /name: must not be empty/],
    ];
    for (const [input, message] of bad) {
      expect(() => r.upsertPlayer(input as never)).toThrow(message);
    }
    expect(r.counts()).toMatchObject({ players: 0, auditEntries: 0 });
  });

  it('tells a person how to fix edits of an unknown player', () => {
    const r = openAt();
    const msg = "no player 'xyz'; add it first with `facecast roster import` or POST /api/players";
    expect(() => r.updatePlayer('xyz', { number: 1 })).toThrow(msg);
    expect(() => r.patchStats('xyz', { goals: 1 })).toThrow(msg);
    expect(() => r.removePlayer('xyz')).toThrow(msg);
    expect(() => r.addFaces('xyz', [face('a')])).toThrow(msg);
  });

  it('slugify gives ids the schema accepts', () => {
    expect(slugify('Amy Farrah Fowler')).toBe('amy-farrah-fowler');
    expect(slugify('  José  Ñúñez!! ')).toBe('jose-nunez');
  });
});

describe('faces', () => {
  it('stores embeddings exactly and lists them per player with counts', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'howard', name: 'Howard' });
    r.upsertPlayer({ id: 'leonard', name: 'Leonard' });
    const res = r.addFaces('howard', [face('h1', undefined, 1), face('h1', 'flip', 2), face('h2', '', 3)], 'enrol');
    expect(res).toMatchObject({ added: 3, skipped: 0 });
    const faces = r.listFaces('howard');
    expect(faces.map((f) => [f.augmented, f.augmentation])).toEqual([
      [false, ''],
      [true, 'flip'],
      [false, ''],
    ]);
    expect(faces[1].embedding).toBeInstanceOf(Float32Array);
    expect(Array.from(faces[1].embedding)).toEqual(Array.from(embedding(2)));
    const summary = r.listPlayers();
    expect(summary.map((p) => [p.id, p.faceCount, p.originalFaceCount])).toEqual([
      ['howard', 3, 2],
      ['leonard', 0, 0],
    ]);
    expect(r.counts()).toMatchObject({ players: 2, faces: 3, originalFaces: 2, augmentedFaces: 1 });
  });

  it('re-enrolling the same photos is a no-op (no rows, no audit)', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'stuart', name: 'Stuart' });
    const batch = [face('s1'), face('s1', 'flip'), face('s2')];
    expect(r.addFaces('stuart', batch).added).toBe(3);
    const audit = r.counts().auditEntries;
    const upper = { ...face('s2'), sourceSha256: sha('s2').toUpperCase() }; // same hash, other spelling
    expect(r.addFaces('stuart', [...batch, upper])).toEqual({ added: 0, skipped: 4, reembedded: 0, ids: [] });
    expect(r.counts()).toMatchObject({ faces: 3, auditEntries: audit });
  });

  it('enrolling a photo again under another vision setup replaces its embeddings; the same setup is a no-op', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    const under = (setup: string, seed: number) => [face('a1', '', seed), face('a1', 'flip', seed + 1)].map((f) => ({ ...f, embeddedWith: setup }));
    const first = r.addFaces('amy', under('faceRecognitionNet/mtcnn/similarity', 1));
    const hash = r.rosterHash();
    expect(r.addFaces('amy', under('faceRecognitionNet/mtcnn/similarity', 7))).toMatchObject({ added: 0, skipped: 2, reembedded: 0 });
    // A row without a recorded setup never overwrites one with a setup.
    expect(r.addFaces('amy', under('', 7))).toMatchObject({ added: 0, skipped: 2 });
    const again = r.addFaces('amy', under('faceRecognitionNet/mtcnn/landmarks68', 5));
    expect(again).toMatchObject({ added: 2, skipped: 0, reembedded: 2 });
    const faces = r.listFaces('amy');
    expect(faces.map((f) => [f.augmentation, f.embeddedWith])).toEqual([
      ['', 'faceRecognitionNet/mtcnn/landmarks68'],
      ['flip', 'faceRecognitionNet/mtcnn/landmarks68'],
    ]);
    expect(Array.from(faces[0]!.embedding)).toEqual(Array.from(embedding(5)));
    // New ids: the roster hash moves, so a model trained on the old embeddings reads as stale.
    expect(faces.map((f) => f.id).some((id) => first.ids.includes(id))).toBe(false);
    expect(r.rosterHash()).not.toBe(hash);
    expect(r.listAudit({ subject: 'amy', action: 'faces.add' })[0]!.details).toMatchObject({ added: 2, reembedded: 2 });
  });

  it('rows stored before the setup was recorded (schema 2) read back with an empty setup and are replaced on re-enrolment', () => {
    const dir = tempDir();
    const v2 = openRosterDb(dir, { migrations: MIGRATIONS.slice(0, 2) });
    const now = new Date().toISOString();
    v2.sqlite.prepare("INSERT INTO players (id, name, created_at, updated_at) VALUES ('raj', 'Raj', ?, ?)").run(now, now);
    v2.sqlite
      .prepare("INSERT INTO faces (player_id, source_sha256, embedding, quality, augmented, augmentation, created_at) VALUES ('raj', ?, ?, 0.9, 0, '', ?)")
      .run(sha('r1'), Buffer.from(embedding(1).buffer), now);
    v2.sqlite.prepare("INSERT INTO negatives (embedding, source, source_sha256, created_at) VALUES (?, 'lfw', ?, ?)").run(Buffer.from(embedding(2).buffer), sha('n1'), now);
    v2.close();
    const r = track(openRoster(dir));
    expect(r.db.schemaVersion).toBe(MIGRATIONS.length);
    expect(r.listFaces().map((f) => f.embeddedWith)).toEqual(['']);
    expect(r.listNegatives().map((n) => n.embeddedWith)).toEqual(['']);
    expect(r.addFaces('raj', [{ ...face('r1', '', 3), embeddedWith: 'faceRecognitionNet/mtcnn/landmarks68' }])).toMatchObject({ added: 1, reembedded: 1 });
    const neg = { embedding: embedding(4), source: 'lfw' as const, sourceSha256: sha('n1'), embeddedWith: 'faceRecognitionNet/mtcnn/landmarks68' };
    expect(r.addNegatives([neg])).toMatchObject({ added: 1, reembedded: 1 });
    expect(r.counts()).toMatchObject({ faces: 1, negatives: 1 });
  });

  it('addFaces is all-or-nothing when a row in the middle is invalid', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'penny', name: 'Penny' });
    const short = { ...face('p2'), embedding: new Float32Array(127) };
    expect(() => r.addFaces('penny', [face('p1'), short, face('p3')])).toThrow(/face #1 .*embedding: must have exactly 128 values/);
    const nan = { ...face('p2'), embedding: new Float32Array(EMBEDDING_DIM).fill(Number.NaN) };
    expect(() => r.addFaces('penny', [face('p1'), nan])).toThrow(/finite/);
    expect(r.listFaces('penny')).toEqual([]);
    expect(r.listAudit({ action: 'faces.add' })).toEqual([]);
  });

  it('addFaces is all-or-nothing when the database fails part-way through', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'penny', name: 'Penny' });
    // Simulate a write failure (disk full, I/O error) on the third insert, after two succeeded.
    r.db.sqlite.exec(`CREATE TEMP TRIGGER fail_third BEFORE INSERT ON main.faces
      WHEN NEW.source_file = 'p3.png' BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END`);
    expect(() => r.addFaces('penny', [face('p1'), face('p2'), face('p3'), face('p4')])).toThrow(/simulated write failure/);
    expect(r.counts()).toMatchObject({ faces: 0, auditEntries: 1 }); // only the player.create row
    r.db.sqlite.exec('DROP TRIGGER temp.fail_third');
    expect(r.addFaces('penny', [face('p1'), face('p2'), face('p3')]).added).toBe(3);
  });

  it('removing a player cascades to its faces and records how many went', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'bernadette', name: 'Bernadette' });
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    r.addFaces('bernadette', [face('b1'), face('b1', 'flip'), face('b2')]);
    r.addFaces('amy', [face('a1')]);
    expect(r.removePlayer('bernadette', 'op')).toEqual({ removedFaces: 3 });
    expect(r.listFaces('bernadette')).toEqual([]);
    expect(r.listFaces().map((f: FaceRecord) => f.playerId)).toEqual(['amy']);
    expect(r.listAudit({ subject: 'bernadette', action: 'player.remove' })[0].details).toMatchObject({ removedFaces: 3 });
  });

  it('removeFaces removes all listed faces or none', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'raj', name: 'Raj' });
    const { ids } = r.addFaces('raj', [face('r1'), face('r2')]);
    expect(() => r.removeFaces([ids[0], 99999])).toThrow(/no face with id 99999/);
    expect(r.listFaces('raj')).toHaveLength(2);
    expect(r.removeFaces([ids[0]], 'op')).toEqual({ removed: 1 });
    expect(r.listFaces('raj').map((f) => f.id)).toEqual([ids[1]]);
  });
});

describe('source photos (kept for re-embedding)', () => {
  // `face(source)` says it came from the photo whose bytes are the string `source`.
  const photo = (source: string) => ({ bytes: Buffer.from(source), name: `${source}.png` });

  it('are kept with their faces, once per photo, and only when every row says it came from that photo', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    r.addFaces('amy', [face('a1'), face('a1', 'flip')], 'op', photo('a1'));
    expect(r.sourcePhoto(sha('a1'))).toEqual({ bytes: Buffer.from('a1'), name: 'a1.png' });
    // Enrolling the same photo again keeps it (an older roster gets its photos this way), without a copy.
    r.addFaces('amy', [face('a1')], 'op', { ...photo('a1'), name: 'renamed.png' });
    expect(r.db.sqlite.prepare('SELECT count(*) FROM source_photos').pluck().get()).toBe(1);
    expect(r.sourcePhoto(sha('a1'))?.name).toBe('a1.png');
    expect(() => r.addFaces('amy', [face('a2')], 'op', photo('a3'))).toThrow(/a3.png has sha256 .*but a row says it came from/);
    expect(r.sourcePhoto(sha('a3'))).toBeNull();
    expect(r.listFaces('amy')).toHaveLength(2);
  });

  it('go when the last face or negative of them goes', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    r.upsertPlayer({ id: 'raj', name: 'Raj' });
    const { ids } = r.addFaces('amy', [face('shared'), face('a1')], 'op');
    r.addFaces('amy', [face('shared')], 'op', photo('shared'));
    r.addFaces('raj', [face('shared')], 'op', photo('shared'));
    r.addNegatives([{ embedding: embedding(3), source: 'crowd', sourceSha256: sha('crowd'), note: 'crowd.jpg' }], 'op', photo('crowd'));
    r.removeFaces([ids[0]!]);
    expect(r.sourcePhoto(sha('shared'))).not.toBeNull(); // raj still has a face of it
    r.removePlayer('raj');
    expect(r.sourcePhoto(sha('shared'))).toBeNull();
    expect(r.replaceSourceNegatives('crowd', sha('crowd'), [], 'op')).toMatchObject({ added: 0, reembedded: 1 });
    expect(r.sourcePhoto(sha('crowd'))).toBeNull();
  });

  it('staleSources lists each photo with rows of another or an unrecorded setup; replaceSourceFaces swaps all of a photo at once', () => {
    const r = track(openRoster(tempDir()));
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    const under = (setup: string, src: string, augs: string[]) => augs.map((a, i) => ({ ...face(src, a || undefined, i + 1), embeddedWith: setup }));
    r.addFaces('amy', under('old', 'a1', ['', 'v1', 'v2']), 'op', photo('a1'));
    r.addFaces('amy', under('new', 'a2', ['']), 'op', photo('a2'));
    r.addFaces('amy', under('', 'a3', ['']), 'op');
    r.addNegatives([{ embedding: embedding(5), source: 'builtin', sourceSha256: sha('b'), embeddedWith: 'old' }]);
    expect(r.staleSources('new')).toEqual({
      faces: [
        { playerId: 'amy', sha256: sha('a1'), name: 'a1.png', rows: 3, stored: true },
        { playerId: 'amy', sha256: sha('a3'), name: 'a3.png', rows: 1, stored: false },
      ],
      negatives: [], // the built-in ones re-embed themselves
    });
    // Today's settings make one view fewer: v2 must not stay behind in the old space.
    const res = r.replaceSourceFaces('amy', sha('a1'), under('new', 'a1', ['', 'v1']), 'op');
    expect(res).toMatchObject({ added: 2, reembedded: 3 });
    expect(r.listFaces('amy').filter((f) => f.sourceSha256 === sha('a1')).map((f) => [f.augmentation, f.embeddedWith])).toEqual([
      ['', 'new'],
      ['v1', 'new'],
    ]);
    expect(() => r.replaceSourceFaces('amy', sha('a1'), under('new', 'a2', ['']), 'op')).toThrow(/every face must come from photo/);
    expect(r.sourcePhoto(sha('a1'))).not.toBeNull();
  });
});

describe('rosterHash', () => {
  it('changes when faces or players change, not when captions do', () => {
    const r = track(openRoster(tempDir()));
    const empty = r.rosterHash();
    expect(empty).toMatch(/^[0-9a-f]{64}$/);
    r.upsertPlayer({ id: 'leonard', name: 'Leonard' });
    const withPlayer = r.rosterHash();
    expect(withPlayer).not.toBe(empty);
    const { ids } = r.addFaces('leonard', [face('l1')]);
    const withFace = r.rosterHash();
    expect(withFace).not.toBe(withPlayer);
    r.addFaces('leonard', [face('l1')]); // idempotent re-enrolment: same roster
    expect(r.rosterHash()).toBe(withFace);
    r.patchStats('leonard', { goals: 3 });
    r.updatePlayer('leonard', { name: 'Leonard Hofstadter' });
    expect(r.rosterHash()).toBe(withFace);
    r.addFaces('leonard', [face('l1', 'flip')]);
    expect(r.rosterHash()).not.toBe(withFace);
    // Delete and re-add the same photo: a new face id, so a model trained before is still stale.
    r.removeFaces(ids);
    r.removeFaces(r.listFaces('leonard').map((f) => f.id));
    r.addFaces('leonard', [face('l1')]);
    expect(r.rosterHash()).not.toBe(withFace);
  });

  it('is the same for the same roster read back from disk', () => {
    const dir = tempDir();
    const r = openRoster(dir);
    r.upsertPlayer({ id: 'amy', name: 'Amy' });
    r.addFaces('amy', [face('a1'), face('a2')]);
    const hash = r.rosterHash();
    r.close();
    expect(track(openRoster(dir)).rosterHash()).toBe(hash);
  });
});

describe('training and the vision setup of the stored embeddings', () => {
  const LANDMARKS68 = { embedder: 'faceRecognitionNet', detector: 'mtcnn', alignment: 'landmarks68' };
  /** Two players × 3 photos, each photo a unit vector near its player's direction. */
  function enrolled(setup: string): Roster {
    const r = track(openRoster(tempDir()));
    for (const [p, id] of ['amy', 'raj'].entries()) {
      r.upsertPlayer({ id, name: id });
      const photos = [0, 1, 2].map((k) => {
        const e = embedding(p * 10).map((v, i) => v + 0.02 * Math.cos(k * 7 + i));
        const n = Math.hypot(...e);
        return { ...face(`${id}${k}`), embedding: e.map((v) => v / n), embeddedWith: setup };
      });
      r.addFaces(id, photos);
    }
    return r;
  }

  it('refuses to train on embeddings of another setup, and says how to re-embed them', () => {
    const r = enrolled('faceRecognitionNet/mtcnn/similarity');
    expect(() => trainRoster(r, LANDMARKS68, { augmented: true })).toThrow(
      /6 enrolled faces \(amy, raj\) and 0 negatives were embedded with faceRecognitionNet\/mtcnn\/similarity, but vision is now faceRecognitionNet\/mtcnn\/landmarks68: re-embed them with `facecast roster reembed`/,
    );
  });

  it('trains on embeddings of the current setup without a word, and warns about unrecorded ones', () => {
    const current = trainRoster(enrolled('faceRecognitionNet/mtcnn/landmarks68'), LANDMARKS68, { augmented: true });
    expect(current.model.classifier.metrics.warnings.join('\n')).not.toMatch(/vision setup/);
    // No negatives of its own: training says so, and what to do.
    expect(current.model.classifier.metrics.warnings.join('\n')).toMatch(/only 0 negative faces besides the built-in pool.*facecast negatives import/);
    const legacy = trainRoster(enrolled(''), LANDMARKS68, { augmented: true });
    expect(legacy.model.classifier.metrics.warnings.join('\n')).toMatch(/6 faces or negatives were stored before facecast recorded the vision setup/);
  });
});

describe('negatives', () => {
  it('adds, skips duplicates, lists by source, validates', () => {
    const r = track(openRoster(tempDir()));
    const crowd = (i: number) => ({ embedding: embedding(100 + i), source: 'crowd' as const, sourceSha256: sha('crowd.jpg'), faceIndex: i });
    expect(r.addNegatives([crowd(0), crowd(1), { embedding: embedding(9), source: 'operator', sourceSha256: sha('x'), note: 'referee' }], 'op').added).toBe(3);
    expect(r.addNegatives([crowd(1), crowd(2)])).toMatchObject({ added: 1, skipped: 1 });
    expect(r.listNegatives('crowd').map((n) => n.faceIndex)).toEqual([0, 1, 2]);
    expect(r.listNegatives().find((n) => n.source === 'operator')?.note).toBe('referee');
    expect(Array.from(r.listNegatives()[0].embedding)).toEqual(Array.from(embedding(100)));
    expect(() => r.addNegatives([{ ...crowd(5), source: 'tv' as never }])).toThrow(/negative #0: source/);
    expect(r.counts().negatives).toBe(4);
    expect(r.listAudit({ action: 'negatives.add' })).toHaveLength(2);
  });
});

// A writer killed mid-transaction must leave every earlier commit intact and none of its own rows.
const CHILD_SCRIPT = `
import { statSync } from 'node:fs';
import { openRoster } from ${JSON.stringify(ROSTER_MODULE)};
import { createHash } from 'node:crypto';
const dir = process.argv[2];
const sha = (s) => createHash('sha256').update(s).digest('hex');
const emb = (seed) => Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed + i));
const faces = (tag, n) => Array.from({ length: n }, (_, i) => ({ sourceSha256: sha(tag + ':' + i), embedding: emb(i), quality: 0.5 }));
const r = openRoster(dir);
// A tiny page cache makes SQLite spill uncommitted pages into the WAL file during the long
// transaction, so the kill really lands with half a transaction on disk.
r.db.sqlite.pragma('cache_size = 8');
for (let p = 0; p < 5; p++) {
  r.upsertPlayer({ id: 'committed-' + p, name: 'Committed ' + p }, 'child');
  r.addFaces('committed-' + p, faces('c' + p, 20), 'child');
}
const walBytes = statSync(r.db.file + '-wal').size;
process.stdout.write('COMMITTED ' + JSON.stringify({ hash: r.rosterHash(), counts: r.counts(), walBytes }) + '\\n');
r.db.write(() => {
  r.upsertPlayer({ id: 'doomed', name: 'Never Committed' }, 'child');
  r.patchStats('committed-0', { goals: 99 }, 'child');
  for (let batch = 0; batch < 1e6; batch++) {
    r.addFaces('doomed', faces('d' + batch, 50), 'child');
    if (batch === 40) process.stdout.write('IN_TX\\n');
  }
  throw new Error('never killed');
});
`;

describe('crash safety', () => {
  it('a SIGKILL in the middle of a long write loses no committed row and leaves nothing of the open transaction', async () => {
    const dir = tempDir();
    const script = join(dir, 'writer.mts');
    writeFileSync(script, CHILD_SCRIPT);
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });

    let committed: { hash: string; counts: Record<string, number>; walBytes: number } | undefined;
    let walAtKill = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let buffered = '';
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('COMMITTED ')) committed = JSON.parse(line.slice(10));
        if (line === 'IN_TX') {
          walAtKill = statSync(join(dir, `${DB_FILE_NAME}-wal`)).size;
          child.kill('SIGKILL');
        }
      }
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on('exit', (code, signal) => res({ code, signal })),
    );
    expect(exit, stderr).toEqual({ code: null, signal: 'SIGKILL' });
    expect(committed).toBeDefined();
    // The open transaction had already written pages into the WAL when it died.
    expect(walAtKill).toBeGreaterThan(committed!.walBytes);

    const r = track(openRoster(dir));
    expect(r.db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(r.db.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(r.counts()).toEqual(committed!.counts);
    expect(r.rosterHash()).toBe(committed!.hash);
    expect(r.getPlayer('doomed')).toBeNull();
    expect(r.getPlayer('committed-0')?.stats).toEqual({});
    expect(r.listPlayers().map((p) => [p.id, p.faceCount])).toEqual([0, 1, 2, 3, 4].map((p) => [`committed-${p}`, 20]));
    expect(r.listAudit({ subject: 'doomed' })).toEqual([]);
    // And the file keeps working after recovery.
    r.upsertPlayer({ id: 'after', name: 'After Crash' });
    expect(r.counts().players).toBe(6);
  });
});
