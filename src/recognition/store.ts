// The trained roster model on disk (<dataDir>/models/classifier.json): the classifier with its
// thresholds and cross-validated metrics, plus what it was trained on (roster hash, vision setup),
// so a model that no longer matches the roster or the embedder is noticed, not silently used.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { savedModelSchema } from './model.ts';

export const STORED_MODEL_VERSION = 1;

export const storedModelSchema = z.object({
  version: z.literal(STORED_MODEL_VERSION).describe('format version of this file'),
  trainedAt: z.iso.datetime().describe('when `facecast train` wrote it'),
  rosterHash: z.string().describe('Roster.rosterHash() at training time: players and their enrolled faces'),
  players: z.record(z.string(), z.string()).describe('player id → display name at training time'),
  vision: z
    .object({ embedder: z.string(), detector: z.string(), alignment: z.string() })
    .describe('the pipeline whose embeddings the classifier was trained on'),
  augmented: z.boolean().describe('whether augmented views were used in training'),
  negatives: z.number().int().nonnegative().describe('negative embeddings used'),
  classifier: savedModelSchema,
});
export type StoredModel = z.infer<typeof storedModelSchema>;

export class ModelStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelStoreError';
  }
}

export function modelPath(dataDir: string): string {
  return join(dataDir, 'models', 'classifier.json');
}

/** Writes atomically (temp file + rename) so a crash never leaves half a model. */
export function saveModel(dataDir: string, model: StoredModel): string {
  const path = modelPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(model));
  renameSync(tmp, path);
  return path;
}

/** The stored model, or null when none was trained yet. */
export function loadModel(dataDir: string): StoredModel | null {
  const path = modelPath(dataDir);
  if (!existsSync(path)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ModelStoreError(`${path} is not valid JSON (${(err as Error).message}); run \`facecast train\` to rebuild it`);
  }
  const parsed = storedModelSchema.safeParse(json);
  if (!parsed.success) {
    throw new ModelStoreError(`${path} is not a facecast model (${z.prettifyError(parsed.error).split('\n').slice(0, 3).join('; ')}); run \`facecast train\` to rebuild it`);
  }
  return parsed.data;
}
