// The `facecast` command as a user runs it: a real process, real files, exit codes and output.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageResultSchema, imageErrorSchema } from '../src/shared/protocol.ts';
import { FACEAPI_DEMO, tempDir, writeBadInputs } from './helpers/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/facecast.js', import.meta.url));

function facecast(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return facecastEnv(args, {});
}

function facecastEnv(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, FACECAST_LOG_LEVEL: 'warn', ...env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('facecast CLI', () => {
  it('--help lists the commands', async () => {
    const r = await facecast(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/recognize/);
    expect(r.stdout).toMatch(/eval-lfw/);
  });

  it('recognize --json: bad files get one error line each, good files are still processed, exit 1', async () => {
    const bad = await writeBadInputs(tempDir());
    const good = join(FACEAPI_DEMO, 'sample1.jpg');
    const r = await facecast(['recognize', '--json', '--backend', 'wasm', bad.notImage, good, bad.truncated, bad.empty, bad.huge]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as unknown[];
    expect(out).toHaveLength(5);
    const result = imageResultSchema.parse(out[1]);
    expect(result.file).toBe(good);
    expect(result.backend).toBe('wasm');
    expect(result.detector).toBe('mtcnn');
    expect(result.faces.length).toBeGreaterThanOrEqual(1);
    expect(result.faces[0]!.embedding).toBeUndefined();
    for (const i of [0, 2, 3, 4]) expect(imageErrorSchema.parse(out[i]).error.length).toBeGreaterThan(10);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    expect(errorLines).toHaveLength(4);
    for (const f of Object.values(bad)) expect(errorLines.some((l) => l.includes(f))).toBe(true);
  });

  it('recognize prints a readable table and embeddings on request; exit 0 when all files are good', async () => {
    const r = await facecast(['recognize', '--backend', 'wasm', '--detector', 'ssd', '--embeddings', join(FACEAPI_DEMO, 'sample2.jpg')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm/m);
    expect(r.stdout).toMatch(/face\(s\).*\[ssd on wasm\]/);
    expect(r.stdout).toMatch(/box x, y, w, h\s+score/);
  });

  it('serve on a port in use, or in production without secrets: one line saying what to do, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const data = tempDir();
      const inUse = await facecast(['serve', '--backend', 'wasm', '--data', data, '--host', '127.0.0.1', '--port', String(port)]);
      expect(inUse.code).toBe(2);
      expect(inUse.stderr.trim().split('\n').at(-1)).toBe(`facecast: port ${port} on 127.0.0.1 is in use: stop the other program or choose another port (--port, FACECAST_PORT)`);
      expect(inUse.stderr).not.toMatch(/\n\s+at /);
    } finally {
      busy.close();
    }
    const prod = await facecastEnv(['serve', '--backend', 'wasm', '--data', tempDir()], { NODE_ENV: 'production', FACECAST_API_TOKEN: '' });
    expect(prod.code).toBe(2);
    expect(prod.stderr).toMatch(/^facecast: no API token configured in production mode: set FACECAST_API_TOKEN/m);
  });

  it('a forced backend that is missing fails with how to install it', async () => {
    const r = await facecast(['recognize', '--backend', 'tensorflow', join(FACEAPI_DEMO, 'sample1.jpg')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/npm install @tensorflow\/tfjs-node/);
  });
});
