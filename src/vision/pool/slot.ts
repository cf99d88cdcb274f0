// One place in the pool and the worker thread currently filling it. A slot outlives its workers:
// when one dies the pool starts another in the same slot, and the slot's counters carry on.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../shared/log.ts';
import { describeIssues, workerReplySchema, type ReadyReply, type WorkerInit, type WorkerMemory, type WorkerReply } from './messages.ts';

/** The thread entry: plain JS that installs the tsx loader, then imports worker.ts. */
const WORKER_ENTRY = new URL('./bootstrap.js', import.meta.url);

export interface SlotHandlers {
  onReady(slot: WorkerSlot, reply: ReadyReply): void;
  onReply(slot: WorkerSlot, reply: Exclude<WorkerReply, ReadyReply | { type: 'fatal' }>): void;
  /** The worker is gone; `ready` says whether it had finished starting. */
  onExit(slot: WorkerSlot, reason: string, ready: boolean): void;
}

export class WorkerSlot<Job = unknown> {
  worker: Worker | undefined;
  ready = false;
  /** The one request the worker is running, with when it was sent and its watchdog. */
  current: { job: Job; sentAt: number; watchdog?: NodeJS.Timeout; timedOut?: boolean } | undefined;
  /** Being replaced (hung, or its backend broke): no new request goes to it. */
  retiring = false;
  /** Test hook: starts left that report a failure instead of loading the models. */
  failStartsForTest = 0;
  /** Requests bound to this worker (embeds of frames it keeps); they go before the shared queue. */
  readonly priority: Job[] = [];
  /** Frame ids the worker keeps, oldest first. The pool decides evictions, so this list is exact. */
  kept: number[] = [];
  busyMs = 0;
  jobs = 0;
  restarts = 0;
  /** Deaths in a row before a worker got ready; reset by a ready worker. */
  startFailures = 0;
  /** Given up after too many failed starts. */
  dead = false;
  backend: ReadyReply['backend'] | undefined;
  memory: WorkerMemory = { numTensors: 0, numBytes: 0 };
  keptFrames = 0;
  private exitReason: string | undefined;

  constructor(
    readonly index: number,
    private readonly init: Omit<WorkerInit, 'index'>,
    private readonly handlers: SlotHandlers,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.ready = false;
    this.retiring = false;
    this.exitReason = undefined;
    const failStart = this.failStartsForTest > 0;
    if (failStart) this.failStartsForTest--;
    const worker = new Worker(WORKER_ENTRY, { workerData: { ...this.init, index: this.index, ...(failStart ? { failStart } : {}) } satisfies WorkerInit });
    this.worker = worker;
    worker.on('message', (raw: unknown) => this.receive(worker, raw));
    // 'error' is an uncaught exception inside the worker; 'exit' always follows it.
    worker.on('error', (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      this.exitReason ??= `threw ${e.name}: ${e.message.split('\n')[0]}`;
    });
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      const ready = this.ready;
      this.worker = undefined;
      this.ready = false;
      this.handlers.onExit(this, this.exitReason ?? `exited with code ${code}`, ready);
    });
  }

  /** Sends a request; `transfer` moves buffers instead of copying them. */
  post(message: unknown, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(message, transfer);
  }

  async terminate(reason: string): Promise<void> {
    this.exitReason ??= reason;
    await this.worker?.terminate();
  }

  /** Takes the worker out of service and ends it; the pool's exit handler starts a new one. */
  retire(reason: string): Promise<void> {
    this.retiring = true;
    return this.terminate(reason);
  }

  private receive(worker: Worker, raw: unknown): void {
    if (this.worker !== worker) return;
    const parsed = workerReplySchema.safeParse(raw);
    if (!parsed.success) {
      // A reply that does not validate means this worker runs other code than the pool: replace it.
      this.log.error({ worker: this.index, issues: describeIssues(parsed.error) }, 'vision worker sent an invalid message');
      void this.terminate(`sent an invalid message (${describeIssues(parsed.error)})`);
      return;
    }
    const reply = parsed.data;
    if (reply.type === 'fatal') {
      this.exitReason = `could not start: ${reply.error}`;
      void worker.terminate();
    } else if (reply.type === 'ready') {
      this.ready = true;
      this.backend = reply.backend;
      this.memory = reply.memory;
      this.handlers.onReady(this, reply);
    } else {
      this.memory = reply.memory;
      this.keptFrames = reply.keptFrames;
      this.handlers.onReply(this, reply);
    }
  }
}
