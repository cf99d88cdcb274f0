// The messages between the main thread and the vision workers. Self-contained on purpose (it will
// move into src/shared/protocol.ts): zod checks the plain parts on arrival; the pixel and embedding
// buffers travel as transferables and are checked by type and length only, never walked.
import { z } from 'zod';

export const POOL_DETECTORS = ['mtcnn', 'ssd'] as const;
/** Length of one face embedding (faceRecognitionNet). */
export const EMBEDDING_SIZE = 128;

const point = z.tuple([z.number(), z.number()]);
const box = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const jobId = z.number().int().nonnegative();
const faceIndices = z.array(z.number().int().nonnegative());

const uint8Array = z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected a Uint8Array');
const float32Array = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');

/** Same fields as FrameMeta in src/shared/protocol.ts, repeated so this file stands alone. */
export const poolFrameMetaSchema = z.object({
  channel: z.string(),
  seq: z.number().int().nonnegative(),
  pts: z.number(),
  wallMs: z.number(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type PoolFrameMeta = z.infer<typeof poolFrameMetaSchema>;

export const poolFaceSchema = z.object({
  box,
  score: z.number(),
  landmarks: z.tuple([point, point, point, point, point]),
  /** faceQuality() with sharpness from the Laplacian over the full-resolution face, 0…1. */
  quality: z.number(),
});
export type PoolFace = z.infer<typeof poolFaceSchema>;

const memory = z.object({ numTensors: z.number().int(), numBytes: z.number() });
export type WorkerMemory = z.infer<typeof memory>;

// ---------------------------------------------------------------------------------------------
// Main thread → worker.

export const analyseRequestSchema = z
  .object({
    type: z.literal('analyse'),
    jobId,
    frame: poolFrameMetaSchema,
    /** width × height × 3 bytes, transferred. */
    rgb: uint8Array,
    detector: z.enum(POOL_DETECTORS).optional(),
    /** Detect on a copy whose longer side is at most this (0 = full resolution); faces come back in full-resolution pixels. */
    detectMaxSide: z.number().int().nonnegative(),
    /** Embed every face now, or none (then `keep` lets a later `embed` pick faces). */
    embed: z.enum(['all', 'none']),
    /** Keep the full-resolution frame (under frameId = jobId) for a later `embed`. */
    keep: z.boolean(),
  })
  .refine((r) => r.rgb.byteLength === r.frame.width * r.frame.height * 3, { message: 'rgb length is not width × height × 3' });
export type AnalyseRequest = z.infer<typeof analyseRequestSchema>;

export const embedRequestSchema = z.object({
  type: z.literal('embed'),
  jobId,
  /** jobId of the analyse request that kept the frame. */
  frameId: jobId,
  faces: faceIndices,
  /** Drop the kept frame afterwards. */
  release: z.boolean(),
});
export type EmbedRequest = z.infer<typeof embedRequestSchema>;

/**
 * Several embed requests (frames of different streams kept by this worker) answered with one
 * batched forward pass; each part succeeds or fails on its own.
 */
export const embedBatchRequestSchema = z.object({
  type: z.literal('embedBatch'),
  jobId,
  parts: z.array(embedRequestSchema.omit({ type: true })).min(2),
});
export type EmbedBatchRequest = z.infer<typeof embedBatchRequestSchema>;

export const releaseRequestSchema = z.object({ type: z.literal('release'), frameId: jobId });
export type ReleaseRequest = z.infer<typeof releaseRequestSchema>;

/** An encoded image from an HTTP request: decoded (with the pixel limits) and analysed in the worker. */
export const imageRequestSchema = z.object({
  type: z.literal('image'),
  jobId,
  /** The bytes as uploaded (JPEG, PNG, …), transferred. */
  bytes: uint8Array,
  /** What error messages call the image ("image a ('x.jpg')"). */
  source: z.string(),
  detector: z.enum(POOL_DETECTORS).optional(),
  embeddings: z.boolean(),
});
export type ImageRequest = z.infer<typeof imageRequestSchema>;

/** A photo to enrol: decoded, its face found and embedded with its augmented views in the worker. */
export const photoRequestSchema = z.object({
  type: z.literal('photo'),
  jobId,
  name: z.string(),
  bytes: uint8Array,
  augment: z.boolean(),
  views: z.number().int().nonnegative(),
});
export type PhotoRequest = z.infer<typeof photoRequestSchema>;

/** Test hook, refused unless the worker was started with test hooks on. */
export const crashRequestSchema = z.object({
  type: z.literal('__crash'),
  /**
   * exit: process.exit inside the worker; throw: an uncaught exception; hang: the thread spins and
   * never answers (a wasm kernel stuck in a loop); abort: the job fails as a wasm abort does.
   */
  mode: z.enum(['exit', 'throw', 'hang', 'abort']),
  /** now: on arrival; midJob: inside the next job (an analyse between detection and embedding). */
  at: z.enum(['now', 'midJob']),
});
export type CrashRequest = z.infer<typeof crashRequestSchema>;

export const workerRequestSchema = z.discriminatedUnion('type', [
  analyseRequestSchema,
  embedRequestSchema,
  embedBatchRequestSchema,
  releaseRequestSchema,
  imageRequestSchema,
  photoRequestSchema,
  crashRequestSchema,
]);
export type WorkerRequest = z.infer<typeof workerRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Worker → main thread.

export const readyReplySchema = z.object({
  type: z.literal('ready'),
  backend: z.object({ name: z.string(), device: z.string(), fallbacks: z.array(z.string()) }),
  detector: z.enum(POOL_DETECTORS),
  memory,
});
export type ReadyReply = z.infer<typeof readyReplySchema>;

/** Start-up failed (backend or weights); the worker exits after sending it. */
export const fatalReplySchema = z.object({ type: z.literal('fatal'), error: z.string() });
export type FatalReply = z.infer<typeof fatalReplySchema>;

export const timingsSchema = z.object({
  /** RGB bytes → full-resolution tensor. */
  tensorMs: z.number(),
  /** Downscale (when any) and detection. */
  detectMs: z.number(),
  /** Alignment and embedding of the embedded faces, batched. */
  embedMs: z.number(),
  /** The whole request inside the worker. */
  totalMs: z.number(),
});
export type WorkerTimings = z.infer<typeof timingsSchema>;

const embeddingsShape = (r: { embedded: number[]; embeddings: Float32Array }) => r.embeddings.length === r.embedded.length * EMBEDDING_SIZE;

export const analysedReplySchema = z
  .object({
    type: z.literal('analysed'),
    jobId,
    frame: poolFrameMetaSchema,
    detector: z.enum(POOL_DETECTORS),
    /** Size of the image the detector saw: the frame's own, or the downscaled copy. */
    detectSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    faces: z.array(poolFaceSchema),
    /** Indices into faces of the rows of `embeddings`. */
    embedded: faceIndices,
    /** embedded.length × 128, row-major, L2-normalised rows; transferred. */
    embeddings: float32Array,
    kept: z.boolean(),
    timings: timingsSchema,
    memory,
    keptFrames: z.number().int().nonnegative(),
  })
  .refine(embeddingsShape, { message: 'embeddings length is not embedded.length × 128' });
export type AnalysedReply = z.infer<typeof analysedReplySchema>;

export const embeddedReplySchema = z
  .object({
    type: z.literal('embedded'),
    jobId,
    frameId: jobId,
    embedded: faceIndices,
    embeddings: float32Array,
    timings: timingsSchema,
    memory,
    keptFrames: z.number().int().nonnegative(),
  })
  .refine(embeddingsShape, { message: 'embeddings length is not embedded.length × 128' });
export type EmbeddedReply = z.infer<typeof embeddedReplySchema>;

export const embeddedBatchReplySchema = z.object({
  type: z.literal('embeddedBatch'),
  jobId,
  parts: z.array(
    z.union([
      z
        .object({ jobId, frameId: jobId, embedded: faceIndices, embeddings: float32Array })
        .refine(embeddingsShape, { message: 'embeddings length is not embedded.length × 128' }),
      z.object({ jobId, frameId: jobId, code: z.enum(['bad-request', 'evicted']), error: z.string() }),
    ]),
  ),
  timings: timingsSchema,
  memory,
  keptFrames: z.number().int().nonnegative(),
});
export type EmbeddedBatchReply = z.infer<typeof embeddedBatchReplySchema>;

/** A face of an image request, in the pixels of the uploaded image. */
const imageFaceSchema = z.object({
  box,
  score: z.number(),
  landmarks: z.tuple([point, point, point, point, point]),
  embedding: z.array(z.number()).length(EMBEDDING_SIZE).optional(),
});

export const imageAnalysedReplySchema = z.object({
  type: z.literal('imageAnalysed'),
  jobId,
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  detector: z.enum(POOL_DETECTORS),
  faces: z.array(imageFaceSchema),
  /** Decode and analysis inside the worker. */
  ms: z.number(),
  memory,
  keptFrames: z.number().int().nonnegative(),
});
export type ImageAnalysedReply = z.infer<typeof imageAnalysedReplySchema>;

const detectedFaceSchema = z.object({
  box,
  score: z.number(),
  landmarks: z.tuple([point, point, point, point, point]),
  landmarks68: z.array(point).optional(),
});

/** A face of an enrolment photo as reported (src/roster/faceChoice.ts): box in the photo's pixels. */
const faceSummarySchema = z.object({ box: z.tuple([z.number(), z.number(), z.number(), z.number()]), side: z.number(), score: z.number() });

/** embedPhoto()'s outcome (src/roster/enroll.ts); the image's pixels are transferred. */
export const photoOutcomeSchema = z.union([
  z.object({
    ok: z.literal(true),
    photo: z.object({
      sha256: z.string(),
      face: detectedFaceSchema,
      image: z.object({ width: z.number().int().positive(), height: z.number().int().positive(), data: uint8Array }),
      views: z.array(z.object({ augmentation: z.string(), embedding: float32Array, quality: z.number() })),
    }),
    taken: faceSummarySchema,
    ignored: z.array(faceSummarySchema),
  }),
  // The status is enrolment's business (enroll.ts): any refusal it reports passes through.
  z.object({ ok: z.literal(false), status: z.string(), message: z.string(), faces: z.array(faceSummarySchema).optional() }),
]);

export const photoEmbeddedReplySchema = z.object({
  type: z.literal('photoEmbedded'),
  jobId,
  outcome: photoOutcomeSchema,
  ms: z.number(),
  memory,
  keptFrames: z.number().int().nonnegative(),
});
export type PhotoEmbeddedReply = z.infer<typeof photoEmbeddedReplySchema>;

/** A request that failed without killing the worker. */
export const failedReplySchema = z.object({
  type: z.literal('failed'),
  jobId,
  /**
   * bad-request: did not validate; evicted: the frame to embed is no longer kept; error: the models
   * threw; too-large / unreadable: an image request's image is over the pixel limit / not an image.
   */
  code: z.enum(['bad-request', 'evicted', 'error', 'too-large', 'unreadable']),
  error: z.string(),
  /** The backend is unusable after this (a wasm abort): the pool replaces the worker. */
  engineBroken: z.boolean().optional(),
  memory,
  keptFrames: z.number().int().nonnegative(),
});
export type FailedReply = z.infer<typeof failedReplySchema>;

export const workerReplySchema = z.discriminatedUnion('type', [
  readyReplySchema,
  fatalReplySchema,
  analysedReplySchema,
  embeddedReplySchema,
  embeddedBatchReplySchema,
  imageAnalysedReplySchema,
  photoEmbeddedReplySchema,
  failedReplySchema,
]);
export type WorkerReply = z.infer<typeof workerReplySchema>;

/** What the main thread hands a worker at start (workerData). */
export const workerInitSchema = z.object({
  /** The vision config; the worker's VisionEngine re-validates it. */
  vision: z.unknown(),
  index: z.number().int().nonnegative(),
  keepFrames: z.number().int().min(0),
  testHooks: z.boolean(),
  /** Test hook (with testHooks): the worker reports a failed start instead of loading the models. */
  failStart: z.boolean().optional(),
  logLevel: z.string(),
});
export type WorkerInit = z.infer<typeof workerInitSchema>;

/** One line from a zod error, for logs and rejections. */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
