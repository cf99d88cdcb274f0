import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  AUGMENT_RANGES,
  AUGMENTATION_NAMES,
  augment,
  invertAffine,
  mapBox,
  mapPoint,
  type AugmentedView,
} from '../src/roster/augment.ts';
import { decodeImage } from '../src/vision/image.ts';
import type { Box, Point, RgbImage } from '../src/vision/types.ts';
import { haveFixtures } from './helpers/fixtures.ts';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const AMY = `${FIXTURES}faces/gallery/amy/amy1.png`;
const CORE = ['flip', 'centreCrop', 'lowres', 'blur', 'jpeg', 'grayscale'];

// ---- synthetic images and measurements ------------------------------------------------------

function synth(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(rgb(x, y), (y * width + x) * 3);
  return { width, height, data };
}

/** Colourful and textured everywhere, so every op visibly changes it. */
const colourful = (w = 300, h = 200): RgbImage =>
  synth(w, h, (x, y) => [
    (x * 255) / w,
    (y * 255) / h,
    128 + 100 * Math.sin(x / 5) * Math.cos(y / 7),
  ]);

/** 2-px black/white squares: almost all of its energy is at the highest frequencies. */
const checkerboard = (side = 200): RgbImage =>
  synth(side, side, (x, y) => ((Math.floor(x / 2) + Math.floor(y / 2)) % 2 ? [255, 255, 255] : [0, 0, 0]));

const DOT: Point = [72, 42]; // pixel index of the dot's centre
/** Dark 160×120 image with a bright 5×5 dot centred on pixel DOT, inside FACE. */
const dotted = (): RgbImage =>
  synth(160, 120, (x, y) => (Math.abs(x - DOT[0]) <= 2 && Math.abs(y - DOT[1]) <= 2 ? [255, 255, 255] : [10, 10, 10]));
const FACE: Box = [40, 20, 80, 80];

function px(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

/** Brightness-weighted centroid (pixel-index coordinates) of everything above half the range. */
function brightCentroid(img: RgbImage): Point {
  let min = 255;
  let max = 0;
  for (let i = 0; i < img.data.length; i += 3) {
    min = Math.min(min, img.data[i]);
    max = Math.max(max, img.data[i]);
  }
  const threshold = (min + max) / 2;
  let sum = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const v = img.data[(y * img.width + x) * 3] - threshold;
      if (v <= 0) continue;
      sum += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return [sx / sum, sy / sum];
}

/** Where a transform sends the centre of pixel p, in pixel-index coordinates. */
function expectedPixel(view: AugmentedView, [x, y]: Point): Point {
  const [u, v] = mapPoint(view.transform, [x + 0.5, y + 0.5]);
  return [u - 0.5, v - 0.5];
}

/** Energy of the 4-neighbour Laplacian (red channel): dominated by the finest detail. */
function hfEnergy(img: RgbImage): number {
  const { width: w, data: d } = img;
  let e = 0;
  for (let y = 1; y + 1 < img.height; y++) {
    for (let x = 1; x + 1 < w; x++) {
      const i = (y * w + x) * 3;
      const lap = 4 * d[i] - d[i - 3] - d[i + 3] - d[i - w * 3] - d[i + w * 3];
      e += lap * lap;
    }
  }
  return e;
}

function psnr(a: RgbImage, b: RgbImage): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (a.data[i] - b.data[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.data.length));
}

function isGray(img: RgbImage): boolean {
  for (let i = 0; i < img.data.length; i += 3) {
    if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) return false;
  }
  return true;
}

function byName(views: AugmentedView[], name: string): AugmentedView {
  const v = views.find((view) => view.name === name);
  if (!v) throw new Error(`no view named ${name} in ${views.map((view) => view.name).join(', ')}`);
  return v;
}

function expectShape(views: AugmentedView[], img: RgbImage): void {
  for (const v of views) {
    expect([v.name, v.image.width, v.image.height, v.image.data.length]).toEqual([
      v.name,
      img.width,
      img.height,
      img.width * img.height * 3,
    ]);
  }
}

function expectMirrored(view: RgbImage, original: RgbImage): void {
  for (let y = 0; y < original.height; y++) {
    for (let x = 0; x < original.width; x++) {
      const a = px(view, x, y);
      const b = px(original, original.width - 1 - x, y);
      if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) {
        throw new Error(`pixel (${x}, ${y}) is ${a} but its mirror is ${b}`);
      }
    }
  }
}

// ---- synthetic images ---------------------------------------------------------------------------

describe('augment: view list', () => {
  it('returns the core set, then random compositions, all input-sized RGB with unique short names', async () => {
    const img = colourful();
    const views = await augment(img, { seed: 1, views: 12 });
    expect(views).toHaveLength(12);
    expect(views.slice(0, 6).map((v) => v.name)).toEqual(CORE);
    expectShape(views, img);
    expect(new Set(views.map((v) => v.name)).size).toBe(views.length);
    for (const v of views) {
      expect(v.name.length).toBeLessThanOrEqual(64); // the roster's augmentation column
      expect(v.ops.length).toBeGreaterThan(0);
      expect(v.ops.every((op) => (AUGMENTATION_NAMES as readonly string[]).includes(op))).toBe(true);
    }
    for (const v of views.slice(6)) expect(v.name).toMatch(new RegExp(`^${v.ops.join('\\+')}-\\d+$`));
  });

  it('defaults to 12 views and always keeps the full core set', async () => {
    const img = colourful(64, 48);
    expect(await augment(img, { seed: 3 })).toHaveLength(12);
    expect((await augment(img, { seed: 3, views: 0 })).map((v) => v.name)).toEqual(CORE);
  });

  it('composes random views from several kinds of op', async () => {
    const views = await augment(colourful(96, 64), { seed: 5, views: 60 });
    const used = new Set(views.slice(6).flatMap((v) => v.ops));
    expect([...used].sort()).toEqual([...AUGMENTATION_NAMES].sort());
    expect(views.slice(6).some((v) => v.ops.length >= 2)).toBe(true);
  });

  it('is deterministic: same seed gives identical bytes, another seed differs', async () => {
    const img = colourful();
    const a = await augment(img, { seed: 42, views: 12 });
    const b = await augment(img, { seed: 42, views: 12 });
    const c = await augment(img, { seed: 43, views: 12 });
    expect(b.map((v) => v.name)).toEqual(a.map((v) => v.name));
    for (let i = 0; i < a.length; i++) {
      expect(Buffer.from(b[i].image.data).equals(Buffer.from(a[i].image.data))).toBe(true);
      expect(b[i].transform).toEqual(a[i].transform);
    }
    // flip and grayscale have no parameters; every other view must change with the seed.
    const differs = a.map((v, i) => !Buffer.from(v.image.data).equals(Buffer.from(c[i].image.data)));
    expect(differs.filter(Boolean).length).toBeGreaterThanOrEqual(a.length - 2);
    expect(a.slice(6).map((v) => v.name)).not.toEqual(c.slice(6).map((v) => v.name));
  });

  it('asking for more views only appends: earlier views are unchanged', async () => {
    const img = colourful(80, 60);
    const few = await augment(img, { seed: 9, views: 8 });
    const many = await augment(img, { seed: 9, views: 15 });
    expect(many.slice(0, 8).map((v) => v.name)).toEqual(few.map((v) => v.name));
    for (let i = 0; i < few.length; i++) {
      expect(Buffer.from(many[i].image.data).equals(Buffer.from(few[i].image.data))).toBe(true);
    }
  });

  it('honours include, in the core set and the random compositions', async () => {
    const img = colourful(80, 60);
    const views = await augment(img, { seed: 2, views: 10, include: ['blur', 'jpeg', 'affine'] });
    expect(views).toHaveLength(10);
    expect(views.slice(0, 2).map((v) => v.name)).toEqual(['blur', 'jpeg']);
    for (const v of views) expect(v.ops.every((op) => ['blur', 'jpeg', 'affine'].includes(op))).toBe(true);
    // Nothing with random parameters to compose: only the core views come back.
    const fixed = await augment(img, { seed: 2, views: 10, include: ['flip', 'grayscale'] });
    expect(fixed.map((v) => v.name)).toEqual(['flip', 'grayscale']);
    expect(await augment(img, { seed: 2, views: 10, include: [] })).toEqual([]);
  });

  it('rejects bad input with a clear reason and never modifies the input', async () => {
    const img = colourful(40, 30);
    const before = img.data.slice();
    await augment(img, { seed: 1 });
    expect(Buffer.from(img.data).equals(Buffer.from(before))).toBe(true);
    await expect(augment({ width: 40, height: 30, data: new Uint8Array(10) }, { seed: 1 })).rejects.toThrow(/expected 3600/);
    await expect(augment(img, { seed: 1, include: ['sepia' as never] })).rejects.toThrow(/unknown augmentation sepia/);
    await expect(augment(img, { seed: 1, faceBox: [0, 0, 0, 10] })).rejects.toThrow(/faceBox/);
    await expect(augment(img, { seed: Number.NaN })).rejects.toThrow(/seed/);
    await expect(augment(img, { seed: 1, views: 2.5 })).rejects.toThrow(/views/);
  });
});

describe('augment: geometry', () => {
  it('flip mirrors every pixel exactly', async () => {
    const img = colourful(101, 37); // odd width: the centre column must stay put
    const flip = byName(await augment(img, { seed: 1, views: 0 }), 'flip');
    expect(flip.transform).toEqual([-1, 0, 101, 0, 1, 0]);
    expectMirrored(flip.image, img);
  });

  it('the transform maps a marked dot to where it lands (flip, crops, affine and their compositions)', async () => {
    const img = dotted();
    const views = await augment(img, {
      seed: 11,
      views: 40,
      faceBox: FACE,
      include: ['flip', 'crop', 'centreCrop', 'affine', 'colour'],
    });
    const geometric = new Set(views.flatMap((v) => v.ops));
    for (const op of ['flip', 'crop', 'centreCrop', 'affine']) expect(geometric.has(op as never)).toBe(true);
    for (const v of views) {
      const [ex, ey] = expectedPixel(v, DOT);
      const [cx, cy] = brightCentroid(v.image);
      expect({ view: v.name, dx: Math.abs(cx - ex) <= 2, dy: Math.abs(cy - ey) <= 2 }).toEqual({ view: v.name, dx: true, dy: true });
    }
  });

  it('pixel-only ops keep the identity transform and do not move content', async () => {
    const img = dotted();
    const views = await augment(img, { seed: 4, views: 20, faceBox: FACE, include: ['lowres', 'blur', 'motionBlur', 'jpeg'] });
    for (const v of views) {
      expect(v.transform).toEqual([1, 0, 0, 0, 1, 0]);
      const [cx, cy] = brightCentroid(v.image);
      expect(Math.hypot(cx - DOT[0], cy - DOT[1])).toBeLessThanOrEqual(2);
    }
  });

  it('crops keep the face box inside the frame', async () => {
    const img = colourful(200, 150);
    const face: Box = [10, 30, 60, 70]; // off-centre, near the left edge
    const views = await augment(img, { seed: 8, views: 30, faceBox: face, include: ['crop', 'centreCrop'] });
    for (const v of views) {
      const [x, y, w, h] = mapBox(v.transform, face);
      expect(x).toBeGreaterThanOrEqual(-1e-9);
      expect(y).toBeGreaterThanOrEqual(-1e-9);
      expect(x + w).toBeLessThanOrEqual(200 + 1e-9);
      expect(y + h).toBeLessThanOrEqual(150 + 1e-9);
      // Zoom between 1/0.95 and 1/0.85.
      expect(v.transform[0]).toBeGreaterThanOrEqual(1 / AUGMENT_RANGES.cropFraction[1] - 1e-9);
      expect(v.transform[0]).toBeLessThanOrEqual(1 / AUGMENT_RANGES.cropFraction[0] + 1e-9);
    }
  });

  it('invertAffine undoes a view transform', async () => {
    const views = await augment(colourful(120, 90), { seed: 6, views: 12, include: ['affine', 'flip', 'crop'] });
    for (const v of views) {
      const back = mapPoint(invertAffine(v.transform), mapPoint(v.transform, [33.3, 71.7]));
      expect(back[0]).toBeCloseTo(33.3, 9);
      expect(back[1]).toBeCloseTo(71.7, 9);
    }
  });
});

describe('augment: colour and broadcast degradations', () => {
  it('lowres removes fine detail, scaled to the face size', async () => {
    const img = checkerboard();
    const before = hfEnergy(img);
    // Default face: 60 % of 200 px = 120 px, brought down to 24–48 px (factor 0.2–0.4).
    const lowres = byName(await augment(img, { seed: 1, views: 0, include: ['lowres'] }), 'lowres');
    expect(hfEnergy(lowres.image) / before).toBeLessThan(0.1);
    // A small face is shrunk much less, so more detail survives.
    const smallFace = byName(await augment(img, { seed: 1, views: 0, include: ['lowres'], faceBox: [80, 80, 50, 50] }), 'lowres');
    expect(hfEnergy(smallFace.image)).toBeGreaterThan(hfEnergy(lowres.image));
    // Random compositions with lowres degrade too.
    const mixed = await augment(img, { seed: 1, views: 25, include: ['lowres', 'colour', 'flip'] });
    for (const v of mixed.filter((view) => view.ops.includes('lowres'))) {
      expect(hfEnergy(v.image) / before).toBeLessThan(0.25);
    }
  });

  it('blur and motion blur lower high-frequency energy', async () => {
    const img = checkerboard(120);
    const views = await augment(img, { seed: 3, views: 8, include: ['blur', 'motionBlur'] });
    // The mildest case, a 3-px motion blur, still removes about 40 % on a 2-px checkerboard.
    for (const v of views) expect(hfEnergy(v.image) / hfEnergy(img)).toBeLessThan(0.7);
  });

  it('jpeg differs from the input but stays close (plausible PSNR)', async () => {
    const img = colourful();
    const jpeg = byName(await augment(img, { seed: 1, views: 0 }), 'jpeg');
    expect(Buffer.from(jpeg.image.data).equals(Buffer.from(img.data))).toBe(false);
    const p = psnr(jpeg.image, img);
    expect(p).toBeGreaterThan(22);
    expect(p).toBeLessThan(45);
  });

  it('grayscale has R = G = B everywhere, also after later degradations', async () => {
    const img = colourful();
    const views = await augment(img, { seed: 12, views: 40 });
    const gray = views.filter((v) => v.ops.includes('grayscale'));
    expect(gray.length).toBeGreaterThan(1);
    for (const v of gray) expect({ view: v.name, gray: isGray(v.image) }).toEqual({ view: v.name, gray: true });
    expect(isGray(byName(views, 'flip').image)).toBe(false);
  });

  it('colour jitter changes colours but not geometry', async () => {
    const img = colourful(90, 60);
    const views = await augment(img, { seed: 21, views: 10, include: ['colour'] });
    expect(views).toHaveLength(10);
    for (const v of views) {
      expect(v.transform).toEqual([1, 0, 0, 0, 1, 0]);
      expect(psnr(v.image, img)).toBeLessThan(40);
      expect(isGray(v.image)).toBe(false);
    }
  });

  it('noise has a standard deviation in its range', async () => {
    const img = synth(100, 100, () => [128, 128, 128]);
    const views = await augment(img, { seed: 5, views: 6, include: ['noise'] });
    for (const v of views) {
      let se = 0;
      for (let i = 0; i < v.image.data.length; i++) se += (v.image.data[i] - 128) ** 2;
      const sd = Math.sqrt(se / v.image.data.length);
      expect(sd).toBeGreaterThan(AUGMENT_RANGES.noiseSigma[0] * 0.8);
      expect(sd).toBeLessThan(AUGMENT_RANGES.noiseSigma[1] * 1.2);
      expect(isGray(v.image)).toBe(true); // luma noise
    }
  });
});

// ---- real data ----------------------------------------------------------------------------------

describe.skipIf(!haveFixtures('augment.test.ts: a real enrolment photo', '.'))('augment on a real enrolment photo (skipped when /work/shared/fixtures is absent)', () => {
  it('amy1.png: all views valid, flip mirrors, jpeg close, grayscale gray, lowres softer', async () => {
    const img = await decodeImage(AMY);
    const views = await augment(img, { seed: 2024, views: 12 });
    expect(views).toHaveLength(12);
    expectShape(views, img);
    expectMirrored(byName(views, 'flip').image, img);
    const p = psnr(byName(views, 'jpeg').image, img);
    expect(p).toBeGreaterThan(25);
    expect(p).toBeLessThan(45);
    expect(isGray(byName(views, 'grayscale').image)).toBe(true);
    // Over seeds 0–59 both stay below 0.45 of the original's fine detail.
    expect(hfEnergy(byName(views, 'lowres').image)).toBeLessThan(0.6 * hfEnergy(img));
    expect(hfEnergy(byName(views, 'blur').image)).toBeLessThan(0.6 * hfEnergy(img));
  });
});
