// The pool's bounded queue of HTTP requests' images. Unlike live frames, nothing is dropped: a new
// request that finds it full is refused at once with a retry time, so a burst of uploads costs the
// server a queue of bounded length and the client a 503, never an ever-growing wait.
import { PoolError } from './errors.ts';

export class RequestQueue<J extends { reject(err: PoolError): void }> {
  private readonly waiting: J[] = [];
  /** Recent time one request took in a worker (moving average), for the retry time. */
  private averageMs = 5000;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`request queue capacity must be an integer ≥ 1, got ${capacity}`);
  }

  get length(): number {
    return this.waiting.length;
  }

  /**
   * Queues a job, or throws busy when the queue is full. `admitted`: part of a request already
   * taken (verify's second image, an enrolment's next photo), queued even then: each such request
   * holds at most one place at a time, so the queue stays bounded.
   */
  offer(job: J, admitted: boolean, running: number, workers: number): void {
    if (!admitted && this.waiting.length >= this.capacity) {
      const wait = this.retryAfterS(running, workers);
      throw new PoolError('busy', `the vision workers are busy (${this.waiting.length} images waiting); try again in ${wait} s`, wait);
    }
    this.waiting.push(job);
  }

  /** The oldest waiting job. */
  take(): J | undefined {
    return this.waiting.shift();
  }

  /** Every waiting job, rejected with `err` (on close, or when no worker can start). */
  rejectAll(err: PoolError): void {
    for (const job of this.waiting.splice(0)) job.reject(err);
  }

  /** A request took `ms` in a worker. */
  record(ms: number): void {
    this.averageMs = 0.7 * this.averageMs + 0.3 * ms;
  }

  /** Seconds until the work ahead of a new request is likely done: 1 to 120. */
  retryAfterS(running: number, workers: number): number {
    const ahead = this.waiting.length + running;
    return Math.min(120, Math.max(1, Math.ceil((ahead * this.averageMs) / Math.max(1, workers) / 1000)));
  }
}
