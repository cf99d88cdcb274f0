// The `facecast` command as a user runs it: a real process, real files, exit codes and output.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageResultSchema, imageErrorSchema } from '../src/shared/protocol.ts';
import { FACEAPI_DEMO, tempDir, writeBadInputs } from './helpers/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/facecast.js', import.meta.url));

function facecast(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, FACECAST_LOG_LEVEL: 'warn' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
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

  it('a forced backend that is missing fails with how to install it', async () => {
    const r = await facecast(['recognize', '--backend', 'tensorflow', join(FACEAPI_DEMO, 'sample1.jpg')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/npm install @tensorflow\/tfjs-node/);
  });
});
