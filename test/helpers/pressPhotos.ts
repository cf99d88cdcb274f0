// Press-photo-like test images built from the real group photos (group/labels.json boxes): one
// player large in frame with a smaller face in the background, and two players of equal size.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { groupDir } from './fixtures.ts';

type Box = [number, number, number, number];

interface Labels {
  [photo: string]: { faces: { name: string | null; box: Box }[] };
}

function labelledBox(photo: string, name: string): Box {
  const labels = JSON.parse(readFileSync(join(groupDir(), 'labels.json'), 'utf8')) as Labels;
  const face = labels[photo]?.faces.find((f) => f.name === name);
  if (!face) throw new Error(`group/labels.json has no ${name} in ${photo}`);
  return face.box;
}

export interface PressPhoto {
  bytes: Buffer;
  /** Where the labelled faces are in the built image: [x, y, w, h]. */
  boxes: Record<string, Box>;
}

/**
 * Sheldon from bbt1.jpg, cropped to 340×340 around his face and upscaled 2× (his face ≈ 300 px,
 * a media kit's size), with Howard's face from the same photo shrunk to about a fifth and pasted
 * into the lower-left corner. The group photos have no face clearly smaller than a neighbour, so
 * the background face is composed: same lighting and camera, the size ratio of a press photo
 * (≈ 270 px player, ≈ 66 px face behind).
 */
export async function dominantFacePhoto(): Promise<PressPhoto> {
  return composeWithSmallFace(0);
}

/** The same composition with the crop's top edge through Sheldon's face, a third of it cut off. */
export async function dominantFaceCutByEdgePhoto(): Promise<PressPhoto> {
  const sheldon = labelledBox('bbt1.jpg', 'sheldon');
  return composeWithSmallFace(Math.round(sheldon[1] + sheldon[3] / 3));
}

async function composeWithSmallFace(top: number): Promise<PressPhoto> {
  const src = join(groupDir(), 'bbt1.jpg');
  const sheldon = labelledBox('bbt1.jpg', 'sheldon');
  const howard = labelledBox('bbt1.jpg', 'howard');
  const crop = { left: 880, top, width: 340, height: 340 };
  if (sheldon[0] < crop.left || sheldon[0] + sheldon[2] > crop.left + crop.width) throw new Error('bbt1.jpg labels moved: fix the crop');
  const scale = 2;
  const base = await sharp(src).extract(crop).resize(crop.width * scale, crop.height * scale).toBuffer();
  // Howard with some margin around his labelled box, shrunk so his face is ≈ 60 px tall.
  const margin = { x: howard[2] * 0.2, y: howard[3] * 0.15 };
  const region = { left: Math.round(howard[0] - margin.x), top: Math.round(howard[1] - margin.y), width: Math.round(howard[2] + 2 * margin.x), height: Math.round(howard[3] + 2 * margin.y) };
  const shrink = 100 / region.height;
  const small = await sharp(src).extract(region).resize({ height: 100 }).toBuffer();
  const at = { left: 12, top: 560 };
  const bytes = await sharp(base).composite([{ input: small, ...at }]).jpeg({ quality: 90 }).toBuffer();
  const s = (v: number) => Math.round(v);
  return {
    bytes,
    boxes: {
      sheldon: [s((sheldon[0] - crop.left) * scale), s((sheldon[1] - crop.top) * scale), s(sheldon[2] * scale), s(sheldon[3] * scale)],
      howard: [s(at.left + margin.x * shrink), s(at.top + margin.y * shrink), s(howard[2] * shrink), s(howard[3] * shrink)],
    },
  };
}

/** Howard and Sheldon side by side from bbt1.jpg, both whole and of about the same size. */
export async function comparableFacesPhoto(): Promise<PressPhoto> {
  const howard = labelledBox('bbt1.jpg', 'howard');
  const sheldon = labelledBox('bbt1.jpg', 'sheldon');
  const left = howard[0] - 28;
  const top = Math.min(howard[1], sheldon[1]) - 23;
  const right = sheldon[0] + sheldon[2] + 40;
  const bottom = Math.max(howard[1] + howard[3], sheldon[1] + sheldon[3]) + 40;
  const bytes = await sharp(join(groupDir(), 'bbt1.jpg')).extract({ left, top, width: right - left, height: bottom - top }).jpeg({ quality: 90 }).toBuffer();
  const shift = (b: Box): Box => [b[0] - left, b[1] - top, b[2], b[3]];
  return { bytes, boxes: { howard: shift(howard), sheldon: shift(sheldon) } };
}

/** Intersection over union of two [x, y, w, h] boxes. */
export function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[0]! + a[2]!, b[0]! + b[2]!) - Math.max(a[0]!, b[0]!));
  const h = Math.max(0, Math.min(a[1]! + a[3]!, b[1]! + b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = w * h;
  return inter / (a[2]! * a[3]! + b[2]! * b[3]! - inter);
}
