// The operator dashboard's pages and its login:
//   GET  /login       the login page (web/dashboard/login.html; a plain built-in form if absent)
//   POST /login       form or JSON {password} → session cookie. JSON: 200 {ok}, 401, 429 (+Retry-After).
//                     Form: 303 to /dashboard, or 303 to /login?error=wrong|rate-limited|origin
//   POST /logout      ends the session; JSON 200 {ok}, form 303 to /login
//   GET  /dashboard   the page (web/dashboard/index.html) with a session; 302 to /login without
// The page's scripts and styles are static under /web/dashboard/ (graphicsRouter) and hold no
// secrets: everything the page does goes through /api and /ws, which check the session.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { WEB_DIR } from './graphicsRoutes.ts';
import { sameOrigin, type OperatorAuth } from './operatorAuth.ts';

/**
 * A control surface must not be framed by another site (clickjacking a "take" button): only the
 * hosts in server.frameAncestors may, and none by default.
 */
export function dashboardCsp(frameAncestors: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self' ws: wss:",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors.length ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

/** Only used when the page files are missing (a trimmed install): enough to log in. */
const FALLBACK_LOGIN = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>facecast operator login</title></head>
<body><form method="post" action="/login"><h1>facecast operator</h1>
<label>Password <input type="password" name="password" autocomplete="current-password" autofocus required></label>
<button type="submit">Log in</button></form></body></html>
`;

function pageHeaders(res: Response, frameAncestors: readonly string[]): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Security-Policy', dashboardCsp(frameAncestors));
  // Browsers without CSP level 2 only know X-Frame-Options, which cannot name hosts.
  if (frameAncestors.length === 0) res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
}

/** A browser form post (answered with redirects) rather than a script's JSON (answered with JSON). */
function isForm(req: Request): boolean {
  return !req.is('application/json');
}

export function dashboardRouter(auth: OperatorAuth, opts: { webDir?: string; frameAncestors?: readonly string[] } = {}): Router {
  const frameAncestors = opts.frameAncestors ?? [];
  const dir = join(opts.webDir ?? WEB_DIR, 'dashboard');
  const r = express.Router();
  const body = [express.urlencoded({ extended: false, limit: 4096 }), express.json({ limit: 4096 })];

  r.get('/login', (req, res) => {
    if (auth.hasSession(req.headers)) return res.redirect(302, '/dashboard');
    pageHeaders(res, frameAncestors);
    const page = join(dir, 'login.html');
    if (existsSync(page)) res.sendFile(page);
    else res.type('html').send(FALLBACK_LOGIN);
  });

  r.post('/login', ...body, async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const form = isForm(req);
    if (!sameOrigin(req.headers)) {
      if (form) return res.redirect(303, '/login?error=origin');
      return res.status(403).json({ error: { code: 'FORBIDDEN_ORIGIN', message: 'log in from this server\'s own /login page (the Origin header names another site)' } });
    }
    const password = (req.body as { password?: unknown } | undefined)?.password;
    const result = await auth.login(password, req.socket.remoteAddress ?? 'unknown', req.secure);
    if (result.ok) {
      res.setHeader('Set-Cookie', result.cookie);
      if (form) return res.redirect(303, '/dashboard');
      return res.json({ ok: true, dashboard: '/dashboard' });
    }
    if (result.retryAfterS !== undefined) res.setHeader('Retry-After', String(result.retryAfterS));
    if (form) return res.redirect(303, `/login?error=${result.status === 429 ? 'rate-limited' : 'wrong'}`);
    res.status(result.status).json({ error: { code: result.code, message: result.message, ...(result.retryAfterS !== undefined ? { retryAfterS: result.retryAfterS } : {}) } });
  });

  r.post('/logout', ...body, (req, res) => {
    const form = isForm(req);
    // A foreign page must not be able to log the operator out mid-show either.
    if (!sameOrigin(req.headers)) return res.status(403).json({ error: { code: 'FORBIDDEN_ORIGIN', message: 'log out from the dashboard itself' } });
    res.setHeader('Set-Cookie', auth.logout(req.headers.cookie, req.secure));
    res.setHeader('Cache-Control', 'no-store');
    if (form) return res.redirect(303, '/login');
    res.json({ ok: true });
  });

  r.get('/dashboard', (req, res) => {
    if (!auth.hasSession(req.headers)) return res.redirect(302, '/login');
    pageHeaders(res, frameAncestors);
    const page = join(dir, 'index.html');
    if (!existsSync(page)) {
      return res.status(404).type('text/plain').send('The dashboard page is not installed (web/dashboard/index.html is missing); the API and /ws work without it.\n');
    }
    res.sendFile(page);
  });

  return r;
}
