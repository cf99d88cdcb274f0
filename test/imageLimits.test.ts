// Pixel limits on image input, with the real engine on wasm: what the models see never exceeds
// vision.maxTensorPixels (after the downscale, the pad and the retry), faces come back in the
// original image's pixels, and a detector that throws leaves no tensor behind.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import type { VisionConfig } from '../src/config/schema.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage, DEFAULT_MAX_PIXELS, DEFAULT_MAX_TENSOR_PIXELS, fitImage, ImageInputError, padImage } from '../src/vision/image.ts';
import { tf, type Tensor3D } from '../src/vision/tf.ts';
import type { Detector, RgbImage } from '../src/vision/types.ts';
import { FACEAPI_DEMO } from './helpers/fixtures.ts';

const SAMPLE = `${FACEAPI_DEMO}sample1.jpg`; // 1920 × 1280, three faces about 200 px wide

const blank = (width: number, height: number): RgbImage => ({ width, height, data: new Uint8Array(width * height * 3).fill(255) });

/** The detector with every input shape recorded. */
function spy(real: Detector, seen: number[][]): Detector {
  return { name: real.name, detect: (t: Tensor3D) => (seen.push(t.shape), real.detect(t)), dispose: () => {} };
}

let config: VisionConfig;
let engine: VisionEngine;

beforeAll(async () => {
  config = loadConfig({ overrides: { vision: { backend: 'wasm' } }, env: {} }).vision;
  engine = await VisionEngine.create(config);
}, 120_000);

afterAll(() => engine?.dispose());

describe('image limits', () => {
  it('defaults: 16.8 MP accepted at most, 4.2 MP seen by the models', () => {
    expect(config.maxImagePixels).toBe(DEFAULT_MAX_PIXELS);
    expect(DEFAULT_MAX_PIXELS).toBe(4096 * 4096);
    expect(config.maxTensorPixels).toBe(DEFAULT_MAX_TENSOR_PIXELS);
  });

  it('refuses an image over the limit from its header, as too-large, saying what to do', async () => {
    const png = await sharp({ create: { width: 8000, height: 8000, channels: 3, background: 'white' } }).png().toBuffer();
    const err = await decodeImage(png, { source: 'big.png' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ImageInputError);
    expect((err as ImageInputError).reason).toBe('too-large');
    expect((err as Error).message).toMatch(/^big\.png: image is 8000×8000, over the pixel limit of 16,777,216 pixels \(4096×4096, 16\.8 MP\); downscale it .* or raise vision\.maxImagePixels$/);
  });

  it('fitImage shrinks to the budget and says by how much; padImage keeps the padded copy within it', async () => {
    const fitted = await fitImage(blank(4000, 3000), 1_000_000);
    expect(fitted.image.width * fitted.image.height).toBeLessThanOrEqual(1_000_000);
    expect(fitted.image.data.length).toBe(fitted.image.width * fitted.image.height * 3);
    expect(fitted.scale).toBeCloseTo(Math.sqrt(1_000_000 / 12_000_000), 2);
    const same = blank(100, 100);
    expect((await fitImage(same, 1_000_000)).image).toBe(same);

    for (const [w, h] of [[1000, 1000], [1000, 400], [300, 900]] as const) {
      const p = await padImage(blank(w, h), 0.5, 1_000_000);
      expect(p.image.width * p.image.height, `${w}×${h}`).toBeLessThanOrEqual(1_000_000);
      expect(p.scale).toBeLessThan(1);
      // The image sits at (offset, offset) at `scale`: its far corner is inside the padded copy.
      expect(p.offset * 2 + Math.floor(w * p.scale)).toBeLessThanOrEqual(p.image.width);
    }
    // Within the budget nothing changes: pad = half the larger side, as before.
    const free = await padImage(blank(200, 100), 0.5, 1_000_000);
    expect([free.image.width, free.image.height, free.offset, free.scale]).toEqual([400, 300, 100, 1]);
  });

  it('the detector never sees more than maxTensorPixels, through the downscale, the pad and the retry', async () => {
    const seen: number[][] = [];
    const detector = spy(await engine.detector('mtcnn'), seen);
    const before = tf.memory().numTensors;
    const r = await engine.detectWithRetry(blank(4000, 4000), detector, true);
    r.tensor.dispose();
    expect(r.faces).toEqual([]);
    expect(seen.length).toBe(2); // first pass and the padded retry
    for (const [h, w] of seen) expect(h! * w!).toBeLessThanOrEqual(config.maxTensorPixels);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('a detector that throws leaves no tensor behind, on the first pass and on the retry', async () => {
    const real = await engine.detector('mtcnn');
    for (const failOn of [1, 2]) {
      let calls = 0;
      const flaky: Detector = {
        name: 'flaky',
        detect: async (t) => {
          if (++calls === failOn) throw new Error('memory access out of bounds');
          return real.detect(t);
        },
        dispose: () => {},
      };
      const before = tf.memory().numTensors;
      await expect(engine.detectWithRetry(blank(300, 300), flaky, true)).rejects.toThrow(/out of bounds/);
      expect(tf.memory().numTensors, `throw on call ${failOn}`).toBe(before);
    }
  }, 120_000);

  it('faces found on a downscaled copy come back in the original pixels', async () => {
    const image = await decodeImage(SAMPLE);
    const small = await VisionEngine.create({ ...config, maxTensorPixels: 960 * 640 });
    try {
      const [full, down] = [await engine.analyse(image, { embeddings: false }), await small.analyse(image, { embeddings: false })];
      expect(down.length).toBe(3);
      expect(down.length).toBe(full.length);
      const byX = (f: { box: number[] }[]) => [...f].sort((a, b) => a.box[0]! - b.box[0]!);
      byX(down).forEach((f, i) => {
        const want = byX(full)[i]!;
        // Half the resolution: within a tenth of the face's width.
        f.box.forEach((v, k) => expect(Math.abs(v - want.box[k]!)).toBeLessThan(0.1 * want.box[2]));
      });
    } finally {
      await small.dispose();
    }
  }, 120_000);
});
