// The pool's public types: what callers hand in and get back. Kept apart from pool.ts so that
// consumers (ingest, tracker, /stats) can import them without the worker machinery.
import type { Logger } from '../../shared/log.ts';
import type { FaceResult } from '../../shared/protocol.ts';
import type { PoolFace, PoolFrameMeta, WorkerTimings } from './messages.ts';
import type { SourcePolicy } from './queue.ts';

/** A frame as ingest produces it (the Frame of src/shared/protocol.ts): RGB, width × height × 3 bytes. */
export interface PoolFrame extends PoolFrameMeta {
  rgb: Uint8Array;
}

export interface VisionPoolOptions {
  /** Worker threads (default defaultPoolSize()). */
  size?: number;
  /** Frames waiting for a worker, whole pool (default 4). */
  maxQueue?: number;
  /** Detect on a copy downscaled to this longer side (0 = full resolution, the default); per-frame override in submit. */
  detectMaxSide?: number;
  /** Frames each worker keeps for a later embed(), oldest released first (default 2). */
  keepFrames?: number;
  /** Failed starts in a row after which a slot is given up (default 3). */
  restartLimit?: number;
  /** How long close() lets running requests finish before terminating (default 5000 ms). */
  closeGraceMs?: number;
  /** A worker that has not answered one job within this many ms is terminated and replaced (default 0 = no limit). */
  jobTimeoutMs?: number;
  /** HTTP requests' images waiting for a worker before new ones are refused as busy (default 4). */
  maxRequests?: number;
  /** Accept crashWorkerForTest() (default: FACECAST_TEST_HOOKS=1). */
  testHooks?: boolean;
  log?: Logger;
}

export interface SubmitOptions {
  /** live (default): when the queue is full the oldest waiting frame of this source is dropped; file: never dropped. */
  policy?: SourcePolicy;
  detector?: 'mtcnn' | 'ssd';
  /** Embed every face now (default), or none: keep the frame and call embed() for the faces the tracker wants. */
  embed?: 'all' | 'none';
  /** Keep the full-resolution frame in its worker for embed() (default false). */
  keep?: boolean;
  detectMaxSide?: number;
}

export interface ImageOptions {
  /** What error messages call the image, e.g. "image a ('x.jpg')". */
  source: string;
  detector?: 'mtcnn' | 'ssd';
  /** Compute the faces' embeddings (default true). */
  embeddings?: boolean;
  /** Part of a request already taken (its second image): not refused when the queue is full. */
  admitted?: boolean;
}

export interface PhotoOptions {
  augment: boolean;
  views: number;
  /** A later photo of a request already taken: not refused when the queue is full. */
  admitted?: boolean;
}

export interface ImageResult {
  /** Of the uploaded image (EXIF-rotated); faces are in its pixels. */
  width: number;
  height: number;
  detector: 'mtcnn' | 'ssd';
  faces: FaceResult[];
  worker: number;
  backend: string;
  timings: { workerMs: number; queueMs: number; wallMs: number };
}

export interface Submission {
  /**
   * Resolves once the pool holds the frame in its queue (at once for live frames) or gave up on it;
   * never rejects. A file reader awaits it before reading the next frame: that is the backpressure.
   */
  accepted: Promise<void>;
  /** The faces, or a PoolError: dropped, lost, closed, failed, bad-request. */
  result: Promise<AnalyseResult>;
}

export interface PoolTimings extends WorkerTimings {
  /** From submit to the worker receiving it. */
  queueMs: number;
  /** From submit to the result on the main thread. */
  wallMs: number;
}

export interface PoolFaceResult extends PoolFace {
  /** 128-D, L2-normalised; a view into the one transferred buffer (`embeddings`). */
  embedding?: Float32Array;
}

export interface AnalyseResult {
  /** Handle for embed()/release() when kept. */
  frameId: number;
  kept: boolean;
  frame: PoolFrameMeta;
  detector: 'mtcnn' | 'ssd';
  /** Size the detector saw (smaller than the frame when downscaled). */
  detectSize: [width: number, height: number];
  /** In full-resolution pixels, best score first. */
  faces: PoolFaceResult[];
  /** Indices of the embedded faces, and their rows (embedded.length × 128). */
  embedded: number[];
  embeddings: Float32Array;
  worker: number;
  backend: string;
  timings: PoolTimings;
}

export interface EmbedResult {
  frameId: number;
  /** The requested face indices, and one embedding per index, in that order. */
  embedded: number[];
  embeddings: Float32Array[];
  worker: number;
  /** How many embed requests (frames, possibly of different streams) shared the forward passes. */
  batch: number;
  timings: PoolTimings;
}

export interface WorkerStats {
  index: number;
  ready: boolean;
  busy: boolean;
  /** Time spent on requests since the pool started, across restarts of this slot. */
  busyMs: number;
  jobs: number;
  restarts: number;
  /** tf.memory() of the worker after its last request: flat over frames, or tensors leak. */
  numTensors: number;
  numBytes: number;
  keptFrames: number;
}

export interface PoolStats {
  size: number;
  submitted: number;
  completed: number;
  dropped: number;
  lost: number;
  failed: number;
  restarts: number;
  /** Jobs given up after jobTimeoutMs (their worker was replaced). */
  timeouts: number;
  embedsSubmitted: number;
  embedsCompleted: number;
  /** Frames waiting for a worker. */
  queued: number;
  /** File frames waiting for room in the queue. */
  waitingForRoom: number;
  /** HTTP requests' images waiting for a worker. */
  requestsQueued: number;
  inFlight: number;
  workers: WorkerStats[];
}
