// The browser-facing side of on-air graphics: the graphics page that OBS / vMix / CasparCG load
// as a browser source, the templates under overlays/, and the page's own scripts under web/.
//
//   GET /graphics?key=<server.outputKey>&channel=1   the page; wrong or missing key: 401, no page
//   GET /overlays/<template>/…                      template.json, template.html, style.css
//   GET /web/…                                       the page's scripts and styles
//
// The key guards the page (and the WebSocket it opens); templates and scripts hold no secrets and
// are served without it, so a template designer can open them directly.
import { createHash, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIR = join(ROOT, 'web');
export const OVERLAYS_DIR = join(ROOT, 'overlays');

const OUTPUT_WIDTH = 1920;
const OUTPUT_HEIGHT = 1080;

/** Hashing first gives equal-length buffers, so the comparison time says nothing about the key. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

// The page only talks to its own origin. CSSOM changes (el.style.setProperty) are not affected by
// style-src, so no 'unsafe-inline' is needed. ws:/wss: are listed because older Chromium builds
// (CasparCG's and OBS's CEF) do not count them as 'self'.
// frame-ancestors: OBS, vMix and CasparCG load the page itself, not in a frame; only the
// dashboard's program view ('self') and the hosts in server.frameAncestors may frame it.
export function graphicsCsp(frameAncestors: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self' ws: wss:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors 'self'${frameAncestors.map((a) => ` ${a}`).join('')}`,
  ].join('; ');
}

export interface GraphicsRouterOptions {
  outputKey: string;
  /** server.frameAncestors: who else may frame the page (CSP frame-ancestors sources). */
  frameAncestors?: readonly string[];
  /** Folders to serve; the repository's web/ and overlays/ by default. */
  webDir?: string;
  overlaysDir?: string;
}

export function graphicsRouter(opts: GraphicsRouterOptions): Router {
  if (!opts.outputKey) throw new Error('graphicsRouter needs a non-empty outputKey (server.outputKey / FACECAST_OUTPUT_KEY)');
  const expected = digest(opts.outputKey);
  const webDir = opts.webDir ?? WEB_DIR;
  const csp = graphicsCsp(opts.frameAncestors);
  const router = express.Router();

  router.get('/graphics', (req, res) => {
    const key = typeof req.query.key === 'string' ? req.query.key : '';
    // The key is in the URL (browser sources cannot send headers): never let it leak by Referer
    // or sit in a cache.
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!key || !timingSafeEqual(digest(key), expected)) {
      res
        .status(401)
        .type('text/plain')
        .send(`${key ? 'Wrong' : 'Missing'} output key. Open /graphics?key=<server.outputKey>&channel=1 (FACECAST_OUTPUT_KEY, or the key facecast serve printed).\n`);
      return;
    }
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.sendFile(join(webDir, 'graphics', 'index.html'));
  });

  // no-cache = revalidate each load (ETag): an edited template shows on the next page refresh
  // without anyone having to clear OBS's browser cache.
  const statics = { fallthrough: true, index: false, dotfiles: 'ignore', cacheControl: false } as const;
  const noCache: express.RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  };
  router.use('/web', noCache, express.static(webDir, statics));
  router.use('/overlays', noCache, express.static(opts.overlaysDir ?? OVERLAYS_DIR, statics));
  return router;
}

/** The page URL for a channel, e.g. http://host:8686/graphics?key=…&channel=1. */
export function graphicsUrl(baseUrl: string, key: string, channel: string | number): string {
  return `${baseUrl.replace(/\/+$/, '')}/graphics?key=${encodeURIComponent(key)}&channel=${encodeURIComponent(String(channel))}`;
}

/**
 * The page URL with OBS's drag-and-drop parameters: dragging this link into OBS makes a
 * 1920×1080 browser source named "facecast ch N". Spaces must be %20 (not +) for OBS.
 */
export function obsDragLink(baseUrl: string, key: string, channel: string | number): string {
  const name = encodeURIComponent(`facecast ch ${channel}`);
  return `${graphicsUrl(baseUrl, key, channel)}&layer-name=${name}&layer-width=${OUTPUT_WIDTH}&layer-height=${OUTPUT_HEIGHT}`;
}
