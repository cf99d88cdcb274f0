// The real facecast server on a random port with a temporary data dir, and an authorised fetch.
import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.ts';
import { startServer, type RunningServer } from '../../src/server/app.ts';
import { silentLogger } from '../../src/shared/log.ts';
import { tempDir } from './fixtures.ts';

export const API_TOKEN = 'test-token-0123456789';

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  /** fetch with the bearer token (token: null sends none). */
  api(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestServer(overrides: Record<string, unknown> = {}, prefix = 'facecast-srv-'): Promise<TestServer> {
  const dataDir = tempDir(prefix);
  const { server: serverOverrides, ...rest } = overrides as { server?: Record<string, unknown> };
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      logLevel: 'silent',
      vision: { backend: 'wasm' },
      ...rest,
      server: { host: '127.0.0.1', port: 0, apiToken: API_TOKEN, production: false, ...serverOverrides },
    },
  });
  const server = await startServer(config, silentLogger);
  return {
    server,
    dataDir,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      const token = init.token === undefined ? API_TOKEN : init.token;
      if (token !== null) headers.set('authorization', `Bearer ${token}`);
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
