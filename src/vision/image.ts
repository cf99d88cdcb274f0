// Image input through sharp: every format sharp reads, EXIF orientation applied, alpha dropped,
// grayscale expanded to RGB, and pixel limits so a hostile file cannot exhaust memory: one on what
// is decoded at all, one on what the models see (bigger images are shrunk before any tensor exists).
import sharp from 'sharp';
import { readFile } from 'node:fs/promises';
import { tf, type Tensor3D } from './tf.ts';
import type { RgbImage } from './types.ts';

/** Default ceiling on width × height of an input image: 4096 × 4096 (16.8 MP), above 4K video (8.3 MP). */
export const DEFAULT_MAX_PIXELS = 4096 * 4096;
/** Default ceiling on width × height of what the models see: 2048 × 2048 (4.2 MP), 12 bytes a pixel as a tensor. */
export const DEFAULT_MAX_TENSOR_PIXELS = 2048 * 2048;

/** too-large: over the pixel limit (413); unreadable: not an image, corrupt, empty, missing (422). */
export type ImageInputReason = 'too-large' | 'unreadable';

export class ImageInputError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly reason: ImageInputReason = 'unreadable',
  ) {
    super(`${source}: ${message}`);
    this.name = 'ImageInputError';
  }
}

/** "4096×4096 (16.8 MP)": a pixel count as the largest square that fits and in megapixels. */
export function describePixels(pixels: number): string {
  const side = Math.floor(Math.sqrt(pixels));
  return `${pixels.toLocaleString('en')} pixels (${side}×${side}, ${(pixels / 1e6).toFixed(1)} MP)`;
}

function tooLarge(source: string, maxPixels: number, size?: { width: number; height: number }): ImageInputError {
  const what = size ? `image is ${size.width}×${size.height}, over the pixel limit of ${describePixels(maxPixels)}` : `image is over the pixel limit of ${describePixels(maxPixels)}`;
  return new ImageInputError(source, `${what}; downscale it (a face needs no more than 2048 px on the longer side) or raise vision.maxImagePixels`, 'too-large');
}

/** Turns sharp/libvips wording into a one-line reason with what to do. */
function explain(source: string, err: unknown, maxPixels: number): ImageInputError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg)) return tooLarge(source, maxPixels);
  if (/unsupported image format/i.test(msg)) return new ImageInputError(source, 'not an image sharp can read (JPEG, PNG, WebP, GIF, TIFF, AVIF, HEIF, SVG)');
  if (/premature end|truncated|corrupt|VipsJpeg|read error|Invalid|bad|EOF/i.test(msg)) {
    return new ImageInputError(source, `image data is corrupt or truncated (${msg.split('\n')[0]}); re-export or re-download the file`);
  }
  return new ImageInputError(source, msg.split('\n')[0] ?? 'unreadable image');
}

function rgbOf(data: Buffer, info: { width: number; height: number }): RgbImage {
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Decodes an image file or buffer to 8-bit RGB. Throws ImageInputError with a one-line reason. */
export async function decodeImage(
  input: string | Uint8Array,
  opts: { maxPixels?: number; source?: string } = {},
): Promise<RgbImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const source = opts.source ?? (typeof input === 'string' ? input : '<buffer>');
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? await readFile(input) : input;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageInputError(source, code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`);
  }
  if (bytes.byteLength === 0) throw new ImageInputError(source, 'file is empty (0 bytes)');
  let size: { width: number; height: number } | undefined;
  try {
    // The header alone says the size: a bomb is refused before a pixel is decoded.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (meta.width && meta.height) size = { width: meta.width, height: meta.height };
  } catch (err) {
    throw explain(source, err, maxPixels);
  }
  if (size && size.width * size.height > maxPixels) throw tooLarge(source, maxPixels, size);
  try {
    // failOn 'error' rejects truncated data instead of returning a half-grey picture.
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' })
      .rotate() // apply EXIF orientation
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return rgbOf(data, info);
  } catch (err) {
    throw explain(source, err, maxPixels);
  }
}

/** The image as an int32 [h, w, 3] tensor (12 bytes a pixel: keep it under the tensor limit). The caller disposes it. */
export function imageToTensor(img: RgbImage): Tensor3D {
  return tf.tensor3d(new Int32Array(img.data), [img.height, img.width, 3], 'int32');
}

/** An image shrunk to fit a pixel budget, and how its pixels relate to the original's. */
export interface FittedImage {
  image: RgbImage;
  /** Pixels of `image` per pixel of the original (1 when it already fitted). */
  scale: number;
}

/** The scale (≤ 1) that brings a width × height image within maxPixels. */
function fitScale(width: number, height: number, maxPixels: number): number {
  return width * height <= maxPixels ? 1 : Math.sqrt(maxPixels / (width * height));
}

/** Resizes raw RGB with sharp (area-averaging when shrinking) to exactly width × height. */
async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rgbOf(data, info);
}

/**
 * The image itself when it has at most maxPixels, else a copy downscaled (in sharp, so no tensor
 * ever holds the big one) to fit. Sides are rounded down, so the limit holds exactly.
 */
export async function fitImage(img: RgbImage, maxPixels: number): Promise<FittedImage> {
  const s = fitScale(img.width, img.height, maxPixels);
  if (s === 1) return { image: img, scale: 1 };
  const width = Math.max(1, Math.floor(img.width * s));
  const height = Math.max(1, Math.floor(img.height * s));
  return { image: await resizeRgb(img, width, height), scale: Math.min(width / img.width, height / img.height) };
}

/**
 * Pads an image on every side by `fraction` of its larger side with mid-grey, for tight face crops.
 * Grey beats copied or mirrored edges: on the 40 tight gallery crops, grey at 0.5 lets SSD find 36
 * faces and MTCNN 40, copied edges 34 and 39, mirrored edges 5 and 38 (mirrored faces confuse SSD).
 * Padding by 0.5 doubles each side; when the padded copy would exceed maxPixels the image is first
 * shrunk so that it fits (`scale` then says by how much; `offset` is in the padded image's pixels).
 */
export async function padImage(img: RgbImage, fraction: number, maxPixels = Infinity): Promise<{ image: RgbImage; offset: number; scale: number }> {
  const paddedPixels = (w: number, h: number, pad: number) => (w + 2 * pad) * (h + 2 * pad);
  let source = img;
  let scale = 1;
  let pad = Math.round(Math.max(img.width, img.height) * fraction);
  if (paddedPixels(img.width, img.height, pad) > maxPixels) {
    // The padded size scales with s²; sides and pad are rounded down so the limit holds exactly.
    const s = Math.sqrt(maxPixels / paddedPixels(img.width, img.height, Math.max(img.width, img.height) * fraction));
    const width = Math.max(1, Math.floor(img.width * s));
    const height = Math.max(1, Math.floor(img.height * s));
    source = await resizeRgb(img, width, height);
    scale = Math.min(width / img.width, height / img.height);
    pad = Math.floor(Math.max(width, height) * fraction);
  }
  const { data, info } = await sharp(source.data, { raw: { width: source.width, height: source.height, channels: 3 } })
    .extend({ top: pad, bottom: pad, left: pad, right: pad, background: { r: 128, g: 128, b: 128 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { image: rgbOf(data, info), offset: pad, scale };
}
