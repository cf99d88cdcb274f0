// Which detected face of a photo to enrol. Media-kit headshots and press photos often show someone
// in the background; the player is then the clearly largest face. Pure over the detector's faces and
// the photo's bounds, so it can run wherever detection runs (main thread or a worker).
import type { Box } from '../vision/types.ts';

/** The largest face is taken when its side is at least this many times the next largest's. */
export const DOMINANCE_RATIO = 2;
/**
 * How far past the photo's edge a box may reach, as a fraction of its side, and still count as
 * whole: MTCNN's boxes are generous and poke out of a tight headshot whose face is all there.
 */
const EDGE_SLACK = 0.05;

/** A detected face as reported to people: box in the photo's pixels, its side in px. */
export interface FaceSummary {
  box: Box;
  /** max(width, height): a face cut by the edge keeps its other dimension, so this stays close to its real size. */
  side: number;
  score: number;
}

/** Where the photo's own pixels are in the detector's coordinates (the engine may pad a tight crop). */
export interface PhotoBounds {
  left: number;
  top: number;
  width: number;
  height: number;
}

export type FaceChoice =
  | { kind: 'none' }
  /** `index` is into the detector's list; `ignored` are the other faces, largest first. */
  | { kind: 'taken'; index: number; taken: FaceSummary; ignored: FaceSummary[] }
  /** `faces` are all of them, largest first. */
  | { kind: 'comparable'; faces: FaceSummary[] }
  | { kind: 'edge'; faces: FaceSummary[] };

const sideOf = (box: Box) => Math.max(box[2], box[3]);

function summary(face: { box: Box; score: number }, bounds: PhotoBounds): FaceSummary {
  const [x, y, w, h] = face.box;
  const r = (v: number) => Math.round(v);
  return { box: [r(x - bounds.left), r(y - bounds.top), r(w), r(h)], side: r(sideOf(face.box)), score: Math.round(face.score * 1000) / 1000 };
}

/**
 * True when part of the face is outside the photo: the box reaches past an edge by more than
 * EDGE_SLACK of its side, or lies exactly on it (a detector that clips its boxes, like SSD, puts
 * a cut face there and hides how much is missing).
 */
export function cutByEdge(box: Box, bounds: PhotoBounds): boolean {
  const [x, y, w, h] = box;
  const slack = EDGE_SLACK * sideOf(box);
  const overhangs = [bounds.left - x, bounds.top - y, x + w - (bounds.left + bounds.width), y + h - (bounds.top + bounds.height)];
  return overhangs.some((o) => o > slack || Math.abs(o) < 1e-6);
}

/**
 * One face: taken as it is (a tight headshot often reaches past the edge). Several: the largest is
 * taken when it is DOMINANCE_RATIO times the next and whole in frame; a big face cut by the edge is
 * more likely a passer-by in the foreground than the photo's subject, so that photo is refused.
 */
export function chooseEnrolFace(faces: readonly { box: Box; score: number }[], bounds: PhotoBounds): FaceChoice {
  if (faces.length === 0) return { kind: 'none' };
  const order = faces.map((_, i) => i).sort((a, b) => sideOf(faces[b]!.box) - sideOf(faces[a]!.box));
  const sorted = order.map((i) => summary(faces[i]!, bounds));
  const [first, ...rest] = order;
  if (rest.length === 0) return { kind: 'taken', index: first!, taken: sorted[0]!, ignored: [] };
  if (sideOf(faces[first!]!.box) < DOMINANCE_RATIO * sideOf(faces[rest[0]!]!.box)) return { kind: 'comparable', faces: sorted };
  if (cutByEdge(faces[first!]!.box, bounds)) return { kind: 'edge', faces: sorted };
  return { kind: 'taken', index: first!, taken: sorted[0]!, ignored: sorted.slice(1) };
}

/** "270 px at (120, 80)" for messages: the face's side and its top-left corner. */
export function describeFace(f: FaceSummary): string {
  return `${f.side} px at (${f.box[0]}, ${f.box[1]})`;
}
