// Why a pool request produced no result. One class with a code, so callers switch on `code`
// instead of parsing messages: a dropped live frame is routine, a lost one is worth a log line.
export type PoolErrorCode =
  /** A live frame pushed out of the full queue by a newer frame (latest wins). */
  | 'dropped'
  /** The worker running it died; the pool replaced the worker. */
  | 'lost'
  /** The pool closed before the request ran. */
  | 'closed'
  /** The models threw, or no worker could be started. */
  | 'failed'
  /** `embed` for a frame that is no longer kept (released, evicted by newer kept frames, or never kept). */
  | 'evicted'
  /** The request itself is malformed (frame size, face index). */
  | 'bad-request'
  /** The request queue is full: try again after `retryAfterS`. */
  | 'busy'
  /** The worker did not answer within the job timeout; it was terminated and is being replaced. */
  | 'timeout'
  /** An image request's image has more pixels than vision.maxImagePixels. */
  | 'too-large'
  /** An image request's bytes are not an image sharp can decode (or are corrupt, or empty). */
  | 'unreadable';

export class PoolError extends Error {
  constructor(
    readonly code: PoolErrorCode,
    message: string,
    /** For busy (and timeout): seconds after which a retry is likely to be taken. */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'PoolError';
  }
}

export function isPoolError(err: unknown, code?: PoolErrorCode): err is PoolError {
  return err instanceof PoolError && (code === undefined || err.code === code);
}
