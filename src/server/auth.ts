// Bearer-token authentication for /api. The API can add players, change what goes on air and
// retrain the model, and the server listens on every interface by default, so it is never open:
// without a configured token a random one is made per run (refused in production, where a token
// that changes on every restart would silently break the operators' tools).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { ServerConfig } from '../config/schema.ts';
import { HttpError } from './errors.ts';

/** The server cannot start as configured; the message says what to set. */
export class ServerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

export interface ApiToken {
  token: string;
  /** True when no token was configured and this one was made up for this run. */
  generated: boolean;
}

export function resolveApiToken(server: ServerConfig): ApiToken {
  if (server.apiToken.length > 0) return { token: server.apiToken, generated: false };
  if (server.production) {
    throw new ServerStartError(
      'no API token configured in production mode: set FACECAST_API_TOKEN (or server.apiToken in the config file) to a long random secret, e.g. `openssl rand -hex 32`',
    );
  }
  return { token: randomBytes(24).toString('base64url'), generated: true };
}

export interface OutputKey {
  key: string;
  generated: boolean;
}

/**
 * The key graphics pages carry in their URL. Separate from the API token: it sits in OBS scene
 * files and CasparCG playlists, and must only let a page watch, never control.
 */
export function resolveOutputKey(server: ServerConfig): OutputKey {
  if (server.outputKey.length > 0) return { key: server.outputKey, generated: false };
  if (server.production) {
    throw new ServerStartError(
      'no graphics output key configured in production mode: set FACECAST_OUTPUT_KEY (or server.outputKey in the config file) to a random string, e.g. `openssl rand -hex 16`; OBS browser sources use it in their URL',
    );
  }
  return { key: randomBytes(12).toString('base64url'), generated: true };
}

/** Hashing first gives equal-length buffers, so the comparison time says nothing about the token. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

const HOW = 'send the header `Authorization: Bearer <token>` with the token from server.apiToken / FACECAST_API_TOKEN (or the one `facecast serve` printed at start)';

/** Whether a request carries the right bearer token (for routes that answer everyone, but say more with it). */
export function hasBearerToken(token: string): (req: { headers: { authorization?: string } }) => boolean {
  const expected = digest(token);
  return (req) => {
    const match = req.headers.authorization ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization) : null;
    return !!match && timingSafeEqual(digest(match[1]!), expected);
  };
}

export function bearerAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    res.setHeader('WWW-Authenticate', 'Bearer realm="facecast"');
    if (!match) {
      next(new HttpError(401, 'UNAUTHORIZED', header ? `the Authorization header is not a bearer token; ${HOW}` : `authentication required: ${HOW}`));
      return;
    }
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      next(new HttpError(401, 'UNAUTHORIZED', `wrong API token: ${HOW}`));
      return;
    }
    res.removeHeader('WWW-Authenticate');
    next();
  };
}
