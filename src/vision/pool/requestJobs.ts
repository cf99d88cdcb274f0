// What a vision worker does with an HTTP request's image, free of messaging: decode it with the
// pixel limits and analyse it, or run enrolment's model work on a photo. Both run here, in a
// worker thread, so a slow or hostile upload never holds up the main thread.
import type { VisionEngine } from '../engine.ts';
import { decodeImage } from '../image.ts';
import { embedPhoto, type PhotoOutcome } from '../../roster/enroll.ts';
import type { FaceResult } from '../../shared/protocol.ts';
import type { DetectorName } from './analyser.ts';

export interface ImageAnalysis {
  width: number;
  height: number;
  detector: DetectorName;
  faces: FaceResult[];
}

/** Decodes the uploaded bytes (ImageInputError when over the limit or unreadable) and finds the faces. */
export async function analyseImage(engine: VisionEngine, bytes: Uint8Array, opts: { source: string; detector?: DetectorName; embeddings: boolean }): Promise<ImageAnalysis> {
  const image = await decodeImage(bytes, { source: opts.source, maxPixels: engine.config.maxImagePixels });
  const detector = opts.detector ?? engine.config.detector;
  const faces = await engine.analyse(image, { detector, embeddings: opts.embeddings });
  return { width: image.width, height: image.height, detector, faces };
}

/** Enrolment's model work on one photo, exactly as in-process enrolment does it. */
export function embedUploadedPhoto(engine: VisionEngine, name: string, bytes: Uint8Array, opts: { augment: boolean; views: number }): Promise<PhotoOutcome> {
  return embedPhoto(engine, { name, bytes }, opts);
}

/**
 * Whether an error leaves the TensorFlow.js backend unusable: a wasm abort (out of memory) or trap
 * poisons the module, and every later call fails too, so the worker must be replaced.
 */
export function isEngineFatal(err: unknown): boolean {
  if (err instanceof WebAssembly.RuntimeError) return true;
  const msg = err instanceof Error ? err.message : String(err);
  return /^Aborted\(|memory access out of bounds|out of memory|unreachable/i.test(msg);
}

/** The buffers of an outcome worth moving instead of copying: the decoded photo's pixels, when they own their buffer. */
export function outcomeTransfer(outcome: PhotoOutcome): ArrayBuffer[] {
  if (!outcome.ok) return [];
  const data = outcome.photo.image.data;
  const whole = data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return whole ? [data.buffer as ArrayBuffer] : [];
}
