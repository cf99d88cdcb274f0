// The roster's input contract: what a player, a face and a negative must look like before they
// reach SQLite. The database repeats the hard limits as CHECK constraints, but these schemas are
// where a person gets a readable reason (field path + rule) instead of "CHECK constraint failed".
import { z } from 'zod';

/** Length of one face embedding (face-api's recognition net emits 128 floats). */
export const EMBEDDING_DIM = 128;
/** Largest thumbnail kept in the database; graphics only need a small head shot. */
export const MAX_PHOTO_BYTES = 512 * 1024;
/** Where a negative (a face that is nobody on the roster) came from. */
export const NEGATIVE_SOURCES = ['operator', 'crowd', 'builtin', 'lfw'] as const;
export type NegativeSource = (typeof NEGATIVE_SOURCES)[number];

const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const SHA256_RE = /^[0-9a-fA-F]{64}$/;
const COLOUR_RE = /^#[0-9a-fA-F]{6}$/;

/** Turns a display name into a candidate player id: "Amy Farrah Fowler" → "amy-farrah-fowler". */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // drop accents so "José" becomes "jose", not "jos"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
}

export const playerIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(SLUG_RE, "must be a lowercase slug like 'sheldon' or 'amy-farrah-fowler' (a-z, 0-9, single hyphens)");

export const sha256Schema = z
  .string()
  .regex(SHA256_RE, 'must be a sha256 hex digest (64 hex characters)')
  .transform((s) => s.toLowerCase()); // one spelling, so the UNIQUE constraints see duplicates

/** A stat value: numbers for counters/averages, strings for things like "6'2\"" or "L". */
export const statValueSchema = z.union([z.number(), z.string().max(200, 'a text stat must be at most 200 characters')]);
const statKeySchema = z.string().min(1, 'a stat name must not be empty').max(64, 'a stat name must be at most 64 characters');

export const statsSchema = z
  .record(statKeySchema, statValueSchema)
  .refine((s) => Object.keys(s).length <= 200, 'at most 200 stats per player');

/** For patchStats: a null value deletes that stat. */
export const statsPatchSchema = z.record(statKeySchema, statValueSchema.nullable());

/** Thumbnail bytes; the type is read from the magic number, so a caller cannot mislabel it. */
export const photoSchema = z
  .custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be image bytes (Uint8Array/Buffer)')
  .refine((b) => b.length > 0, 'must not be empty')
  .refine((b) => b.length <= MAX_PHOTO_BYTES, `must be at most ${MAX_PHOTO_BYTES} bytes (store a thumbnail)`)
  .refine((b) => photoMime(b) !== null, 'must be a PNG, JPEG or WebP image');

export type PhotoMime = 'image/png' | 'image/jpeg' | 'image/webp';

/** Recognises the three formats browsers and sharp all handle; null for anything else. */
export function photoMime(b: Uint8Array): PhotoMime | null {
  const at = (i: number, ...bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  return null;
}

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullable()
    .optional()
    .transform((s) => (s === '' ? null : s)); // "" from a CSV cell means "not set"

/**
 * Player fields other than the id (see upsertPlayer for what an omitted field means). Strict:
 * a misspelt field ("teamColour") is an error rather than silently ignored.
 */
export const playerFieldsSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  number: z.number().int('must be a whole number').min(0, 'must be 0..999').max(999, 'must be 0..999').nullable().optional(),
  team: optionalText(100),
  teamColor: z
    .string()
    .regex(COLOUR_RE, "must be a hex colour like '#1d428a'")
    .transform((s) => s.toLowerCase())
    .nullable()
    .optional(),
  position: optionalText(40),
  stats: statsSchema.optional(),
  photo: photoSchema.nullable().optional(),
});

/** A player as given to upsertPlayer. */
export const playerInputSchema = playerFieldsSchema.extend({ id: playerIdSchema });
export type PlayerInput = z.input<typeof playerInputSchema>;
export type ParsedPlayerInput = z.output<typeof playerInputSchema>;

/** A partial change for updatePlayer; the id cannot change (faces and audit rows point at it). */
export const playerPatchSchema = playerFieldsSchema.partial();
export type PlayerPatch = z.input<typeof playerPatchSchema>;
export type ParsedPlayerPatch = z.output<typeof playerPatchSchema>;

// z.custom rather than z.instanceof: instanceof infers Float32Array<ArrayBuffer>, which would
// reject the plain Float32Array (ArrayBufferLike) that embedders and tfjs hand out.
export const embeddingSchema = z
  .custom<Float32Array>((v) => v instanceof Float32Array, 'must be a Float32Array')
  .refine((e) => e.length === EMBEDDING_DIM, `must have exactly ${EMBEDDING_DIM} values`)
  .refine((e) => e.every(Number.isFinite), 'must contain only finite numbers (no NaN/Infinity)');

/** Augmentation name ("flip", "blur-1", …); null or "" means the original, un-augmented crop. */
const augmentationSchema = z
  .string()
  .trim()
  .max(64, 'must be at most 64 characters')
  .nullable()
  .optional()
  .transform((s) => s ?? '');

/** The vision setup that made an embedding (src/vision/setup.ts); '' = not recorded. */
const embeddedWithSchema = z.string().max(200, 'must be at most 200 characters').optional().default('');

export const faceInputSchema = z.object({
  sourceSha256: sha256Schema,
  embedding: embeddingSchema,
  quality: z.number(),
  augmentation: augmentationSchema,
  sourceFile: z.string().max(500, 'must be at most 500 characters').nullable().optional(),
  embeddedWith: embeddedWithSchema,
});
export type FaceInput = z.input<typeof faceInputSchema>;
export type ParsedFaceInput = z.output<typeof faceInputSchema>;

export const negativeInputSchema = z.object({
  embedding: embeddingSchema,
  source: z.enum(NEGATIVE_SOURCES),
  sourceSha256: sha256Schema,
  /** Which face in the source image (a crowd shot holds many); 0 for single-face images. */
  faceIndex: z.number().int().min(0).optional().default(0),
  augmentation: augmentationSchema,
  note: z.string().max(500, 'must be at most 500 characters').nullable().optional(),
  embeddedWith: embeddedWithSchema,
});
export type NegativeInput = z.input<typeof negativeInputSchema>;
export type ParsedNegativeInput = z.output<typeof negativeInputSchema>;

export const actorSchema = z.string().trim().min(1, 'actor must not be empty').max(100);

/** "number: must be 0..999; stats.goals: …" — one line a person can act on. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
