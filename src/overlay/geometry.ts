// Name-tag boxes: from analysed-frame pixels to the 1920×1080 output the graphics pages draw on,
// and an exponential filter per track so tags glide instead of jittering with the detector.
import type { NameTag } from '../shared/protocol.ts';

export const OUTPUT_WIDTH = 1920;
export const OUTPUT_HEIGHT = 1080;

export type Box = NameTag['box'];

/**
 * Maps a box from a width × height frame into the output, the frame fitted whole with its aspect
 * kept and centred (letterboxed or pillarboxed), which is how a browser source shows the picture.
 */
export function toOutputBox(box: readonly [number, number, number, number], width: number, height: number): Box {
  const scale = Math.min(OUTPUT_WIDTH / width, OUTPUT_HEIGHT / height);
  const offsetX = (OUTPUT_WIDTH - width * scale) / 2;
  const offsetY = (OUTPUT_HEIGHT - height * scale) / 2;
  return [box[0] * scale + offsetX, box[1] * scale + offsetY, box[2] * scale, box[3] * scale];
}

/** One exponential filter per track: out = weight × previous out + (1 − weight) × new box. */
export class TagSmoother {
  private readonly boxes = new Map<number, Box>();

  /** weight 0 = raw boxes; closer to 1 = steadier but later. */
  constructor(private readonly weight: number) {}

  /** The smoothed box of this track; a track not seen before starts at its raw box. */
  smooth(trackId: number, box: Box): Box {
    const prev = this.boxes.get(trackId);
    const w = this.weight;
    const out: Box = prev ? [0, 1, 2, 3].map((i) => w * prev[i]! + (1 - w) * box[i]!) as Box : [...box];
    this.boxes.set(trackId, out);
    return out;
  }

  /** Forget tracks not in `live`, so a re-used slot never glides from an old position. */
  retain(live: ReadonlySet<number>): void {
    for (const id of this.boxes.keys()) if (!live.has(id)) this.boxes.delete(id);
  }

  clear(): void {
    this.boxes.clear();
  }
}

/** Output pixels to a tenth: the pages need no more, and the messages stay short. */
export function roundBox(b: Box): Box {
  return b.map((v) => Math.round(v * 10) / 10) as Box;
}
