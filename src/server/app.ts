// The HTTP server: one Express app where every router is mounted (the API, the graphics pages,
// /metrics) plus the overlay WebSocket on the same port, and startServer() which opens the
// context, the channels and listens.
//
// Endpoints (all /api ones need `Authorization: Bearer <token>`; shapes in apiSchemas.ts; every
// error is `{error: {code, message, …}}`):
//   GET    /healthz                   no auth: {ok}; with the bearer token: {ok, backend, device, players, model}
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
//   /api/channels…, /api/as-run, /api/timing: see routes/channels.ts
//   GET    /graphics?key=&channel=    the on-air page (output key, not the API token); /ws the WebSocket
//   GET    /metrics                   Prometheus text format (bearer token)
//   GET    /training                  under /api: {training: {state, progress, message, reason, startedAt, finishedAt, queued}}
//   GET    /login, POST /login, POST /logout, GET /dashboard: the operator dashboard (dashboardRoutes.ts);
//          a dashboard session cookie works for /api and /ws like the token (operatorAuth.ts)
// Uploads over server.maxUploadBytes: 413. Wrong Content-Type: 415. Undecodable image: 422.
import express, { type Express } from 'express';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { bearerAuth, hasBearerToken, resolveApiToken, resolveOutputKey, ServerStartError } from './auth.ts';
import { OperatorAuth, apiAuth, resolveOperatorPassword } from './operatorAuth.ts';
import { dashboardRouter } from './dashboardRoutes.ts';
import { ChannelManager } from './channels.ts';
import { graphicsRouter } from './graphicsRoutes.ts';
import { OverlayHub } from './overlayHub.ts';
import { channelsRouter } from './routes/channels.ts';
import { createPool } from '../pipeline/pool.ts';
import { createFacecastMetrics, metricsHandler, type FacecastMetrics } from './metrics.ts';
import { AppContext, createAppContext } from './context.ts';
import { errorHandler, notFound } from './errors.ts';
import type { HealthResponse } from './apiSchemas.ts';
import { playersRouter } from './routes/players.ts';
import { recognitionRouter } from './routes/recognize.ts';
import { trainRouter } from './routes/train.ts';
import { reembedRouter } from './routes/reembed.ts';

/** JSON bodies are player fields and stats: small. Images never travel as JSON. */
const JSON_LIMIT_BYTES = 256 * 1024;

/** A hostile caller learns nothing from /healthz but that the server is up; details need the token. */
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

export interface ServerParts {
  token: string;
  outputKey: string;
  /** Channels and on-air logic; absent in API-only tests. */
  channels?: ChannelManager;
  hub?: OverlayHub;
  metrics?: FacecastMetrics;
  /** The dashboard login; without it /api takes only the bearer token and there is no /dashboard. */
  operatorAuth?: OperatorAuth;
  /** Base of the page links of GET /api/outputs: server.publicUrl, else where the server listens. */
  publicUrl?: () => string;
}

/** Output pages connected now, per channel and role, as the gauge reads at scrape time. */
function refreshOutputGauge(metrics: FacecastMetrics, hub: OverlayHub): void {
  for (const [channel, n] of Object.entries(hub.counts().byChannel)) {
    metrics.outputsConnected.set({ channel, role: 'graphics' }, n.graphics);
    metrics.outputsConnected.set({ channel, role: 'operator' }, n.operator);
  }
}

export function createServer(ctx: AppContext, opts: ServerParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(graphicsRouter({ outputKey: opts.outputKey, frameAncestors: ctx.config.server.frameAncestors }));

  const tokenGiven = hasBearerToken(opts.token);
  app.get('/healthz', (req, res) => {
    res.json(tokenGiven(req) ? health(ctx) : { ok: true });
  });

  const { metrics, hub } = opts;
  if (metrics) {
    const render = metricsHandler(metrics.registry);
    // Behind the API token like the rest: Prometheus sends it with `authorization: {credentials: …}`.
    app.get('/metrics', bearerAuth(opts.token), (req, res, next) => {
      if (hub) refreshOutputGauge(metrics, hub);
      render(req, res, next);
    });
  }

  if (opts.operatorAuth) app.use(dashboardRouter(opts.operatorAuth, { frameAncestors: ctx.config.server.frameAncestors }));

  const api = express.Router();
  api.use(apiAuth(opts.token, opts.operatorAuth));
  api.use(express.json({ limit: JSON_LIMIT_BYTES }));
  api.use('/players', playersRouter(ctx));
  api.use(recognitionRouter(ctx));
  api.use(trainRouter(ctx));
  api.use(reembedRouter(ctx));
  if (opts.channels) api.use(channelsRouter(opts.channels, { outputKey: opts.outputKey, publicUrl: opts.publicUrl ?? (() => ctx.config.server.publicUrl || 'http://localhost') }));
  api.use(notFound('the API is under /api: recognize, verify, players, roster/reembed, train, model, channels, as-run, timing'));
  app.use('/api', api);

  app.use(notFound('see /healthz, /api and /graphics?key=…'));
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
  /** Key of the graphics output pages (?key=). */
  outputKey: string;
  outputKeyGenerated: boolean;
  /** The dashboard password made up for this run (print it once), or null when one is configured. */
  operatorPassword: string | null;
  /** Where operators log in: `${url}/dashboard`. */
  dashboardUrl: string;
  ctx: AppContext;
  channels: ChannelManager;
  hub: OverlayHub;
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

export async function startServer(configIn: Config, log: Logger): Promise<RunningServer> {
  // Before anything slow: a production server without a token must fail at once.
  const { token, generated } = resolveApiToken(configIn.server);
  // Secrets never go into the log: the generated ones are printed once, on the terminal (cli/serve.ts).
  if (generated) log.warn('no server.apiToken configured: generated a random API token for this run (printed at start)');
  const output = resolveOutputKey(configIn.server);
  if (output.generated) log.warn('no server.outputKey configured: generated a random graphics output key for this run (printed at start)');
  const password = resolveOperatorPassword(configIn.server);
  if (password.generated) log.warn('no server.operatorPassword configured: generated a random dashboard password for this run (printed at start)');
  // Only the hash is kept: the plain password must not linger in the config every route can read.
  const config: Config = { ...configIn, server: { ...configIn.server, operatorPassword: '' } };
  const operatorAuth = new OperatorAuth({ password: password.hash, production: config.server.production });
  const ctx = await createAppContext(config, log);
  let channels: ChannelManager | null = null;
  const hub = new OverlayHub({
    outputKey: output.key,
    apiToken: token,
    // An output key only opens channels that exist; an operator's connection may create one.
    channel: (id, role) => (role === 'operator' ? channels?.lookup(id) : channels?.get(id)),
    log,
    isOperatorSession: operatorAuth.isOperatorSession,
    maxClients: config.server.maxWebSockets,
  });
  const metrics = createFacecastMetrics(undefined, { tfMemory: () => ctx.engine.memory() });
  channels = new ChannelManager(ctx, hub, () => createPool(config, log), metrics);
  const manager = channels;
  let listeningUrl = 'http://localhost';
  const publicUrl = () => config.server.publicUrl || listeningUrl;
  const http = createHttpServer(createServer(ctx, { token, outputKey: output.key, channels: manager, hub, metrics, operatorAuth, publicUrl }));
  hub.attach(http);
  const closeParts = async () => {
    await hub.close();
    await manager.close();
    await ctx.close();
  };
  try {
    await listen(http, config.server.port, config.server.host);
  } catch (err) {
    await closeParts();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ServerStartError(`port ${config.server.port} on ${config.server.host} is in use: stop the other program or choose another port (--port, FACECAST_PORT)`);
    throw err;
  }
  const { port } = http.address() as AddressInfo;
  const shown = ['0.0.0.0', '::', ''].includes(config.server.host) ? 'localhost' : config.server.host;
  const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  listeningUrl = url;
  log.info({ url, host: config.server.host, port }, 'facecast server listening');
  let closing: Promise<void> | null = null;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeIdleConnections();
      const timer = setTimeout(() => http.closeAllConnections(), graceMs);
      await hub.close();
      await manager.close();
      await stopped;
      clearTimeout(timer);
      await ctx.close();
      log.info('facecast server stopped');
    })();
    return closing;
  };
  return {
    url,
    port,
    token,
    tokenGenerated: generated,
    outputKey: output.key,
    outputKeyGenerated: output.generated,
    operatorPassword: password.generated,
    dashboardUrl: `${url}/dashboard`,
    ctx,
    channels: manager,
    hub,
    http,
    close,
  };
}
