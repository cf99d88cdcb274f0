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
  | 'bad-request';

export class PoolError extends Error {
  constructor(
    readonly code: PoolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PoolError';
  }
}

export function isPoolError(err: unknown, code?: PoolErrorCode): err is PoolError {
  return err instanceof PoolError && (code === undefined || err.code === code);
}
