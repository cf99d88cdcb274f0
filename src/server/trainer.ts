// Retraining while the show goes on. One training at a time; the classifier trains in a worker
// thread (trainWorkerClient.ts), so frames, sockets and requests are served meanwhile, and the
// live recognizer is swapped only once the new model file is complete.
//
// Corrections from the dashboard call request(): one that arrives during a training queues ONE
// more run (later ones join it), which starts when the current one ends and sees every change
// made until then. POST /api/train calls run() and keeps its contract: 409 while one runs.
import { EventEmitter } from 'node:events';
import type { TrainingMessage } from '../shared/protocol.ts';
import type { StoredModel } from '../recognition/store.ts';
import { ensureBuiltinNegatives, setupConflict } from '../recognition/service.ts';
import { trainInWorker } from '../recognition/trainWorkerClient.ts';
import type { AppContext } from './context.ts';
import { HttpError } from './errors.ts';
import type { Roster } from '../roster/roster.ts';
import type { EmbeddingSetup } from '../vision/setup.ts';

export interface TrainOutcome {
  model: StoredModel;
  stale: boolean;
  ms: number;
  negativesAdded: number;
}

export interface TrainingStatus {
  state: 'idle' | 'running' | 'done' | 'failed';
  progress: number | null;
  message: string;
  /** Why the current or last run started: 'api', 'relabel', … */
  reason: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Another run will follow the current one (a correction arrived meanwhile). */
  queued: boolean;
}

export type Job = (progress: (fraction: number | null, message: string) => void) => Promise<TrainOutcome>;

interface Deferred {
  promise: Promise<TrainOutcome>;
  resolve: (o: TrainOutcome) => void;
  reject: (e: unknown) => void;
  reason: string;
}

function deferred(reason: string): Deferred {
  let resolve!: (o: TrainOutcome) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<TrainOutcome>((res, rej) => ((resolve = res), (reject = rej)));
  // A background request's failure is reported as a `training` message; nobody may await it.
  promise.catch(() => undefined);
  return { promise, resolve, reject, reason };
}

/** `training` carries the message and whether it is mere progress (a slow client may skip it). */
export class BackgroundTrainer extends EventEmitter<{ training: [msg: TrainingMessage, progressOnly: boolean] }> {
  private current: Promise<TrainOutcome> | null = null;
  private queued: Deferred | null = null;
  private last: TrainingStatus = { state: 'idle', progress: null, message: 'no training since the server started', reason: null, startedAt: null, finishedAt: null, queued: false };

  constructor(private readonly ctx: AppContext) {
    super();
  }

  get busy(): boolean {
    return this.current !== null;
  }

  status(): TrainingStatus {
    return { ...this.last, queued: this.queued !== null };
  }

  /** Resolves once no training runs or is queued (the server waits for it before closing the roster). */
  async idle(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  /** Retrain in the background when possible; coalesced with one queued run while busy. */
  request(reason: string): Promise<TrainOutcome> {
    if (!this.current) return this.start(reason, (p) => this.workerJob(true, p));
    this.queued ??= deferred(reason);
    return this.queued.promise;
  }

  /** Runs job now, or refuses with 409 while a training runs (the API's contract). */
  run(reason: string, job: Job): Promise<TrainOutcome> {
    if (this.current) throw new HttpError(409, 'TRAINING_RUNNING', 'a training is already running; wait for it to finish (GET /api/training shows progress, GET /api/model the result)');
    return this.start(reason, job);
  }

  /** The default job: built-in negatives on the engine, then the classifier in a worker thread. */
  workerJob = async (augmented: boolean, progress: (fraction: number | null, message: string) => void): Promise<TrainOutcome> => {
    const started = performance.now();
    const { ctx } = this;
    const { roster, config } = ctx;
    if (roster.counts().faces === 0) {
      throw new HttpError(422, 'NO_FACES', 'no enrolled faces to train on: add players (POST /api/players) and enrol photos (POST /api/players/:id/photos) first');
    }
    const vision = ctx.engine.setup;
    refuseOtherSetup(roster, vision);
    let negativesAdded = 0;
    if (config.recognition.builtinNegatives) {
      progress(0, 'preparing the built-in negatives');
      negativesAdded = await ctx.useEngine((engine) => ensureBuiltinNegatives(engine, roster));
    }
    await trainInWorker({ dataDir: config.dataDir, vision, augmented, openSet: config.recognition.openSet }, (done, total, note) => progress(total > 0 ? done / total : null, note));
    // Loaded back from the file the worker wrote, so the live model is exactly the stored one.
    const recognizer = ctx.reloadRecognizer();
    if (!recognizer) throw new Error('the new model could not be loaded; see the server log');
    return { model: recognizer.model, stale: recognizer.isStale(), ms: Math.round(performance.now() - started), negativesAdded };
  };

  private start(reason: string, job: Job): Promise<TrainOutcome> {
    const ctx = this.ctx;
    ctx.training = true;
    this.last = { state: 'running', progress: 0, message: 'training started', reason, startedAt: new Date().toISOString(), finishedAt: null, queued: false };
    this.announce(false);
    let lastSent = 0;
    const progress = (fraction: number | null, message: string) => {
      this.last = { ...this.last, progress: fraction === null ? null : Math.min(1, Math.max(0, fraction)), message };
      const now = Date.now();
      if (now - lastSent < 250) return; // the page needs a moving bar, not every solver step
      lastSent = now;
      this.announce(true);
    };
    const run = job(progress).then(
      (outcome) => {
        const m = outcome.model;
        const accuracy = m.classifier.metrics.cvAccuracy;
        const summary = `model trained on ${Object.keys(m.players).length} players in ${(outcome.ms / 1000).toFixed(1)} s${typeof accuracy === 'number' ? `, cross-validated accuracy ${(accuracy * 100).toFixed(1)} %` : ''}`;
        this.finish('done', 1, summary);
        ctx.log.info({ reason, ms: outcome.ms }, summary);
        return outcome;
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        this.finish('failed', null, `training failed: ${message}`);
        ctx.log.error({ reason, err: message }, 'training failed');
        throw err;
      },
    );
    this.current = run;
    const next = () => {
      this.current = null;
      ctx.training = false;
      const q = this.queued;
      this.queued = null;
      if (q) this.start(q.reason, (p) => this.workerJob(true, p)).then(q.resolve, q.reject);
    };
    // Also marks `run` as handled: a background request that fails is reported, never thrown.
    run.then(next, next);
    return run;
  }

  private finish(state: 'done' | 'failed', progress: number | null, message: string): void {
    this.last = { ...this.last, state, progress, message, finishedAt: new Date().toISOString() };
    this.announce(false);
  }

  private announce(progressOnly: boolean): void {
    const s = this.last;
    if (s.state === 'idle') return;
    this.emit('training', { type: 'training', state: s.state, progress: s.progress, message: s.message }, progressOnly);
  }
}

/** 409 before any work when the stored embeddings come from another vision setup (setupConflict). */
export function refuseOtherSetup(roster: Roster, vision: EmbeddingSetup): void {
  const conflict = setupConflict(roster.setupCounts(), vision);
  if (conflict) throw new HttpError(409, 'EMBEDDING_SETUP', conflict);
}
