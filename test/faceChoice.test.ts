// The enrolment face choice on synthetic detector output: the clearly largest whole face is taken,
// comparable faces or a dominant face cut by the edge are refused, boxes come back in the photo's
// own pixels when the engine padded it.
import { describe, expect, it } from 'vitest';
import { chooseEnrolFace, cutByEdge, DOMINANCE_RATIO, type PhotoBounds } from '../src/roster/faceChoice.ts';
import type { Box } from '../src/vision/types.ts';

const PHOTO: PhotoBounds = { left: 0, top: 0, width: 1000, height: 800 };
const face = (box: Box, score = 0.99) => ({ box, score });

describe('chooseEnrolFace', () => {
  it('no face: none', () => {
    expect(chooseEnrolFace([], PHOTO)).toEqual({ kind: 'none' });
  });

  it('one face is taken as it is, even past the edge (a tight headshot)', () => {
    const c = chooseEnrolFace([face([-10, -5, 300, 380])], PHOTO);
    expect(c).toMatchObject({ kind: 'taken', index: 0, ignored: [] });
  });

  it('a player at 270 px and a background face at 66 px: the player is taken, the other reported', () => {
    const c = chooseEnrolFace([face([20, 600, 50, 66], 0.97), face([400, 150, 210, 270])], PHOTO);
    expect(c).toEqual({
      kind: 'taken',
      index: 1,
      taken: { box: [400, 150, 210, 270], side: 270, score: 0.99 },
      ignored: [{ box: [20, 600, 50, 66], side: 66, score: 0.97 }],
    });
  });

  it('the ratio is inclusive at DOMINANCE_RATIO and refuses just under it', () => {
    expect(chooseEnrolFace([face([100, 100, 200, 200]), face([600, 100, 100, 100])], PHOTO).kind).toBe('taken');
    const c = chooseEnrolFace([face([100, 100, 199, 199]), face([600, 100, 100, 100])], PHOTO);
    expect(DOMINANCE_RATIO).toBe(2);
    expect(c.kind).toBe('comparable');
  });

  it('comparable faces are refused and all listed, largest first', () => {
    const c = chooseEnrolFace([face([600, 100, 120, 150]), face([100, 100, 140, 180]), face([800, 600, 40, 50])], PHOTO);
    expect(c.kind).toBe('comparable');
    if (c.kind !== 'comparable') return;
    expect(c.faces.map((f) => f.side)).toEqual([180, 150, 50]);
  });

  it('the size is the larger side, so a neighbour cut by the edge is not underrated', () => {
    // 60 px wide because the edge cuts it, but 160 px tall: comparable to a 200 px face.
    const c = chooseEnrolFace([face([400, 200, 180, 200]), face([-100, 300, 160, 160])], PHOTO);
    expect(c.kind).toBe('comparable');
  });

  it('a dominant face cut by the edge is refused (a foreground passer-by, not the subject)', () => {
    for (const box of [[-20, 100, 300, 380], [800, 100, 250, 300], [300, 0, 250, 320], [300, 500, 250, 300]] as Box[]) {
      const c = chooseEnrolFace([face(box), face([50, 50, 60, 70])], PHOTO);
      expect(c.kind, JSON.stringify(box)).toBe('edge');
    }
  });

  it('reports boxes in the photo’s pixels when the engine padded it', () => {
    const padded: PhotoBounds = { left: 50, top: 50, width: 400, height: 400 };
    const c = chooseEnrolFace([face([150.4, 120.6, 200, 250]), face([60, 400, 40, 45])], padded);
    expect(c).toMatchObject({ kind: 'taken', taken: { box: [100, 71, 200, 250] }, ignored: [{ box: [10, 350, 40, 45] }] });
  });

  it('cutByEdge: a box flush on the edge (clipped) or well past it is cut; one poking out by under 5 % of its side is not', () => {
    expect(cutByEdge([1, 1, 100, 100], PHOTO)).toBe(false);
    expect(cutByEdge([0, 10, 100, 100], PHOTO)).toBe(true); // SSD clips a cut face to x = 0
    expect(cutByEdge([10, 10, 990, 100], PHOTO)).toBe(true);
    expect(cutByEdge([300, -4, 200, 280], PHOTO)).toBe(false); // 4 px of 280: a tight headshot's forehead
    expect(cutByEdge([300, -20, 200, 280], PHOTO)).toBe(true);
    expect(cutByEdge([850, 600, 160, 160], PHOTO)).toBe(true);
  });

  it('a tight headshot whose box pokes just past the top still dominates a small face behind', () => {
    expect(chooseEnrolFace([face([300, -6, 220, 300]), face([40, 600, 50, 60])], PHOTO).kind).toBe('taken');
  });
});
