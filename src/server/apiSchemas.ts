// The HTTP API's request and response shapes, declared once with zod: requests are validated on
// arrival (a bad field is a 400 naming it), responses are typed from the same schemas so the
// server, the tests and later clients (dashboard, overlay) agree on them.
import { z } from 'zod';
import { boxSchema, faceResultSchema, identitySchema } from '../shared/protocol.ts';
import { playerFieldsSchema, playerIdSchema, statsPatchSchema } from '../roster/schema.ts';
import { metricsSchema, thresholdsSchema } from '../recognition/model.ts';
import { adapterSchema } from '../recognition/adapt/adapter.ts';

/** Every non-2xx answer. `fields` lists the offending request fields of a 400. */
export const errorResponseSchema = z.object({
  error: z
    .object({
      code: z.string().describe('machine-readable: UNAUTHORIZED, NOT_FOUND, INVALID, PAYLOAD_TOO_LARGE, …'),
      message: z.string().describe('one line for a person: what is wrong and what to do'),
    })
    .catchall(z.unknown()),
});
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

// ---- players ----------------------------------------------------------------------------------

// The thumbnail is binary: it is set from the first enrolled photo (POST /api/players/:id/photos),
// never sent inside JSON, so `photo` is not accepted here.
const jsonPlayerFields = playerFieldsSchema.omit({ photo: true });

/** POST /api/players. Without an id, one is made from the name ("Amy Farrah Fowler" → amy-farrah-fowler). */
export const playerCreateSchema = jsonPlayerFields.extend({ id: playerIdSchema.optional() });
export type PlayerCreate = z.input<typeof playerCreateSchema>;

/** PATCH /api/players/:id: any subset of the fields; null clears one; the id cannot change. */
export const playerPatchRequestSchema = jsonPlayerFields.partial();

/** PATCH /api/players/:id/stats: the body is the stats patch itself; a null value deletes that stat. */
export const statsPatchRequestSchema = statsPatchSchema;

export const playerSchema = z.object({
  id: z.string(),
  name: z.string(),
  number: z.number().nullable(),
  team: z.string().nullable(),
  teamColor: z.string().nullable(),
  position: z.string().nullable(),
  stats: z.record(z.string(), z.union([z.number(), z.string()])),
  hasPhoto: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  faceCount: z.number().int().optional(),
  originalFaceCount: z.number().int().optional(),
});
export type ApiPlayer = z.infer<typeof playerSchema>;

const enrolFaceSchema = z.object({
  box: boxSchema.describe('[x, y, width, height] in the photo\'s pixels'),
  side: z.number().describe('max(width, height) in px'),
  score: z.number(),
});

export const enrolReportSchema = z.object({
  file: z.string(),
  status: z.enum(['enrolled', 'unchanged', 'no-face', 'several-faces', 'unreadable']),
  added: z.number().int(),
  message: z.string(),
  face: enrolFaceSchema.optional().describe('the face enrolled (the largest, when it clearly dominates the photo)'),
  ignored: z.array(enrolFaceSchema).optional().describe('other, clearly smaller faces in the photo that were not used'),
  faces: z.array(enrolFaceSchema).optional().describe('several-faces: every face found, largest first'),
});

/** POST /api/players/:id/photos: 200 all good, 207 some refused (this body), 422 none enrolled (error body + reports). */
export const enrolResponseSchema = z.object({
  player: z.string(),
  enrolled: z.number().int().describe('photos newly enrolled'),
  unchanged: z.number().int().describe('photos that were already enrolled'),
  refused: z.number().int().describe('photos not used (see their reports)'),
  reports: z.array(enrolReportSchema),
  hint: z.string(),
});
export type EnrolResponse = z.infer<typeof enrolResponseSchema>;

// ---- recognition ------------------------------------------------------------------------------

export const apiFaceSchema = faceResultSchema.extend({ identity: identitySchema.nullable().optional() });

export const recognizeResponseSchema = z.object({
  width: z.number().int(),
  height: z.number().int(),
  backend: z.string(),
  detector: z.string(),
  ms: z.number(),
  faces: z.array(apiFaceSchema),
  warning: z.string().optional().describe('set when faces could not be named: no model trained, or the roster changed since'),
});
export type RecognizeResponse = z.infer<typeof recognizeResponseSchema>;

export const recognizeQuerySchema = z.strictObject({
  detector: z.enum(['mtcnn', 'ssd']).optional(),
  embeddings: z.enum(['true', 'false', '1', '0']).optional().describe('include each face’s 128-D embedding'),
});

const verifiedFaceSchema = z.object({ box: boxSchema, score: z.number(), faces: z.number().int().describe('faces found in that image') });

export const verifyResponseSchema = z.object({
  same: z.boolean().describe('distance < threshold'),
  distance: z.number().describe('euclidean distance between the two largest faces’ embeddings'),
  threshold: z.number().describe('recognition.verifyThreshold'),
  a: verifiedFaceSchema,
  b: verifiedFaceSchema,
  ms: z.number(),
});
export type VerifyResponse = z.infer<typeof verifyResponseSchema>;

// ---- model ------------------------------------------------------------------------------------

export const trainRequestSchema = z.strictObject({
  augmented: z.boolean().optional().describe('train on the augmented views too (default true)'),
  adapt: z.boolean().optional().describe('also train a triplet head on the embeddings, used only when it beats them on cross-validated identification (default false)'),
});

/** POST /api/roster/reembed. */
export const reembedRequestSchema = z.strictObject({
  dropStale: z
    .boolean()
    .optional()
    .describe('delete the embeddings that cannot be re-embedded (photo not stored, or no single face found now) instead of refusing (default false)'),
});

export const reembedReportSchema = z.object({
  kind: z.enum(['face', 'negative']),
  owner: z.string().describe('player id (faces) or negatives source'),
  name: z.string().describe('file or upload name of the photo'),
  status: z.enum(['reembedded', 'dropped', 'not-stored', 'no-face', 'several-faces', 'unreadable']),
  oldRows: z.number().int(),
  newRows: z.number().int(),
  message: z.string(),
});

/** The stored model without its weights and enrolled embeddings. */
export const modelInfoSchema = z.object({
  trainedAt: z.string(),
  rosterHash: z.string(),
  stale: z.boolean().describe('players or faces changed since training: POST /api/train'),
  players: z.record(z.string(), z.string()),
  vision: z.object({ embedder: z.string(), detector: z.string(), alignment: z.string() }),
  augmented: z.boolean(),
  negatives: z.number().int(),
  classes: z.number().int(),
  thresholds: thresholdsSchema,
  metrics: metricsSchema,
  adapter: z
    .object({ used: z.boolean(), reason: z.string(), cv: adapterSchema.shape.cv, training: adapterSchema.shape.training })
    .optional()
    .describe('the triplet head, when trained (POST /api/train {adapt: true}): whether recognition uses it and why'),
});
export type ModelInfo = z.infer<typeof modelInfoSchema>;

export const trainResponseSchema = z.object({ model: modelInfoSchema, ms: z.number(), negativesAdded: z.number().int() });

/** GET /healthz with the token; without it the answer is only {ok: true}. */
export const healthResponseSchema = z.object({
  ok: z.literal(true),
  backend: z.string(),
  device: z.string(),
  players: z.number().int(),
  model: z.object({ trainedAt: z.string(), stale: z.boolean(), players: z.number().int() }).nullable(),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;
