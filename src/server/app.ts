// The HTTP server: one Express app where every router is mounted (the API now; the overlay's
// WebSocket and graphics pages later), and startServer() which opens the context and listens.
//
// Endpoints (all /api ones need `Authorization: Bearer <token>`; shapes in apiSchemas.ts; every
// error is `{error: {code, message, …}}`):
//   GET    /healthz                   no auth: {ok, backend, device, players, model}
//   POST   /api/recognize             raw image/* body or multipart field `image` → faces (+ identity once trained)
//   POST   /api/verify                multipart fields `a` and `b` → {same, distance, threshold}; 422 if a face is missing
//   GET    /api/players               {players}
//   POST   /api/players               JSON player → 201 {player}; 400 bad field; 409 id taken
//   GET    /api/players/:id           {player}; 404
//   PATCH  /api/players/:id           JSON fields → {player}
//   DELETE /api/players/:id           {removed, removedFaces}
//   GET    /api/players/:id/photo     the thumbnail (image/jpeg…); 404 none
//   POST   /api/players/:id/photos    multipart files → per-file reports: 200 all used, 207 some refused, 422 none
//   PATCH  /api/players/:id/stats     JSON {stat: value|null} merged → {player}
//   POST   /api/train                 optional JSON {augmented} → {model, ms, negativesAdded}; 409 running; 422 no faces
//   GET    /api/model                 {model} without embeddings; 404 before the first training
// Uploads over server.maxUploadBytes: 413. Wrong Content-Type: 415. Undecodable image: 422.
import express, { type Express } from 'express';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { bearerAuth, resolveApiToken } from './auth.ts';
import { AppContext, createAppContext } from './context.ts';
import { errorHandler, notFound } from './errors.ts';
import type { HealthResponse } from './apiSchemas.ts';
import { playersRouter } from './routes/players.ts';
import { recognitionRouter } from './routes/recognize.ts';
import { trainRouter } from './routes/train.ts';

/** JSON bodies are player fields and stats: small. Images never travel as JSON. */
const JSON_LIMIT_BYTES = 256 * 1024;

function health(ctx: AppContext): HealthResponse {
  const r = ctx.recognizer;
  return {
    ok: true,
    backend: ctx.engine.backend.name,
    device: ctx.engine.backend.device,
    players: ctx.roster.counts().players,
    model: r ? { trainedAt: r.model.trainedAt, stale: r.isStale(), players: Object.keys(r.model.players).length } : null,
  };
}

export function createServer(ctx: AppContext, opts: { token: string }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json(health(ctx));
  });

  const api = express.Router();
  api.use(bearerAuth(opts.token));
  api.use(express.json({ limit: JSON_LIMIT_BYTES }));
  api.use('/players', playersRouter(ctx));
  api.use(recognitionRouter(ctx));
  api.use(trainRouter(ctx));
  api.use(notFound('the API is under /api: recognize, verify, players, train, model'));
  app.use('/api', api);

  app.use(notFound('see /healthz and /api'));
  app.use(errorHandler({ production: ctx.config.server.production, log: ctx.log }));
  return app;
}

export interface RunningServer {
  /** Base URL for people and clients, e.g. http://localhost:8686. */
  url: string;
  port: number;
  token: string;
  /** True when no token was configured and this one was made up for this run. */
  tokenGenerated: boolean;
  ctx: AppContext;
  http: Server;
  /** Stops accepting connections, lets running requests finish (up to graceMs), frees the engine. */
  close(graceMs?: number): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  // Before anything slow: a production server without a token must fail at once.
  const { token, generated } = resolveApiToken(config.server);
  if (generated) log.warn({ token }, 'no server.apiToken configured: generated a random API token for this run');
  const ctx = await createAppContext(config, log);
  const http = createHttpServer(createServer(ctx, { token }));
  try {
    await listen(http, config.server.port, config.server.host);
  } catch (err) {
    await ctx.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${config.server.port} on ${config.server.host} is in use: stop the other program or choose another port (--port, FACECAST_PORT)`);
    throw err;
  }
  const { port } = http.address() as AddressInfo;
  const shown = ['0.0.0.0', '::', ''].includes(config.server.host) ? 'localhost' : config.server.host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  log.info({ url, host: config.server.host, port }, 'facecast server listening');
  let closing: Promise<void> | null = null;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const timer = setTimeout(() => http.closeAllConnections(), graceMs);
      await stopped;
      clearTimeout(timer);
      await ctx.close();
      log.info('facecast server stopped');
    })();
    return closing;
  };
  return { url, port, token, tokenGenerated: generated, ctx, http, close };
}
