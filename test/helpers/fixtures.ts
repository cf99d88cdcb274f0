// Where the shared real-data fixtures live, and small generators for bad input.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));
export const FACEAPI_DEMO = fileURLToPath(new URL('../../node_modules/@vladmandic/face-api/demo/', import.meta.url));

/** CI=true (or any value but 0/false): the CI of a clean clone, where ../shared is laid beside it. */
const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

/**
 * Whether the shared real-data fixtures a suite needs are there (paths under FIXTURES; default
 * faces/). The one place that decides skipping: missing fixtures skip the suite with a message,
 * except under CI, where this throws so the file fails instead of passing on skipped tests.
 */
export function haveFixtures(suite: string, ...paths: string[]): boolean {
  const missing = (paths.length ? paths : ['faces']).map((p) => join(FIXTURES, p)).filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const message = `${suite}: real-data fixtures not found (${missing.join(', ')}; a fresh clone has no ../shared)`;
  if (IN_CI) throw new Error(`${message}. CI is set, so this fails instead of skipping: put the shared fixtures at ${FIXTURES}`);
  console.warn(`${message}: skipped`);
  return false;
}

export const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'] as const;
export const galleryFile = (person: string, i: number) => join(FIXTURES, 'faces', 'gallery', person, `${person}${i}.png`);
export const groupDir = () => join(FIXTURES, 'faces', 'group');

export function tempDir(prefix = 'facecast-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header claiming width × height pixels, with almost no data: a decompression bomb's shape. */
export function hugePngHeader(width = 40000, height = 40000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    pngChunk('IEND', new Uint8Array()),
  ]);
}

/** Writes the four kinds of bad input of the vision issue into dir and returns their paths. */
export async function writeBadInputs(dir: string): Promise<Record<'notImage' | 'truncated' | 'empty' | 'huge', string>> {
  const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 200, g: 120, b: 40 } } })
    .jpeg()
    .toBuffer();
  const files = {
    notImage: join(dir, 'notes.jpg'),
    truncated: join(dir, 'truncated.jpg'),
    empty: join(dir, 'empty.png'),
    huge: join(dir, 'bomb.png'),
  };
  writeFileSync(files.notImage, 'this is a text file, not a photo\n');
  writeFileSync(files.truncated, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(files.empty, new Uint8Array());
  writeFileSync(files.huge, hugePngHeader());
  return files;
}

/** One photo of group/labels.json: its size and each face's box and name (null = a stranger). */
export interface LabelledImage {
  width: number;
  height: number;
  faces: Array<{ name: string | null; box: [number, number, number, number] }>;
}

type BoxLike = readonly [number, number, number, number];
const centreOf = (b: BoxLike): [number, number] => [b[0] + b[2] / 2, b[1] + b[3] / 2];
/** Point p lies inside box b (edges included). */
export const inside = (p: readonly [number, number], b: BoxLike): boolean => p[0] >= b[0] && p[0] <= b[0] + b[2] && p[1] >= b[1] && p[1] <= b[1] + b[3];

/** The acceptance rule of the issues: a detection matches a label when each box's centre lies inside the other box. */
export const sameFace = (a: BoxLike, b: BoxLike): boolean => inside(centreOf(a), b) && inside(centreOf(b), a);
