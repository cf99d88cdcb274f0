// Recognition against the roster: training the classifier from the enrolled faces and negatives,
// the built-in negative pool, and answering "who is this" (or "unknown") for an embedding.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Roster, SetupCounts } from '../roster/roster.ts';
import type { NegativeInput, NegativeSource } from '../roster/schema.ts';
import type { VisionEngine } from '../vision/engine.ts';
import { packageDir } from '../vision/weights.ts';
import { decodeImage, ImageInputError } from '../vision/image.ts';
import { embeddingSetupKey, type EmbeddingSetup } from '../vision/setup.ts';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadClassifier, trainClassifier, type Classifier, type Prediction, type TrainSample } from './linearSvmClassifier.ts';
import { loadModel, STORED_MODEL_VERSION, type StoredModel } from './store.ts';
import type { OpenSetOptions, TrainOptions } from './model.ts';
import { adaptAndTrain, type AdaptOptions } from './adapt/adaptRoster.ts';
import { explain } from './explain.ts';
import type { Decision } from '../shared/protocol.ts';

export interface IdentityAnswer {
  id: string;
  name: string;
  confidence: number;
}

export type ProgressFn = (done: number, total: number, note: string) => void;

/** The face-api demo photos: strangers to any roster, shipped with the package, no download. */
export function builtinNegativePhotos(): string[] {
  const dir = join(packageDir('@vladmandic/face-api'), 'demo');
  return readdirSync(dir)
    .filter((f) => /^sample\d+\.jpg$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export interface NegativeImport {
  /** Rows newly written. */
  added: number;
  /** Images that could not be used, each with a line saying why; the others were still imported. */
  failed: { file: string; message: string }[];
}

/** Every face of one photo (original only), as negative rows of `source`; throws ImageInputError for a bad image. */
export async function negativeRows(engine: VisionEngine, photo: { name: string; bytes: Uint8Array }, source: NegativeSource): Promise<{ sha256: string; rows: NegativeInput[] }> {
  const sha = createHash('sha256').update(photo.bytes).digest('hex');
  const image = await decodeImage(photo.bytes, { source: photo.name, maxPixels: engine.config.maxImagePixels });
  const faces = await engine.analyse(image, { padRetry: source === 'lfw' });
  const embeddedWith = embeddingSetupKey(engine.setup);
  const rows = faces.flatMap((f, faceIndex) =>
    f.embedding ? [{ embedding: Float32Array.from(f.embedding), source, sourceSha256: sha, faceIndex, augmentation: '', note: photo.name, embeddedWith }] : [],
  );
  return { sha256: sha, rows };
}

/**
 * Embeds every face of the given photos as negatives of `source`. Already-stored faces are skipped
 * by the roster's uniqueness rule; the photos are kept in the roster (except the built-in ones,
 * which ship with the package) so a change of vision setup can re-embed them. An image that cannot
 * be read is reported in `failed` and the rest are still imported.
 */
export async function addNegativePhotos(
  engine: VisionEngine,
  roster: Roster,
  files: string[],
  source: NegativeSource,
  actor: string,
  onProgress?: ProgressFn,
): Promise<NegativeImport> {
  const result: NegativeImport = { added: 0, failed: [] };
  for (const [i, file] of files.entries()) {
    onProgress?.(i, files.length, file);
    let bytes: Uint8Array;
    let rows: NegativeInput[];
    try {
      bytes = await readFile(file);
      ({ rows } = await negativeRows(engine, { name: file, bytes }, source));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!(err instanceof ImageInputError) && !code) throw err;
      const why = code === 'ENOENT' ? 'file not found' : `cannot read file (${code})`;
      result.failed.push({ file, message: err instanceof ImageInputError ? err.message : `${file}: ${why}` });
      continue;
    }
    if (rows.length) result.added += roster.addNegatives(rows, actor, source === 'builtin' ? undefined : { bytes, name: file }).added;
  }
  onProgress?.(files.length, files.length, 'done');
  return result;
}

/** Whether the built-in negatives are missing, or stored from another vision setup than `setup`. */
export function needsBuiltinNegatives(roster: Roster, setup: EmbeddingSetup): boolean {
  const builtin = roster.setupCounts().negatives.filter((g) => g.source === 'builtin');
  const current = embeddingSetupKey(setup);
  return builtin.length === 0 || builtin.some((g) => g.embeddedWith !== current);
}

/**
 * Makes sure the built-in negatives (faces of the face-api demo photos) are in the roster, embedded
 * with the engine's setup. Each photo's rows are replaced as a whole: another detector may find
 * a different number of faces, and no row of the old setup may stay behind. Returns rows written.
 */
export async function ensureBuiltinNegatives(engine: VisionEngine, roster: Roster, onProgress?: ProgressFn): Promise<number> {
  if (!needsBuiltinNegatives(roster, engine.setup)) return 0;
  const files = builtinNegativePhotos();
  let added = 0;
  for (const [i, file] of files.entries()) {
    onProgress?.(i, files.length, file);
    const bytes = await readFile(file);
    const { sha256, rows } = await negativeRows(engine, { name: file, bytes }, 'builtin');
    added += roster.replaceSourceNegatives('builtin', sha256, rows, 'facecast').added;
  }
  onProgress?.(files.length, files.length, 'done');
  return added;
}

export interface TrainRosterOptions {
  /** Use augmented views (default true). */
  augmented: boolean;
  classifier?: Partial<TrainOptions>;
  /**
   * Train a triplet head on the embeddings too (src/recognition/adapt/) and use it only when it
   * beats the raw embeddings on cross-validated identification (and the LFW guard, when given).
   * Needs the TensorFlow.js backend ready (selectBackend).
   */
  adapt?: boolean | Partial<AdaptOptions>;
  /** The open-set rule's target and when roster-fitted gates join it (config recognition.openSet). */
  openSet?: Omit<OpenSetOptions, 'setup'>;
}

/** The open-set defaults when a caller passes none: 1 stranger's face in 1,000 may be named. */
export const DEFAULT_OPEN_SET: Omit<OpenSetOptions, 'setup'> = { falseAcceptRate: 0.01, fittedGatesMinPhotos: 10 };

/** Trains the classifier on the roster as it is now; the result is ready for saveModel(). */
export function trainRoster(
  roster: Roster,
  vision: StoredModel['vision'],
  opts: TrainRosterOptions,
  onProgress?: ProgressFn,
): { model: StoredModel; classifier: Classifier } {
  const players = roster.listPlayers();
  const faces = roster.listFaces().filter((f) => opts.augmented || !f.augmented);
  if (faces.length === 0) throw new TrainingInputError('no enrolled faces to train on; enrol photos first with `facecast enroll <player> <photo...>`');
  const counts = roster.setupCounts();
  const conflict = setupConflict(counts, vision, true);
  if (conflict) throw new TrainingInputError(conflict);
  const setupWarning = unrecordedSetupWarning(counts);
  const stored = roster.listNegatives();
  const samples: TrainSample[] = faces.map((f) => ({ embedding: f.embedding, label: f.playerId, group: f.sourceSha256, augmented: f.augmented }));
  const negatives = stored.map((n) => ({ embedding: n.embedding, group: n.sourceSha256 }));
  const classifier: Partial<TrainOptions> = { ...opts.classifier, openSet: { setup: embeddingSetupKey(vision), ...DEFAULT_OPEN_SET, ...opts.openSet } };
  const trained = opts.adapt
    ? adaptAndTrain(samples, negatives, { ...(opts.adapt === true ? {} : opts.adapt), classifier }, onProgress).classifier
    : trainClassifier(samples, negatives, classifier, onProgress);
  const model: StoredModel = {
    version: STORED_MODEL_VERSION,
    trainedAt: new Date().toISOString(),
    rosterHash: roster.rosterHash(),
    players: Object.fromEntries(players.map((p) => [p.id, p.name])),
    vision,
    augmented: opts.augmented,
    negatives: negatives.length,
    classifier: trained.toJSON(),
  };
  if (setupWarning) model.classifier.metrics.warnings.push(setupWarning);
  const imported = counts.negatives.filter((g) => g.source !== 'builtin').reduce((sum, g) => sum + g.n, 0);
  if (imported < FEW_NEGATIVES) {
    model.classifier.metrics.warnings.push(
      `only ${imported} negative faces besides the built-in pool: strangers who look like a player may get the name (on the group photos, 12 augmented views ` +
        `and the built-in pool alone named a stranger raj at p 0.97); import a few hundred faces of people who are not players (facecast negatives import <dir>)`,
    );
  }
  return { model, classifier: trained };
}

/**
 * Below this many negatives of its own (crowd frames, a face set, operator marks) a roster gets a
 * warning at training: measured with the 8 × 5 gallery, 300 LFW faces kept bbt2's stranger unknown
 * in every setting tried and named 1 of 4,497 unseen LFW faces; the 22 built-in faces alone did not.
 */
const FEW_NEGATIVES = 200;

/** The roster cannot train a model as asked (no faces, embeddings of another vision setup): the message says what to do. */
export class TrainingInputError extends Error {
  override readonly name = 'TrainingInputError';
}

/**
 * Why the stored embeddings cannot train a model for `vision`, or null: rows embedded with another
 * setup live in another space, so the model would be wrong for every live face. Rows stored before
 * the setup was recorded ('') cannot be checked (unrecordedSetupWarning). Before any work, the
 * built-in negatives are left out (`withBuiltin` false): ensureBuiltinNegatives re-embeds them itself.
 */
export function setupConflict(counts: SetupCounts, vision: EmbeddingSetup, withBuiltin = false): string | null {
  const current = embeddingSetupKey(vision);
  const other = (g: { embeddedWith: string }) => g.embeddedWith !== '' && g.embeddedWith !== current;
  const oddFaces = counts.faces.filter(other);
  const oddNegatives = counts.negatives.filter((g) => other(g) && (withBuiltin || g.source !== 'builtin'));
  if (oddFaces.length + oddNegatives.length === 0) return null;
  const total = (gs: { n: number }[]) => gs.reduce((sum, g) => sum + g.n, 0);
  const setups = [...new Set([...oddFaces, ...oddNegatives].map((g) => g.embeddedWith))].join(', ');
  const players = [...new Set(oddFaces.map((g) => g.playerId))].join(', ');
  return (
    `${total(oddFaces)} enrolled faces${players ? ` (${players})` : ''} and ${total(oddNegatives)} negatives were embedded with ${setups}, ` +
    `but vision is now ${current}: re-embed them with \`facecast roster reembed\` or POST /api/roster/reembed (the dashboard's "Re-embed roster"; ` +
    `from the photos the roster keeps; photos enrolled before it kept them ` +
    `must be enrolled again: facecast roster import <dir>, facecast enroll <player> <photo...>, facecast negatives import <dir>, or POST /api/players/:id/photos), ` +
    `or set vision.detector/vision.alignment back`
  );
}

function unrecordedSetupWarning(counts: SetupCounts): string | null {
  const unknown = [...counts.faces, ...counts.negatives].filter((g) => g.embeddedWith === '').reduce((sum, g) => sum + g.n, 0);
  return unknown > 0
    ? `${unknown} faces or negatives were stored before facecast recorded the vision setup that made them; if vision.detector or vision.alignment changed since, enrol their photos again`
    : null;
}

/** Answers identity questions with a trained model; names come from the roster when available. */
export class Recognizer {
  private readonly classifier: Classifier;

  constructor(
    readonly model: StoredModel,
    private readonly roster?: Roster,
  ) {
    this.classifier = loadClassifier(model.classifier);
  }

  /** Loads <dataDir>/models/classifier.json; null when no model was trained yet. */
  static load(dataDir: string, roster?: Roster): Recognizer | null {
    const model = loadModel(dataDir);
    return model ? new Recognizer(model, roster) : null;
  }

  /**
   * Why this model's embeddings do not match the running vision setup (null when they do). The
   * roster's embeddings were made with the model's detector and alignment; faces embedded another
   * way land elsewhere in the space, so names would be unreliable.
   */
  visionMismatch(vision: { detector: string; alignment: string }): string | null {
    const trained = this.model.vision;
    if (trained.detector === vision.detector && trained.alignment === vision.alignment) return null;
    return (
      `the model was trained on ${trained.detector} faces with ${trained.alignment} alignment, but vision is set to ` +
      `${vision.detector} with ${vision.alignment}: set vision.detector/vision.alignment back, or re-embed the roster (facecast roster reembed; ` +
      `for photos enrolled before the roster kept them, enrol the players' photos and the negatives again) and retrain`
    );
  }

  /** True when players or faces changed since training: `facecast train` should be run. */
  isStale(): boolean {
    return this.roster !== undefined && this.roster.rosterHash() !== this.model.rosterHash;
  }

  /** The player, or null for unknown (a stranger, or not sure enough to say). */
  identify(embedding: ArrayLike<number>): IdentityAnswer | null {
    const { identity } = this.classifier.predict(embedding);
    if (!identity) return null;
    const name = this.roster?.getPlayer(identity.id)?.name ?? this.model.players[identity.id] ?? identity.id;
    return { id: identity.id, name, confidence: Math.round(identity.confidence * 1000) / 1000 };
  }

  /** The name (or null) with the decision behind it, for people and machines that ask why. */
  decide(embedding: ArrayLike<number>): { identity: IdentityAnswer | null; decision: Decision; prediction: Prediction } {
    const p = this.classifier.predict(embedding);
    const nameOf = (id: string) => this.roster?.getPlayer(id)?.name ?? this.model.players[id] ?? id;
    const identity = p.identity ? { id: p.identity.id, name: nameOf(p.identity.id), confidence: Math.round(p.identity.confidence * 1000) / 1000 } : null;
    const fitted = this.model.classifier.openSet?.fittedGates ?? true;
    return { identity, decision: explain(p, nameOf, fitted ? this.model.classifier.thresholds : undefined), prediction: p };
  }

  /** The full prediction, for diagnostics and evaluation. */
  predict(embedding: ArrayLike<number>) {
    return this.classifier.predict(embedding);
  }
}

