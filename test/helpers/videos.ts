// Test videos with exact ground truth, made on the spot from the labelled group photos: every
// output frame is a crop window of one photo, scaled to the frame size, and the window moves
// linearly within a shot (a pan: same size, moving; a zoom: shrinking or growing; static: fixed).
// Frames are rendered here with sharp and piped raw into ffmpeg (H.264), so the transform of every
// frame is known exactly and the labelled face boxes can be moved by it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { iou, minCostAssignment } from '../../src/tracking/assignment.ts';
import { cropAt, openRawEncoder } from '../../src/demo/render.ts';

export type Box = [x: number, y: number, w: number, h: number];

/** One photo of faces/group/labels.json. */
export interface LabelledPhoto {
  width: number;
  height: number;
  faces: { name: string | null; box: Box }[];
}

export type GroupLabels = Record<string, LabelledPhoto>;

export function readGroupLabels(groupDir: string): GroupLabels {
  return JSON.parse(readFileSync(join(groupDir, 'labels.json'), 'utf8')) as GroupLabels;
}

/**
 * A crop window in photo pixels: its left, top and width; its height follows the video's aspect
 * ratio. Fractions of the photo are accepted too (see ShotSpec).
 */
export interface Window {
  x: number;
  y: number;
  width: number;
}

export interface ShotSpec {
  /** File name in the group folder, e.g. 'bbt1.jpg'. */
  photo: string;
  /** Label of the motion, for messages ('pan', 'zoom', 'static', …). */
  motion: string;
  seconds: number;
  /** Window at the first frame of the shot … */
  from: Window;
  /** … and at the last; in between it moves linearly (from = to: a static shot). */
  to: Window;
}

export interface TruthFace {
  /** Index of the face in the photo's labels: (shot, face) names one ground-truth identity. */
  face: number;
  /** Player id, or null for a stranger. */
  name: string | null;
  /** In output-frame pixels, clipped to nothing (may reach outside the frame). */
  box: Box;
  /** Fraction of the box's area inside the frame. */
  inside: number;
  /** At least `minInside` of the box is in the frame: the face counts (a name is expected). */
  visible: boolean;
}

export interface TruthFrame {
  /** Output frame index; pts = index / fps. */
  index: number;
  pts: number;
  shot: number;
  /** Frame index within its shot. */
  inShot: number;
  /** The crop window of this frame, in integer photo pixels (what was actually rendered). */
  crop: { left: number; top: number; width: number; height: number };
  /** Labelled faces at least partly inside the frame (see TruthFace.visible). */
  faces: TruthFace[];
}

export interface TruthShot {
  index: number;
  photo: string;
  motion: string;
  /** First output frame of the shot, and how many frames it has. */
  start: number;
  frames: number;
  /** Labelled faces of the photo (index = TruthFace.face). */
  faces: { name: string | null; box: Box }[];
}

export interface TestVideo {
  file: string;
  width: number;
  height: number;
  fps: number;
  shots: TruthShot[];
  /** One per output frame, in order. */
  frames: TruthFrame[];
}

export interface BuildVideoOptions {
  groupDir: string;
  /** Output file (.mp4). */
  file: string;
  shots: ShotSpec[];
  width?: number;
  height?: number;
  fps?: number;
  /** A face counts as visible when at least this fraction of its box is inside the frame (default 0.8). */
  minInside?: number;
  ffmpeg?: string;
}

/** Fraction of box b's area inside [0, width) × [0, height). */
export function insideFraction(b: Box, width: number, height: number): number {
  const w = Math.max(0, Math.min(b[0] + b[2], width) - Math.max(b[0], 0));
  const h = Math.max(0, Math.min(b[1] + b[3], height) - Math.max(b[1], 0));
  return b[2] > 0 && b[3] > 0 ? (w * h) / (b[2] * b[3]) : 0;
}

// The integer crop window of frame k (the renderer's own, so the ground truth uses exactly the
// window that was rendered, rounding included).
export { cropAt };

/** A photo box moved into output-frame pixels by a crop window scaled to width × height. */
export function mapBox(box: Box, crop: TruthFrame['crop'], width: number, height: number): Box {
  const sx = width / crop.width;
  const sy = height / crop.height;
  return [(box[0] - crop.left) * sx, (box[1] - crop.top) * sy, box[2] * sx, box[3] * sy];
}

/**
 * Renders the shots into one H.264 file (hard cuts between shots) and returns the ground truth of
 * every output frame. Takes about a second per 100 frames at 960 × 540.
 */
export async function buildVideo(opts: BuildVideoOptions): Promise<TestVideo> {
  const width = opts.width ?? 960;
  const height = opts.height ?? 540;
  const fps = opts.fps ?? 25;
  const minInside = opts.minInside ?? 0.8;
  const labels = readGroupLabels(opts.groupDir);
  const aspect = width / height;

  // High quality, a keyframe every second; fast to encode.
  const encoder = openRawEncoder({ ffmpeg: opts.ffmpeg ?? 'ffmpeg', width, height, fps, out: opts.file, x264: ['-preset', 'ultrafast', '-crf', '18', '-g', String(fps)] });

  const shots: TruthShot[] = [];
  const frames: TruthFrame[] = [];
  try {
    for (const [s, spec] of opts.shots.entries()) {
      const photo = labels[spec.photo];
      if (!photo) throw new Error(`no labels for ${spec.photo}`);
      const { data, info } = await sharp(join(opts.groupDir, spec.photo)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (info.width !== photo.width || info.height !== photo.height) {
        throw new Error(`${spec.photo} is ${info.width}×${info.height}, labels say ${photo.width}×${photo.height}`);
      }
      const n = Math.round(spec.seconds * fps);
      shots.push({ index: s, photo: spec.photo, motion: spec.motion, start: frames.length, frames: n, faces: photo.faces });
      for (let k = 0; k < n; k++) {
        const crop = cropAt(spec, k, n, photo, aspect);
        const rgb = await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
          .extract(crop)
          .resize(width, height, { fit: 'fill' })
          .raw()
          .toBuffer();
        await encoder.write(rgb);
        const faces = photo.faces.flatMap((f, face): TruthFace[] => {
          const box = mapBox(f.box, crop, width, height);
          const inside = insideFraction(box, width, height);
          return inside > 0 ? [{ face, name: f.name, box, inside, visible: inside >= minInside }] : [];
        });
        const index = frames.length;
        frames.push({ index, pts: index / fps, shot: s, inShot: k, crop, faces });
      }
    }
  } catch (err) {
    await encoder.abort();
    throw err;
  }
  await encoder.finish();
  return { file: opts.file, width, height, fps, shots, frames };
}

/**
 * The acceptance video: five shots of 3 s (hard cuts between them) with known camera motion over
 * the five group photos, each window 16:9:
 *  1. bbt1 slow pan left → right (4 players);
 *  2. bbt2 slow zoom in towards the middle, the stranger on the left edge staying in frame;
 *  3. bbt3 static (5 players, small faces);
 *  4. bbt4 tilt + pan (diagonal), 6 players;
 *  5. bbt5 zoom out.
 */
export function acceptanceShots(seconds = 3): ShotSpec[] {
  return [
    // 1366 × 768: window 1180 × 664, moving 186 px right and 20 px down.
    { photo: 'bbt1.jpg', motion: 'pan', seconds, from: { x: 0, y: 40, width: 1180 }, to: { x: 186, y: 60, width: 1180 } },
    // 675 × 469: the full width (675 × 380) shrinking to 520 × 293, anchored at the left edge.
    { photo: 'bbt2.jpg', motion: 'zoom', seconds, from: { x: 0, y: 40, width: 675 }, to: { x: 0, y: 60, width: 520 } },
    // 594 × 383: the full width, 594 × 334.
    { photo: 'bbt3.jpg', motion: 'static', seconds, from: { x: 0, y: 10, width: 594 }, to: { x: 0, y: 10, width: 594 } },
    // 710 × 473: window 660 × 371, moving 50 px right and 40 px down.
    { photo: 'bbt4.jpg', motion: 'pan', seconds, from: { x: 0, y: 0, width: 660 }, to: { x: 50, y: 40, width: 660 } },
    // 940 × 464: 720 × 405 growing to 820 × 461.
    { photo: 'bbt5.jpg', motion: 'zoom', seconds, from: { x: 90, y: 10, width: 720 }, to: { x: 40, y: 2, width: 820 } },
  ];
}

// ---------------------------------------------------------------------------------------------
// Scoring a pipeline run against the ground truth.

/** What the scoring reads of a FrameAnalysis (src/pipeline/sourcePipeline.ts). */
export interface ScoredFrame {
  frame: number;
  pts: number;
  cut: boolean;
  tracks: { id: number; box: Box; identity: { id: string } | null; state: string }[];
  ended: { id: number; reason: string }[];
}

export interface FaceScore {
  shot: number;
  photo: string;
  motion: string;
  face: number;
  /** Player id, null = stranger. */
  name: string | null;
  /** Analysed frames where the face is visible / of those, after the settle time (what rates count). */
  visible: number;
  counted: number;
  /** Of the counted frames: matched track named right / matched track without name / no track / named wrong. */
  named: number;
  unnamed: number;
  missed: number;
  wrong: number;
  /** named / counted (1 when nothing was counted). */
  rate: number;
  /** Times the matched track id changed within the shot (frames without a match are skipped). */
  switches: number;
  /** Track ids matched to the face, in order of first match. */
  tracks: number[];
  /** Seconds from the start of the shot to the first frame the face was shown with its right name; null: never. */
  firstNamedS: number | null;
}

export interface WrongName {
  frame: number;
  pts: number;
  shot: number;
  trackId: number;
  /** The face's name (null = stranger), or undefined when the track is on no labelled face. */
  expected: string | null | undefined;
  got: string;
}

export interface RunScore {
  faces: FaceScore[];
  /** Every frame × track showing a name that is not the face's (or any name on a stranger). */
  wrong: WrongName[];
  /** Named tracks on no labelled face at all (reported apart: the label set may miss a face). */
  namedElsewhere: WrongName[];
  idf1: number;
  idp: number;
  idr: number;
  idSwitches: number;
  /** Source frame index of every analysed frame, in order. */
  analysed: number[];
}

export interface ScoreOptions {
  /** Least IoU of a track box and a labelled box to match (default 0.3); centres inside each other's box also match. */
  minIoU?: number;
  /** Seconds at the start of each shot not counted in naming rates (default 1). */
  settleSeconds?: number;
}

const centre = (b: Box): [number, number] => [b[0] + b[2] / 2, b[1] + b[3] / 2];
const contains = (b: Box, [x, y]: [number, number]) => x >= b[0] && x <= b[0] + b[2] && y >= b[1] && y <= b[1] + b[3];

/**
 * Matches each frame's tracks one-to-one to the labelled faces (greedy by IoU among the pairs that
 * pass the gate) and scores naming, wrong names, ID switches and IDF1. Tentative tracks take part
 * only when they carry a name (they never go on air otherwise).
 */
export function scoreRun(video: TestVideo, events: readonly ScoredFrame[], opts: ScoreOptions = {}): RunScore {
  const minIoU = opts.minIoU ?? 0.3;
  const settle = Math.round((opts.settleSeconds ?? 1) * video.fps);
  const key = (shot: number, face: number) => `${shot}:${face}`;
  const faces = new Map<string, FaceScore & { last?: number }>();
  for (const s of video.shots) {
    s.faces.forEach((f, face) =>
      faces.set(key(s.index, face), {
        shot: s.index, photo: s.photo, motion: s.motion, face, name: f.name,
        visible: 0, counted: 0, named: 0, unnamed: 0, missed: 0, wrong: 0, rate: 1, switches: 0, tracks: [], firstNamedS: null,
      }),
    );
  }
  const wrong: WrongName[] = [];
  const namedElsewhere: WrongName[] = [];
  const analysed: number[] = [];
  // IDF1: co-occurrence of (face, track) over visible face-frames, and the two totals.
  const pairs = new Map<string, Map<number, number>>();
  let gtTotal = 0;
  let predTotal = 0;

  for (const ev of events) {
    const index = Math.round(ev.pts * video.fps);
    const truth = video.frames[index];
    if (!truth) throw new Error(`analysed frame ${ev.frame} at pts ${ev.pts} is past the end of the video`);
    analysed.push(index);
    const tracks = ev.tracks.filter((t) => t.state !== 'tentative' || t.identity !== null);
    const candidates: { t: number; f: number; overlap: number }[] = [];
    tracks.forEach((t, ti) =>
      truth.faces.forEach((f, fi) => {
        const overlap = iou(t.box, f.box);
        if (overlap >= minIoU || (contains(f.box, centre(t.box)) && contains(t.box, centre(f.box)))) candidates.push({ t: ti, f: fi, overlap });
      }),
    );
    candidates.sort((a, b) => b.overlap - a.overlap || a.t - b.t || a.f - b.f);
    const faceOfTrack = new Map<number, number>();
    const trackOfFace = new Map<number, number>();
    for (const c of candidates) {
      if (faceOfTrack.has(c.t) || trackOfFace.has(c.f)) continue;
      faceOfTrack.set(c.t, c.f);
      trackOfFace.set(c.f, c.t);
    }

    tracks.forEach((t, ti) => {
      const fi = faceOfTrack.get(ti);
      const f = fi === undefined ? undefined : truth.faces[fi]!;
      if (t.state !== 'tentative' && (f === undefined || f.visible)) predTotal++;
      if (!t.identity) return;
      const w: WrongName = { frame: ev.frame, pts: ev.pts, shot: truth.shot, trackId: t.id, expected: f?.name, got: t.identity.id };
      if (f === undefined) namedElsewhere.push(w);
      else if (t.identity.id !== f.name) wrong.push(w);
    });

    for (const [fi, f] of truth.faces.entries()) {
      const score = faces.get(key(truth.shot, f.face))!;
      const ti = trackOfFace.get(fi);
      const track = ti === undefined ? undefined : tracks[ti]!;
      if (track) {
        if (score.last !== undefined && score.last !== track.id) score.switches++;
        score.last = track.id;
        if (!score.tracks.includes(track.id)) score.tracks.push(track.id);
      }
      if (track?.identity && track.identity.id === f.name) score.firstNamedS ??= truth.inShot / video.fps;
      if (!f.visible) continue;
      score.visible++;
      gtTotal++;
      if (track && track.state !== 'tentative') {
        const row = pairs.get(key(truth.shot, f.face)) ?? new Map<number, number>();
        row.set(track.id, (row.get(track.id) ?? 0) + 1);
        pairs.set(key(truth.shot, f.face), row);
      }
      if (truth.inShot < settle) continue;
      score.counted++;
      if (!track) score.missed++;
      else if (!track.identity) score.unnamed++;
      else if (track.identity.id === f.name) score.named++;
      else score.wrong++;
    }
  }

  // IDF1 (Ristani et al. 2016): the one-to-one face ↔ track assignment maximising the frames they
  // share; IDTP = those frames, IDF1 = 2·IDTP / (ground-truth + predicted face-frames).
  const gtKeys = [...pairs.keys()];
  const trackIds = [...new Set(gtKeys.flatMap((k) => [...pairs.get(k)!.keys()]))];
  const cost = gtKeys.map((k) => trackIds.map((id) => -(pairs.get(k)!.get(id) ?? 0)));
  const assignment = minCostAssignment(cost);
  const idtp = assignment.reduce((s, col, row) => s + (col >= 0 ? -cost[row]![col]! : 0), 0);
  const scores = [...faces.values()].map(({ last: _last, ...s }) => ({ ...s, rate: s.counted > 0 ? s.named / s.counted : 1 }));
  return {
    faces: scores,
    wrong,
    namedElsewhere,
    idf1: gtTotal + predTotal > 0 ? (2 * idtp) / (gtTotal + predTotal) : 1,
    idp: predTotal > 0 ? idtp / predTotal : 1,
    idr: gtTotal > 0 ? idtp / gtTotal : 1,
    idSwitches: scores.reduce((s, f) => s + f.switches, 0),
    analysed,
  };
}

/** One line per face: where it is, how often it was named, and what went wrong. */
export function formatScore(score: RunScore): string {
  const lines = score.faces.map(
    (f) =>
      `shot ${f.shot} ${f.photo} ${f.motion.padEnd(6)} ${(f.name ?? 'STRANGER').padEnd(10)} ` +
      `named ${f.named}/${f.counted} (${(f.rate * 100).toFixed(0)} %), unnamed ${f.unnamed}, no track ${f.missed}, wrong ${f.wrong}; ` +
      `first named at ${f.firstNamedS === null ? 'never' : `${f.firstNamedS.toFixed(1)} s`}; switches ${f.switches}, tracks [${f.tracks.join(' ')}]`,
  );
  lines.push(
    `IDF1 ${(score.idf1 * 100).toFixed(1)} % (IDP ${(score.idp * 100).toFixed(1)} %, IDR ${(score.idr * 100).toFixed(1)} %), ` +
      `ID switches ${score.idSwitches}, wrong names ${score.wrong.length}, named tracks on no labelled face ${score.namedElsewhere.length}`,
  );
  return lines.join('\n');
}
