// The main thread's side of the vision workers: a bounded queue with a policy per source, one
// request per worker at a time, replacement of workers that die or hang (a job timeout), a
// bounded queue of HTTP requests' images (full: refused with a retry time), and counters for /stats.
// Embed requests waiting for the same worker (frames of different streams it keeps) go to it as
// one batch, so the faces of every stream share forward passes: the cross-stream batching that
// pays on a GPU, where one pass over 16 faces costs about what one over 1 does.
// The main thread never runs a model; it only moves frames (transferred, not copied) and results.
import { availableParallelism } from 'node:os';
import type { VisionConfig } from '../../config/schema.ts';
import { silentLogger, type Logger } from '../../shared/log.ts';
import { PoolError } from './errors.ts';
import type { PhotoOutcome } from '../../roster/enroll.ts';
import type {
  AnalyseResult,
  EmbedResult,
  ImageOptions,
  ImageResult,
  PhotoOptions,
  PoolFaceResult,
  PoolFrame,
  PoolStats,
  PoolTimings,
  Submission,
  SubmitOptions,
  VisionPoolOptions,
} from './api.ts';
import {
  describeIssues,
  EMBEDDING_SIZE,
  poolFrameMetaSchema,
  type AnalysedReply,
  type AnalyseRequest,
  type CrashRequest,
  type EmbedBatchRequest,
  type EmbeddedBatchReply,
  type EmbeddedReply,
  type EmbedRequest,
  type FailedReply,
  type ImageAnalysedReply,
  type ImageRequest,
  type PhotoEmbeddedReply,
  type PhotoRequest,
  type PoolFrameMeta,
  type ReadyReply,
  type WorkerTimings,
} from './messages.ts';
import { FrameQueue, type SourcePolicy } from './queue.ts';
import { RequestQueue } from './requestQueue.ts';
import { WorkerSlot } from './slot.ts';

interface Settle<T> {
  id: number;
  submittedAt: number;
  resolve(value: T): void;
  reject(err: PoolError): void;
}
interface AnalyseJob extends Settle<AnalyseResult> {
  kind: 'analyse';
  policy: SourcePolicy;
  channel: string;
  meta: PoolFrameMeta;
  rgb: Uint8Array;
  detector: SubmitOptions['detector'];
  embed: 'all' | 'none';
  keep: boolean;
  detectMaxSide: number;
  admit(): void;
}
interface EmbedJob extends Settle<EmbedResult> {
  kind: 'embed';
  frameId: number;
  faces: number[];
  release: boolean;
}
/** Several embed jobs sent to one worker as one request; each settles on its own. */
interface EmbedBatchJob extends Settle<void> {
  kind: 'embedBatch';
  parts: EmbedJob[];
}
/** An HTTP request's image: decoded and analysed in a worker. */
interface ImageJob extends Settle<ImageResult> {
  kind: 'image';
  bytes: Uint8Array;
  source: string;
  detector: ImageOptions['detector'];
  embeddings: boolean;
}
/** A photo to enrol: enrolment's model work in a worker. */
interface PhotoJob extends Settle<PhotoOutcome> {
  kind: 'photo';
  name: string;
  bytes: Uint8Array;
  augment: boolean;
  views: number;
}
type RequestJob = ImageJob | PhotoJob;
type Job = AnalyseJob | EmbedJob | EmbedBatchJob | RequestJob;

/** What a log line or an error calls a job. */
function describeJob(job: Exclude<Job, EmbedBatchJob>): string {
  if (job.kind === 'analyse') return `frame ${job.channel}#${job.meta.seq}`;
  if (job.kind === 'embed') return `embed of frame ${job.frameId}`;
  if (job.kind === 'image') return job.source;
  return `photo '${job.name}'`;
}

/** Most embed requests merged into one batch (each may hold several faces). */
const MAX_EMBED_BATCH_PARTS = 16;
type Slot = WorkerSlot<Job>;

type State = 'starting' | 'open' | 'closing' | 'closed' | 'broken';

/** One worker per core, less one core for ingest, tracking and the server: 1 on a 2-core machine. */
export function defaultPoolSize(cores = availableParallelism()): number {
  return Math.max(1, cores - 1);
}

const now = () => performance.now();

/**
 * Moves the pixels into a buffer the pool owns without copying them, so the caller cannot change a
 * queued frame and the later postMessage transfer is free. A view onto part of a larger buffer (Node's
 * Buffer pool, a chunk of ffmpeg output) is copied instead: detaching it would break its neighbours.
 */
function takePixels(rgb: Uint8Array): Uint8Array {
  const whole = rgb.buffer instanceof ArrayBuffer && rgb.byteOffset === 0 && rgb.byteLength === rgb.buffer.byteLength;
  if (!whole) return rgb.slice();
  try {
    return new Uint8Array(structuredClone(rgb.buffer, { transfer: [rgb.buffer] }));
  } catch {
    return rgb.slice(); // a buffer Node marked untransferable
  }
}

function badPixels(frame: PoolFrame): PoolError | undefined {
  const expected = frame.width * frame.height * 3;
  if (frame.rgb.byteLength === expected) return undefined;
  return new PoolError('bad-request', `frame ${frame.channel}#${frame.seq}: rgb has ${frame.rgb.byteLength} bytes, expected ${frame.width}×${frame.height}×3`);
}

function rows(embeddings: Float32Array, n: number): Float32Array[] {
  return Array.from({ length: n }, (_, k) => embeddings.subarray(k * EMBEDDING_SIZE, (k + 1) * EMBEDDING_SIZE));
}

export class VisionPool {
  private state: State = 'starting';
  private readonly slots: Slot[];
  private readonly queue: FrameQueue<AnalyseJob>;
  /** Which slot keeps which frame, for embed() and release(). */
  private readonly keptBy = new Map<number, Slot>();
  private readonly counts = { submitted: 0, completed: 0, dropped: 0, lost: 0, failed: 0, restarts: 0, timeouts: 0, embedsSubmitted: 0, embedsCompleted: 0 };
  /** HTTP requests' images waiting for a worker. */
  private readonly requests: RequestQueue<RequestJob>;
  private nextId = 1;
  private pumpQueued = false;
  private readonly opts: Required<Omit<VisionPoolOptions, 'log'>>;
  private readonly log: Logger;
  private readonly started: Array<{ resolve(): void; reject(err: Error): void }> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private closing: Promise<void> | undefined;

  private constructor(config: VisionConfig, options: VisionPoolOptions) {
    this.opts = {
      size: options.size ?? defaultPoolSize(),
      maxQueue: options.maxQueue ?? 4,
      detectMaxSide: options.detectMaxSide ?? 0,
      keepFrames: options.keepFrames ?? 2,
      restartLimit: options.restartLimit ?? 3,
      closeGraceMs: options.closeGraceMs ?? 5000,
      jobTimeoutMs: options.jobTimeoutMs ?? 0,
      maxRequests: options.maxRequests ?? 4,
      testHooks: options.testHooks ?? process.env.FACECAST_TEST_HOOKS === '1',
    };
    if (!(Number.isInteger(this.opts.size) && this.opts.size >= 1)) throw new RangeError(`pool size must be an integer ≥ 1, got ${this.opts.size}`);
    if (!(Number.isInteger(this.opts.keepFrames) && this.opts.keepFrames >= 0)) throw new RangeError('keepFrames must be an integer ≥ 0');
    this.log = options.log ?? silentLogger;
    this.queue = new FrameQueue(this.opts.maxQueue);
    this.requests = new RequestQueue(this.opts.maxRequests);
    const init = {
      vision: config,
      keepFrames: this.opts.keepFrames,
      testHooks: this.opts.testHooks,
      logLevel: this.log.level,
    };
    const handlers = {
      onReady: (slot: Slot, reply: ReadyReply) => this.onReady(slot, reply),
      onReply: (slot: Slot, reply: Parameters<VisionPool['onReply']>[1]) => this.onReply(slot, reply),
      onExit: (slot: Slot, reason: string, ready: boolean) => this.onExit(slot, reason, ready),
    };
    this.slots = Array.from({ length: this.opts.size }, (_, i) => new WorkerSlot<Job>(i, init, handlers, this.log));
  }

  /** Starts the workers and resolves when every one has loaded its models; rejects with the first start failure. */
  static async create(config: VisionConfig, options: VisionPoolOptions = {}): Promise<VisionPool> {
    const pool = new VisionPool(config, options);
    const ready = pool.slots.map(
      (slot) =>
        new Promise<void>((resolve, reject) => {
          pool.started[slot.index] = { resolve, reject };
          slot.start();
        }),
    );
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.close();
      throw err;
    }
    pool.state = 'open';
    pool.log.info({ workers: pool.size, backend: pool.backend?.name }, 'vision pool ready');
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** What the first ready worker runs on (every worker selects the same way). */
  get backend(): ReadyReply['backend'] | undefined {
    return this.slots.find((s) => s.backend)?.backend;
  }

  /** Queues a frame for detection (and embedding). Its pixels now belong to the pool: `frame.rgb` is detached. */
  submit(frame: PoolFrame, opts: SubmitOptions = {}): Submission {
    let admit!: () => void;
    const accepted = new Promise<void>((r) => (admit = r));
    let settle!: Settle<AnalyseResult>;
    const result = new Promise<AnalyseResult>((resolve, reject) => {
      settle = { id: this.nextId++, submittedAt: now(), resolve, reject };
    });
    // A dropped or lost frame is routine and counted in stats(); it must not crash a process that
    // did not look at this promise (Node's unhandled-rejection rule).
    result.catch(() => {});
    const { rgb, ...rest } = frame;
    const meta = poolFrameMetaSchema.safeParse(rest);
    const refusal = this.refusal() ?? (meta.success ? badPixels(frame) : new PoolError('bad-request', `invalid frame: ${describeIssues(meta.error)}`));
    if (refusal || !meta.success) {
      admit();
      settle.reject(refusal!);
      return { accepted, result };
    }
    const job: AnalyseJob = {
      ...settle,
      kind: 'analyse',
      policy: opts.policy ?? 'live',
      channel: meta.data.channel,
      meta: meta.data,
      rgb: takePixels(rgb),
      detector: opts.detector,
      embed: opts.embed ?? 'all',
      keep: opts.keep ?? false,
      detectMaxSide: opts.detectMaxSide ?? this.opts.detectMaxSide,
      admit,
    };
    this.counts.submitted++;
    for (const dropped of this.queue.offer(job)) {
      this.counts.dropped++;
      dropped.reject(new PoolError('dropped', `frame ${dropped.channel}#${dropped.meta.seq} dropped: the queue was full and a newer live frame came`));
    }
    this.schedule();
    return { accepted, result };
  }

  /**
   * Decodes (with the pixel limits) and analyses an uploaded image in a worker. Rejects with a
   * PoolError: busy when the request queue is full (with retryAfterS), too-large, unreadable,
   * timeout, lost, failed, closed.
   */
  analyseImage(bytes: Uint8Array, opts: ImageOptions): Promise<ImageResult> {
    return this.request<ImageResult>((settle) => ({
      ...settle,
      kind: 'image',
      bytes: new Uint8Array(bytes), // a copy the pool owns and can transfer
      source: opts.source,
      detector: opts.detector,
      embeddings: opts.embeddings ?? true,
    }), opts.admitted ?? false);
  }

  /**
   * Enrolment's model work on one photo in a worker (embedPhoto of src/roster/enroll.ts); the
   * outcome is the same. `admitted`: a later photo of a request already taken skips the queue bound.
   */
  embedPhoto(photo: { name: string; bytes: Uint8Array }, opts: PhotoOptions): Promise<PhotoOutcome> {
    return this.request<PhotoOutcome>((settle) => ({
      ...settle,
      kind: 'photo',
      name: photo.name,
      bytes: new Uint8Array(photo.bytes),
      augment: opts.augment,
      views: opts.views,
    }), opts.admitted ?? false);
  }

  /** Seconds after which a request refused now is likely to be taken. */
  retryAfterS(): number {
    return this.requests.retryAfterS(this.inFlight(), this.size);
  }

  private inFlight(): number {
    return this.slots.filter((s) => s.current).length;
  }

  private request<T>(make: (settle: Settle<T>) => RequestJob, admitted: boolean): Promise<T> {
    const result = new Promise<T>((resolve, reject) => {
      const refusal = this.refusal();
      if (refusal) return reject(refusal);
      try {
        this.requests.offer(make({ id: this.nextId++, submittedAt: now(), resolve, reject } as Settle<T>), admitted, this.inFlight(), this.size);
      } catch (err) {
        return reject(err as PoolError);
      }
      this.schedule();
    });
    result.catch(() => {}); // as in submit()
    return result;
  }

  /** Why no request can be taken now, if so. */
  private refusal(): PoolError | undefined {
    if (this.state === 'open') return undefined;
    if (this.state === 'broken') return new PoolError('failed', 'vision pool has no worker left that can start');
    return new PoolError('closed', `vision pool is ${this.state}`);
  }

  /**
   * Step 2 of detect-then-embed: embeds the chosen faces of a frame submitted with keep: true,
   * batched, from the full-resolution frame its worker kept. Runs before any queued frame on that
   * worker. `release` (default true) lets the worker drop the frame afterwards.
   */
  embed(frameId: number, faces: number[], opts: { release?: boolean } = {}): Promise<EmbedResult> {
    const result = new Promise<EmbedResult>((resolve, reject) => {
      const slot = this.keptBy.get(frameId);
      const refusal = this.refusal();
      if (refusal) return reject(refusal);
      if (!slot) return reject(new PoolError('evicted', `frame ${frameId} is not kept (not submitted with keep, released, evicted by newer kept frames, or its worker died)`));
      const release = opts.release ?? true;
      if (release) this.forget(slot, frameId);
      this.counts.embedsSubmitted++;
      slot.priority.push({ kind: 'embed', id: this.nextId++, submittedAt: now(), frameId, faces: [...faces], release, resolve, reject });
      this.schedule();
    });
    result.catch(() => {}); // as in submit()
    return result;
  }

  /** Lets the worker drop a kept frame that will not be embedded. */
  release(frameId: number): void {
    const slot = this.keptBy.get(frameId);
    if (!slot) return;
    this.forget(slot, frameId);
    this.releaseInWorker(slot, frameId);
  }

  stats(): PoolStats {
    return {
      size: this.size,
      ...this.counts,
      queued: this.queue.length,
      waitingForRoom: this.queue.parkedLength,
      requestsQueued: this.requests.length,
      inFlight: this.inFlight(),
      workers: this.slots.map((s) => ({
        index: s.index,
        ready: s.ready,
        busy: s.current !== undefined,
        busyMs: s.busyMs + (s.current ? now() - s.current.sentAt : 0),
        jobs: s.jobs,
        restarts: s.restarts,
        numTensors: s.memory.numTensors,
        numBytes: s.memory.numBytes,
        keptFrames: s.keptFrames,
      })),
    };
  }

  /** Test hook: makes worker `index` crash (or hang, or abort) now or in the middle of its next job. Needs testHooks. */
  crashWorkerForTest(index: number, mode: CrashRequest['mode'] = 'exit', at: CrashRequest['at'] = 'midJob'): void {
    this.testSlot(index).post({ type: '__crash', mode, at } satisfies CrashRequest);
  }

  /** Test hook: the next `starts` workers started in slot `index` report a failed start. Needs testHooks. */
  failStartsForTest(index: number, starts: number): void {
    this.testSlot(index).failStartsForTest = starts;
  }

  /** open, or broken once no worker can be started any more (then every request is refused). */
  get status(): State {
    return this.state;
  }

  private testSlot(index: number): Slot {
    if (!this.opts.testHooks) throw new Error('test hooks need the pool option testHooks (or FACECAST_TEST_HOOKS=1)');
    const slot = this.slots[index];
    if (!slot) throw new RangeError(`no worker ${index}`);
    return slot;
  }

  /**
   * Stops taking frames, rejects everything still queued ('closed'), lets running requests finish
   * for up to closeGraceMs, then terminates the workers.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.state = 'closing';
    for (const job of this.queue.drain()) job.reject(new PoolError('closed', 'vision pool closed before this frame ran'));
    this.requests.rejectAll(new PoolError('closed', 'vision pool closed before this image ran'));
    for (const slot of this.slots) {
      for (const job of slot.priority.splice(0)) job.reject(new PoolError('closed', 'vision pool closed before this embed ran'));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.whenIdle(), new Promise<void>((r) => (timer = setTimeout(r, this.opts.closeGraceMs)))]);
    clearTimeout(timer);
    await Promise.all(this.slots.map((s) => s.terminate('terminated by close()')));
    this.state = 'closed';
    this.keptBy.clear();
    this.notifyIdle();
  }

  // -------------------------------------------------------------------------------------------

  /**
   * Dispatch runs from setImmediate, not at once: a caller reacting to a result in its promise
   * continuation (the tracker asking for embeddings) gets its embed() in before the worker takes
   * the next queued frame.
   */
  private schedule(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.state !== 'open') return;
    for (const slot of this.slots) {
      if (!slot.ready || slot.retiring || slot.current) continue;
      // Live frames first: a channel's picture must not wait behind an upload.
      let job: Job | undefined = slot.priority.shift() ?? this.queue.take() ?? this.requests.take();
      if (!job) continue;
      if (job.kind === 'embed') job = this.batchEmbeds(slot, job);
      slot.current = { job, sentAt: now() };
      if (this.opts.jobTimeoutMs > 0) {
        const sent = job;
        slot.current.watchdog = setTimeout(() => this.expire(slot, sent), this.opts.jobTimeoutMs);
        slot.current.watchdog.unref();
      }
      if (job.kind === 'analyse') {
        const req: AnalyseRequest = {
          type: 'analyse',
          jobId: job.id,
          frame: job.meta,
          rgb: job.rgb,
          detectMaxSide: job.detectMaxSide,
          embed: job.embed,
          keep: job.keep,
          ...(job.detector ? { detector: job.detector } : {}),
        };
        slot.post(req, [job.rgb.buffer as ArrayBuffer]);
      } else if (job.kind === 'image') {
        const req: ImageRequest = { type: 'image', jobId: job.id, bytes: job.bytes, source: job.source, embeddings: job.embeddings, ...(job.detector ? { detector: job.detector } : {}) };
        slot.post(req, [job.bytes.buffer as ArrayBuffer]);
      } else if (job.kind === 'photo') {
        const req: PhotoRequest = { type: 'photo', jobId: job.id, name: job.name, bytes: job.bytes, augment: job.augment, views: job.views };
        slot.post(req, [job.bytes.buffer as ArrayBuffer]);
      } else if (job.kind === 'embedBatch') {
        const parts = job.parts.map((p) => ({ jobId: p.id, frameId: p.frameId, faces: p.faces, release: p.release }));
        const req: EmbedBatchRequest = { type: 'embedBatch', jobId: job.id, parts };
        slot.post(req);
      } else {
        const req: EmbedRequest = { type: 'embed', jobId: job.id, frameId: job.frameId, faces: job.faces, release: job.release };
        slot.post(req);
      }
    }
  }

  /** The embed job, or a batch of it and the other embeds waiting for the same worker. */
  private batchEmbeds(slot: Slot, first: EmbedJob): EmbedJob | EmbedBatchJob {
    const parts = [first];
    for (let i = 0; i < slot.priority.length && parts.length < MAX_EMBED_BATCH_PARTS; ) {
      const next = slot.priority[i]!;
      if (next.kind === 'embed') {
        parts.push(next);
        slot.priority.splice(i, 1);
      } else i++;
    }
    if (parts.length === 1) return first;
    const noop = () => {};
    return { kind: 'embedBatch', id: this.nextId++, submittedAt: Math.min(...parts.map((p) => p.submittedAt)), parts, resolve: noop, reject: noop };
  }

  private onReady(slot: Slot, reply: ReadyReply): void {
    slot.startFailures = 0;
    this.log.debug({ worker: slot.index, backend: reply.backend.name }, 'vision worker ready');
    this.started[slot.index]?.resolve();
    this.schedule();
  }

  /** A job ran past jobTimeoutMs: its worker is taken as hung and replaced (onExit settles the job). */
  private expire(slot: Slot, job: Job): void {
    const current = slot.current;
    if (!current || current.job !== job) return;
    current.timedOut = true;
    this.counts.timeouts++;
    this.log.error({ worker: slot.index, kind: job.kind, timeoutMs: this.opts.jobTimeoutMs }, `vision worker ${slot.index} has not answered a ${job.kind} request in ${this.opts.jobTimeoutMs} ms; replacing it`);
    void slot.retire(`did not answer within ${this.opts.jobTimeoutMs} ms (hung)`);
  }

  private onReply(slot: Slot, reply: AnalysedReply | EmbeddedReply | EmbeddedBatchReply | ImageAnalysedReply | PhotoEmbeddedReply | FailedReply): void {
    const current = slot.current;
    if (!current || current.job.id !== reply.jobId) {
      this.log.error({ worker: slot.index, jobId: reply.jobId }, 'vision worker answered a request it was not running');
      return;
    }
    clearTimeout(current.watchdog);
    if (current.timedOut) return; // too late: the job was given up and the worker is going
    slot.current = undefined;
    slot.busyMs += now() - current.sentAt;
    slot.jobs++;
    const job = current.job;
    const t = now();
    const timings = (w: WorkerTimings): PoolTimings => ({ ...w, queueMs: current.sentAt - job.submittedAt, wallMs: t - job.submittedAt });
    if (job.kind === 'image' || job.kind === 'photo') this.requests.record(t - current.sentAt);
    if (reply.type === 'failed') {
      const parts = job.kind === 'embedBatch' ? job.parts : [job];
      this.counts.failed += parts.length;
      if (reply.code === 'too-large' || reply.code === 'unreadable') {
        // The image's own fault: the message (from image.ts) already says what to do.
        for (const p of parts) p.reject(new PoolError(reply.code, reply.error));
      } else if (reply.engineBroken) {
        for (const p of parts) p.reject(new PoolError('failed', `vision worker ${slot.index} failed on ${describeJob(p)} (${reply.error}); the worker is being replaced, try again or send a smaller image`));
        void slot.retire(`its TensorFlow.js backend aborted (${reply.error})`);
      } else {
        for (const p of parts) p.reject(new PoolError(reply.code === 'error' ? 'failed' : reply.code, `vision worker ${slot.index}: ${reply.error}`));
      }
    } else if (reply.type === 'imageAnalysed' && job.kind === 'image') {
      job.resolve({
        width: reply.width,
        height: reply.height,
        detector: reply.detector,
        faces: reply.faces,
        worker: slot.index,
        backend: slot.backend?.name ?? 'unknown',
        timings: { workerMs: reply.ms, queueMs: current.sentAt - job.submittedAt, wallMs: t - job.submittedAt },
      });
    } else if (reply.type === 'photoEmbedded' && job.kind === 'photo') {
      job.resolve(reply.outcome as PhotoOutcome);
    } else if (reply.type === 'embeddedBatch' && job.kind === 'embedBatch') {
      const byId = new Map(job.parts.map((p) => [p.id, p]));
      for (const part of reply.parts) {
        const p = byId.get(part.jobId);
        if (!p) continue;
        byId.delete(part.jobId);
        if ('error' in part) {
          this.counts.failed++;
          p.reject(new PoolError(part.code, `vision worker ${slot.index}: ${part.error}`));
          continue;
        }
        this.counts.embedsCompleted++;
        p.resolve({
          frameId: part.frameId,
          embedded: part.embedded,
          embeddings: rows(part.embeddings, part.embedded.length),
          worker: slot.index,
          batch: job.parts.length,
          timings: { ...reply.timings, queueMs: current.sentAt - p.submittedAt, wallMs: t - p.submittedAt },
        });
      }
      for (const p of byId.values()) p.reject(new PoolError('failed', `vision worker ${slot.index} did not answer the embed of frame ${p.frameId}`));
    } else if (reply.type === 'analysed' && job.kind === 'analyse') {
      this.counts.completed++;
      if (reply.kept) this.remember(slot, job.id);
      const views = rows(reply.embeddings, reply.embedded.length);
      const faces: PoolFaceResult[] = reply.faces.map((f) => ({ ...f }));
      reply.embedded.forEach((i, k) => {
        if (faces[i]) faces[i].embedding = views[k];
      });
      job.resolve({
        frameId: job.id,
        kept: reply.kept,
        frame: reply.frame,
        detector: reply.detector,
        detectSize: reply.detectSize,
        faces,
        embedded: reply.embedded,
        embeddings: reply.embeddings,
        worker: slot.index,
        backend: slot.backend?.name ?? 'unknown',
        timings: timings(reply.timings),
      });
    } else if (reply.type === 'embedded' && job.kind === 'embed') {
      this.counts.embedsCompleted++;
      job.resolve({
        frameId: reply.frameId,
        embedded: reply.embedded,
        embeddings: rows(reply.embeddings, reply.embedded.length),
        worker: slot.index,
        batch: 1,
        timings: timings(reply.timings),
      });
    } else {
      const parts = job.kind === 'embedBatch' ? job.parts : [job];
      this.counts.failed += parts.length;
      for (const p of parts) p.reject(new PoolError('failed', `vision worker ${slot.index} answered ${reply.type} to a ${job.kind} request`));
    }
    this.notifyIdle();
    this.schedule();
  }

  private onExit(slot: Slot, reason: string, ready: boolean): void {
    const why = `vision worker ${slot.index} ${reason}`;
    if (this.state === 'starting' && !ready) {
      // A worker that cannot start at all (no backend, bad weights) fails create(): retrying will not help.
      this.started[slot.index]?.reject(new Error(why));
      return;
    }
    const lost = (code: 'lost' | 'closed' | 'timeout') => (job: Job) => {
      if (job.kind === 'embedBatch') return job.parts.forEach(lost(code));
      if (code === 'lost') this.counts.lost++;
      const what = describeJob(job);
      const message = {
        lost: `${what} lost: ${why}; the worker is being replaced`,
        closed: `${what}: vision pool closed`,
        timeout: `${what} was not done within ${this.opts.jobTimeoutMs / 1000} s; the worker was stopped and is being replaced (send a smaller image, or try again)`,
      }[code];
      job.reject(new PoolError(code, message));
    };
    const code = this.state === 'closing' || this.state === 'closed' ? 'closed' : 'lost';
    clearTimeout(slot.current?.watchdog);
    if (slot.current) lost(slot.current.timedOut && code === 'lost' ? 'timeout' : code)(slot.current.job);
    slot.current = undefined;
    slot.priority.splice(0).forEach(lost(code));
    for (const id of slot.kept) this.keptBy.delete(id);
    slot.kept = [];
    slot.keptFrames = 0;
    this.notifyIdle();
    if (code === 'closed' || this.state === 'broken') return;

    this.log.error({ worker: slot.index, reason }, `${why}; starting a new one`);
    slot.startFailures = ready ? 0 : slot.startFailures + 1;
    if (slot.startFailures >= this.opts.restartLimit) {
      slot.dead = true;
      this.log.error({ worker: slot.index }, `vision worker ${slot.index} failed to start ${slot.startFailures} times in a row; giving up on it`);
      if (this.slots.every((s) => s.dead)) this.breakDown(why);
      return;
    }
    this.counts.restarts++;
    slot.restarts++;
    // Back off when starts keep failing, so a broken install does not spin the CPU.
    const delay = slot.startFailures === 0 ? 0 : 250 * 2 ** (slot.startFailures - 1);
    setTimeout(() => {
      if (this.state === 'open' || this.state === 'starting') slot.start();
    }, delay);
  }

  /** No worker can start any more: fail what waits and refuse new frames. */
  private breakDown(why: string): void {
    this.state = 'broken';
    for (const job of this.queue.drain()) job.reject(new PoolError('failed', `no vision worker could be started (${why})`));
    this.requests.rejectAll(new PoolError('failed', `no vision worker could be started (${why})`));
  }

  /** Records a frame the worker now keeps; over keepFrames, the oldest is released. */
  private remember(slot: Slot, frameId: number): void {
    slot.kept.push(frameId);
    this.keptBy.set(frameId, slot);
    while (slot.kept.length > this.opts.keepFrames) {
      const oldest = slot.kept[0]!;
      this.forget(slot, oldest);
      this.releaseInWorker(slot, oldest);
    }
  }

  private forget(slot: Slot, frameId: number): void {
    slot.kept = slot.kept.filter((id) => id !== frameId);
    this.keptBy.delete(frameId);
  }

  /** Tells the worker to drop a frame, unless an embed of it still waits: that embed drops it after. */
  private releaseInWorker(slot: Slot, frameId: number): void {
    const waiting = slot.priority.find((j): j is EmbedJob => j.kind === 'embed' && j.frameId === frameId);
    if (waiting) waiting.release = true;
    else slot.post({ type: 'release', frameId });
  }

  private whenIdle(): Promise<void> {
    if (this.slots.every((s) => !s.current)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private notifyIdle(): void {
    if (this.slots.some((s) => s.current)) return;
    for (const r of this.idleWaiters.splice(0)) r();
  }
}
