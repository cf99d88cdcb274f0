// `facecast serve`: the HTTP API (and later the overlay) until Ctrl-C. Prints where it listens and
// how to authenticate; stops cleanly on SIGINT/SIGTERM, letting running requests finish.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { startServer } from '../server/app.ts';

export interface ServeOptions {
  port?: number;
  host?: string;
}

export async function runServe(config: Config, log: Logger, opts: ServeOptions = {}): Promise<void> {
  const server = { ...config.server, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) };
  const running = await startServer({ ...config, server }, log);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`facecast listening on ${running.url}  (API under ${running.url}/api, health at ${running.url}/healthz)`);
  out(`backend: ${running.ctx.engine.backend.name} (${running.ctx.engine.backend.device})`);
  if (running.tokenGenerated) {
    out(`API token for this run (none configured; set FACECAST_API_TOKEN to keep one): ${running.token}`);
  } else {
    out('API token: the one in server.apiToken / FACECAST_API_TOKEN');
  }
  out(`  e.g. curl -H "Authorization: Bearer ${running.tokenGenerated ? running.token : '$FACECAST_API_TOKEN'}" ${running.url}/api/players`);
  out(running.ctx.recognizer ? 'roster model loaded' : 'no roster model yet: enrol photos, then POST /api/train (faces stay unnamed until then)');
  out('Ctrl-C to stop');

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      out(`\n${signal}: stopping (running requests may finish; press Ctrl-C again to force)`);
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
