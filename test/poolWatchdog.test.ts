// The vision pool's watchdog and limits, on real worker threads running the real models on wasm:
// a job that never returns is given up after the job timeout and its worker replaced; a worker
// whose wasm aborts is replaced; workers that cannot start any more leave the pool broken; and
// the request queue is bounded (busy, with a retry time). Test hooks make the worker misbehave.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { VisionConfig } from '../src/config/schema.ts';
import { isPoolError, VisionPool } from '../src/vision/pool/index.ts';
import { FACEAPI_DEMO } from './helpers/fixtures.ts';
import { readFileSync } from 'node:fs';

const SAMPLE = `${FACEAPI_DEMO}sample1.jpg`; // three faces

let config: VisionConfig;
let photo: Buffer;
let tinyPng: Buffer;

/** A generous service level for "the pool answers again": a worker restart loads the models. */
const RESTART_BUDGET_MS = 60_000;

beforeAll(async () => {
  config = loadConfig({ overrides: { vision: { backend: 'wasm' } }, env: {} }).vision;
  photo = await sharp(readFileSync(SAMPLE)).resize(480).jpeg().toBuffer();
  tinyPng = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 200, b: 200 } } }).png().toBuffer();
});

describe('a hung worker', () => {
  let pool: VisionPool;
  beforeAll(async () => {
    pool = await VisionPool.create(config, { size: 1, jobTimeoutMs: 4000, testHooks: true });
  }, 120_000);
  afterAll(() => pool?.close());

  it('is given up after the job timeout, replaced, and the pool serves again', async () => {
    const before = await pool.analyseImage(photo, { source: 'before' });
    expect(before.faces.length).toBe(3);

    pool.crashWorkerForTest(0, 'hang', 'midJob');
    const started = Date.now();
    const hung = await pool.analyseImage(photo, { source: 'the hung one' }).then(
      () => null,
      (e: unknown) => e,
    );
    const gaveUpAfterMs = Date.now() - started;
    expect(isPoolError(hung, 'timeout'), String(hung)).toBe(true);
    expect((hung as Error).message).toMatch(/the hung one was not done within 4 s; the worker was stopped and is being replaced/);
    // The timeout, not a crash: no earlier than the limit, and well before anything else would end it.
    expect(gaveUpAfterMs).toBeGreaterThanOrEqual(3900);
    expect(gaveUpAfterMs).toBeLessThan(20_000);

    const t = Date.now();
    const after = await pool.analyseImage(photo, { source: 'after' });
    expect(after.faces.length).toBe(3);
    expect(Date.now() - t, 'the replacement answers within the restart budget').toBeLessThan(RESTART_BUDGET_MS);
    const stats = pool.stats();
    expect(stats.timeouts).toBe(1);
    expect(stats.restarts).toBe(1);
    expect(pool.status).toBe('open');
  }, 120_000);

  it('a live frame that hangs is given up the same way', async () => {
    const { data, info } = await sharp(photo).raw().toBuffer({ resolveWithObject: true });
    const frame = () => ({ channel: 'cam', seq: 1, pts: 0, wallMs: Date.now(), width: info.width, height: info.height, rgb: new Uint8Array(data) });
    pool.crashWorkerForTest(0, 'hang', 'midJob');
    await expect(pool.submit(frame()).result).rejects.toMatchObject({ code: 'timeout' });
    expect((await pool.submit(frame()).result).faces.length).toBe(3);
    expect(pool.stats().timeouts).toBe(2);
  }, 120_000);
});

describe('a worker whose wasm aborts', () => {
  it('fails that request with a message that says to retry, and is replaced', async () => {
    const pool = await VisionPool.create(config, { size: 1, testHooks: true });
    try {
      pool.crashWorkerForTest(0, 'abort', 'midJob');
      const err = await pool.analyseImage(photo, { source: 'upload' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isPoolError(err, 'failed'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/Aborted\(\).*the worker is being replaced/);
      expect((await pool.analyseImage(photo, { source: 'next' })).faces.length).toBe(3);
      expect(pool.stats().restarts).toBe(1);
    } finally {
      await pool.close();
    }
  }, 120_000);
});

describe('restartLimit', () => {
  it('a slot whose new workers keep failing to start is given up; with none left the pool is broken and refuses work', async () => {
    const pool = await VisionPool.create(config, { size: 1, restartLimit: 2, testHooks: true });
    try {
      expect(pool.status).toBe('open');
      pool.failStartsForTest(0, 5);
      pool.crashWorkerForTest(0, 'exit', 'now');
      const deadline = Date.now() + RESTART_BUDGET_MS;
      while (pool.status !== 'broken' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(pool.status).toBe('broken');
      // The crash restarts it once; that start and the next fail: 2 in a row = restartLimit.
      expect(pool.stats().restarts).toBe(2);
      await expect(pool.analyseImage(tinyPng, { source: 'x' })).rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/no worker left that can start/) });
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('fewer failed starts than the limit: the slot recovers and serves', async () => {
    const pool = await VisionPool.create(config, { size: 1, restartLimit: 3, testHooks: true });
    try {
      pool.failStartsForTest(0, 2);
      pool.crashWorkerForTest(0, 'exit', 'now');
      const r = await (async () => {
        const deadline = Date.now() + RESTART_BUDGET_MS;
        for (;;) {
          try {
            return await pool.analyseImage(photo, { source: 'after restarts' });
          } catch (err) {
            if (!isPoolError(err, 'lost') || Date.now() > deadline) throw err;
          }
        }
      })();
      expect(r.faces.length).toBe(3);
      expect(pool.status).toBe('open');
      expect(pool.stats().restarts).toBe(3);
    } finally {
      await pool.close();
    }
  }, 120_000);
});

describe('the request queue', () => {
  it('is bounded: a request over maxRequests is refused as busy with a retry time; admitted parts are not', async () => {
    const pool = await VisionPool.create(config, { size: 1, maxRequests: 2 });
    try {
      // Submitted in one go, before a worker takes any: two wait, the third is refused at once.
      const taken = [0, 1].map((i) => pool.analyseImage(photo, { source: `#${i}` }));
      const refused = await pool.analyseImage(photo, { source: '#2' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isPoolError(refused, 'busy'), String(refused)).toBe(true);
      expect((refused as { retryAfterS: number }).retryAfterS).toBeGreaterThanOrEqual(1);
      expect((refused as Error).message).toMatch(/busy.*try again in \d+ s/);
      // The second image of a request already taken (verify's b) is not refused.
      const continued = pool.analyseImage(photo, { source: '#1b', admitted: true });
      for (const r of await Promise.all([...taken, continued])) expect(r.faces.length).toBe(3);
    } finally {
      await pool.close();
    }
  }, 120_000);

  it('an image over the pixel limit is refused by the worker as too-large, an unreadable one as unreadable', async () => {
    const pool = await VisionPool.create({ ...config, maxImagePixels: 100 * 100 }, { size: 1 });
    try {
      const big = await sharp({ create: { width: 200, height: 200, channels: 3, background: 'white' } }).png().toBuffer();
      await expect(pool.analyseImage(big, { source: 'big.png' })).rejects.toMatchObject({ code: 'too-large', message: expect.stringMatching(/^big\.png: image is 200×200, over the pixel limit of 10,000 pixels.*downscale it/) });
      await expect(pool.analyseImage(Buffer.from('not an image'), { source: 'notes.txt' })).rejects.toMatchObject({ code: 'unreadable' });
      expect((await pool.analyseImage(tinyPng, { source: 'ok' })).faces).toEqual([]);
    } finally {
      await pool.close();
    }
  }, 120_000);
});
