// Where a name tag goes relative to its face: centred above it, or below when there is no room
// above, or beside it when neither fits; always inside the stage and never over the face. A face
// that leaves no room anywhere (it fills the picture) gets no tag at all.

export const STAGE_WIDTH = 1920;
export const STAGE_HEIGHT = 1080;
const GAP = 14;
const MARGIN = 8;

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), Math.max(lo, hi));

/** box: [x, y, w, h] of the face; w, h: the tag's size. → {x, y, side} or null. */
export function placeTag(box, w, h, stageW = STAGE_WIDTH, stageH = STAGE_HEIGHT) {
  const [bx, by, bw, bh] = box;
  const centredX = clamp(bx + bw / 2 - w / 2, MARGIN, stageW - MARGIN - w);
  const centredY = clamp(by + bh / 2 - h / 2, MARGIN, stageH - MARGIN - h);
  const above = by - GAP - h;
  if (above >= MARGIN) return { x: centredX, y: above, side: 'above' };
  const below = by + bh + GAP;
  if (below + h <= stageH - MARGIN) return { x: centredX, y: below, side: 'below' };
  const right = bx + bw + GAP;
  if (right + w <= stageW - MARGIN) return { x: right, y: centredY, side: 'right' };
  const left = bx - GAP - w;
  if (left >= MARGIN) return { x: left, y: centredY, side: 'left' };
  return null;
}

/** Whether rectangles [x, y, w, h] overlap (touching edges do not). */
export function overlaps(a, b) {
  return a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
}

/**
 * Whether a straight move of a w×h tag from (x0, y0) to (x1, y1) would pass over the box at any
 * point: then the tag jumps instead of gliding through the face.
 */
export function pathCrosses(x0, y0, x1, y1, w, h, box, steps = 12) {
  for (let i = 0; i <= steps; i++) {
    const t = i / steps;
    if (overlaps([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, w, h], box)) return true;
  }
  return false;
}
