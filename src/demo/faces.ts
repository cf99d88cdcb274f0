// Who is in the demo photos: every confident face of the sample photos, grouped into people by
// embedding distance (the same woman appears in two of them), and enrolment crops for each
// appearance. Enrolment accepts only photos with exactly one face, so each crop shows one face
// and any other face that falls inside it is painted over.
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { VisionEngine } from '../vision/engine.ts';
import { decodeImage } from '../vision/image.ts';
import type { Box } from '../vision/types.ts';

/**
 * Faces below this detector score or side are left out: in the samples those are a necklace
 * pendant (18 px) and half a forehead next to a real face, both with scores near 0.8, while every
 * real face scores above 0.99 and is wider than 150 px.
 */
export const MIN_FACE_SCORE = 0.95;
export const MIN_FACE_SIDE = 64;

/**
 * Two faces closer than this are one person. In the samples the one repeated woman is at 0.26 and
 * the closest two different people at 0.38 (two women in the same photo), so 0.32 sits in the gap
 * with room for another backend's rounding. The live verify threshold (0.414) is looser on purpose:
 * here a wrong merge would give two people one name on air.
 */
export const SAME_PERSON_DISTANCE = 0.32;

export interface Appearance {
  /** The sample photo's file name, e.g. 'sample3.jpg'. */
  photo: string;
  /** Full path of that photo. */
  file: string;
  box: Box;
  embedding: Float32Array;
  /** Every other detection of the photo that does not touch this face: painted over in crops. */
  others: Box[];
}

export interface DemoPerson {
  /** Photo order, then left to right: the first appearance decides the person's place. */
  appearances: Appearance[];
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

function intersects(a: Box, b: Box): boolean {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

/** Confident faces of each photo, left to right (the detector's own order may vary by backend). */
export async function detectDemoFaces(engine: VisionEngine, files: string[], onPhoto?: (i: number, file: string) => void): Promise<Appearance[]> {
  const out: Appearance[] = [];
  for (const [i, file] of files.entries()) {
    onPhoto?.(i, file);
    const image = await decodeImage(file, { maxPixels: engine.config.maxImagePixels });
    const all = await engine.analyse(image);
    const faces = all
      .filter((f) => f.score >= MIN_FACE_SCORE && Math.min(f.box[2], f.box[3]) >= MIN_FACE_SIDE && f.embedding)
      .sort((a, b) => a.box[0] - b.box[0]);
    for (const f of faces) {
      // Weak detections count too (a crop must show one face to the enrolment's detector as well),
      // unless they overlap this face: painting those would paint over part of it.
      const others = all.filter((o) => o !== f && !intersects(o.box, f.box)).map((o) => o.box);
      out.push({ photo: basename(file), file, box: f.box, embedding: Float32Array.from(f.embedding!), others });
    }
  }
  return out;
}

/**
 * Single-linkage grouping under SAME_PERSON_DISTANCE; faces of one photo are never merged (two
 * faces in one picture are two people, however alike).
 */
export function groupPeople(faces: Appearance[]): DemoPerson[] {
  const parent = faces.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const photosOf = (r: number) => new Set(faces.flatMap((f, i) => (root(i) === r ? [f.photo] : [])));
  for (let i = 0; i < faces.length; i++) {
    for (let j = i + 1; j < faces.length; j++) {
      const [ri, rj] = [root(i), root(j)];
      if (ri === rj || distance(faces[i]!.embedding, faces[j]!.embedding) >= SAME_PERSON_DISTANCE) continue;
      const pi = photosOf(ri);
      if ([...photosOf(rj)].some((p) => pi.has(p))) continue;
      parent[Math.max(ri, rj)] = Math.min(ri, rj);
    }
  }
  const people = new Map<number, DemoPerson>();
  faces.forEach((f, i) => {
    const r = root(i);
    if (!people.has(r)) people.set(r, { appearances: [] });
    people.get(r)!.appearances.push(f);
  });
  return [...people.values()];
}

export interface CropSpec {
  /** Side of the square crop as a multiple of the face box's longer side. */
  side: number;
  /** Width of the face in the output crop, in pixels (the crop is rescaled to it); 0 = native. */
  faceWidth: number;
}

/**
 * Two framings per appearance, each enrolled as its own photo. The classifier cross-validates by
 * photo, and a player with one photo has no held-out genuine trial, which leaves the open-set
 * thresholds with nothing to accept. The second framing is wider and smaller, as a face looks in a
 * wide shot. (Two framings of one picture make cross-validation optimistic; for a demo whose video
 * is made of these same pictures that is the truth.)
 */
export const DEMO_CROPS: readonly CropSpec[] = [
  { side: 2, faceWidth: 0 },
  { side: 3.2, faceWidth: 80 },
];

/** A JPEG of one face of `photo`, with every other face in `others` painted over. */
export async function cropFace(file: string, face: Box, others: readonly Box[], spec: CropSpec): Promise<Buffer> {
  const { data, info } = await sharp(await readFile(file)).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const [x, y, w, h] = face;
  const side = Math.round(Math.max(w, h) * spec.side);
  const left = Math.max(0, Math.min(info.width - side, Math.round(x + w / 2 - side / 2)));
  const top = Math.max(0, Math.min(info.height - side, Math.round(y + h / 2 - side / 2)));
  const region = { left, top, width: Math.min(side, info.width), height: Math.min(side, info.height) };
  const raw = { raw: { width: info.width, height: info.height, channels: 3 as const } };
  const patches = others.flatMap((o) => {
    // The other face's box, grown by 15 % (hair and chin also trigger detectors), in crop pixels.
    const gx = o[2] * 0.15;
    const gy = o[3] * 0.15;
    const l = Math.max(0, Math.round(o[0] - gx - left));
    const t = Math.max(0, Math.round(o[1] - gy - top));
    const r = Math.min(region.width, Math.round(o[0] + o[2] + gx - left));
    const b = Math.min(region.height, Math.round(o[1] + o[3] + gy - top));
    return r > l && b > t ? [{ input: { create: { width: r - l, height: b - t, channels: 3 as const, background: '#808080' } }, left: l, top: t }] : [];
  });
  // Two passes: within one sharp pipeline a resize would run before the composite.
  const painted = await sharp(data, raw).extract(region).composite(patches).raw().toBuffer({ resolveWithObject: true });
  let img = sharp(painted.data, { raw: { width: painted.info.width, height: painted.info.height, channels: painted.info.channels } });
  if (spec.faceWidth > 0) img = img.resize(Math.max(32, Math.round((region.width * spec.faceWidth) / w)));
  return img.jpeg({ quality: 92 }).toBuffer();
}
