// Enrolment augmentation. A player is enrolled from a handful of clean photos, but is recognised in
// broadcast frames: small, soft, compressed, colour-graded faces seen at an angle. Each enrolment
// photo is turned into a deterministic set of views that show that variation, and every view is
// embedded, so the gallery already holds "how this face looks on air".
//
// Design:
// - Every view is planned first (all random draws, synchronously, from a PRNG seeded per view) and
//   executed afterwards. The plan of view i depends only on (seed, i, image size, face box,
//   include), so results are reproducible and a larger `views` only appends views.
// - All geometric ops (flip, crops, affine) of one view are composed into one 2×3 matrix and
//   applied in one bilinear warp: one resampling instead of several (less accidental blur), an
//   exact transform for the caller, and edge-replicated borders (sharp's affine() only fills
//   with a constant colour, which leaves hard bars a face detector may latch onto).
// - Pixel ops that sharp does well (colour modulation, resizing, blur, convolution, JPEG) go
//   through sharp; the trivial per-pixel ones (grayscale, noise) are plain loops, which are cheaper
//   than a sharp round trip at these image sizes.
import { createRng } from '../shared/random.ts';
import sharp, { type Sharp } from 'sharp';
import type { Box, Point, RgbImage } from '../vision/types.ts';

export const AUGMENTATION_NAMES = [
  'flip',
  'crop',
  'centreCrop',
  'affine',
  'colour',
  'grayscale',
  'lowres',
  'blur',
  'motionBlur',
  'noise',
  'jpeg',
] as const;
export type AugmentationName = (typeof AUGMENTATION_NAMES)[number];

/**
 * Row-major 2×3 affine [a, b, tx, c, d, ty]: x' = a·x + b·y + tx, y' = c·x + d·y + ty, mapping
 * original → augmented image. Coordinates are continuous pixel coordinates: pixel (i, j) covers
 * [i, i+1) × [j, j+1), so its centre is (i + 0.5, j + 0.5) and a box [x, y, w, h] maps corner by
 * corner (see mapPoint / mapBox).
 */
export type Affine2x3 = [number, number, number, number, number, number];

export interface AugmentedView {
  /**
   * Unique within one augment() call and stable for a given seed: the core views are named by
   * their op ("flip", "lowres", …), random compositions "op+op+…-i" (e.g. "affine+colour-3").
   * At most 64 characters, so it fits the roster's `augmentation` column.
   */
  name: string;
  /** The ops applied, in order. */
  ops: AugmentationName[];
  /** Same width and height as the input, 3 channels. */
  image: RgbImage;
  /** Original → augmented coordinates; identity for views without geometric ops. */
  transform: Affine2x3;
}

export interface AugmentOptions {
  /** Any finite number; the same seed gives byte-identical views. */
  seed: number;
  /**
   * Total number of views wanted (default 12). The core set (one view per core op that `include`
   * allows) is always returned, so the result has max(views, core count) views, fewer only when
   * `include` leaves nothing with random parameters to compose.
   */
  views?: number;
  /** Restricts which ops may be used, in the core set and in random compositions (default: all). */
  include?: readonly AugmentationName[];
  /** The face in the original image, [x, y, w, h]; default: a centred box of 60 % of each side. */
  faceBox?: Box;
}

/** Parameter ranges; every random parameter is drawn uniformly from its range. */
export const AUGMENT_RANGES = {
  /** Crop side as a fraction of the image side (aspect kept), then resized back to full size. */
  cropFraction: [0.85, 0.95],
  rotateDeg: [-15, 15],
  /** Translation as a fraction of the image width / height. */
  translateFraction: [-0.06, 0.06],
  shearDeg: [-8, 8],
  scale: [0.9, 1.1],
  brightness: [0.75, 1.25],
  saturation: [0.6, 1.4],
  /** Whole degrees (sharp.modulate takes integers). */
  hueDeg: [-10, 10],
  contrast: [0.8, 1.2],
  /** Face width in pixels after downscaling; the image is then scaled back up. */
  lowresFaceWidth: [24, 48],
  blurSigma: [0.8, 2],
  /** Odd kernel length in pixels; direction is any angle. */
  motionBlurLength: [3, 9],
  /** Standard deviation of luma noise, in 0..255 units. */
  noiseSigma: [2, 8],
  jpegQuality: [15, 40],
} as const satisfies Record<string, readonly [number, number]>;

/** The views every call returns (where `include` allows), in this order. */
const CORE_OPS: readonly AugmentationName[] = ['flip', 'centreCrop', 'lowres', 'blur', 'jpeg', 'grayscale'];

/** Without a face box the face is assumed centred and covering this fraction of each side. */
const DEFAULT_FACE_FRACTION = 0.6;
const DEFAULT_VIEWS = 12;
/** Re-draws allowed for one random view before giving up (only hit with a very narrow `include`). */
const MAX_DRAWS = 32;

// ---------------------------------------------------------------------------------------------
// Seeded randomness

type Rng = () => number;

/** Augmentation parameters come from a seeded PRNG so a photo's views are repeatable. */
const mulberry32: (seed: number) => Rng = createRng;

/** An independent seed per (seed, salt), so each view's draws do not depend on the other views. */
function deriveSeed(seed: number, salt: string): number {
  // FNV-1a over the salt, started from the user seed, then a murmur3-style finaliser.
  let h = (0x811c9dc5 ^ (Math.trunc(seed) >>> 0) ^ Math.trunc(seed / 4294967296)) >>> 0;
  for (let i = 0; i < salt.length; i++) h = Math.imul(h ^ salt.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function uniform(rng: Rng, [lo, hi]: readonly [number, number]): number {
  return lo + (hi - lo) * rng();
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.min(items.length - 1, Math.floor(rng() * items.length))];
}

// ---------------------------------------------------------------------------------------------
// Affine helpers

const IDENTITY: Affine2x3 = [1, 0, 0, 0, 1, 0];

/** Applies an original → augmented transform to a point (continuous pixel coordinates). */
export function mapPoint(t: Affine2x3, [x, y]: Point): Point {
  return [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]];
}

/** The axis-aligned bounding box of a mapped box (exact for flips, crops and scales). */
export function mapBox(t: Affine2x3, [x, y, w, h]: Box): Box {
  const corners = [mapPoint(t, [x, y]), mapPoint(t, [x + w, y]), mapPoint(t, [x, y + h]), mapPoint(t, [x + w, y + h])];
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const y0 = Math.min(...ys);
  return [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
}

/** The augmented → original transform, e.g. to map a detection in a view back to the photo. */
export function invertAffine([a, b, tx, c, d, ty]: Affine2x3): Affine2x3 {
  const det = a * d - b * c;
  if (Math.abs(det) < 1e-12) throw new RangeError('transform is not invertible');
  const ia = d / det;
  const ib = -b / det;
  const ic = -c / det;
  const id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/** `second ∘ first`: apply `first`, then `second`. */
function compose(second: Affine2x3, first: Affine2x3): Affine2x3 {
  const [a, b, c, d, e, f] = second;
  const [p, q, r, s, t, u] = first;
  return [a * p + b * s, a * q + b * t, a * r + b * u + c, d * p + e * s, d * q + e * t, d * r + e * u + f];
}

function isIdentity(t: Affine2x3): boolean {
  return t.every((v, i) => Math.abs(v - IDENTITY[i]) < 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Planning: every random draw happens here, before any pixel is touched.

type PixelStep =
  | { op: 'colour'; brightness: number; saturation: number; hue: number; contrast: number }
  | { op: 'grayscale' }
  | { op: 'lowres'; smallWidth: number; smallHeight: number; upKernel: 'linear' | 'cubic' }
  | { op: 'blur'; sigma: number }
  | { op: 'motionBlur'; length: number; angleDeg: number }
  | { op: 'noise'; sigma: number; seed: number }
  | { op: 'jpeg'; quality: number };

interface ViewPlan {
  name: string;
  ops: AugmentationName[];
  transform: Affine2x3;
  pixelSteps: PixelStep[];
}

/** What a draw needs to know: the image size and where the face is after the ops so far. */
interface PlanContext {
  width: number;
  height: number;
  originalFace: Box;
  transform: Affine2x3;
}

/** Ops without random parameters: a view made only of these would duplicate a core view. */
const FIXED_OPS = new Set<AugmentationName>(['flip', 'grayscale']);

function currentFace(ctx: PlanContext): Box {
  return mapBox(ctx.transform, ctx.originalFace);
}

function flipMatrix(ctx: PlanContext): Affine2x3 {
  return [-1, 0, ctx.width, 0, 1, 0];
}

/** The window origin along one axis: random where the window still holds the face, else face-centred. */
function cropOffset(rng: Rng | null, faceStart: number, faceSize: number, window: number, full: number): number {
  const lo = Math.max(0, faceStart + faceSize - window);
  const hi = Math.min(full - window, faceStart);
  if (rng && lo <= hi) return lo + (hi - lo) * rng();
  return Math.min(full - window, Math.max(0, faceStart + faceSize / 2 - window / 2));
}

/** Crop `fraction` of each side (aspect kept) and resize back to full size, as one matrix. */
function cropMatrix(ctx: PlanContext, rng: Rng, centred: boolean): Affine2x3 {
  const f = uniform(rng, AUGMENT_RANGES.cropFraction);
  const [fx, fy, fw, fh] = currentFace(ctx);
  const cw = f * ctx.width;
  const ch = f * ctx.height;
  const x0 = cropOffset(centred ? null : rng, fx, fw, cw, ctx.width);
  const y0 = cropOffset(centred ? null : rng, fy, fh, ch, ctx.height);
  return [1 / f, 0, -x0 / f, 0, 1 / f, -y0 / f];
}

/** Scale, shear and rotate about the face centre (so the face stays in frame), then translate. */
function affineMatrix(ctx: PlanContext, rng: Rng): Affine2x3 {
  const r = AUGMENT_RANGES;
  const theta = (uniform(rng, r.rotateDeg) * Math.PI) / 180;
  const shear = Math.tan((uniform(rng, r.shearDeg) * Math.PI) / 180);
  const s = uniform(rng, r.scale);
  const tx = uniform(rng, r.translateFraction) * ctx.width;
  const ty = uniform(rng, r.translateFraction) * ctx.height;
  const [fx, fy, fw, fh] = currentFace(ctx);
  const cx = fx + fw / 2;
  const cy = fy + fh / 2;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  // Linear part L = R(θ) · [[1, shear], [0, 1]] · s.
  const a = s * cos;
  const b = s * (cos * shear - sin);
  const c = s * sin;
  const d = s * (sin * shear + cos);
  // p' = L (p − centre) + centre + t
  return [a, b, cx + tx - (a * cx + b * cy), c, d, cy + ty - (c * cx + d * cy)];
}

/** Downscale so the face (as it is after the geometric ops) is 24–48 px wide. */
function lowresStep(ctx: PlanContext, rng: Rng): PixelStep {
  const [a, b, , c, d] = ctx.transform;
  const faceWidth = ctx.originalFace[2] * Math.sqrt(Math.abs(a * d - b * c));
  // A face already at or below the target is left at full resolution: upsizing is no degradation.
  const k = Math.min(1, uniform(rng, AUGMENT_RANGES.lowresFaceWidth) / faceWidth);
  return {
    op: 'lowres',
    smallWidth: Math.max(1, Math.round(ctx.width * k)),
    smallHeight: Math.max(1, Math.round(ctx.height * k)),
    upKernel: rng() < 0.5 ? 'linear' : 'cubic', // broadcast scalers are bilinear or bicubic
  };
}

/** A uniformly drawn odd integer in [lo, hi] (lo odd): odd kernels have a centre pixel, so no shift. */
function oddInRange(rng: Rng, [lo, hi]: readonly [number, number]): number {
  const count = Math.floor((hi - lo) / 2) + 1;
  return lo + 2 * Math.min(count - 1, Math.floor(rng() * count));
}

/** Draws one op's parameters and adds it to the plan. */
function planOp(op: AugmentationName, ctx: PlanContext, rng: Rng, steps: PixelStep[]): void {
  const r = AUGMENT_RANGES;
  switch (op) {
    case 'flip':
    case 'crop':
    case 'centreCrop':
    case 'affine': {
      const m =
        op === 'flip' ? flipMatrix(ctx) : op === 'affine' ? affineMatrix(ctx, rng) : cropMatrix(ctx, rng, op === 'centreCrop');
      ctx.transform = compose(m, ctx.transform);
      return;
    }
    case 'colour':
      steps.push({
        op,
        brightness: uniform(rng, r.brightness),
        saturation: uniform(rng, r.saturation),
        hue: Math.round(uniform(rng, r.hueDeg)),
        contrast: uniform(rng, r.contrast),
      });
      return;
    case 'grayscale':
      steps.push({ op });
      return;
    case 'lowres':
      steps.push(lowresStep(ctx, rng));
      return;
    case 'blur':
      steps.push({ op, sigma: uniform(rng, r.blurSigma) });
      return;
    case 'motionBlur':
      steps.push({ op, length: oddInRange(rng, r.motionBlurLength), angleDeg: uniform(rng, [0, 180]) });
      return;
    case 'noise':
      steps.push({ op, sigma: uniform(rng, r.noiseSigma), seed: Math.floor(rng() * 4294967296) });
      return;
    case 'jpeg':
      steps.push({ op, quality: Math.round(uniform(rng, r.jpegQuality)) });
      return;
  }
}

function planView(name: string, ops: AugmentationName[], base: Omit<PlanContext, 'transform'>, rng: Rng): ViewPlan {
  const ctx: PlanContext = { ...base, transform: IDENTITY };
  const pixelSteps: PixelStep[] = [];
  for (const op of ops) planOp(op, ctx, rng, pixelSteps);
  return { name, ops, transform: ctx.transform, pixelSteps };
}

/** Order ops are applied in: geometry, then grading, then the broadcast chain (optics, scaler, sensor, codec). */
const APPLY_ORDER: readonly AugmentationName[] = [
  'flip',
  'crop',
  'centreCrop',
  'affine',
  'colour',
  'grayscale',
  'lowres',
  'blur',
  'motionBlur',
  'noise',
  'jpeg',
];

/** Draws which ops one random view composes; may return an unusable set (empty or fixed-only). */
function drawComposition(rng: Rng, allowed: ReadonlySet<AugmentationName>): AugmentationName[] {
  const chosen = new Set<AugmentationName>();
  const geo = (['affine', 'affine', 'affine', 'crop', 'crop', 'centreCrop'] as const).filter((o) => allowed.has(o));
  if (geo.length > 0 && rng() < 0.8) chosen.add(pick(rng, geo));
  if (allowed.has('flip') && rng() < 0.5) chosen.add('flip');
  if (allowed.has('colour') && rng() < 0.6) chosen.add('colour');
  if (allowed.has('grayscale') && rng() < 0.1) chosen.add('grayscale');
  const degradations = (['lowres', 'blur', 'motionBlur', 'noise', 'jpeg'] as const).filter((o) => allowed.has(o));
  const u = rng();
  const count = u < 0.3 ? 0 : u < 0.75 ? 1 : 2;
  for (let n = 0; n < count && degradations.length > 0; n++) {
    chosen.add(degradations.splice(Math.floor(rng() * degradations.length), 1)[0]); // distinct picks
  }
  return APPLY_ORDER.filter((o) => chosen.has(o));
}

function isUsable(ops: AugmentationName[]): boolean {
  return ops.some((o) => !FIXED_OPS.has(o));
}

function plan(width: number, height: number, opts: AugmentOptions): ViewPlan[] {
  const allowed = new Set<AugmentationName>(opts.include ?? AUGMENTATION_NAMES);
  const base = { width, height, originalFace: opts.faceBox ?? defaultFaceBox(width, height) };
  const plans = CORE_OPS.filter((op) => allowed.has(op)).map((op) =>
    planView(op, [op], base, mulberry32(deriveSeed(opts.seed, `core:${op}`))),
  );
  const views = opts.views ?? DEFAULT_VIEWS;
  for (let i = 0; plans.length < views; i++) {
    const rng = mulberry32(deriveSeed(opts.seed, `random:${i}`));
    let ops: AugmentationName[] = [];
    for (let tries = 0; tries < MAX_DRAWS && !isUsable(ops); tries++) ops = drawComposition(rng, allowed);
    if (!isUsable(ops)) break; // `include` offers nothing with random parameters
    plans.push(planView(`${ops.join('+')}-${i}`, ops, base, rng));
  }
  return plans;
}

function defaultFaceBox(width: number, height: number): Box {
  const w = width * DEFAULT_FACE_FRACTION;
  const h = height * DEFAULT_FACE_FRACTION;
  return [(width - w) / 2, (height - h) / 2, w, h];
}

// ---------------------------------------------------------------------------------------------
// Execution

/** Inverse-mapped bilinear warp to the same size, borders replicated from the nearest edge pixel. */
function warpAffine(img: RgbImage, forward: Affine2x3): RgbImage {
  const { width: w, height: h, data: src } = img;
  const [a, b, tx, c, d, ty] = invertAffine(forward);
  const out = new Uint8Array(w * h * 3);
  let o = 0;
  for (let y = 0; y < h; y++) {
    // Output pixel centre (x + 0.5, y + 0.5) → source continuous point → source pixel-index space (−0.5).
    const v = y + 0.5;
    for (let x = 0; x < w; x++) {
      const u = x + 0.5;
      const sx = a * u + b * v + tx - 0.5;
      const sy = c * u + d * v + ty - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const xa = x0 < 0 ? 0 : x0 >= w ? w - 1 : x0;
      const xb = x0 + 1 < 0 ? 0 : x0 + 1 >= w ? w - 1 : x0 + 1;
      const ya = y0 < 0 ? 0 : y0 >= h ? h - 1 : y0;
      const yb = y0 + 1 < 0 ? 0 : y0 + 1 >= h ? h - 1 : y0 + 1;
      const p00 = (ya * w + xa) * 3;
      const p01 = (ya * w + xb) * 3;
      const p10 = (yb * w + xa) * 3;
      const p11 = (yb * w + xb) * 3;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let k = 0; k < 3; k++) {
        out[o++] = Math.round(w00 * src[p00 + k] + w01 * src[p01 + k] + w10 * src[p10 + k] + w11 * src[p11 + k]);
      }
    }
  }
  return { width: w, height: h, data: out };
}

function sharpRaw(img: RgbImage): Sharp {
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } });
}

/** Finishes a sharp pipeline as 8-bit RGB. */
async function toRgb(pipeline: Sharp): Promise<RgbImage> {
  const { data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`augment: sharp returned ${info.channels} channels, expected 3`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Runs one raw-in, raw-out sharp pipeline. */
function viaSharp(img: RgbImage, build: (s: Sharp) => Sharp): Promise<RgbImage> {
  return toRgb(build(sharpRaw(img)));
}

/** Rec. 601 luma into all three channels, so the view stays 3-channel for the embedder. */
function grayscale(img: RgbImage): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    const yv = (77 * src[i] + 150 * src[i + 1] + 29 * src[i + 2] + 128) >> 8;
    out[i] = out[i + 1] = out[i + 2] = yv;
  }
  return { ...img, data: out };
}

/** Gaussian sensor noise, the same on all channels (luma noise), so gray views stay gray. */
function addNoise(img: RgbImage, sigma: number, seed: number): RgbImage {
  const rng = mulberry32(seed);
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    // Box–Muller; 1 − rng() keeps the log argument in (0, 1].
    const n = sigma * Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    for (let k = 0; k < 3; k++) {
      const v = Math.round(src[i + k] + n);
      out[i + k] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { ...img, data: out };
}

/** A normalised line kernel through the centre, so motion blur does not shift the image. */
function motionKernel(length: number, angleDeg: number): number[] {
  const kernel = new Array<number>(length * length).fill(0);
  const half = (length - 1) / 2;
  const dx = Math.cos((angleDeg * Math.PI) / 180);
  const dy = Math.sin((angleDeg * Math.PI) / 180);
  const samples = length * 4 + 1; // odd and symmetric about the centre
  for (let i = 0; i < samples; i++) {
    const t = -half + (2 * half * i) / (samples - 1);
    kernel[Math.round(half + t * dy) * length + Math.round(half + t * dx)] += 1;
  }
  return kernel;
}

async function applyStep(img: RgbImage, step: PixelStep): Promise<RgbImage> {
  switch (step.op) {
    case 'colour':
      return viaSharp(img, (s) =>
        s
          .modulate({ brightness: step.brightness, saturation: step.saturation, hue: step.hue })
          .linear(step.contrast, 128 * (1 - step.contrast)),
      );
    case 'grayscale':
      return grayscale(img);
    case 'lowres': {
      if (step.smallWidth === img.width && step.smallHeight === img.height) return img;
      const small = await viaSharp(img, (s) => s.resize(step.smallWidth, step.smallHeight, { fit: 'fill' }));
      return viaSharp(small, (s) => s.resize(img.width, img.height, { fit: 'fill', kernel: step.upKernel }));
    }
    case 'blur':
      return viaSharp(img, (s) => s.blur(step.sigma));
    case 'motionBlur': {
      const kernel = motionKernel(step.length, step.angleDeg);
      return viaSharp(img, (s) => s.convolve({ width: step.length, height: step.length, kernel }));
    }
    case 'noise':
      return addNoise(img, step.sigma, step.seed);
    case 'jpeg': {
      // 4:2:0 chroma subsampling, as broadcast and streaming codecs do.
      const jpeg = await sharpRaw(img).jpeg({ quality: step.quality, chromaSubsampling: '4:2:0' }).toBuffer();
      return toRgb(sharp(jpeg));
    }
  }
}

async function execute(img: RgbImage, p: ViewPlan): Promise<AugmentedView> {
  let out = isIdentity(p.transform) ? img : warpAffine(img, p.transform);
  for (const step of p.pixelSteps) out = await applyStep(out, step);
  if (out === img) out = { ...img, data: img.data.slice() }; // views never alias the caller's pixels
  return { name: p.name, ops: p.ops, image: out, transform: p.transform };
}

function validate(image: RgbImage, opts: AugmentOptions): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 2 || height < 2) {
    throw new RangeError(`augment: image must be at least 2×2 pixels (got ${width}×${height})`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`augment: image data has ${data.length} bytes, expected ${width * height * 3} (RGB)`);
  }
  if (!Number.isFinite(opts.seed)) throw new RangeError('augment: seed must be a finite number');
  if (opts.views !== undefined && (!Number.isInteger(opts.views) || opts.views < 0)) {
    throw new RangeError(`augment: views must be a non-negative integer (got ${opts.views})`);
  }
  const unknown = (opts.include ?? []).filter((n) => !(AUGMENTATION_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) {
    throw new RangeError(`augment: unknown augmentation ${unknown.join(', ')}; known: ${AUGMENTATION_NAMES.join(', ')}`);
  }
  const box = opts.faceBox;
  if (box && (box.length !== 4 || !box.every(Number.isFinite) || box[2] <= 0 || box[3] <= 0)) {
    throw new RangeError(`augment: faceBox must be [x, y, w, h] with w, h > 0 (got ${JSON.stringify(box)})`);
  }
}

/**
 * Augmented views of one enrolment photo: the core set (flip, centreCrop, lowres, blur, jpeg,
 * grayscale; those `include` allows) followed by random compositions up to `views`. Every view
 * has the input's size and 3 channels; the input is not modified. Deterministic for a seed.
 */
export async function augment(image: RgbImage, opts: AugmentOptions): Promise<AugmentedView[]> {
  validate(image, opts);
  const plans = plan(image.width, image.height, opts);
  return Promise.all(plans.map((p) => execute(image, p)));
}
