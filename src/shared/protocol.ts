// Every message that crosses a thread, process or socket is declared here once: a zod schema
// (validated on arrival) and the TypeScript type inferred from it.
import { z } from 'zod';

export const pointSchema = z.tuple([z.number(), z.number()]).describe('[x, y] in image pixels');
export const boxSchema = z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('[x, y, width, height] in image pixels');

export const identitySchema = z
  .object({
    id: z.string().describe('player id'),
    name: z.string().describe('display name'),
    confidence: z.number().min(0).max(1).describe('how far the decision clears the open-set thresholds, 0…1'),
  })
  .describe('the recognised player; null means unknown');
export type Identity = z.infer<typeof identitySchema>;

export const faceResultSchema = z.object({
  box: boxSchema,
  score: z.number().min(0).max(1).describe('detector confidence'),
  landmarks: z
    .tuple([pointSchema, pointSchema, pointSchema, pointSchema, pointSchema])
    .describe('left eye, right eye, nose tip, left mouth corner, right mouth corner'),
  embedding: z.array(z.number()).length(128).optional().describe('L2-normalised 128-D face embedding'),
  identity: identitySchema.nullable().optional().describe('present once a roster model exists: the player, or null for unknown'),
});
export type FaceResult = z.infer<typeof faceResultSchema>;

/** The answer of `facecast recognize` for one image (one element of the --json array). */
export const imageResultSchema = z.object({
  file: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  backend: z.string().describe('TensorFlow.js backend that ran the models'),
  detector: z.string(),
  ms: z.number().describe('wall time for this image: decode, detect, align, embed'),
  faces: z.array(faceResultSchema),
});
export type ImageResult = z.infer<typeof imageResultSchema>;

/** A file that could not be processed; the others still are. */
export const imageErrorSchema = z.object({
  file: z.string(),
  error: z.string().describe('one line: what is wrong and what to do'),
});
export type ImageError = z.infer<typeof imageErrorSchema>;

// ---------------------------------------------------------------------------------------------
// Live pipeline: frames and what the vision workers answer.

/** Metadata of one sampled video frame (the pixels travel beside it as a transferable buffer). */
export const frameMetaSchema = z.object({
  channel: z.string().describe('which attached source this frame came from'),
  seq: z.number().int().nonnegative().describe('sampled-frame counter of this source, from 0'),
  pts: z.number().describe("the source's presentation time of this frame, seconds"),
  wallMs: z.number().describe('wall-clock time (Date.now()) when the frame arrived from ffmpeg'),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});
export type FrameMeta = z.infer<typeof frameMetaSchema>;

/** A sampled frame: RGB, 8 bit, row-major, width × height × 3 bytes. */
export interface Frame extends FrameMeta {
  rgb: Uint8Array;
}
