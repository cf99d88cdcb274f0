// Errors of operator and API commands. `code` is for code (the WebSocket layer sends it in an
// `error` message, the HTTP layer picks a status from it); the message says what to do.

export type OverlayErrorCode =
  /** The player id is not on the roster. */
  | 'UNKNOWN_PLAYER'
  /** No cued graphic has that id (already taken, or never cued). */
  | 'UNKNOWN_CUE'
  /** A take without playerId or cueId, and nothing is cued. */
  | 'NOTHING_CUED'
  /** The command contradicts itself (e.g. a cueId for one player and a playerId for another). */
  | 'INVALID'
  /** The controller was disposed (its channel was removed). */
  | 'DISPOSED';

/** The HTTP status each code maps to, for the REST routes (the WebSocket sends the code). */
const STATUS: Record<OverlayErrorCode, number> = {
  UNKNOWN_PLAYER: 404,
  UNKNOWN_CUE: 404,
  NOTHING_CUED: 409,
  INVALID: 400,
  DISPOSED: 410,
};

export class OverlayError extends Error {
  readonly code: OverlayErrorCode;
  /** Suggested HTTP status. */
  readonly status: number;
  constructor(code: OverlayErrorCode, message: string) {
    super(message);
    this.name = 'OverlayError';
    this.code = code;
    this.status = STATUS[code];
  }
}

export function isOverlayError(err: unknown): err is OverlayError {
  return err instanceof OverlayError;
}
