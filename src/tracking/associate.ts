// ByteTrack-style matching of one frame's detections to the tracks' predicted boxes.
//
// A face that turns, blurs or is half hidden often drops to a low detector score for a few frames.
// Throwing those detections away loses the track; trusting them everywhere starts tracks on
// noise. So, in order:
//  1. high-score detections ↔ confirmed and lost tracks (IoU ≥ matchIoU);
//  2. low-score detections ↔ confirmed tracks still unmatched that were visible last frame
//     (IoU ≥ lowMatchIoU, stricter): a doubtful box only continues a face we were following, it
//     never revives a lost track nor starts one;
//  3. remaining high detections ↔ tentative tracks (IoU ≥ tentativeMatchIoU);
//  4. remaining high detections scoring ≥ newTrackScore start tracks.
// Matching uses box overlap only, never identity, so it can run before any embedding is computed
// and the embedding plan and the later update agree on every match.
import type { Box } from '../vision/types.ts';
import { assign, iouCost } from './assignment.ts';
import type { TrackerConfig } from './options.ts';

export type TrackState = 'tentative' | 'confirmed' | 'lost';
export type MatchPass = 'high' | 'low' | 'tentative';

export interface AssocTrack {
  /** The box predicted for this frame. */
  box: Box;
  state: TrackState;
}

export interface AssocDetection {
  box: Box;
  score: number;
}

export interface Association {
  /** Per detection: the index of the track it continues, or -1. */
  trackOf: number[];
  /** Per detection: the pass that matched it, or null. */
  pass: (MatchPass | null)[];
  /** Detections that start a new track, in detection order. */
  newTracks: number[];
  /** Tracks without a detection this frame, in track order. */
  unmatchedTracks: number[];
}

export function associate(tracks: readonly AssocTrack[], dets: readonly AssocDetection[], o: TrackerConfig): Association {
  const trackOf = new Array<number>(dets.length).fill(-1);
  const pass = new Array<MatchPass | null>(dets.length).fill(null);
  const trackMatched = new Array<boolean>(tracks.length).fill(false);

  const high = indices(dets, (d) => d.score >= o.highScore);
  const low = indices(dets, (d) => d.score >= o.lowScore && d.score < o.highScore);

  const match = (ts: number[], ds: number[], minIoU: number, name: MatchPass): number[] => {
    const cost = iouCost(
      ts.map((t) => tracks[t]!.box),
      ds.map((d) => dets[d]!.box),
    );
    const result = assign(cost, 1 - minIoU, ds.length);
    for (const [r, c] of result.matches) {
      trackOf[ds[c]!] = ts[r]!;
      pass[ds[c]!] = name;
      trackMatched[ts[r]!] = true;
    }
    return result.unmatchedCols.map((c) => ds[c]!);
  };

  const established = indices(tracks, (t) => t.state !== 'tentative');
  let highLeft = match(established, high, o.matchIoU, 'high');
  const visible = established.filter((t) => !trackMatched[t] && tracks[t]!.state === 'confirmed');
  match(visible, low, o.lowMatchIoU, 'low');
  const tentative = indices(tracks, (t) => t.state === 'tentative');
  highLeft = match(tentative, highLeft, o.tentativeMatchIoU, 'tentative');

  return {
    trackOf,
    pass,
    newTracks: highLeft.filter((d) => dets[d]!.score >= o.newTrackScore).sort((a, b) => a - b),
    unmatchedTracks: indices(tracks, (_t, i) => !trackMatched[i]),
  };
}

function indices<T>(xs: readonly T[], keep: (x: T, i: number) => boolean): number[] {
  const out: number[] = [];
  xs.forEach((x, i) => {
    if (keep(x, i)) out.push(i);
  });
  return out;
}
