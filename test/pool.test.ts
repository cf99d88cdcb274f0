// Vision worker pool: real worker threads running the real models on wasm, compared with the same
// engine run in-process. Worker start-up loads the models (a few seconds), so one pool serves most
// tests and only the crash tests pay for restarts.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { VisionConfig } from '../src/config/schema.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage, imageToTensor } from '../src/vision/image.ts';
import { FrameQueue, type QueuedFrame } from '../src/vision/pool/queue.ts';
import { analyseRequestSchema, defaultPoolSize, isPoolError, PoolError, VisionPool, type PoolFrame } from '../src/vision/pool/index.ts';
import type { Box, DetectedFace, RgbImage } from '../src/vision/types.ts';
import { FACEAPI_DEMO } from './helpers/fixtures.ts';

const SAMPLE = `${FACEAPI_DEMO}sample1.jpg`; // 1920 × 1280, three faces about 200 px wide

let config: VisionConfig;
let engine: VisionEngine;
let pool: VisionPool;
/** sample1 at 480 × 320 (faces ≈ 50 px), 1280 × 853, and 160 × 107 (fast). */
let small: RgbImage;
let big: RgbImage;
let tiny: RgbImage;

async function resized(image: RgbImage, width: number): Promise<RgbImage> {
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

/** A frame with its own copy of the pixels (submit detaches them). */
function frame(image: RgbImage, seq: number, channel = 'cam1'): PoolFrame {
  return { channel, seq, pts: seq / 25, wallMs: Date.now(), width: image.width, height: image.height, rgb: image.data.slice() };
}

async function inProcess(image: RgbImage): Promise<{ faces: DetectedFace[]; embeddings: Float32Array[] }> {
  const tensor = imageToTensor(image);
  try {
    const faces = await (await engine.detector('mtcnn')).detect(tensor);
    return { faces, embeddings: await engine.embedFaces(tensor, faces) };
  } finally {
    tensor.dispose();
  }
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const centre = (b: Box) => [b[0] + b[2] / 2, b[1] + b[3] / 2] as const;

beforeAll(async () => {
  config = loadConfig({ overrides: { vision: { backend: 'wasm' } }, env: {} }).vision;
  const full = await decodeImage(SAMPLE);
  [small, big, tiny] = await Promise.all([resized(full, 480), resized(full, 1280), resized(full, 160)]);
  [engine, pool] = await Promise.all([VisionEngine.create(config), VisionPool.create(config, { size: 1, maxQueue: 2, keepFrames: 2, testHooks: true })]);
});

afterAll(async () => {
  await pool?.close();
  await engine?.dispose();
});

describe('vision pool', () => {
  it('sizes itself one worker per core less one for the main loop', () => {
    expect(defaultPoolSize(2)).toBe(1);
    expect(defaultPoolSize(1)).toBe(1);
    expect(defaultPoolSize(8)).toBe(7);
    expect(pool.size).toBe(1);
    expect(pool.backend?.name).toBe('wasm');
  });

  it('gives the same faces and embeddings as the in-process engine', async () => {
    const [got, want] = await Promise.all([pool.submit(frame(small, 0)).result, inProcess(small)]);
    expect(got.backend).toBe('wasm');
    expect(got.faces.length).toBe(3);
    expect(got.faces.length).toBe(want.faces.length);
    got.faces.forEach((f, i) => {
      f.box.forEach((v, k) => expect(Math.abs(v - want.faces[i]!.box[k]!)).toBeLessThanOrEqual(1));
      f.landmarks.flat().forEach((v, k) => expect(Math.abs(v - want.faces[i]!.landmarks.flat()[k]!)).toBeLessThanOrEqual(1));
      expect(f.score).toBeCloseTo(want.faces[i]!.score, 4);
      expect(f.quality).toBeGreaterThan(0);
      expect(f.quality).toBeLessThanOrEqual(1);
      expect(cosine(f.embedding!, want.embeddings[i]!)).toBeGreaterThanOrEqual(0.999);
    });
    expect(got.embedded).toEqual([0, 1, 2]);
    expect(got.timings.detectMs).toBeGreaterThan(0);
    expect(got.timings.embedMs).toBeGreaterThan(0);
    expect(got.timings.wallMs).toBeGreaterThanOrEqual(got.timings.totalMs);
  });

  it('transfers the pixels instead of copying them; a view into a larger buffer is copied', async () => {
    const f = frame(small, 1);
    const submitted = pool.submit(f);
    expect(f.rgb.byteLength).toBe(0); // detached on the caller's side at once
    const slab = new Uint8Array(small.data.byteLength + 16);
    slab.set(small.data, 16);
    const view = { ...frame(small, 2), rgb: slab.subarray(16) };
    const viewed = pool.submit(view);
    expect(view.rgb.byteLength).toBe(small.data.byteLength); // its neighbours' memory stays usable
    expect((await submitted.result).faces.length).toBe(3);
    expect((await viewed.result).faces.length).toBe(3);
  });

  it('refuses a malformed frame without touching a worker', async () => {
    const bad = { ...frame(small, 3), width: 481 };
    await expect(pool.submit(bad).result).rejects.toMatchObject({ code: 'bad-request' });
    expect(bad.rgb.byteLength).toBe(small.data.byteLength);
    // The worker checks what arrives too.
    const parsed = analyseRequestSchema.safeParse({ type: 'analyse', jobId: 1, frame: bad, rgb: bad.rgb, detectMaxSide: 0, embed: 'all', keep: false });
    expect(parsed.success).toBe(false);
  });

  it('detects, then embeds only the faces asked for from the kept frame', async () => {
    const once = await pool.submit(frame(small, 4)).result;
    const order: string[] = [];
    const step1p = pool.submit(frame(small, 5), { embed: 'none', keep: true }).result;
    const next = pool.submit(frame(small, 6)).result.then(() => order.push('next frame'));
    // The tracker decides in the result's continuation; its embed goes before the queued frame.
    const step2p = step1p.then((r) => {
      expect(pool.stats().workers[0]!.keptFrames).toBe(1);
      return pool.embed(r.frameId, [2, 0]).finally(() => order.push('embed'));
    });
    const [step1, step2] = await Promise.all([step1p, step2p, next]);
    expect(order).toEqual(['embed', 'next frame']);
    expect(step1.kept).toBe(true);
    expect(step1.embedded).toEqual([]);
    expect(step1.faces.every((f) => f.embedding === undefined)).toBe(true);
    expect(step2.embedded).toEqual([2, 0]);
    expect(cosine(step2.embeddings[0]!, once.faces[2]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(step2.embeddings[1]!, once.faces[0]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    // embed() releases by default: the frame is gone afterwards.
    await expect(pool.embed(step1.frameId, [1])).rejects.toMatchObject({ code: 'evicted' });
    expect(pool.stats().workers[0]!.keptFrames).toBe(0);
  });

  it('batches embed requests of frames from different streams into shared forward passes', async () => {
    // Two streams' frames kept by the one worker, then both trackers ask for embeddings at once
    // (as two channels do when their results arrive together): one batch, per-stream answers.
    const file = { policy: 'file' as const };
    const whole = await pool.submit(frame(small, 30, 'cam3'), file).result;
    const keepBoth = () =>
      Promise.all([
        pool.submit(frame(small, 31, 'cam1'), { ...file, embed: 'none', keep: true }).result,
        pool.submit(frame(small, 32, 'cam2'), { ...file, embed: 'none', keep: true }).result,
      ]);
    const [a, b] = await keepBoth();
    const [ea, eb] = await Promise.all([pool.embed(a.frameId, [0, 1]), pool.embed(b.frameId, [2])]);
    expect([ea.batch, eb.batch]).toEqual([2, 2]);
    expect(ea.embedded).toEqual([0, 1]);
    expect(eb.embedded).toEqual([2]);
    expect(cosine(ea.embeddings[0]!, whole.faces[0]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(ea.embeddings[1]!, whole.faces[1]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    expect(cosine(eb.embeddings[0]!, whole.faces[2]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    // A bad part fails alone; the other part of the batch is answered.
    const [c, d] = await keepBoth();
    const [ec] = await Promise.all([pool.embed(c.frameId, [1]), expect(pool.embed(d.frameId, [99])).rejects.toMatchObject({ code: 'bad-request' })]);
    expect(ec.batch).toBe(2);
    expect(cosine(ec.embeddings[0]!, whole.faces[1]!.embedding!)).toBeGreaterThanOrEqual(0.9999);
    // Every frame was released by its embed.
    await expect(pool.embed(a.frameId, [0])).rejects.toMatchObject({ code: 'evicted' });
    expect(pool.stats().workers[0]!.keptFrames).toBe(0);
  });

  it('runs the detector a request names', async () => {
    const tensor = imageToTensor(small);
    const [got, want] = await Promise.all([
      pool.submit(frame(small, 7), { detector: 'ssd' }).result,
      engine.detector('ssd').then((d) => d.detect(tensor)).finally(() => tensor.dispose()),
    ]);
    expect(got.detector).toBe('ssd');
    expect(got.faces.map((f) => f.box.map(Math.round))).toEqual(want.map((f) => f.box.map(Math.round)));
    expect(got.embedded.length).toBe(want.length);
  });

  it('keeps at most keepFrames frames per worker, releasing the oldest', async () => {
    const kept = [];
    for (let i = 0; i < 3; i++) kept.push(await pool.submit(frame(tiny, 10 + i), { embed: 'none', keep: true }).result);
    await expect(pool.embed(kept[0]!.frameId, [])).rejects.toMatchObject({ code: 'evicted' });
    await expect(pool.embed(kept[1]!.frameId, [99])).rejects.toMatchObject({ code: 'bad-request' }); // no face 99
    pool.release(kept[2]!.frameId);
    await pool.submit(frame(tiny, 13)).result;
    expect(pool.stats().workers[0]!.keptFrames).toBe(0);
  });

  it('detects on a downscaled copy of a big frame and maps the faces back to full resolution', async () => {
    const [down, full] = await Promise.all([pool.submit(frame(big, 20), { detectMaxSide: 480 }).result, inProcess(big)]);
    expect(down.detectSize).toEqual([480, 320]);
    expect(down.faces.length).toBe(full.faces.length);
    for (const f of down.faces) {
      // Same face: centres within 8 % of its width, sizes within 10 %; faces may come in another order.
      const [cx, cy] = centre(f.box);
      const j = full.faces.findIndex((g) => Math.hypot(centre(g.box)[0] - cx, centre(g.box)[1] - cy) < 0.08 * g.box[2]);
      expect(j).toBeGreaterThanOrEqual(0);
      const g = full.faces[j]!;
      expect(Math.abs(f.box[2] / g.box[2] - 1)).toBeLessThan(0.1);
      expect(Math.abs(f.box[3] / g.box[3] - 1)).toBeLessThan(0.1);
      // Embedded from the full-resolution frame, so it matches the full-resolution pipeline closely.
      expect(cosine(f.embedding!, full.embeddings[j]!)).toBeGreaterThan(0.98);
    }
  });

  it('live sources: a full queue drops the oldest waiting frame of that source and counts it', async () => {
    const before = pool.stats();
    // Submitted in one go: the pool dispatches on the next turn, so all five meet a queue of 2.
    const results = [0, 1, 2, 3, 4].map((seq) => pool.submit(frame(tiny, seq, 'live')).result.then((r) => r.frame.seq, (e: unknown) => e));
    const settled = await Promise.all(results);
    expect(settled.slice(0, 3).map((e) => isPoolError(e, 'dropped'))).toEqual([true, true, true]);
    expect(settled.slice(3)).toEqual([3, 4]);
    const after = pool.stats();
    expect(after.dropped - before.dropped).toBe(3);
    expect(after.completed - before.completed).toBe(2);
  });

  it('file sources: never drops, holds the caller back, completes every frame in order', async () => {
    const before = pool.stats();
    const done: number[] = [];
    const subs = Array.from({ length: 20 }, (_, seq) => pool.submit(frame(tiny, seq, 'file'), { policy: 'file' }));
    // Only the queue's two places take frames; the rest wait for room (the reader would pause ffmpeg).
    expect(pool.stats()).toMatchObject({ queued: 2, waitingForRoom: 18 });
    let accepted = 0;
    for (const s of subs) void s.accepted.then(() => accepted++);
    await Promise.resolve(); // microtasks only: the pool dispatches on a later turn
    await Promise.resolve();
    expect(accepted).toBe(2);
    const results = await Promise.all(subs.map((s) => s.result.then((r) => (done.push(r.frame.seq), r))));
    expect(results.map((r) => r.frame.seq)).toEqual([...Array(20).keys()]);
    expect(done).toEqual([...Array(20).keys()]);
    const after = pool.stats();
    expect(after.dropped).toBe(before.dropped);
    expect(after.completed - before.completed).toBe(20);
  });

  it('does not grow tf tensors in the worker over repeated frames', async () => {
    await pool.submit(frame(small, 30)).result;
    const baseline = pool.stats().workers[0]!.numTensors;
    for (let i = 0; i < 4; i++) {
      const r = await pool.submit(frame(small, 31 + i), { embed: 'none', keep: true }).result;
      await pool.embed(r.frameId, [0, 1]);
      await pool.submit(frame(big, 40 + i), { detectMaxSide: 480 }).result;
    }
    expect(pool.stats().workers[0]!.numTensors).toBe(baseline);
  });

  it('a worker that exits mid-frame: that frame is lost, the worker is replaced, later frames succeed', async () => {
    const before = pool.stats();
    pool.crashWorkerForTest(0, 'exit', 'midJob');
    const doomed = pool.submit(frame(small, 50)).result;
    const queued = pool.submit(frame(small, 51)).result; // waits in the queue, survives the crash
    const err = await doomed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolError);
    expect((err as PoolError).code).toBe('lost');
    expect((err as PoolError).message).toMatch(/cam1#50 lost: vision worker 0 exited with code 70/);
    expect((await queued).faces.length).toBe(3);
    const after = pool.stats();
    expect(after.lost - before.lost).toBe(1);
    expect(after.restarts - before.restarts).toBe(1);
    expect(after.workers[0]!.restarts).toBe(before.workers[0]!.restarts + 1);
  });

  it('a worker that throws an uncaught exception is replaced too, and its kept frames are gone', async () => {
    const before = pool.stats();
    const keptFrame = await pool.submit(frame(small, 60), { embed: 'none', keep: true }).result;
    pool.crashWorkerForTest(0, 'throw', 'midJob');
    await expect(pool.submit(frame(small, 61)).result).rejects.toThrow(/lost: vision worker 0 threw Error: test hook/);
    await expect(pool.embed(keptFrame.frameId, [0])).rejects.toMatchObject({ code: 'evicted' });
    const next = await pool.submit(frame(small, 62)).result;
    expect(next.faces.length).toBe(3);
    const after = pool.stats();
    expect(after.lost - before.lost).toBe(1);
    expect(after.restarts - before.restarts).toBe(1);
    expect(after.workers[0]!.keptFrames).toBe(0);
  });
});

describe('vision pool start and close', () => {
  it('closes gracefully: queued frames reject as closed, later submits are refused; test hooks stay off', async () => {
    const p = await VisionPool.create(config, { size: 1, maxQueue: 4, testHooks: false });
    expect(() => p.crashWorkerForTest(0)).toThrow(/testHooks/);
    const running = p.submit(frame(small, 0)).result;
    const queued = [1, 2].map((seq) => p.submit(frame(small, seq)).result.catch((e: unknown) => e));
    await new Promise((r) => setImmediate(r)); // let the first frame reach the worker
    await p.close();
    expect((await running).faces.length).toBe(3); // a running frame may finish within closeGraceMs
    for (const e of await Promise.all(queued)) expect(isPoolError(e, 'closed')).toBe(true);
    await expect(p.submit(frame(small, 3)).result).rejects.toMatchObject({ code: 'closed' });
  });

  it('fails create() with the reason when a worker cannot start', async () => {
    const bad = { ...config, backend: 'tensorflow-gpu' as const };
    await expect(VisionPool.create(bad, { size: 1 })).rejects.toThrow(/vision worker 0 could not start: backend "tensorflow-gpu" is not available/);
  });
});

describe('frame queue policy', () => {
  type Item = QueuedFrame & { admitted: boolean };
  const item = (channel: string, policy: 'live' | 'file' = 'live'): Item => {
    const f: Item = { channel, policy, admitted: false, admit: () => void (f.admitted = true) };
    return f;
  };

  it('drops the oldest frame of the same live source, else the oldest live frame, else the newcomer', () => {
    const q = new FrameQueue<Item>(3);
    const [a1, b1, a2, a3] = [item('a'), item('b'), item('a'), item('a')];
    for (const f of [a1, b1, a2]) expect(q.offer(f)).toEqual([]);
    expect(q.offer(a3)).toEqual([a1]); // same source first
    const c1 = item('c');
    expect(q.offer(c1)).toEqual([b1]); // no other c waits: the oldest live frame goes
    const files = new FrameQueue<Item>(1);
    files.offer(item('f', 'file'));
    const late = item('cam');
    expect(files.offer(late)).toEqual([late]); // file frames are never dropped
    expect(late.admitted).toBe(true);
  });

  it('parks file frames until there is room, in order, and admits them then', () => {
    const q = new FrameQueue<Item>(1);
    const [f1, f2, f3] = [item('f', 'file'), item('f', 'file'), item('f', 'file')];
    [f1, f2, f3].forEach((f) => q.offer(f));
    expect([f1.admitted, f2.admitted, f3.admitted]).toEqual([true, false, false]);
    expect(q.take()).toBe(f1);
    expect([f2.admitted, f3.admitted]).toEqual([true, false]);
    expect(q.take()).toBe(f2);
    expect(q.take()).toBe(f3);
    expect(q.take()).toBeUndefined();
  });
});
