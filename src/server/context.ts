// What every route (and, later, the overlay's WebSocket) shares: config, log, the vision engine,
// the roster and the current recognizer. One engine serves every request, so its use is queued:
// interleaving two analyses would only make both slower and double the peak tensor memory.
// Uploaded images (recognize, verify, photo enrolment) go to the request pool's workers instead.
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { VisionEngine } from '../vision/engine.ts';
import { PoolError, type VisionPool } from '../vision/pool/index.ts';
import { createRequestPool } from '../pipeline/pool.ts';
import { openRoster, type Player, type Roster } from '../roster/roster.ts';
import { Recognizer } from '../recognition/service.ts';
import { BackgroundTrainer } from './trainer.ts';

/** Events for listeners such as the overlay server: something on air may need redrawing. */
export interface AppEvents {
  /** A player was created, edited (fields, stats, photo, faces) or removed. */
  player: [change: { type: 'created' | 'updated' | 'stats' | 'enrolled' | 'removed'; id: string; player: Player | null }];
  /** A roster file was imported: one event for the whole file, with the players it created or changed. */
  roster: [change: { type: 'imported'; ids: string[] }];
  /** A new model was trained and loaded. */
  model: [recognizer: Recognizer];
}

export class AppContext {
  readonly events = new EventEmitter<AppEvents>();
  private current: Recognizer | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private requestPoolStart: Promise<VisionPool> | null = null;
  /** Set while a training runs (API or background); `trainer` owns it. */
  training = false;
  /** Retrains one at a time, in a worker thread, while the pipeline keeps running. */
  readonly trainer: BackgroundTrainer = new BackgroundTrainer(this);

  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly engine: VisionEngine,
    readonly roster: Roster,
  ) {}

  /** The trained model, or null until one exists. */
  get recognizer(): Recognizer | null {
    return this.current;
  }

  /**
   * Re-reads the model from the data dir (after training, or when another process trained).
   * A model file that cannot be read leaves recognition off and is logged, not fatal: the API
   * stays up so the roster can be fixed and the model retrained.
   */
  reloadRecognizer(): Recognizer | null {
    try {
      this.current = Recognizer.load(this.config.dataDir, this.roster);
    } catch (err) {
      this.log.error({ err }, `cannot load the trained model: ${(err as Error).message}`);
      this.current = null;
    }
    if (this.current?.isStale()) this.log.warn('the roster changed since the model was trained: POST /api/train');
    const mismatch = this.current?.visionMismatch(this.config.vision);
    if (mismatch) this.log.warn(mismatch);
    if (this.current) this.events.emit('model', this.current);
    return this.current;
  }

  /** Runs fn when the engine is free; calls run one at a time, in arrival order. */
  useEngine<T>(fn: (engine: VisionEngine) => Promise<T>): Promise<T> {
    const run = this.queue.then(() => fn(this.engine));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The vision workers for uploaded images, started on the first request. A start that failed, or a
   * pool whose workers can no longer start, is replaced by the next request's.
   */
  requestPool(): Promise<VisionPool> {
    const start = (this.requestPoolStart ??= createRequestPool(this.config, this.log));
    return start.then(
      (pool) => {
        if (pool.status !== 'broken') return pool;
        if (this.requestPoolStart === start) {
          this.requestPoolStart = null;
          void pool.close();
        }
        return this.requestPool();
      },
      (err: unknown) => {
        if (this.requestPoolStart === start) this.requestPoolStart = null;
        throw new PoolError('failed', `the vision workers for uploaded images could not start (${(err as Error).message})`);
      },
    );
  }

  /** Waits for queued engine work, then frees the engine and closes the database. */
  async close(): Promise<void> {
    await this.trainer.idle();
    await (await this.requestPoolStart?.catch(() => null))?.close();
    await this.queue;
    await this.engine.dispose();
    this.roster.close();
  }
}

/** Loads the vision backend and models, opens <dataDir>/facecast.db and the model if one was trained. */
export async function createAppContext(config: Config, log: Logger): Promise<AppContext> {
  const roster = openRoster(config.dataDir);
  let engine: VisionEngine;
  try {
    engine = await VisionEngine.create(config.vision, log);
  } catch (err) {
    roster.close();
    throw err;
  }
  const ctx = new AppContext(config, log, engine, roster);
  ctx.reloadRecognizer();
  return ctx;
}
