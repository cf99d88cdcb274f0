// Body of one vision worker thread (started through bootstrap.js, which installs the TypeScript
// loader). It owns one VisionEngine for its whole life and serves one request at a time: the wasm
// backend is single-threaded, so running two would only interleave them.
import { parentPort, workerData } from 'node:worker_threads';
import { visionConfigSchema } from '../../config/schema.ts';
import { createLogger, type LogLevel } from '../../shared/log.ts';
import { VisionEngine } from '../engine.ts';
import { ImageInputError } from '../image.ts';
import { AnalyseError, FrameAnalyser } from './analyser.ts';
import { analyseImage, embedUploadedPhoto, isEngineFatal, outcomeTransfer } from './requestJobs.ts';
import {
  describeIssues,
  workerInitSchema,
  workerRequestSchema,
  type AnalyseRequest,
  type CrashRequest,
  type EmbedBatchRequest,
  type EmbedRequest,
  type ImageRequest,
  type PhotoRequest,
  type WorkerReply,
} from './messages.ts';

if (!parentPort) throw new Error('src/vision/pool/worker.ts runs only as a worker thread');
const port = parentPort;

const init = workerInitSchema.parse(workerData);
const log = createLogger(init.logLevel as LogLevel).child({ worker: init.index });

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  try {
    port.postMessage(reply, transfer);
  } catch (err) {
    // A buffer Node will not move (one sharp made, say) is copied instead.
    if (transfer.length === 0) throw err;
    port.postMessage(reply);
  }
}

async function start(): Promise<{ engine: VisionEngine; analyser: FrameAnalyser } | null> {
  try {
    if (init.failStart && init.testHooks) throw new Error('test hook: this worker was told to fail its start');
    const vision = visionConfigSchema.parse(init.vision);
    const engine = await VisionEngine.create(vision, log);
    // Load the default detector now, so the first frame is not the one that waits for weights.
    await engine.detector(vision.detector);
    const { name, device, fallbacks } = engine.backend;
    post({ type: 'ready', backend: { name, device, fallbacks }, detector: vision.detector, memory: engine.memory() });
    return { engine, analyser: new FrameAnalyser(engine, init.keepFrames) };
  } catch (err) {
    // No message listener gets attached, so the thread ends by itself once this is delivered.
    post({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
    return null;
  }
}

const started = await start();
if (started) serve(started.engine, started.analyser);

function serve(engine: VisionEngine, analyser: FrameAnalyser): void {
  /** Set by a `__crash … midJob` test request: the next analyse dies between detection and embedding. */
  let crashMidJob: CrashRequest | undefined;

  function crash(req: CrashRequest): Promise<never> {
    log.warn({ mode: req.mode }, 'test hook: crashing this worker');
    if (req.mode === 'exit') process.exit(70);
    if (req.mode === 'abort') return Promise.reject(new WebAssembly.RuntimeError('Aborted(). test hook: a wasm abort'));
    if (req.mode === 'hang') {
      // Spins like a kernel stuck in a loop: no message is read or answered until terminate().
      for (;;);
    }
    // Thrown from a fresh macrotask so nothing catches it: the thread dies of an uncaught exception.
    setImmediate(() => {
      throw new Error('test hook: uncaught exception in vision worker');
    });
    return new Promise<never>(() => {});
  }

  function status() {
    return { memory: engine.memory(), keptFrames: analyser.keptFrames };
  }

  async function analyse(req: AnalyseRequest): Promise<void> {
    const { frame } = req;
    const midJob = crashMidJob;
    crashMidJob = undefined;
    const out = await analyser.analyse(
      {
        frameId: req.jobId,
        image: { width: frame.width, height: frame.height, data: req.rgb },
        detector: req.detector ?? engine.config.detector,
        detectMaxSide: req.detectMaxSide,
        embed: req.embed,
        keep: req.keep,
      },
      midJob && (() => crash(midJob)),
    );
    post(
      {
        type: 'analysed',
        jobId: req.jobId,
        frame,
        detector: req.detector ?? engine.config.detector,
        detectSize: out.detectSize,
        faces: out.faces,
        embedded: out.embedded,
        embeddings: out.embeddings,
        kept: out.kept,
        timings: out.timings,
        ...status(),
      },
      [out.embeddings.buffer as ArrayBuffer],
    );
  }

  async function embed(req: EmbedRequest): Promise<void> {
    const out = await analyser.embed(req.frameId, req.faces, req.release);
    post(
      { type: 'embedded', jobId: req.jobId, frameId: req.frameId, embedded: out.embedded, embeddings: out.embeddings, timings: out.timings, ...status() },
      [out.embeddings.buffer as ArrayBuffer],
    );
  }

  async function embedBatch(req: EmbedBatchRequest): Promise<void> {
    const out = await analyser.embedBatch(req.parts.map((p) => ({ frameId: p.frameId, indices: p.faces, release: p.release })));
    const parts = out.results.map((r, k) => {
      const { jobId, frameId } = req.parts[k]!;
      return r instanceof AnalyseError ? { jobId, frameId, code: r.code, error: r.message } : { jobId, frameId, embedded: r.embedded, embeddings: r.embeddings };
    });
    const transfer = out.results.flatMap((r) => (r instanceof AnalyseError ? [] : [r.embeddings.buffer as ArrayBuffer]));
    post({ type: 'embeddedBatch', jobId: req.jobId, parts, timings: out.timings, ...status() }, transfer);
  }

  async function image(req: ImageRequest): Promise<void> {
    const t0 = performance.now();
    const out = await analyseImage(engine, req.bytes, { source: req.source, detector: req.detector, embeddings: req.embeddings });
    post({ type: 'imageAnalysed', jobId: req.jobId, ...out, ms: performance.now() - t0, ...status() });
  }

  async function photo(req: PhotoRequest): Promise<void> {
    const t0 = performance.now();
    const outcome = await embedUploadedPhoto(engine, req.name, req.bytes, { augment: req.augment, views: req.views });
    post({ type: 'photoEmbedded', jobId: req.jobId, outcome, ms: performance.now() - t0, ...status() }, outcomeTransfer(outcome));
  }

  type FailCode = 'bad-request' | 'evicted' | 'error' | 'too-large' | 'unreadable';
  function fail(jobId: number, code: FailCode, error: string, engineBroken = false): void {
    post({ type: 'failed', jobId, code, error, ...(engineBroken ? { engineBroken } : {}), ...status() });
  }

  /** A `__crash … midJob` request for a job that is not a frame analyse: it strikes as the job starts. */
  async function strikeMidJob(): Promise<void> {
    const midJob = crashMidJob;
    crashMidJob = undefined;
    if (midJob) await crash(midJob);
  }

  // Requests run one after another on this chain; the pool sends one job at a time anyway, but
  // releases may arrive while a job runs and must not dispose a frame it is using.
  let chain: Promise<void> = Promise.resolve();

  port.on('message', (raw: unknown) => {
    const parsed = workerRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const jobId = (raw as { jobId?: unknown } | null)?.jobId;
      const why = `invalid request: ${describeIssues(parsed.error)}`;
      if (typeof jobId === 'number') fail(jobId, 'bad-request', why);
      else log.error(why);
      return;
    }
    const req = parsed.data;
    if (req.type === '__crash') {
      if (!init.testHooks) return void log.warn('__crash refused: test hooks are off');
      if (req.at === 'now') void crash(req);
      else crashMidJob = req;
      return;
    }
    chain = chain.then(async () => {
      try {
        if (req.type === 'analyse') await analyse(req);
        else if (req.type === 'embed') await embed(req);
        else if (req.type === 'embedBatch') await embedBatch(req);
        else if (req.type === 'image') await strikeMidJob().then(() => image(req));
        else if (req.type === 'photo') await strikeMidJob().then(() => photo(req));
        else analyser.release(req.frameId);
      } catch (err) {
        if (req.type === 'release') return void log.error({ err }, 'release failed');
        if (err instanceof AnalyseError) fail(req.jobId, err.code, err.message);
        else if (err instanceof ImageInputError) fail(req.jobId, err.reason, err.message);
        else if (isEngineFatal(err)) {
          log.error({ err }, 'the TensorFlow.js backend aborted; this worker will be replaced');
          fail(req.jobId, 'error', err instanceof Error ? err.message : String(err), true);
        } else fail(req.jobId, 'error', err instanceof Error ? err.message : String(err));
      }
    });
  });
}
