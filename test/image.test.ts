import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { decodeImage, ImageInputError } from '../src/vision/image.ts';
import { tempDir, writeBadInputs } from './helpers/fixtures.ts';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

/** A 40×20 image: left half red, right half blue. */
async function halves(): Promise<Buffer> {
  const raw = Buffer.alloc(40 * 20 * 3);
  for (let y = 0; y < 20; y++)
    for (let x = 0; x < 40; x++) raw.set(x < 20 ? [255, 0, 0] : [0, 0, 255], (y * 40 + x) * 3);
  return sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).png().toBuffer();
}

describe('decodeImage', () => {
  it.each(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const)('reads %s as 8-bit RGB', async (format) => {
    const buf = await sharp(await halves())[format]().toBuffer();
    const img = await decodeImage(buf);
    expect([img.width, img.height]).toEqual([40, 20]);
    expect(img.data.length).toBe(40 * 20 * 3);
    const left = img.data.subarray((10 * 40 + 5) * 3, (10 * 40 + 5) * 3 + 3);
    const right = img.data.subarray((10 * 40 + 35) * 3, (10 * 40 + 35) * 3 + 3);
    expect(left[0]).toBeGreaterThan(180);
    expect(left[2]).toBeLessThan(80);
    expect(right[2]).toBeGreaterThan(180);
    expect(right[0]).toBeLessThan(80);
  });

  it('applies EXIF orientation', async () => {
    // Orientation 6 = the camera was turned: the stored 40×20 picture is shown 20×40.
    const buf = await sharp(await halves()).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const img = await decodeImage(buf);
    expect([img.width, img.height]).toEqual([20, 40]);
    // Rotated 90° clockwise: the red (left) half is now on top.
    expect(img.data[(5 * 20 + 10) * 3]).toBeGreaterThan(180);
    expect(img.data[(35 * 20 + 10) * 3 + 2]).toBeGreaterThan(180);
  });

  it('drops alpha and expands grayscale to RGB', async () => {
    const rgba = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 10, g: 20, b: 30, alpha: 0.5 } } }).png().toBuffer();
    expect((await decodeImage(rgba)).data.length).toBe(8 * 8 * 3);
    const gray = await sharp(Buffer.alloc(64, 77), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer();
    const img = await decodeImage(gray);
    expect(img.data.length).toBe(8 * 8 * 3);
    expect(Array.from(img.data.subarray(0, 3))).toEqual([77, 77, 77]);
  });

  it('refuses each kind of bad input with a one-line reason', async () => {
    const files = await writeBadInputs(tempDir());
    const reasons: Record<string, RegExp> = {
      notImage: /not an image/,
      truncated: /corrupt or truncated/,
      empty: /empty \(0 bytes\)/,
      huge: /pixel limit/,
    };
    for (const [kind, file] of Object.entries(files)) {
      const err = await decodeImage(file).then(() => null, (e: unknown) => e);
      expect(err, kind).toBeInstanceOf(ImageInputError);
      expect((err as Error).message, kind).toMatch(reasons[kind]!);
      expect((err as Error).message, kind).not.toContain('\n');
      expect((err as Error).message.startsWith(file), kind).toBe(true);
    }
  });

  it('says when the file does not exist', async () => {
    const missing = join(tempDir(), 'nope.jpg');
    await expect(decodeImage(missing)).rejects.toThrow(/file not found/);
    writeFileSync(missing, 'x');
    await expect(decodeImage(missing)).rejects.toThrow(ImageInputError);
  });
});
