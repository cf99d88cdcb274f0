// One place that turns any thrown error into `{error: {code, message}}` with the right status, so
// route handlers just throw. Errors people can fix keep their message; unexpected ones become a 500
// whose details (message, stack) are only shown outside production with debug logging on.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { RosterError } from '../roster/roster.ts';
import { ImageInputError } from '../vision/image.ts';
import { PoolError } from '../vision/pool/errors.ts';
import { ModelStoreError } from '../recognition/store.ts';
import type { Logger } from '../shared/log.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra members of the `error` object (e.g. per-file reports). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** "number: must be 0..999; teamColour: unknown field": each issue with the field it is about. */
function describe(error: ZodError): { fields: string[]; text: string } {
  const parts = error.issues.flatMap((i) => {
    const at = i.path.join('.');
    // A misspelt field is reported by zod on the parent object, with the names in `keys`.
    if (i.code === 'unrecognized_keys') return i.keys.map((k) => ({ field: at ? `${at}.${k}` : k, text: 'unknown field (check the spelling)' }));
    return [{ field: at || '(body)', text: i.message }];
  });
  return { fields: [...new Set(parts.map((p) => p.field))], text: parts.map((p) => `${p.field}: ${p.text}`).join('; ') };
}

/** A 400 for a request that failed a zod schema; `fields` names every offending field. */
export function invalidRequest(what: string, error: ZodError): HttpError {
  const { fields, text } = describe(error);
  return new HttpError(400, 'INVALID', `invalid ${what}: ${text}`, { fields });
}

interface Mapped {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** Seconds for a Retry-After header (a 503 the client should retry). */
  retryAfterS?: number;
}

/** A vision pool refusal or failure as the client should see it: their image's fault, or try again later. */
function mapPoolError(err: PoolError): Mapped {
  const { message } = err;
  switch (err.code) {
    case 'too-large':
      return { status: 413, code: 'IMAGE_TOO_LARGE', message };
    case 'unreadable':
      return { status: 422, code: 'UNREADABLE_IMAGE', message };
    case 'bad-request':
      return { status: 400, code: 'BAD_REQUEST', message };
    case 'busy':
      return { status: 503, code: 'BUSY', message, retryAfterS: err.retryAfterS ?? 5 };
    case 'timeout':
      return { status: 503, code: 'VISION_TIMEOUT', message, retryAfterS: 5 };
    case 'lost':
      return { status: 503, code: 'VISION_LOST', message: `${message}; try again`, retryAfterS: 2 };
    case 'closed':
      return { status: 503, code: 'SHUTTING_DOWN', message: `${message}; the server is stopping` };
    default:
      return { status: 500, code: 'VISION_FAILED', message };
  }
}

const ROSTER_STATUS: Record<RosterError['code'], number> = { NOT_FOUND: 404, INVALID: 400, SCHEMA_TOO_NEW: 500, NOT_A_ROSTER: 500, OPEN_FAILED: 500 };

/** body-parser marks its errors with `type` and `status`. */
interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

function map(err: unknown): Mapped | null {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  if (err instanceof RosterError) return { status: ROSTER_STATUS[err.code], code: err.code, message: err.message };
  if (err instanceof ImageInputError) {
    return err.reason === 'too-large' ? { status: 413, code: 'IMAGE_TOO_LARGE', message: err.message } : { status: 422, code: 'UNREADABLE_IMAGE', message: err.message };
  }
  if (err instanceof PoolError) return mapPoolError(err);
  if (err instanceof ZodError) {
    const e = invalidRequest('request', err);
    return { status: 400, code: e.code, message: e.message, details: e.details };
  }
  if (err instanceof ModelStoreError) return { status: 500, code: 'MODEL_UNREADABLE', message: err.message };
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.too.large') {
    return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: `request body is larger than the ${bp.limit ?? '?'}-byte limit; send less data per request` };
  }
  if (bp?.type === 'entity.parse.failed') return { status: 400, code: 'INVALID_JSON', message: `request body is not valid JSON (${bp.message})` };
  if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) {
    return { status: bp.status, code: 'BAD_REQUEST', message: bp.message };
  }
  return null;
}

export function errorHandler(opts: { production: boolean; log: Logger }): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    // Headers already gone (a stream failed half-way): only Express can end the response now.
    if (res.headersSent) return next(err);
    const mapped = map(err);
    if (mapped) {
      // Without the query: a page's ?key= or a script's ?token= must not reach the log.
      opts.log.debug({ status: mapped.status, code: mapped.code, method: req.method, url: req.originalUrl.split('?')[0] }, mapped.message);
      if (mapped.retryAfterS !== undefined) res.set('Retry-After', String(mapped.retryAfterS));
      res.status(mapped.status).json({ error: { code: mapped.code, message: mapped.message, ...mapped.details } });
      return;
    }
    // The stack (file paths, versions) only at debug level, in the log and in the answer alike.
    const debug = opts.log.isLevelEnabled('debug');
    const message = err instanceof Error ? err.message : String(err);
    opts.log.error({ method: req.method, url: req.originalUrl.split('?')[0], error: message }, 'request failed');
    if (debug) opts.log.debug({ err }, 'request failed: stack');
    const error: Record<string, unknown> = { code: 'INTERNAL', message: 'internal server error; see the server log' };
    if (!opts.production && debug && err instanceof Error) {
      error.message = `internal server error: ${err.message}`;
      error.stack = err.stack;
    }
    res.status(500).json({ error });
  };
}

/** The JSON 404 for paths no router answered. */
export function notFound(hint: string): RequestHandler {
  return (req, _res, next) => next(new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${req.originalUrl.split('?')[0]}; ${hint}`));
}
