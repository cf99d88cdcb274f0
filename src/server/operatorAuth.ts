// Operator login for the dashboard: one shared password (scrypt-hashed in memory, the plain value
// never kept), sessions in a random HttpOnly cookie, and a per-IP limit on failed tries. Scripts
// keep using the bearer token; a browser gets a session instead, because a token in page
// JavaScript would be readable by anything injected into the page, a HttpOnly cookie is not.
//
// CSRF: the cookie is SameSite=Strict (browsers do not send it on cross-site requests), and every
// state-changing request that relies on it must also carry a same-host Origin (or Referer).
import { createHash, randomBytes, scrypt as scryptCb, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { ServerConfig } from '../config/schema.ts';
import { ServerStartError, bearerAuth } from './auth.ts';
import { HttpError } from './errors.ts';

export const SESSION_COOKIE = 'facecast_session';
/** A working day of a broadcast plus rehearsal; then the operator logs in again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Failed logins allowed per client IP within LOGIN_WINDOW_MS; the next try is refused (429). */
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_MS = 60_000;
/** Who the as-run log and the audit trail name for actions from a dashboard session. */
export const DASHBOARD_ACTOR = 'operator:dashboard';

/**
 * scrypt cost: 32 MiB and a few hundred ms per try on a small CPU. Memory-hard, so a stolen hash
 * is slow to brute-force, yet a login (async, on libuv's pool) never stalls the live pipeline.
 */
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLen: 32 };
/** Sessions kept at most; beyond it the oldest are dropped (memory bound against a login loop). */
const MAX_SESSIONS = 1000;
/** Client IPs tracked by the rate limiter at most (memory bound against address spraying). */
const MAX_TRACKED_IPS = 10_000;

export interface PasswordHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function scryptOptions(h: Omit<PasswordHash, 'salt' | 'hash'>): ScryptOptions {
  // maxmem must cover 128·N·r bytes plus slack, or node refuses the larger N.
  return { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 };
}

export function hashPassword(password: string, params: { N?: number; r?: number; p?: number } = {}): PasswordHash {
  const base = { N: params.N ?? SCRYPT.N, r: params.r ?? SCRYPT.r, p: params.p ?? SCRYPT.p, salt: randomBytes(16) };
  return { ...base, hash: scryptSync(password.normalize('NFC'), base.salt, SCRYPT.keyLen, scryptOptions(base)) };
}

/** `scrypt$N$r$p$salt$hash`, salt and hash in base64: the form server.operatorPasswordHash takes. */
export function formatPasswordHash(h: PasswordHash): string {
  return `scrypt$${h.N}$${h.r}$${h.p}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

export function parsePasswordHash(s: string): PasswordHash {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=_-]+)\$([A-Za-z0-9+/=_-]+)$/.exec(s.trim());
  const how = 'expected scrypt$N$r$p$salt$hash (salt and hash base64), e.g. from `npx tsx -e "…formatPasswordHash(hashPassword(pw))"`, or set server.operatorPassword instead';
  if (!m) throw new ServerStartError(`server.operatorPasswordHash is not a scrypt hash: ${how}`);
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  // N must be a power of two; tiny parameters would make a stolen config file easy to brute-force.
  if (N < 2 ** 14 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || salt.length < 8 || hash.length < 16) {
    throw new ServerStartError(`server.operatorPasswordHash has weak or invalid parameters (N=${N} must be a power of two ≥ 16384, salt ≥ 8 bytes, hash ≥ 16 bytes): ${how}`);
  }
  return { N, r, p, salt, hash };
}

/** Async: each try costs tens of MB and a few hundred ms, which must not block the event loop. */
export function verifyPassword(password: string, h: PasswordHash): Promise<boolean> {
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFC'), h.salt, h.hash.length, scryptOptions(h), (err, got) => (err ? reject(err) : resolve(timingSafeEqual(got, h.hash))));
  });
}

export interface OperatorPassword {
  hash: PasswordHash;
  /** The password made up for this run (to print once), or null when one was configured. */
  generated: string | null;
}

/** Like resolveApiToken: configured (plain or hashed), generated outside production, or a start error. */
export function resolveOperatorPassword(server: Pick<ServerConfig, 'operatorPassword' | 'operatorPasswordHash' | 'production'>): OperatorPassword {
  if (server.operatorPassword.length > 0) return { hash: hashPassword(server.operatorPassword), generated: null };
  if (server.operatorPasswordHash.length > 0) return { hash: parsePasswordHash(server.operatorPasswordHash), generated: null };
  if (server.production) {
    throw new ServerStartError(
      'no operator password configured in production mode: set FACECAST_OPERATOR_PASSWORD (or server.operatorPassword / server.operatorPasswordHash in the config file) for the dashboard login',
    );
  }
  const generated = randomBytes(12).toString('base64url');
  return { hash: hashPassword(generated), generated };
}

/** The value of one cookie from a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Same host as the request (scheme ignored: a TLS-terminating proxy makes them differ). */
function sameHost(url: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(url).host === host;
  } catch {
    return false;
  }
}

/**
 * Whether a browser request comes from our own pages: its Origin (or, without one, its Referer)
 * names this host. Requests with neither are not from a cross-site page (browsers send Origin
 * on every cross-origin POST and WebSocket), so they pass; SameSite=Strict covers the rest.
 */
export function sameOrigin(headers: IncomingMessage['headers']): boolean {
  const origin = headers.origin;
  if (origin !== undefined) return origin !== 'null' && sameHost(origin, headers.host);
  const referer = headers.referer;
  if (referer !== undefined) return sameHost(referer, headers.host);
  return true;
}

interface Session {
  expires: number;
}

/** Sessions keyed by the sha256 of their id: a heap dump does not hand out live cookies. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs = SESSION_TTL_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  create(): { id: string; expires: number } {
    this.sweep();
    while (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const expires = this.clock() + this.ttlMs;
    this.sessions.set(key(id), { expires });
    return { id, expires };
  }

  valid(id: string | null): boolean {
    if (!id) return false;
    const k = key(id);
    const s = this.sessions.get(k);
    if (!s) return false;
    if (s.expires <= this.clock()) {
      this.sessions.delete(k);
      return false;
    }
    return true;
  }

  destroy(id: string | null): void {
    if (id) this.sessions.delete(key(id));
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.clock();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
  }
}

function key(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** Failed login times per client IP over a sliding window. */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max = LOGIN_MAX_FAILURES,
    private readonly windowMs = LOGIN_WINDOW_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Seconds to wait before the next try, or 0 when this IP may try now. */
  retryAfterS(ip: string): number {
    const recent = this.recent(ip);
    if (recent.length < this.max) return 0;
    return Math.max(1, Math.ceil((recent[recent.length - this.max]! + this.windowMs - this.clock()) / 1000));
  }

  fail(ip: string): void {
    const recent = this.recent(ip);
    recent.push(this.clock());
    this.failures.delete(ip); // re-inserted last: the map's order is least recently failed first
    if (this.failures.size >= MAX_TRACKED_IPS) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(ip, recent);
  }

  succeed(ip: string): void {
    this.failures.delete(ip);
  }

  private recent(ip: string): number[] {
    const since = this.clock() - this.windowMs;
    const list = (this.failures.get(ip) ?? []).filter((t) => t > since);
    if (list.length === 0) this.failures.delete(ip);
    return list;
  }
}

export interface OperatorAuthOptions {
  password: PasswordHash;
  production: boolean;
  sessions?: SessionStore;
  limiter?: LoginLimiter;
}

export type LoginResult = { ok: true; cookie: string } | { ok: false; status: 401 | 429; retryAfterS?: number; code: string; message: string };

/** The login, session and CSRF rules in one object; HTTP routes and the WebSocket hub both ask it. */
export class OperatorAuth {
  readonly sessions: SessionStore;
  readonly limiter: LoginLimiter;

  constructor(private readonly opts: OperatorAuthOptions) {
    this.sessions = opts.sessions ?? new SessionStore();
    this.limiter = opts.limiter ?? new LoginLimiter();
  }

  /** Checks the password (after the rate limit: a limited IP learns nothing, even with the right one). */
  async login(password: unknown, ip: string, secureRequest: boolean): Promise<LoginResult> {
    const wait = this.limiter.retryAfterS(ip);
    if (wait > 0) {
      return { ok: false, status: 429, retryAfterS: wait, code: 'RATE_LIMITED', message: `too many failed logins from this address: try again in ${wait} s` };
    }
    // Counted as failed before the (slow) check, so tries sent in parallel cannot all slip past
    // the limit; a right password clears the count again.
    this.limiter.fail(ip);
    const right = typeof password === 'string' && password.length > 0 && password.length <= 1024 && (await verifyPassword(password, this.opts.password));
    if (!right) {
      return { ok: false, status: 401, code: 'WRONG_PASSWORD', message: 'wrong password: use server.operatorPassword / FACECAST_OPERATOR_PASSWORD (or the one `facecast serve` printed at start)' };
    }
    this.limiter.succeed(ip);
    const s = this.sessions.create();
    return { ok: true, cookie: this.cookie(s.id, Math.floor((s.expires - Date.now()) / 1000), secureRequest) };
  }

  logout(cookieHeader: string | undefined, secureRequest: boolean): string {
    this.sessions.destroy(readCookie(cookieHeader, SESSION_COOKIE));
    return this.cookie('', 0, secureRequest);
  }

  /** A valid session cookie, whatever the request. */
  hasSession(headers: IncomingMessage['headers']): boolean {
    return this.sessions.valid(readCookie(headers.cookie, SESSION_COOKIE));
  }

  /** For the WebSocket upgrade: a valid session from one of our own pages (no cross-site hijacking). */
  isOperatorSession = (req: IncomingMessage): boolean => sameOrigin(req.headers) && this.hasSession(req.headers);

  private cookie(value: string, maxAgeS: number, secureRequest: boolean): string {
    const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeS}`];
    // Secure over https, and always in production (where plain http would be a configuration error).
    if (secureRequest || this.opts.production) parts.push('Secure');
    return parts.join('; ');
  }
}

/**
 * /api accepts the bearer token (scripts) or a dashboard session (browsers). A session request
 * that changes something must come from our own origin. Without either: the bearer 401, so the
 * message still tells scripts how to authenticate.
 */
export function apiAuth(token: string, auth: OperatorAuth | undefined): RequestHandler {
  const bearer = bearerAuth(token);
  return (req, res, next) => {
    if (auth && !req.headers.authorization && auth.hasSession(req.headers)) {
      if (!['GET', 'HEAD', 'OPTIONS'].includes(req.method) && !sameOrigin(req.headers)) {
        next(new HttpError(403, 'FORBIDDEN_ORIGIN', 'a dashboard session can only change things from the dashboard itself (the Origin header names another site)'));
        return;
      }
      res.locals.actor = DASHBOARD_ACTOR;
      next();
      return;
    }
    bearer(req, res, next);
  };
}
