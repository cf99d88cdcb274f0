// Typed repository over the roster database: players, their face embeddings, negatives (faces that
// are nobody on the roster) and the audit trail. Every change runs in one write transaction that
// also writes its audit row, so the trail can never miss a change or record one that rolled back.
// A call that changes nothing (re-enrolling the same photo, saving identical fields) writes nothing.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { RosterError, openRosterDb, type OpenOptions, type RosterDb } from './db.ts';
import {
  EMBEDDING_DIM,
  actorSchema,
  describeIssues,
  faceInputSchema,
  negativeInputSchema,
  photoMime,
  playerIdSchema,
  playerInputSchema,
  playerPatchSchema,
  statsPatchSchema,
  statsSchema,
  type FaceInput,
  type NegativeInput,
  type NegativeSource,
  type ParsedPlayerPatch,
  type PhotoMime,
  type PlayerInput,
  type PlayerPatch,
} from './schema.ts';

export { RosterError } from './db.ts';

export type Stats = Record<string, number | string>;

export interface Player {
  id: string;
  name: string;
  number: number | null;
  team: string | null;
  teamColor: string | null;
  position: string | null;
  stats: Stats;
  /** The thumbnail itself is fetched with getPlayerPhoto, so listings stay small. */
  hasPhoto: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PlayerSummary extends Player {
  /** All enrolled embeddings, augmented ones included. */
  faceCount: number;
  /** Embeddings from original (un-augmented) crops: roughly "how many photos". */
  originalFaceCount: number;
}

export interface PlayerPhoto {
  mime: PhotoMime;
  data: Buffer;
}

export interface FaceRecord {
  id: number;
  playerId: string;
  sourceSha256: string;
  embedding: Float32Array;
  quality: number;
  augmented: boolean;
  /** '' for the original crop. */
  augmentation: string;
  sourceFile: string | null;
  /** The vision setup that made the embedding (src/vision/setup.ts); '' = not recorded (an older roster). */
  embeddedWith: string;
  createdAt: string;
}

export interface NegativeRecord {
  id: number;
  embedding: Float32Array;
  source: string;
  sourceSha256: string;
  faceIndex: number;
  augmentation: string;
  note: string | null;
  /** As FaceRecord.embeddedWith. */
  embeddedWith: string;
  createdAt: string;
}

/** Roster.setupCounts(): '' as embeddedWith for rows stored before the setup was recorded. */
export interface SetupCounts {
  faces: { playerId: string; embeddedWith: string; n: number }[];
  negatives: { source: string; embeddedWith: string; n: number }[];
}

/** The bytes of a photo that faces or negatives were embedded from, kept for re-embedding. */
export interface SourcePhoto {
  bytes: Uint8Array;
  /** File or upload name, for messages. */
  name: string;
}

/**
 * Stored rows that another (or an unrecorded) vision setup made, one entry per photo: what
 * `facecast roster reembed` works through. `stored` says whether the photo itself is in the roster.
 */
export interface StaleSources {
  faces: { playerId: string; sha256: string; name: string; rows: number; stored: boolean }[];
  negatives: { source: NegativeSource; sha256: string; name: string; rows: number; stored: boolean }[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  details: unknown;
}

export interface AddResult {
  /** Rows newly written. */
  added: number;
  /** Rows already present (same player/source image/augmentation), left untouched. */
  skipped: number;
  /** Of the added rows, those that replaced the same row embedded with another (or an unrecorded) vision setup. */
  reembedded: number;
  /** Ids of the new rows, in input order. */
  ids: number[];
}

export interface RosterCounts {
  players: number;
  faces: number;
  originalFaces: number;
  augmentedFaces: number;
  negatives: number;
  auditEntries: number;
}

export interface AuditQuery {
  subject?: string;
  action?: string;
  /** Only entries with a smaller id (for paging back through history). */
  beforeId?: number;
  /** Defaults to 100. */
  limit?: number;
}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

/** One roster-file row, validated on its own (see validateImportRow). */
export interface ImportRow {
  line: number;
  id: string;
  fields: ParsedPlayerPatch;
}

export interface ImportOutcome {
  line: number;
  id: string;
  status: 'created' | 'updated' | 'unchanged' | 'refused';
  /** Why a row was refused. */
  error?: string;
}

/** Players listed by name in an import's audit row; the counts cover the rest. */
const IMPORT_AUDIT_PLAYERS = 500;


const DEFAULT_ACTOR = 'system';
const EMBEDDING_BYTES = EMBEDDING_DIM * 4;

interface PlayerRow {
  id: string;
  name: string;
  number: number | null;
  team: string | null;
  team_color: string | null;
  position: string | null;
  stats: string;
  has_photo: number;
  created_at: string;
  updated_at: string;
}

interface FaceRow {
  id: number;
  player_id: string;
  source_sha256: string;
  embedding: Buffer;
  quality: number;
  augmented: number;
  augmentation: string;
  source_file: string | null;
  embedded_with: string;
  created_at: string;
}

interface NegativeRow {
  id: number;
  embedding: Buffer;
  source: string;
  source_sha256: string;
  face_index: number;
  augmentation: string;
  note: string | null;
  embedded_with: string;
  created_at: string;
}

/** The columns a player edit can touch, in database terms. */
interface PlayerColumns {
  name: string;
  number: number | null;
  team: string | null;
  team_color: string | null;
  position: string | null;
  stats: string;
  photo: Uint8Array | null;
  photo_mime: PhotoMime | null;
}

const PLAYER_SELECT = `SELECT id, name, number, team, team_color, position, stats,
  photo IS NOT NULL AS has_photo, created_at, updated_at FROM players`;

/** Embeddings are stored as 128 little-endian float32s, written explicitly so files move between machines. */
export function encodeEmbedding(e: Float32Array): Buffer {
  const buf = Buffer.alloc(EMBEDDING_BYTES);
  for (let i = 0; i < EMBEDDING_DIM; i++) buf.writeFloatLE(e[i], i * 4);
  return buf;
}

export function decodeEmbedding(b: Buffer): Float32Array {
  if (b.length !== EMBEDDING_BYTES) throw new Error(`stored embedding has ${b.length} bytes, expected ${EMBEDDING_BYTES}`);
  const out = new Float32Array(EMBEDDING_DIM);
  for (let i = 0; i < EMBEDDING_DIM; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new RosterError('INVALID', `invalid ${what}: ${describeIssues(r.error)}`);
  return r.data;
}

/**
 * A roster-file row → the fields it sets, or what is wrong with it. `named` says whether the row
 * gave a name: a known player keeps its own when the file has no name for it.
 */
export function validateImportRow(line: number, input: PlayerInput, named: boolean): ImportRow | { line: number; id: string; error: string } {
  const id = typeof input.id === 'string' ? input.id : '';
  const r = playerInputSchema.safeParse(input);
  if (!r.success) return { line, id, error: `invalid player '${id}': ${describeIssues(r.error)}` };
  const { id: _id, ...fields } = r.data;
  return { line, id: r.data.id, fields: named ? fields : { ...fields, name: undefined } };
}

function noPlayer(id: string): RosterError {
  return new RosterError('NOT_FOUND', `no player '${id}'; add it first with \`facecast roster import\` or POST /api/players`);
}

function toPlayer(r: PlayerRow): Player {
  return {
    id: r.id,
    name: r.name,
    number: r.number,
    team: r.team,
    teamColor: r.team_color,
    position: r.position,
    stats: JSON.parse(r.stats) as Stats,
    hasPhoto: r.has_photo === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A new row of a recorded setup replaces a stored one of another or an unrecorded setup; nothing else is rewritten. */
/** The photo's sha256, after checking that every row says it came from that photo. */
function sourcePhotoSha(photo: SourcePhoto, rows: readonly { sourceSha256: string }[]): string {
  const sha = createHash('sha256').update(photo.bytes).digest('hex');
  const other = rows.find((r) => r.sourceSha256 !== sha);
  if (other) throw new RosterError('INVALID', `photo ${photo.name} has sha256 ${sha}, but a row says it came from ${other.sourceSha256}`);
  return sha;
}

function replaces(incoming: string, stored: string): boolean {
  return incoming !== '' && incoming !== stored;
}

function toFace(r: FaceRow): FaceRecord {
  return {
    id: r.id,
    playerId: r.player_id,
    sourceSha256: r.source_sha256,
    embedding: decodeEmbedding(r.embedding),
    quality: r.quality,
    augmented: r.augmented === 1,
    augmentation: r.augmentation,
    sourceFile: r.source_file,
    embeddedWith: r.embedded_with,
    createdAt: r.created_at,
  };
}

function toNegative(r: NegativeRow): NegativeRecord {
  return {
    id: r.id,
    embedding: decodeEmbedding(r.embedding),
    source: r.source,
    sourceSha256: r.source_sha256,
    faceIndex: r.face_index,
    augmentation: r.augmentation,
    note: r.note,
    embeddedWith: r.embedded_with,
    createdAt: r.created_at,
  };
}

/** Column values after applying a parsed patch on top of the current ones (undefined = keep). */
function mergeColumns(base: PlayerColumns, p: ParsedPlayerPatch): PlayerColumns {
  const photoGiven = p.photo !== undefined;
  return {
    name: p.name ?? base.name,
    number: p.number !== undefined ? p.number : base.number,
    team: p.team !== undefined ? p.team : base.team,
    team_color: p.teamColor !== undefined ? p.teamColor : base.team_color,
    position: p.position !== undefined ? p.position : base.position,
    stats: p.stats !== undefined ? JSON.stringify(p.stats) : base.stats,
    // better-sqlite3 binds Buffers, not plain Uint8Arrays.
    photo: photoGiven ? (p.photo ? Buffer.from(p.photo) : null) : base.photo,
    photo_mime: photoGiven ? (p.photo ? photoMime(p.photo) : null) : base.photo_mime,
  };
}

const EMPTY_COLUMNS: PlayerColumns = {
  name: '',
  number: null,
  team: null,
  team_color: null,
  position: null,
  stats: '{}',
  photo: null,
  photo_mime: null,
};

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) return a === b;
  return Buffer.compare(a, b) === 0;
}

/** Audit names for the columns: the API's field names, so the trail reads like the requests did. */
const AUDIT_FIELDS = [
  ['name', 'name'],
  ['number', 'number'],
  ['team', 'team'],
  ['team_color', 'teamColor'],
  ['position', 'position'],
] as const;

/** What changed, for the audit row: {field: {from, to}}; photo bytes are summarised, not copied. */
function diffColumns(before: PlayerColumns, after: PlayerColumns): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [col, field] of AUDIT_FIELDS) {
    if (before[col] !== after[col]) changes[field] = { from: before[col], to: after[col] };
  }
  if (before.stats !== after.stats) changes.stats = { from: JSON.parse(before.stats), to: JSON.parse(after.stats) };
  if (!sameBytes(before.photo, after.photo)) changes.photo = { from: photoSummary(before), to: photoSummary(after) };
  return changes;
}

/** The full record of a new player, for its creation audit row. */
function describeColumns(c: PlayerColumns): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [col, field] of AUDIT_FIELDS) out[field] = c[col];
  return { ...out, stats: JSON.parse(c.stats), photo: photoSummary(c) };
}

function photoSummary(c: PlayerColumns): string | null {
  return c.photo ? `${c.photo_mime}, ${c.photo.length} bytes` : null;
}

/** Stats merged with a patch where null deletes a key. */
function mergeStats(current: Stats, patch: Record<string, number | string | null>): Stats {
  const out: Stats = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export class Roster {
  readonly db: RosterDb;

  constructor(db: RosterDb) {
    this.db = db;
  }

  private get sql() {
    return this.db.sqlite;
  }

  close(): void {
    this.db.close();
  }

  // ---- players ----------------------------------------------------------------------------

  /**
   * Creates the player, or updates it if the id exists. Fields left out keep their stored value
   * (or the default on create); null clears a field; `stats`, when given, replaces all stats.
   */
  upsertPlayer(input: PlayerInput, actor: string = DEFAULT_ACTOR): { player: Player; outcome: UpsertOutcome } {
    const who = parse(actorSchema, actor, 'actor');
    const { id, ...fields } = parse(playerInputSchema, input, `player '${String((input as { id?: unknown })?.id ?? '')}'`);
    return this.db.write(() => {
      const existing = this.columns(id);
      if (existing === null) {
        this.insertPlayer(id, mergeColumns(EMPTY_COLUMNS, fields), who);
        return { player: this.mustGet(id), outcome: 'created' as const };
      }
      const changed = this.applyColumns(id, existing, mergeColumns(existing, fields), who, 'player.update');
      return { player: this.mustGet(id), outcome: changed ? ('updated' as const) : ('unchanged' as const) };
    });
  }

  getPlayer(id: string): Player | null {
    const row = this.sql.prepare(`${PLAYER_SELECT} WHERE id = ?`).get(id) as PlayerRow | undefined;
    return row ? toPlayer(row) : null;
  }

  /** Players by id, each with how many embeddings it has (for "who still needs photos?"). */
  listPlayers(): PlayerSummary[] {
    const rows = this.sql
      .prepare(
        `SELECT p.*, coalesce(f.n, 0) AS face_count, coalesce(f.originals, 0) AS original_count
         FROM (${PLAYER_SELECT}) p
         LEFT JOIN (SELECT player_id, count(*) AS n, sum(augmented = 0) AS originals FROM faces GROUP BY player_id) f
           ON f.player_id = p.id
         ORDER BY p.id`,
      )
      .all() as (PlayerRow & { face_count: number; original_count: number })[];
    return rows.map((r) => ({ ...toPlayer(r), faceCount: r.face_count, originalFaceCount: r.original_count }));
  }

  getPlayerPhoto(id: string): PlayerPhoto | null {
    const row = this.sql.prepare('SELECT photo, photo_mime FROM players WHERE id = ?').get(id) as
      | { photo: Buffer | null; photo_mime: PhotoMime | null }
      | undefined;
    if (!row) throw noPlayer(id);
    return row.photo && row.photo_mime ? { mime: row.photo_mime, data: row.photo } : null;
  }

  /** Changes some fields of an existing player; unknown ids are an error, not a create. */
  updatePlayer(id: string, patch: PlayerPatch, actor: string = DEFAULT_ACTOR): Player {
    const who = parse(actorSchema, actor, 'actor');
    const p = parse(playerPatchSchema, patch, `change to player '${id}'`);
    return this.db.write(() => {
      const existing = this.columns(id);
      if (existing === null) throw noPlayer(id);
      this.applyColumns(id, existing, mergeColumns(existing, p), who, 'player.update');
      return this.mustGet(id);
    });
  }

  /** Merges stats into the player's (e.g. after a goal); a null value removes that stat. */
  patchStats(id: string, stats: Record<string, number | string | null>, actor: string = DEFAULT_ACTOR): Player {
    const who = parse(actorSchema, actor, 'actor');
    const patch = parse(statsPatchSchema, stats, `stats for player '${id}'`);
    return this.db.write(() => {
      const existing = this.columns(id);
      if (existing === null) throw noPlayer(id);
      const merged = parse(statsSchema, mergeStats(JSON.parse(existing.stats) as Stats, patch), `stats for player '${id}'`);
      this.applyColumns(id, existing, { ...existing, stats: JSON.stringify(merged) }, who, 'player.stats');
      return this.mustGet(id);
    });
  }

  /**
   * A roster file in one transaction with one audit row: new ids are created, known ones get the
   * fields their row gives and their stats merged; later rows build on earlier ones. A row whose
   * merged stats break a limit is refused alone. Each player is written once, however many rows.
   */
  importPlayers(rows: readonly ImportRow[], actor: string = DEFAULT_ACTOR): ImportOutcome[] {
    const who = parse(actorSchema, actor, 'actor');
    return this.db.write(() => {
      // Stats stay objects until the end: a file of many rows for one player must not re-serialise them per row.
      const state = new Map<string, { before: PlayerColumns | null; after: PlayerColumns; stats: Stats }>();
      const select = this.sql.prepare('SELECT name, number, team, team_color, position, stats, photo, photo_mime FROM players WHERE id = ?');
      const outcomes = rows.map(({ line, id, fields }): ImportOutcome => {
        let cur = state.get(id);
        if (!cur) {
          const before = (select.get(id) as PlayerColumns | undefined) ?? null;
          cur = { before, after: before ?? EMPTY_COLUMNS, stats: before ? (JSON.parse(before.stats) as Stats) : {} };
        }
        const exists = cur.before !== null || state.has(id);
        const { stats, ...rest } = fields;
        const after = mergeColumns(cur.after, exists ? rest : { ...rest, name: rest.name ?? id });
        let changed = !exists || AUDIT_FIELDS.some(([col]) => after[col] !== cur.after[col]);
        let merged = cur.stats;
        if (stats && Object.entries(stats).some(([k, v]) => merged[k] !== v)) {
          merged = { ...merged, ...stats };
          const grew = Object.keys(merged).length > Object.keys(cur.stats).length;
          const valid = grew ? statsSchema.safeParse(merged) : null;
          if (valid && !valid.success) return { line, id, status: 'refused', error: `invalid stats: ${describeIssues(valid.error)}` };
          changed = true;
        }
        state.set(id, { before: cur.before, after, stats: merged });
        return { line, id, status: !exists ? 'created' : changed ? 'updated' : 'unchanged' };
      });
      const now = this.db.now();
      const insert = this.sql.prepare(
        `INSERT INTO players (id, name, number, team, team_color, position, stats, photo, photo_mime, created_at, updated_at)
         VALUES (@id, @name, @number, @team, @team_color, @position, @stats, @photo, @photo_mime, @now, @now)`,
      );
      const update = this.sql.prepare(
        `UPDATE players SET name = @name, number = @number, team = @team, team_color = @team_color, position = @position,
           stats = @stats, updated_at = @now WHERE id = @id`,
      );
      const changes: Record<string, unknown> = {};
      let created = 0;
      let updated = 0;
      for (const [id, entry] of state) {
        const { before } = entry;
        const after = { ...entry.after, stats: JSON.stringify(entry.stats) };
        if (before === null) {
          insert.run({ ...after, id, now });
          created++;
          if (created + updated <= IMPORT_AUDIT_PLAYERS) changes[id] = { created: describeColumns(after) };
          continue;
        }
        const diff = diffColumns(before, after);
        if (Object.keys(diff).length === 0) continue;
        update.run({ ...after, id, now });
        updated++;
        if (created + updated <= IMPORT_AUDIT_PLAYERS) changes[id] = diff;
      }
      const refused = outcomes.filter((o) => o.status === 'refused').length;
      if (created + updated > 0) {
        this.audit(who, 'players.import', null, { rows: rows.length, refused, created, updated, players: changes, listed: Math.min(created + updated, IMPORT_AUDIT_PLAYERS) });
      }
      return outcomes;
    });
  }

  /** Deletes the player; its faces go with it (ON DELETE CASCADE). The audit row keeps a record. */
  removePlayer(id: string, actor: string = DEFAULT_ACTOR): { removedFaces: number } {
    const who = parse(actorSchema, actor, 'actor');
    return this.db.write(() => {
      const player = this.getPlayer(id);
      if (player === null) throw noPlayer(id);
      const removedFaces = this.faceCount(id);
      this.sql.prepare('DELETE FROM players WHERE id = ?').run(id);
      this.pruneSourcePhotos();
      const { stats, name, number, team } = player;
      this.audit(who, 'player.remove', id, { name, number, team, stats, removedFaces });
      return { removedFaces };
    });
  }

  private columns(id: string): PlayerColumns | null {
    const row = this.sql
      .prepare('SELECT name, number, team, team_color, position, stats, photo, photo_mime FROM players WHERE id = ?')
      .get(id) as PlayerColumns | undefined;
    return row ?? null;
  }

  private mustGet(id: string): Player {
    const p = this.getPlayer(id);
    if (p === null) throw noPlayer(id);
    return p;
  }

  private insertPlayer(id: string, c: PlayerColumns, actor: string): void {
    const now = this.db.now();
    this.sql
      .prepare(
        `INSERT INTO players (id, name, number, team, team_color, position, stats, photo, photo_mime, created_at, updated_at)
         VALUES (@id, @name, @number, @team, @team_color, @position, @stats, @photo, @photo_mime, @now, @now)`,
      )
      .run({ ...c, id, now });
    this.audit(actor, 'player.create', id, describeColumns(c));
  }

  /** Writes the new columns and an audit row, only if something differs; returns whether it did. */
  private applyColumns(id: string, before: PlayerColumns, after: PlayerColumns, actor: string, action: string): boolean {
    const changes = diffColumns(before, after);
    if (Object.keys(changes).length === 0) return false;
    this.sql
      .prepare(
        `UPDATE players SET name = @name, number = @number, team = @team, team_color = @team_color, position = @position,
           stats = @stats, photo = @photo, photo_mime = @photo_mime, updated_at = @now WHERE id = @id`,
      )
      .run({ ...after, id, now: this.db.now() });
    this.audit(actor, action, id, changes);
    return true;
  }

  // ---- faces ------------------------------------------------------------------------------

  /**
   * Enrols embeddings for one player, all or nothing: every row is validated before the first
   * write, and the inserts share one transaction, so a failure part-way leaves the roster as it was.
   * The same (source image, augmentation) for the same player is skipped, so re-running an
   * enrolment is harmless; unless the stored row was embedded with another vision setup (or an
   * unrecorded one) than the new row: then the new embedding replaces it under a new id, so
   * enrolling the same photos again is how a roster follows a change of detector or alignment.
   */
  addFaces(playerId: string, faces: readonly FaceInput[], actor: string = DEFAULT_ACTOR, photo?: SourcePhoto): AddResult {
    const who = parse(actorSchema, actor, 'actor');
    parse(playerIdSchema, playerId, 'player id');
    const rows = faces.map((f, i) => parse(faceInputSchema, f, `face #${i} for player '${playerId}'`));
    const photoSha = photo ? sourcePhotoSha(photo, rows) : null;
    return this.db.write(() => {
      if (!this.exists(playerId)) throw noPlayer(playerId);
      if (photo && photoSha) this.keepSourcePhoto(photoSha, photo);
      const now = this.db.now();
      const existing = this.sql.prepare('SELECT id, embedded_with FROM faces WHERE player_id = ? AND source_sha256 = ? AND augmentation = ?');
      const remove = this.sql.prepare('DELETE FROM faces WHERE id = ?');
      const insert = this.sql.prepare(
        `INSERT INTO faces (player_id, source_sha256, embedding, quality, augmented, augmentation, source_file, embedded_with, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const ids: number[] = [];
      let reembedded = 0;
      for (const f of rows) {
        const old = existing.get(playerId, f.sourceSha256, f.augmentation) as { id: number; embedded_with: string } | undefined;
        if (old && !replaces(f.embeddedWith, old.embedded_with)) continue;
        if (old) {
          remove.run(old.id);
          reembedded++;
        }
        const r = insert.run(playerId, f.sourceSha256, encodeEmbedding(f.embedding), f.quality, f.augmentation ? 1 : 0, f.augmentation, f.sourceFile ?? null, f.embeddedWith, now);
        ids.push(Number(r.lastInsertRowid));
      }
      const result = { added: ids.length, skipped: rows.length - ids.length, reembedded, ids };
      if (ids.length > 0) {
        const sources = [...new Set(rows.map((f) => f.sourceSha256))];
        this.audit(who, 'faces.add', playerId, { added: ids.length, skipped: result.skipped, reembedded, faceIds: ids, sources });
      }
      return result;
    });
  }

  /** Faces of one player, or of everyone (for training), ordered by player then id. */
  listFaces(playerId?: string): FaceRecord[] {
    const rows =
      playerId === undefined
        ? this.sql.prepare('SELECT * FROM faces ORDER BY player_id, id').all()
        : this.sql.prepare('SELECT * FROM faces WHERE player_id = ? ORDER BY id').all(playerId);
    return (rows as FaceRow[]).map(toFace);
  }

  /** Removes faces by id (e.g. a bad crop the operator spotted); all must exist, or none is removed. */
  removeFaces(faceIds: readonly number[], actor: string = DEFAULT_ACTOR): { removed: number } {
    const who = parse(actorSchema, actor, 'actor');
    return this.db.write(() => {
      const byPlayer = new Map<string, number[]>();
      for (const id of new Set(faceIds)) {
        const row = this.sql.prepare('SELECT player_id FROM faces WHERE id = ?').get(id) as { player_id: string } | undefined;
        if (!row) throw new RosterError('NOT_FOUND', `no face with id ${id}; list a player's faces to see their ids`);
        byPlayer.set(row.player_id, [...(byPlayer.get(row.player_id) ?? []), id]);
      }
      const del = this.sql.prepare('DELETE FROM faces WHERE id = ?');
      for (const [playerId, ids] of byPlayer) {
        for (const id of ids) del.run(id);
        this.audit(who, 'faces.remove', playerId, { faceIds: ids });
      }
      this.pruneSourcePhotos();
      return { removed: [...byPlayer.values()].reduce((n, ids) => n + ids.length, 0) };
    });
  }

  private exists(playerId: string): boolean {
    return this.sql.prepare('SELECT 1 FROM players WHERE id = ?').get(playerId) !== undefined;
  }

  private faceCount(playerId: string): number {
    return (this.sql.prepare('SELECT count(*) AS n FROM faces WHERE player_id = ?').get(playerId) as { n: number }).n;
  }

  // ---- negatives --------------------------------------------------------------------------

  /**
   * Adds faces known to be nobody on the roster; all or nothing, duplicates skipped, and rows of
   * another (or an unrecorded) vision setup replaced, as in addFaces.
   */
  addNegatives(negatives: readonly NegativeInput[], actor: string = DEFAULT_ACTOR, photo?: SourcePhoto): AddResult {
    const who = parse(actorSchema, actor, 'actor');
    const rows = negatives.map((n, i) => parse(negativeInputSchema, n, `negative #${i}`));
    const photoSha = photo ? sourcePhotoSha(photo, rows) : null;
    return this.db.write(() => {
      if (photo && photoSha) this.keepSourcePhoto(photoSha, photo);
      const now = this.db.now();
      const existing = this.sql.prepare('SELECT id, embedded_with FROM negatives WHERE source_sha256 = ? AND face_index = ? AND augmentation = ?');
      const remove = this.sql.prepare('DELETE FROM negatives WHERE id = ?');
      const insert = this.sql.prepare(
        `INSERT INTO negatives (embedding, source, source_sha256, face_index, augmentation, note, embedded_with, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const ids: number[] = [];
      let reembedded = 0;
      for (const n of rows) {
        const old = existing.get(n.sourceSha256, n.faceIndex, n.augmentation) as { id: number; embedded_with: string } | undefined;
        if (old && !replaces(n.embeddedWith, old.embedded_with)) continue;
        if (old) {
          remove.run(old.id);
          reembedded++;
        }
        const r = insert.run(encodeEmbedding(n.embedding), n.source, n.sourceSha256, n.faceIndex, n.augmentation, n.note ?? null, n.embeddedWith, now);
        ids.push(Number(r.lastInsertRowid));
      }
      if (ids.length > 0) {
        const sources = [...new Set(rows.map((n) => n.source))];
        this.audit(who, 'negatives.add', null, { added: ids.length, skipped: rows.length - ids.length, reembedded, sources });
      }
      return { added: ids.length, skipped: rows.length - ids.length, reembedded, ids };
    });
  }

  listNegatives(source?: string): NegativeRecord[] {
    const rows =
      source === undefined
        ? this.sql.prepare('SELECT * FROM negatives ORDER BY id').all()
        : this.sql.prepare('SELECT * FROM negatives WHERE source = ? ORDER BY id').all(source);
    return (rows as NegativeRow[]).map(toNegative);
  }

  // ---- source photos and re-embedding -----------------------------------------------------

  /** The stored photo with this content hash, or null (enrolled before photos were kept, or a live track). */
  sourcePhoto(sha256: string): SourcePhoto | null {
    const row = this.sql.prepare('SELECT bytes, name FROM source_photos WHERE sha256 = ?').get(sha256) as { bytes: Buffer; name: string } | undefined;
    return row ? { bytes: row.bytes, name: row.name } : null;
  }

  /**
   * Per photo, the faces and negatives not made with the vision setup `current` (rows of an
   * unrecorded setup included); the built-in negatives are left out (they re-embed themselves).
   */
  staleSources(current: string): StaleSources {
    const faces = this.sql
      .prepare(
        `SELECT f.player_id AS playerId, f.source_sha256 AS sha256, coalesce(max(f.source_file), p.name, f.source_sha256) AS name,
                count(*) AS rows, p.sha256 IS NOT NULL AS stored
         FROM faces f LEFT JOIN source_photos p ON p.sha256 = f.source_sha256
         WHERE f.embedded_with <> ? GROUP BY f.player_id, f.source_sha256 ORDER BY f.player_id, min(f.id)`,
      )
      .all(current) as (Omit<StaleSources['faces'][number], 'stored'> & { stored: number })[];
    const negatives = this.sql
      .prepare(
        `SELECT n.source, n.source_sha256 AS sha256, coalesce(max(n.note), p.name, n.source_sha256) AS name,
                count(*) AS rows, p.sha256 IS NOT NULL AS stored
         FROM negatives n LEFT JOIN source_photos p ON p.sha256 = n.source_sha256
         WHERE n.embedded_with <> ? AND n.source <> 'builtin' GROUP BY n.source, n.source_sha256 ORDER BY min(n.id)`,
      )
      .all(current) as (Omit<StaleSources['negatives'][number], 'stored'> & { stored: number })[];
    return { faces: faces.map((f) => ({ ...f, stored: f.stored === 1 })), negatives: negatives.map((n) => ({ ...n, stored: n.stored === 1 })) };
  }

  /**
   * Replaces every face of one player's photo (the original and all its views, whatever setup
   * made them) with `faces`, in one transaction: a re-embedding never leaves a photo half in one
   * space and half in another, and views the current settings no longer make do not linger.
   */
  replaceSourceFaces(playerId: string, sha256: string, faces: readonly FaceInput[], actor: string = DEFAULT_ACTOR): AddResult {
    const who = parse(actorSchema, actor, 'actor');
    if (faces.some((f) => f.sourceSha256 !== sha256)) throw new RosterError('INVALID', `every face must come from photo ${sha256}`);
    return this.db.write(() => {
      const removed = this.sql.prepare('DELETE FROM faces WHERE player_id = ? AND source_sha256 = ?').run(playerId, sha256).changes;
      const result = this.addFaces(playerId, faces, who);
      this.audit(who, 'faces.reembed', playerId, { source: sha256, removed, added: result.added });
      this.pruneSourcePhotos();
      return { ...result, reembedded: removed };
    });
  }

  /** As replaceSourceFaces, for the negatives of one photo and source. */
  replaceSourceNegatives(source: string, sha256: string, negatives: readonly NegativeInput[], actor: string = DEFAULT_ACTOR): AddResult {
    const who = parse(actorSchema, actor, 'actor');
    if (negatives.some((n) => n.sourceSha256 !== sha256 || n.source !== source)) throw new RosterError('INVALID', `every negative must come from photo ${sha256} of source '${source}'`);
    return this.db.write(() => {
      const removed = this.sql.prepare('DELETE FROM negatives WHERE source = ? AND source_sha256 = ?').run(source, sha256).changes;
      const result = this.addNegatives(negatives, who);
      this.audit(who, 'negatives.reembed', null, { source, photo: sha256, removed, added: result.added });
      this.pruneSourcePhotos();
      return { ...result, reembedded: removed };
    });
  }

  private keepSourcePhoto(sha256: string, photo: SourcePhoto): void {
    this.sql.prepare('INSERT OR IGNORE INTO source_photos (sha256, bytes, name, created_at) VALUES (?, ?, ?, ?)').run(sha256, Buffer.from(photo.bytes), photo.name, this.db.now());
  }

  /** Deletes the photos no face or negative refers to any more. */
  private pruneSourcePhotos(): void {
    this.sql.exec(
      `DELETE FROM source_photos WHERE sha256 NOT IN (SELECT source_sha256 FROM faces) AND sha256 NOT IN (SELECT source_sha256 FROM negatives)`,
    );
  }

  // ---- summaries --------------------------------------------------------------------------

  /**
   * How many stored faces (per player) and negatives (per source) each vision setup made, counted
   * by SQLite: checking a roster's setups never decodes its embeddings.
   */
  setupCounts(): SetupCounts {
    const faces = this.sql.prepare('SELECT player_id AS playerId, embedded_with AS embeddedWith, count(*) AS n FROM faces GROUP BY 1, 2 ORDER BY 1, 2').all();
    const negatives = this.sql.prepare('SELECT source, embedded_with AS embeddedWith, count(*) AS n FROM negatives GROUP BY 1, 2 ORDER BY 1, 2').all();
    return { faces, negatives } as SetupCounts;
  }

  counts(): RosterCounts {
    const row = this.sql
      .prepare(
        `SELECT (SELECT count(*) FROM players) AS players,
                (SELECT count(*) FROM faces) AS faces,
                (SELECT count(*) FROM faces WHERE augmented = 1) AS augmented,
                (SELECT count(*) FROM negatives) AS negatives,
                (SELECT count(*) FROM audit) AS audit`,
      )
      .get() as { players: number; faces: number; augmented: number; negatives: number; audit: number };
    return {
      players: row.players,
      faces: row.faces,
      originalFaces: row.faces - row.augmented,
      augmentedFaces: row.augmented,
      negatives: row.negatives,
      auditEntries: row.audit,
    };
  }

  /**
   * sha256 identifying the roster a model was trained on: player ids, and per player its faces'
   * ids, source hashes and augmentations. Names, stats and photos are deliberately left out —
   * editing a caption must not mark a model stale. Read in one snapshot so a concurrent write
   * cannot produce a mix of before and after.
   */
  rosterHash(): string {
    const read = this.sql.transaction(() => {
      const players = this.sql.prepare('SELECT id FROM players ORDER BY id').pluck().all() as string[];
      const faces = this.sql
        .prepare('SELECT player_id, id, source_sha256, augmentation FROM faces ORDER BY player_id, id')
        .raw()
        .all() as [string, number, string, string][];
      return { players, faces };
    });
    const { players, faces } = read();
    const byPlayer = new Map<string, [number, string, string][]>(players.map((id) => [id, []]));
    for (const [pid, id, sha, aug] of faces) byPlayer.get(pid)?.push([id, sha, aug]);
    // JSON of nested arrays is an unambiguous encoding (no separator can be forged by an id).
    const canonical = JSON.stringify({ v: 1, players: [...byPlayer] });
    return createHash('sha256').update(canonical).digest('hex');
  }

  // ---- audit ------------------------------------------------------------------------------

  /** Newest first. */
  listAudit(q: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const filter = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      args.push(value);
    };
    filter('subject = ?', q.subject);
    filter('action = ?', q.action);
    filter('id < ?', q.beforeId);
    const limit = Math.max(1, Math.min(q.limit ?? 100, 10_000));
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit}`;
    const rows = this.sql.prepare(sql).all(...args) as (Omit<AuditEntry, 'details'> & { details: string })[];
    return rows.map((r) => ({ ...r, details: JSON.parse(r.details) as unknown }));
  }

  private audit(actor: string, action: string, subject: string | null, details: unknown): void {
    this.sql
      .prepare('INSERT INTO audit (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)')
      .run(this.db.now(), actor, action, subject, JSON.stringify(details));
  }
}

/** Opens <dataDir>/facecast.db (migrating it) and wraps it in a Roster. */
export function openRoster(dataDir: string, options?: OpenOptions): Roster {
  return new Roster(openRosterDb(dataDir, options));
}
