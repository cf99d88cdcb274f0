// `facecast serve [--source URL]…`: the API, the graphics pages and the live pipeline on each
// attached source until Ctrl-C. Prints, for people, where everything is and how to get in (or one
// JSON line with --json); stops cleanly on SIGINT/SIGTERM, letting running requests finish.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { startServer, type RunningServer } from '../server/app.ts';
import { graphicsUrl, obsDragLink } from '../server/graphicsRoutes.ts';
import type { AttachOptions } from '../server/channels.ts';
import { printJson } from './output.ts';

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Sources to attach, channel 1, 2, … in order. */
  sources?: string[];
  /** Files: loop them (the demo). */
  loop?: boolean;
  json?: boolean;
}

export interface ServeBanner {
  url: string;
  backend: string;
  device: string;
  channels: { id: string; source: string | null; graphics: string; obs: string }[];
  dashboard: string | null;
  /** The dashboard password generated for this run; null when one is configured. */
  operatorPassword: string | null;
  apiToken: string | null;
  outputKeyGenerated: boolean;
  model: boolean;
}

export function banner(running: RunningServer): ServeBanner {
  const { url, outputKey, ctx } = running;
  return {
    url,
    backend: ctx.engine.backend.name,
    device: ctx.engine.backend.device,
    channels: running.channels.list().map((c) => ({ id: c.id, source: c.source.url, graphics: graphicsUrl(url, outputKey, c.id), obs: obsDragLink(url, outputKey, c.id) })),
    dashboard: running.dashboardUrl,
    operatorPassword: running.operatorPassword,
    apiToken: running.tokenGenerated ? running.token : null,
    outputKeyGenerated: running.outputKeyGenerated,
    model: ctx.recognizer !== null,
  };
}

export function printBanner(b: ServeBanner, json = false): void {
  if (json) {
    printJson(b);
    return;
  }
  const out = (s: string) => process.stdout.write(`${s}\n`);
  // Secrets made up for this run go to the terminal once, on stderr: never into the JSON log, and
  // not into whatever collects stdout.
  const secret = (s: string) => process.stderr.write(`${s}\n`);
  out(`facecast listening on ${b.url}  (API under ${b.url}/api, health at ${b.url}/healthz, metrics at ${b.url}/metrics)`);
  out(`backend: ${b.backend} (${b.device})`);
  for (const c of b.channels) {
    out(`channel ${c.id}: ${c.source ?? 'no source (PUT /api/channels/' + c.id + '/source)'}`);
    out(`  graphics (OBS/vMix browser source, CasparCG html): ${c.graphics}`);
    out(`  drag into OBS: ${c.obs}`);
  }
  if (b.outputKeyGenerated) out('the output key above was generated for this run: set FACECAST_OUTPUT_KEY to keep OBS scenes working across restarts');
  if (b.dashboard) {
    out(`dashboard: ${b.dashboard}`);
    (b.operatorPassword ? secret : out)(
      b.operatorPassword
        ? `  operator password for this run (set FACECAST_OPERATOR_PASSWORD to keep one): ${b.operatorPassword}`
        : '  operator password: the one in server.operatorPassword / FACECAST_OPERATOR_PASSWORD',
    );
  }
  (b.apiToken ? secret : out)(
    b.apiToken
      ? `API token for this run (set FACECAST_API_TOKEN to keep one): ${b.apiToken}\n  e.g. curl -H "Authorization: Bearer ${b.apiToken}" ${b.url}/api/channels`
      : 'API token: the one in server.apiToken / FACECAST_API_TOKEN',
  );
  out(b.model ? 'roster model loaded' : 'no roster model yet: enrol photos, then POST /api/train (faces stay unnamed until then)');
  out('Ctrl-C to stop');
}

/** Resolves when SIGINT/SIGTERM arrived and the server has stopped. */
export function untilStopped(running: RunningServer, log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`\n${signal}: stopping (running requests may finish; press Ctrl-C again to force)\n`);
      // A second signal (listeners removed above) gets Node's default: immediate exit.
      running.close().then(resolve, (err: unknown) => {
        log.error({ err }, 'error while stopping the server');
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export async function runServe(config: Config, log: Logger, opts: ServeOptions = {}): Promise<void> {
  const server = { ...config.server, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) };
  const running = await startServer({ ...config, server }, log);
  const attach: AttachOptions = { loop: opts.loop };
  try {
    for (const [i, source] of (opts.sources ?? []).entries()) await running.channels.attach(String(i + 1), source, attach);
  } catch (err) {
    await running.close();
    throw err;
  }
  printBanner(banner(running), opts.json);
  await untilStopped(running, log);
}
