// Re-embedding a roster after a change of vision setup (detector, alignment, embedder): every
// face and negative made with another setup is embedded again from its stored photo
// (source_photos), so an operator who changes `vision.alignment` runs one command instead of
// finding every original file. Rows whose photo is not stored (enrolled before photos were
// kept, or learnt from a live track) are listed with what to do, and stay as they are.
import { basename } from 'node:path';
import { ensureBuiltinNegatives, negativeRows, type ProgressFn } from '../recognition/service.ts';
import type { VisionEngine } from '../vision/engine.ts';
import { ImageInputError } from '../vision/image.ts';
import { embeddingSetupKey } from '../vision/setup.ts';
import { embedPhoto, faceRows, type EnrolOptions } from './enroll.ts';
import type { Roster, StaleSources } from './roster.ts';

export type ReembedStatus = 'reembedded' | 'dropped' | 'not-stored' | 'no-face' | 'several-faces' | 'unreadable';

export interface ReembedOptions extends EnrolOptions {
  /** Delete the rows that cannot be re-embedded (photo not stored, or no single face with the new setup), so the roster can train. */
  dropStale: boolean;
}

const DROP_HINT = 'or drop them (facecast roster reembed --drop-stale)';

export interface ReembedReport {
  kind: 'face' | 'negative';
  /** The player id for faces, the negatives' source for negatives. */
  owner: string;
  /** The photo's file or upload name. */
  name: string;
  status: ReembedStatus;
  /** Embeddings of the old setup this photo had. */
  oldRows: number;
  /** Embeddings written with the current setup (0 unless re-embedded). */
  newRows: number;
  /** One line for a person: what happened and, when it failed, what to do. */
  message: string;
}

export interface ReembedResult {
  /** The setup everything was embedded with (embeddingSetupKey). */
  setup: string;
  reports: ReembedReport[];
  /** Built-in negative rows written (they are re-embedded from the package's photos). */
  builtinNegatives: number;
}

/** What reembedRoster would work through, without embedding anything. */
export function reembedPlan(roster: Roster, engine: Pick<VisionEngine, 'setup'>): StaleSources {
  return roster.staleSources(embeddingSetupKey(engine.setup));
}

async function reembedFace(engine: VisionEngine, roster: Roster, src: StaleSources['faces'][number], opts: EnrolOptions, setup: string): Promise<ReembedReport> {
  const base = { kind: 'face' as const, owner: src.playerId, name: src.name, oldRows: src.rows, newRows: 0 };
  const photo = roster.sourcePhoto(src.sha256);
  if (!photo) {
    return {
      ...base,
      status: 'not-stored',
      message:
        `${src.name} (${src.playerId}): ${src.rows} embeddings of another vision setup, and the photo is not stored (enrolled before facecast kept ` +
        `photos, or learnt from a live track): enrol a photo of ${src.playerId} again (facecast enroll ${src.playerId} <photo>), ${DROP_HINT}`,
    };
  }
  const outcome = await embedPhoto(engine, { name: photo.name, bytes: photo.bytes }, opts);
  if (!outcome.ok) {
    return { ...base, status: outcome.status, message: `${outcome.message} (with ${setup}; its ${src.rows} old embeddings are kept: enrol another photo, ${DROP_HINT})` };
  }
  const res = roster.replaceSourceFaces(src.playerId, src.sha256, faceRows(outcome.photo, photo.name, setup), opts.actor);
  return { ...base, status: 'reembedded', newRows: res.added, message: `${photo.name} (${src.playerId}): re-embedded (${res.added} embeddings)` };
}

async function reembedNegative(engine: VisionEngine, roster: Roster, src: StaleSources['negatives'][number], actor: string): Promise<ReembedReport> {
  const base = { kind: 'negative' as const, owner: src.source, name: src.name, oldRows: src.rows, newRows: 0 };
  const photo = roster.sourcePhoto(src.sha256);
  if (!photo) {
    return {
      ...base,
      status: 'not-stored',
      message: `${src.name} (negatives, ${src.source}): ${src.rows} embeddings of another vision setup, and the image is not stored: import it again (facecast negatives import <dir>), ${DROP_HINT}`,
    };
  }
  let rows;
  try {
    ({ rows } = await negativeRows(engine, { name: photo.name, bytes: photo.bytes }, src.source));
  } catch (err) {
    if (!(err instanceof ImageInputError)) throw err;
    return { ...base, status: 'unreadable', message: `${err.message} (its ${src.rows} old embeddings are kept; ${DROP_HINT.slice(3)})` };
  }
  // A photo where the new setup finds no face keeps no negatives: old rows would be in the wrong space.
  const res = roster.replaceSourceNegatives(src.source, src.sha256, rows, actor);
  return { ...base, status: 'reembedded', newRows: res.added, message: `${photo.name} (negatives, ${src.source}): re-embedded (${res.added} faces)` };
}

/**
 * Re-embeds, with the engine's setup, every stored face and negative another setup made (one
 * transaction per photo: a failure midway leaves each photo wholly old or wholly new), then the
 * built-in negatives. Returns one report per photo.
 */
export async function reembedRoster(engine: VisionEngine, roster: Roster, opts: ReembedOptions, onProgress?: ProgressFn): Promise<ReembedResult> {
  const setup = embeddingSetupKey(engine.setup);
  const plan = roster.staleSources(setup);
  const total = plan.faces.length + plan.negatives.length;
  const reports: ReembedReport[] = [];
  /** With dropStale, a photo that could not be re-embedded loses its old rows. */
  const settle = (r: ReembedReport, drop: () => void): ReembedReport => {
    if (r.status === 'reembedded' || !opts.dropStale) return r;
    drop();
    return { ...r, status: 'dropped', message: `${r.name} (${r.kind === 'face' ? r.owner : `negatives, ${r.owner}`}): ${r.oldRows} embeddings of another setup dropped (${r.status})` };
  };
  for (const src of plan.faces) {
    onProgress?.(reports.length, total, `${src.playerId}: ${basename(src.name)}`);
    const r = await reembedFace(engine, roster, src, opts, setup);
    reports.push(settle(r, () => roster.replaceSourceFaces(src.playerId, src.sha256, [], opts.actor)));
  }
  for (const src of plan.negatives) {
    onProgress?.(reports.length, total, `negatives: ${basename(src.name)}`);
    const r = await reembedNegative(engine, roster, src, opts.actor);
    reports.push(settle(r, () => roster.replaceSourceNegatives(src.source, src.sha256, [], opts.actor)));
  }
  onProgress?.(total, total, 'built-in negatives');
  const builtinNegatives = await ensureBuiltinNegatives(engine, roster);
  return { setup, reports, builtinNegatives };
}
