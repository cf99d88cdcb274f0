// The whole still-image path on real photos: decode → detect → align → embed, through the engine
// the CLI uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage, padImage } from '../src/vision/image.ts';
import { createAligner } from '../src/vision/align.ts';
import { tf } from '../src/vision/tf.ts';
import { euclidean } from '../src/eval/lfw.ts';
import { haveFixtures, PEOPLE, galleryFile, groupDir } from './helpers/fixtures.ts';

describe.skipIf(!haveFixtures('recognize.test.ts'))('recognition pipeline on real faces', () => {
  let engine: VisionEngine;
  beforeAll(async () => {
    engine = await VisionEngine.create(loadConfig({ env: {}, overrides: { vision: { backend: 'wasm' } } }).vision);
  });
  afterAll(() => engine.dispose());

  it.each(['mtcnn', 'ssd'] as const)('gallery (%s): own person nearer than anyone else for at least 95 percent of pairs', async (detector) => {
    const embs: { person: string; e: number[] }[] = [];
    for (const person of PEOPLE) {
      for (let i = 1; i <= 5; i++) {
        // A tight crop holds one face; the engine retries on a padded copy when it finds none.
        const faces = await engine.analyse(await decodeImage(galleryFile(person, i)), { detector });
        const biggest = faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0];
        if (biggest) embs.push({ person, e: biggest.embedding! });
      }
    }
    // MTCNN finds every padded crop; SSD misses 4 of these very tight crops (face-api's own SSD too).
    expect(embs.length).toBeGreaterThanOrEqual(detector === 'mtcnn' ? 40 : 36);
    // For every anchor, every (same-person, other-person) pair: is the same person nearer?
    let wins = 0;
    let total = 0;
    for (const a of embs) {
      for (const p of embs) {
        if (p === a || p.person !== a.person) continue;
        const dp = euclidean(a.e, p.e);
        for (const n of embs) {
          if (n.person === a.person) continue;
          total++;
          if (dp < euclidean(a.e, n.e)) wins++;
        }
      }
    }
    expect(total).toBeGreaterThan(embs.length * 3 * 30);
    expect(wins / total).toBeGreaterThanOrEqual(0.95);
  });

  it('embeddings are 128-D and unit length', async () => {
    const faces = await engine.analyse(await decodeImage(join(groupDir(), 'bbt1.jpg')));
    expect(faces.length).toBeGreaterThanOrEqual(4);
    for (const f of faces) {
      expect(f.embedding).toHaveLength(128);
      expect(Math.hypot(...f.embedding!)).toBeCloseTo(1, 4);
    }
  });

  it('landmarks68 alignment: the 68 points of every face fall on it, and its embedding agrees with the 5-point one', async () => {
    const image = await decodeImage(join(groupDir(), 'bbt3.jpg'));
    const det = await engine.detector('mtcnn');
    const { tensor, faces } = await engine.detectWithRetry(image, det, false);
    try {
      expect(engine.aligner.name).toBe('landmarks68');
      const withPoints = await engine.withLandmarks68(tensor, faces);
      expect(withPoints).toHaveLength(faces.length);
      for (const f of withPoints) {
        const [x, y, w, h] = f.box;
        expect(f.landmarks68).toHaveLength(68);
        // Eyes (36–47) inside the box; the nose tip (30) between the eye centres and the mouth corners (48, 54).
        for (const [px, py] of f.landmarks68!.slice(36, 48)) expect(px > x && px < x + w && py > y && py < y + h).toBe(true);
        const p = f.landmarks68!;
        expect(p[30]![1]).toBeGreaterThan(Math.max(p[37]![1], p[44]![1]));
        expect(p[30]![1]).toBeLessThan(Math.min(p[48]![1], p[54]![1]));
        // The detector's 5 landmarks and the 68-point eye centres agree to a fraction of the box.
        const eye = (from: number) => [0, 1].map((c) => p.slice(from, from + 6).reduce((s, q) => s + q[c]!, 0) / 6);
        expect(Math.hypot(eye(36)[0]! - f.landmarks[0][0], eye(36)[1]! - f.landmarks[0][1])).toBeLessThan(0.12 * w);
      }
      const byLandmarks68 = await engine.embedFaces(tensor, faces);
      const byFivePoints = await engine.embedFaces(tensor, faces, createAligner('similarity'));
      byLandmarks68.forEach((e, i) => {
        const cos = e.reduce((s, v, k) => s + v * byFivePoints[i]![k]!, 0);
        expect(cos).toBeGreaterThan(0.9);
      });
    } finally {
      tensor.dispose();
    }
  });

  it('200 recognitions leave tf.memory().numTensors where it started', async () => {
    // A padded gallery crop: one face, small enough for 200 rounds on a 2-core CI machine.
    const { image } = await padImage(await decodeImage(galleryFile('amy', 1)), 0.5);
    // Warm-up: both detectors' weights are created lazily on first use and then kept.
    for (const detector of ['mtcnn', 'ssd'] as const) await engine.analyse(image, { detector });
    const before = tf.memory().numTensors;
    let faces = 0;
    for (let i = 0; i < 200; i++) faces += (await engine.analyse(image, { detector: i % 2 ? 'ssd' : 'mtcnn' })).length;
    expect(faces).toBeGreaterThanOrEqual(200);
    expect(tf.memory().numTensors).toBe(before);
  });
});
