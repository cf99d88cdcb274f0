// Tracking on exact synthetic ground truth: assignment, Kalman, ByteTrack matching, lifecycle,
// shot cuts, the per-track identity vote, and the cost of one frame with 20 faces.
import { createRng } from '../src/shared/random.ts';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { assign, iou, minCostAssignment, type CostMatrix } from '../src/tracking/assignment.ts';
import { IdentityEvidence, type EvidencePrediction } from '../src/tracking/identity.ts';
import { BoxKalman } from '../src/tracking/kalman.ts';
import { DEFAULT_TRACKING_CONFIG, trackingConfigSchema } from '../src/tracking/options.ts';
import { ShotCutDetector, type FrameLike } from '../src/tracking/shotCut.ts';
import { Tracker, type FrameInfo, type TrackInput, type TrackSnapshot } from '../src/tracking/tracker.ts';
import type { Prediction } from '../src/recognition/linearSvmClassifier.ts';
import type { Frame } from '../src/shared/protocol.ts';
import type { Box } from '../src/vision/types.ts';

// ───────────────────────────── helpers ─────────────────────────────

// Compile-time: the classifier's Prediction and the pipeline's Frame go in as they are.
const _predictionFits = (p: Prediction): EvidencePrediction => p;
const _frameFits = (f: Frame): FrameLike & FrameInfo => f;

const rng = createRng;

/** A frontal face detection at box with the given score (landmarks placed as on a frontal face). */
function face(box: Box, score = 0.95, extra: Partial<TrackInput> = {}): TrackInput {
  const [x, y, w, h] = box;
  return {
    box,
    score,
    landmarks: [
      [x + 0.3 * w, y + 0.4 * h],
      [x + 0.7 * w, y + 0.4 * h],
      [x + 0.5 * w, y + 0.6 * h],
      [x + 0.35 * w, y + 0.8 * h],
      [x + 0.65 * w, y + 0.8 * h],
    ],
    quality: 0.8,
    ...extra,
  };
}

const frame = (seq: number) => ({ seq, pts: seq / 25, width: 1280, height: 720 });
const accept = (id: string, confidence = 0.8): EvidencePrediction => ({ identity: { id, confidence } });
const unknown: EvidencePrediction = { identity: null };

function bruteForceMin(cost: number[][]): number {
  const n = cost.length;
  const m = cost[0]!.length;
  let best = Infinity;
  // Assign each row a distinct column or nothing; every row must be matched when n ≤ m, else every column.
  const need = Math.min(n, m);
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, sum: number, matched: number) => {
    if (i === n) {
      if (matched === need) best = Math.min(best, sum);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, sum + cost[i]![j]!, matched + 1);
      used[j] = false;
    }
    rec(i + 1, sum, matched);
  };
  rec(0, 0, 0);
  return best;
}

/** Min of Σ matched cost + (unmatched rows + unmatched cols) · maxCost/2 over pairs costing ≤ maxCost. */
function bruteForceGated(cost: number[][], maxCost: number): number {
  const n = cost.length;
  const m = cost[0]!.length;
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const rec = (i: number, sum: number, matched: number) => {
    if (i === n) {
      best = Math.min(best, sum + (n + m - 2 * matched) * (maxCost / 2));
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j] || !(cost[i]![j]! <= maxCost)) continue;
      used[j] = true;
      rec(i + 1, sum + cost[i]![j]!, matched + 1);
      used[j] = false;
    }
    rec(i + 1, sum, matched);
  };
  rec(0, 0, 0);
  return best;
}

function totalOf(cost: CostMatrix, rowToCol: number[]): number {
  return rowToCol.reduce((s, j, i) => (j >= 0 ? s + cost[i]![j]! : s), 0);
}

// ───────────────────────────── assignment ─────────────────────────────

describe('assignment', () => {
  it('iou of known boxes', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150, 12);
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    expect(iou([0, 0, 10, 10], [2, 2, 5, 5])).toBeCloseTo(25 / 100, 12);
  });

  it('Hungarian on known square and rectangular matrices', () => {
    expect(minCostAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).toEqual([1, 0, 2]);
    // Wide: 2 rows, 3 columns; both rows matched.
    expect(minCostAssignment([[1, 2, 3], [1, 4, 9]])).toEqual([1, 0]);
    // Tall: 3 rows, 2 columns; one row left out.
    expect(minCostAssignment([[1, 1], [2, 4], [3, 9]])).toEqual([1, 0, -1]);
    expect(minCostAssignment([])).toEqual([]);
    expect(minCostAssignment([[], []])).toEqual([-1, -1]);
    expect(() => minCostAssignment([[1, NaN]])).toThrow(/non-finite/);
  });

  it('Hungarian equals brute force on 500 random rectangular matrices', () => {
    const r = rng(7);
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + Math.floor(r() * 6);
      const m = 1 + Math.floor(r() * 6);
      const integer = trial % 2 === 0;
      const cost = Array.from({ length: n }, () => Array.from({ length: m }, () => (integer ? Math.floor(r() * 10) : r() * 10 - 3)));
      const a = minCostAssignment(cost);
      expect(new Set(a.filter((j) => j >= 0)).size).toBe(Math.min(n, m));
      expect(totalOf(cost, a)).toBeCloseTo(bruteForceMin(cost), 9);
    }
  });

  it('gated assignment never takes a pair over the gate and equals brute force', () => {
    const r = rng(11);
    for (let trial = 0; trial < 500; trial++) {
      const n = 1 + Math.floor(r() * 5);
      const m = 1 + Math.floor(r() * 5);
      const cost = Array.from({ length: n }, () => Array.from({ length: m }, () => r()));
      const maxCost = 0.2 + 0.6 * r();
      const res = assign(cost, maxCost);
      for (const [i, j] of res.matches) expect(cost[i]![j]!).toBeLessThanOrEqual(maxCost);
      expect(res.matches.length + res.unmatchedRows.length).toBe(n);
      expect(res.matches.length + res.unmatchedCols.length).toBe(m);
      const total = res.matches.reduce((s, [i, j]) => s + cost[i]![j]!, 0) + (n + m - 2 * res.matches.length) * (maxCost / 2);
      expect(total).toBeCloseTo(bruteForceGated(cost, maxCost), 9);
    }
  });

  it('keeps one good match rather than making two poor ones', () => {
    const res = assign(
      [
        [0.1, 0.75],
        [0.75, 1],
      ],
      0.8,
    );
    expect(res).toEqual({ matches: [[0, 0]], unmatchedRows: [1], unmatchedCols: [1] });
    expect(assign([[Infinity, 0.2]], 0.8).matches).toEqual([[0, 1]]);
    expect(assign([], 0.5)).toEqual({ matches: [], unmatchedRows: [], unmatchedCols: [] });
  });
});

// ───────────────────────────── Kalman ─────────────────────────────

describe('Kalman filter', () => {
  it('follows a constant-velocity box and predicts it through 3 missed frames', () => {
    const truth = (t: number): Box => [100 + 6 * t, 200 - 3 * t, 60 + 0.5 * t, 70 + 0.5 * t];
    const kf = new BoxKalman(truth(0));
    for (let t = 1; t <= 15; t++) {
      kf.predict();
      kf.update(truth(t));
    }
    const v = kf.velocity;
    expect(v[0]).toBeCloseTo(6 + 0.25, 0); // centre x moves with x and half the width growth
    expect(v[1]).toBeCloseTo(-3 + 0.25, 0);
    for (let t = 16; t <= 18; t++) {
      const ahead = kf.predictedBox(1);
      kf.predict();
      expect(kf.box).toEqual(ahead); // predictedBox() is predict() without the side effect
      kf.box.forEach((x, k) => expect(Math.abs(x - truth(t)[k]!)).toBeLessThan(1));
    }
  });

  it('freezes the size of a lost box but keeps moving it', () => {
    const kf = new BoxKalman([0, 0, 50, 50]);
    for (let t = 1; t <= 10; t++) {
      kf.predict();
      kf.update([5 * t, 0, 50 + 2 * t, 50 + 2 * t]);
    }
    const before = kf.box;
    kf.predict(1, { freezeSize: true });
    expect(kf.box[2]).toBeCloseTo(before[2], 9);
    expect(kf.box[0] + kf.box[2] / 2).toBeGreaterThan(before[0] + before[2] / 2 + 4);
  });
});

// ───────────────────────────── tracker ─────────────────────────────

/** Ground-truth id → track id seen for it per frame; counts changes (ID switches). */
function idSwitches(history: Map<string, number[]>): number {
  let n = 0;
  for (const ids of history.values()) for (let i = 1; i < ids.length; i++) if (ids[i] !== ids[i - 1]) n++;
  return n;
}

describe('Tracker', () => {
  it('two faces crossing paths keep their ids, also when one is hidden at the crossing', () => {
    for (const hide of [false, true]) {
      const tracker = new Tracker();
      const r = rng(3);
      const history = new Map<string, number[]>([
        ['A', []],
        ['B', []],
      ]);
      for (let t = 0; t < 40; t++) {
        const gt: [string, Box][] = [
          ['A', [100 + 12 * t, 300, 64, 64]],
          ['B', [580 - 12 * t, 320 - 0.5 * t, 64, 64]],
        ];
        // B passes behind A around frame 20.
        const visible = gt.filter(([name]) => !(hide && name === 'B' && t >= 18 && t <= 22));
        if (r() < 0.5) visible.reverse(); // order must not matter
        const snaps = tracker.update(
          visible.map(([, b]) => face(b)),
          frame(t),
        );
        for (const s of snaps) {
          if (s.detection === null) continue;
          history.get(visible[s.detection]![0])!.push(s.id);
        }
      }
      expect(idSwitches(history)).toBe(0);
      expect(new Set([...history.values()].map((ids) => ids[0]))).toEqual(new Set([1, 2]));
      expect(tracker.takeEnded()).toEqual([]);
    }
  });

  it('named faces crossing paths never show a wrong name, and both are named again after', () => {
    for (const hide of [false, true]) {
      const tracker = new Tracker();
      const shown: string[] = [];
      let last = new Map<string, string | null>();
      for (let t = 0; t < 50; t++) {
        const gt: [string, Box][] = [
          ['p1', [100 + 12 * t, 300, 64, 64]],
          ['p2', [680 - 12 * t, 310, 64, 64]],
        ];
        const visible = gt.filter(([name]) => !(hide && name === 'p2' && t >= 22 && t <= 27));
        const inputs = visible.map(([, b]) => face(b));
        const plan = tracker.plan(inputs, frame(t));
        // The classifier is right about each face; the danger is the track it lands on.
        for (const d of plan.embed) inputs[d]!.prediction = accept(visible[d]![0]);
        last = new Map();
        for (const s of tracker.update(inputs, frame(t))) {
          if (s.detection === null || s.identity === null) continue;
          const truth = visible[s.detection]![0];
          shown.push(`${t}:${truth}=${s.identity.id}`);
          expect(s.identity.id, `frame ${t}`).toBe(truth);
          last.set(truth, s.identity.id);
        }
      }
      expect(shown.length).toBeGreaterThan(50);
      expect(last).toEqual(
        new Map([
          ['p1', 'p1'],
          ['p2', 'p2'],
        ]),
      );
    }
  });

  it('a forced ID switch (two faces meet, merge, and go back) never shows a wrong name', () => {
    // Constant-velocity prediction swaps the tracks when both faces reverse while merged; the
    // overlap before the merge hides both names until an embedding confirms each track's face.
    const run = (options: ConstructorParameters<typeof Tracker>[0]) => {
      const tracker = new Tracker(options);
      let wrong = 0;
      let switched = false;
      for (let t = 0; t < 45; t++) {
        const off = t <= 20 ? 12 * (20 - t) : t <= 22 ? 0 : 12 * (t - 22);
        const gt: [string, Box][] = [
          ['p1', [340 - off, 300, 64, 64]],
          ['p2', [340 + off, 304, 64, 64]],
        ];
        const visible = t >= 20 && t <= 22 ? [gt[0]!] : gt;
        const inputs = visible.map(([, b]) => face(b));
        for (const d of tracker.plan(inputs, frame(t)).embed) inputs[d]!.prediction = accept(visible[d]![0]);
        for (const s of tracker.update(inputs, frame(t))) {
          if (s.detection === null) continue;
          const truth = visible[s.detection]![0];
          if (t > 25 && s.id === 1 && truth === 'p2') switched = true;
          if (s.identity && s.identity.id !== truth) wrong++;
        }
      }
      return { wrong, switched };
    };
    expect(run({})).toEqual({ wrong: 0, switched: true });
    // Without the overlap and re-find guards the old names stay on the swapped faces for a while.
    expect(run({ embedding: { ambiguousIoU: 1, reverifyAfterLost: 1000 } }).wrong).toBeGreaterThan(5);
  });

  it('lifecycle: tentative → confirmed after minHits → lost for maxAge frames → removed', () => {
    const tracker = new Tracker({ tracker: { minHits: 3, maxAge: 5 } });
    const box: Box = [100, 100, 80, 80];
    const states: string[] = [];
    for (let t = 0; t < 3; t++) {
      const [s] = tracker.update([face(box)], frame(t));
      states.push(`${s!.state}:${s!.hits}:${s!.timeSinceUpdate}`);
    }
    expect(states).toEqual(['tentative:1:0', 'tentative:2:0', 'confirmed:3:0']);
    for (let t = 3; t <= 7; t++) {
      const snaps = tracker.update([], frame(t));
      expect(snaps).toHaveLength(1);
      expect(snaps[0]).toMatchObject({ state: 'lost', timeSinceUpdate: t - 2, hits: 3, age: t + 1, detection: null });
    }
    expect(tracker.takeEnded()).toEqual([]);
    expect(tracker.update([], frame(8))).toEqual([]);
    expect(tracker.takeEnded()).toMatchObject([{ id: 1, reason: 'expired', seq: 8, hits: 3, age: 9 }]);
  });

  it('a lost track re-found is confirmed again with the same id', () => {
    const tracker = new Tracker({ tracker: { minHits: 2, maxAge: 10 } });
    for (let t = 0; t < 3; t++) tracker.update([face([100 + 5 * t, 100, 80, 80])], frame(t));
    for (let t = 3; t < 6; t++) expect(tracker.update([], frame(t))[0]!.state).toBe('lost');
    const [s] = tracker.update([face([130, 100, 80, 80])], frame(6));
    expect(s).toMatchObject({ id: 1, state: 'confirmed', timeSinceUpdate: 0, hits: 4 });
  });

  it('a tentative track that misses a frame is removed as unconfirmed', () => {
    const tracker = new Tracker({ tracker: { minHits: 3 } });
    tracker.update([face([100, 100, 80, 80])], frame(0));
    tracker.update([face([100, 100, 80, 80])], frame(1));
    expect(tracker.update([], frame(2))).toEqual([]);
    expect(tracker.takeEnded()).toMatchObject([{ id: 1, reason: 'unconfirmed', seq: 2 }]);
  });

  it('a low-score detection keeps a confirmed track alive (second pass) but never starts or revives one', () => {
    const tracker = new Tracker();
    for (let t = 0; t < 5; t++) tracker.update([face([100, 100, 80, 80], 0.95)], frame(t));
    for (let t = 5; t < 10; t++) {
      const snaps = tracker.update([face([100 + t - 4, 100, 80, 80], 0.4)], frame(t));
      expect(snaps).toMatchObject([{ id: 1, state: 'confirmed', timeSinceUpdate: 0, hits: t + 1, score: 0.4 }]);
    }
    // Without the second pass the same low detections lose the track.
    const strict = new Tracker({ tracker: { lowScore: 0.6 } });
    for (let t = 0; t < 5; t++) strict.update([face([100, 100, 80, 80], 0.95)], frame(t));
    expect(strict.update([face([101, 100, 80, 80], 0.4)], frame(5))[0]!.state).toBe('lost');
    // It never revives a lost track either.
    expect(strict.update([face([101, 100, 80, 80], 0.4)], frame(6))[0]!.state).toBe('lost');
    const lenient = new Tracker();
    for (let t = 0; t < 5; t++) lenient.update([face([100, 100, 80, 80], 0.95)], frame(t));
    lenient.update([], frame(5));
    expect(lenient.update([face([100, 100, 80, 80], 0.5)], frame(6))[0]).toMatchObject({ state: 'lost', timeSinceUpdate: 2 });

    const fresh = new Tracker();
    for (let t = 0; t < 10; t++) expect(fresh.update([face([300, 300, 80, 80], 0.5)], frame(t))).toEqual([]);
    // High but below newTrackScore: no track either.
    expect(fresh.update([face([300, 300, 80, 80], 0.65)], frame(10))).toEqual([]);
  });

  it('a cut ends all tracks within that frame; the new shot starts fresh tracks', () => {
    const tracker = new Tracker({ nameOf: (id) => id.toUpperCase() });
    const boxes: Box[] = [
      [100, 100, 80, 80],
      [400, 100, 80, 80],
      [700, 100, 80, 80],
    ];
    for (let t = 0; t < 6; t++) {
      tracker.update(
        boxes.map((b, i) => face(b, 0.95, { prediction: accept(`p${i}`) })),
        frame(t),
      );
    }
    expect(tracker.snapshot().map((s) => s.identity?.name)).toEqual(['P0', 'P1', 'P2']);
    tracker.cut();
    // Same place, new shot: must not inherit anything.
    const snaps = tracker.update([face(boxes[0]!)], frame(6));
    expect(snaps).toMatchObject([{ id: 4, state: 'tentative', identity: null, hits: 1 }]);
    const ended = tracker.takeEnded();
    expect(ended.map((e) => [e.id, e.reason, e.identity?.id])).toEqual([
      [1, 'cut', 'p0'],
      [2, 'cut', 'p1'],
      [3, 'cut', 'p2'],
    ]);
  });

  it('a source restart (seq going back) acts as a cut', () => {
    const tracker = new Tracker({ tracker: { minHits: 1 } });
    tracker.update([face([100, 100, 80, 80])], frame(10));
    expect(tracker.update([face([100, 100, 80, 80])], frame(0))).toMatchObject([{ id: 2 }]);
    expect(tracker.takeEnded()).toMatchObject([{ id: 1, reason: 'cut' }]);
  });
});

// ───────────────────────────── embedding plan + identity on tracks ─────────────────────────────

describe('Tracker embedding plan', () => {
  it('embeds new and unnamed tracks every frame, named ones every recheckEvery frames', () => {
    const tracker = new Tracker({ embedding: { recheckEvery: 5 } });
    const embedded: number[] = [];
    for (let t = 0; t < 20; t++) {
      const faces = [face([100 + t, 100, 80, 80])];
      const plan = tracker.plan(faces, frame(t));
      if (t === 0) expect(plan).toEqual({ seq: 0, trackOf: [null], startsTrack: [true], embed: [0] });
      else expect(plan.trackOf).toEqual([1]);
      for (const d of plan.embed) {
        faces[d]!.prediction = accept('p1');
        embedded.push(t);
      }
      const [s] = tracker.update(faces, frame(t));
      expect(s!.identity?.id ?? null).toBe(t >= 2 ? 'p1' : null);
    }
    // Named after the 3rd observation (frame 2), then re-checked at 7, 12, 17.
    expect(embedded).toEqual([0, 1, 2, 7, 12, 17]);
  });

  it('a named track whose last answer disagreed asks for an embedding every frame', () => {
    const tracker = new Tracker({ embedding: { recheckEvery: 10 } });
    const box: Box = [100, 100, 80, 80];
    for (let t = 0; t < 5; t++) tracker.update([face(box, 0.95, { prediction: accept('p1') })], frame(t));
    expect(tracker.plan([face(box)], frame(5)).embed).toEqual([]);
    tracker.update([face(box, 0.95, { prediction: accept('p2') })], frame(5));
    expect(tracker.snapshot()[0]!.identity?.id).toBe('p1'); // one answer changes nothing…
    expect(tracker.plan([face(box)], frame(6)).embed).toEqual([0]); // …but asks again at once
    tracker.update([face(box, 0.95, { prediction: accept('p1') })], frame(6));
    expect(tracker.plan([face(box)], frame(7)).embed).toEqual([]);
  });

  it('does not embed doubtful faces: low quality, overlapping another, or doomed low-score ones', () => {
    const tracker = new Tracker();
    const faces = [
      face([100, 100, 80, 80], 0.95, { quality: 0.05 }),
      face([400, 100, 80, 80]),
      face([420, 110, 80, 80]),
      face([800, 100, 80, 80], 0.4),
    ];
    expect(tracker.plan(faces, frame(0)).embed).toEqual([]);
  });

  it('caps embeddings per frame, unnamed faces first and best quality first', () => {
    const tracker = new Tracker({ embedding: { maxPerFrame: 2 } });
    const faces = [0.3, 0.9, 0.5, 0.7].map((q, i) => face([100 + 200 * i, 100, 80, 80], 0.95, { quality: q }));
    expect(tracker.plan(faces, frame(0)).embed).toEqual([1, 3]);
  });

  it('hides the name of a track re-found after a gap until an embedding confirms it', () => {
    const tracker = new Tracker({ embedding: { reverifyAfterLost: 3, recheckEvery: 100 } });
    const at = (t: number): Box => [100 + 4 * t, 100, 80, 80];
    for (let t = 0; t < 6; t++) tracker.update([face(at(t), 0.95, { prediction: accept('p1') })], frame(t));
    for (let t = 6; t < 9; t++) expect(tracker.update([], frame(t))[0]!.identity?.id).toBe('p1');
    // Re-found: the plan asks for an embedding although the last one is recent enough.
    expect(tracker.plan([face(at(9))], frame(9)).embed).toEqual([0]);
    // Without one, the name stays hidden…
    expect(tracker.update([face(at(9))], frame(9))[0]!.identity).toBeNull();
    // …and an answer for someone else does not give that name at once either.
    expect(tracker.update([face(at(10), 0.95, { prediction: accept('p2') })], frame(10))[0]!.identity).toBeNull();
    expect(tracker.identityState(1)!.candidates.map((c) => c.id)).toEqual(['p2']);
  });
});

describe('IdentityEvidence', () => {
  const o = DEFAULT_TRACKING_CONFIG.identity;

  describe('evidence of faces the open-set rule held back', () => {
    // A face on the threshold gives LLR 3.3 (the default roster's); moderately convincing faces give 2.
    const heldBack = (id: string, llr: number): EvidencePrediction => ({ identity: null, evidence: { id, llr, llrAtThreshold: 3.3 } });

    it('names a track after a few moderately convincing faces, counted as correlated', () => {
      const ev = new IdentityEvidence();
      const names: (string | null)[] = [];
      for (let i = 0; i < 10; i++) {
        ev.observe(heldBack('p1', 2), 0.8);
        names.push(ev.identity?.id ?? null);
      }
      // Discounted sums 2, 2.67, 3, 3.2, 3.33 …: promoted from the 5th face, named once three promoted faces outweigh the unknowns.
      expect(names.slice(0, 4)).toEqual([null, null, null, null]);
      expect(names.at(-1)).toBe('p1');
      expect(ev.state().candidates[0]).toMatchObject({ id: 'p1' });
      expect(ev.state().candidates[0]!.promoted).toBeGreaterThan(0);
    });

    it('one lucky face of a stranger among weak ones names no one', () => {
      const ev = new IdentityEvidence();
      ev.observe(heldBack('p1', 3.2), 0.8);
      for (let i = 0; i < 12; i++) ev.observe(heldBack('p1', -1.5), 0.8);
      expect(ev.identity).toBeNull();
      expect(ev.state().candidates).toEqual([]);
    });

    it('faces far from every photo (negative evidence) never name, however many', () => {
      const ev = new IdentityEvidence();
      for (let i = 0; i < 50; i++) ev.observe(heldBack('p1', -0.2), 0.8);
      expect(ev.identity).toBeNull();
    });

    it('without correlation discount (frameCorrelation 1) a track needs its mean face on the threshold', () => {
      const ev = new IdentityEvidence({ frameCorrelation: 1 });
      for (let i = 0; i < 30; i++) ev.observe(heldBack('p1', 2), 0.8);
      expect(ev.identity).toBeNull();
      const strong = new IdentityEvidence({ frameCorrelation: 1 });
      for (let i = 0; i < 10; i++) strong.observe(heldBack('p1', 3.4), 0.8);
      expect(strong.identity?.id).toBe('p1');
    });
  });

  it('consistent evidence gives the name exactly after minObservations', () => {
    const ev = new IdentityEvidence({}, (id) => (id === 'p1' ? 'Player One' : undefined));
    const names: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      ev.observe(accept('p1', 0.8), 0.8);
      names.push(ev.identity?.name ?? null);
    }
    expect(o.minObservations).toBe(3);
    expect(names).toEqual([null, null, 'Player One', 'Player One', 'Player One']);
    const c = ev.identity!.confidence;
    expect(c).toBeGreaterThan(0.5);
    expect(c).toBeLessThan(1);
  });

  it('a single wrong high-confidence frame does not flip the name; sustained contrary evidence does', () => {
    const ev = new IdentityEvidence();
    for (let i = 0; i < 10; i++) ev.observe(accept('p1'), 0.8);
    expect(ev.identity?.id).toBe('p1');
    ev.observe(accept('p2', 1), 1);
    expect(ev.identity?.id).toBe('p1');
    for (let i = 0; i < 3; i++) ev.observe(accept('p1'), 0.8);
    expect(ev.identity?.id).toBe('p1');

    const seen: (string | null)[] = [];
    for (let i = 0; i < 20; i++) {
      ev.observe(accept('p2'), 0.8);
      seen.push(ev.identity?.id ?? null);
    }
    // p1 → (no name) → p2, never back, and p2 within 20 observations.
    const changes = seen.filter((x, i) => i === 0 || x !== seen[i - 1]);
    expect(changes).toEqual(['p1', null, 'p2']);
  });

  it('a rival replaces a name directly only with switchMargin more evidence (when giveSupport + keepSupport ≤ 1)', () => {
    const transitions = (switchMargin: number) => {
      const ev = new IdentityEvidence({ giveSupport: 0.5, keepSupport: 0.3, switchMargin });
      const seen: (string | null)[] = [];
      for (let i = 0; i < 10; i++) ev.observe(accept('p1'), 0.8);
      for (let i = 0; i < 20; i++) {
        ev.observe(accept('p2'), 0.8);
        seen.push(ev.identity?.id ?? null);
      }
      return { changes: seen.filter((x, i) => i === 0 || x !== seen[i - 1]), at: seen.indexOf('p2') };
    };
    const direct = transitions(1);
    expect(direct.changes).toEqual(['p1', 'p2']);
    const cautious = transitions(100);
    expect(cautious.changes).toEqual(['p1', null, 'p2']);
    expect(cautious.at).toBeGreaterThan(direct.at);
  });

  it('unknown-only evidence never names; evidence split between names or with unknowns stays unnamed', () => {
    const u = new IdentityEvidence();
    for (let i = 0; i < 50; i++) u.observe(unknown, 1);
    expect(u.identity).toBeNull();
    expect(u.state().observations).toBe(50);

    const split = new IdentityEvidence();
    const mixed = new IdentityEvidence();
    for (let i = 0; i < 60; i++) {
      split.observe(accept(i % 2 ? 'p1' : 'p2', 0.9), 0.9);
      mixed.observe(i % 2 ? accept('p1') : unknown, 0.8);
      expect(split.identity).toBeNull();
      expect(mixed.identity).toBeNull();
    }
  });

  it('unknown answers on a named track eventually remove the name (without naming anyone else)', () => {
    const ev = new IdentityEvidence();
    for (let i = 0; i < 10; i++) ev.observe(accept('p1'), 0.8);
    let dropped = -1;
    for (let i = 0; i < 40 && dropped < 0; i++) {
      ev.observe(unknown, 0.8);
      if (ev.identity === null) dropped = i;
    }
    expect(dropped).toBeGreaterThan(2);
    expect(ev.identity).toBeNull();
  });

  it('low-quality evidence counts less; below minQuality not at all', () => {
    const good = new IdentityEvidence();
    const poor = new IdentityEvidence();
    const useless = new IdentityEvidence();
    let goodAt = -1;
    let poorAt = -1;
    for (let i = 1; i <= 20; i++) {
      good.observe(accept('p1'), 0.9);
      poor.observe(accept('p1'), 0.3);
      expect(useless.observe(accept('p1'), o.minQuality / 2)).toBe(false);
      if (goodAt < 0 && good.identity) goodAt = i;
      if (poorAt < 0 && poor.identity) poorAt = i;
    }
    expect(goodAt).toBe(3);
    expect(poorAt).toBeGreaterThan(5);
    expect(useless.identity).toBeNull();
    expect(useless.state().observations).toBe(0);

    // Poor frames for p2 against good frames for p1: p1 wins.
    const duel = new IdentityEvidence();
    for (let i = 0; i < 20; i++) {
      duel.observe(accept('p1'), 0.9);
      duel.observe(accept('p2'), 0.2);
    }
    expect(duel.identity?.id).toBe('p1');
  });

  it('suspend hides the name until the same player is seen; another player clears the history', () => {
    const ev = new IdentityEvidence();
    for (let i = 0; i < 5; i++) ev.observe(accept('p1'), 0.8);
    ev.suspend();
    expect(ev.identity).toBeNull();
    ev.observe(unknown, 0.8);
    expect(ev.identity).toBeNull();
    ev.observe(accept('p1'), 0.8);
    expect(ev.identity?.id).toBe('p1');

    ev.suspend();
    ev.observe(accept('p2'), 0.8);
    expect(ev.identity).toBeNull();
    expect(ev.state()).toMatchObject({ observations: 1, suspended: false, candidates: [{ id: 'p2', observations: 1 }] });
  });
});

// ───────────────────────────── shot cuts ─────────────────────────────

/** A smooth random "scene" of a few palette colours with fine grain, larger than a frame, to pan over. */
function scene(seed: number, palette: [number, number, number][], width = 960, height = 540): FrameLike {
  const r = rng(seed);
  const waves = palette.map(() => Array.from({ length: 3 }, () => ({ fx: 2 + 6 * r(), fy: 2 + 6 * r(), ph: 6.3 * r() })));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      const mix = [0, 0, 0];
      palette.forEach((col, k) => {
        let w = 0;
        for (const v of waves[k]!) w += Math.sin((v.fx * x) / width * 6.3 + v.ph) * Math.cos((v.fy * y) / height * 6.3 + v.ph);
        w = Math.exp(2 * w);
        sum += w;
        for (let c = 0; c < 3; c++) mix[c] += w * col[c]!;
      });
      const grain = (r() - 0.5) * 16;
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) rgb[i + c] = Math.max(0, Math.min(255, Math.round(mix[c]! / sum + grain)));
    }
  }
  return { width, height, rgb };
}

function crop(img: FrameLike, x0: number, y0: number, w = 640, h = 360, gain = 1): FrameLike {
  const rgb = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const from = ((y + y0) * img.width + x0) * 3;
    if (gain === 1) {
      rgb.set(img.rgb.subarray(from, from + w * 3), y * w * 3);
      continue;
    }
    for (let k = 0; k < w * 3; k++) rgb[y * w * 3 + k] = Math.min(255, Math.round(img.rgb[((y + y0) * img.width + x0) * 3 + k]! * gain));
  }
  return { width: w, height: h, rgb };
}

const PITCH: [number, number, number][] = [
  [40, 130, 50],
  [60, 160, 70],
  [230, 230, 230],
  [200, 40, 40],
];
const CROWD: [number, number, number][] = [
  [30, 40, 120],
  [200, 180, 60],
  [90, 90, 90],
  [20, 20, 20],
];

describe('ShotCutDetector', () => {
  const a = scene(1, PITCH);
  const b = scene(2, CROWD);

  it('fires exactly once, on the first frame of the new shot, at a hard cut', () => {
    const det = new ShotCutDetector();
    const cuts: number[] = [];
    for (let t = 0; t < 30; t++) {
      const f = t < 15 ? crop(a, 4 * t, 2 * t) : crop(b, 4 * (t - 15), 0);
      if (det.push(f).cut) cuts.push(t);
    }
    expect(cuts).toEqual([15]);
  });

  it('does not fire on a slow pan, nor a brightness ramp', () => {
    for (const adaptive of [true, false]) {
      const det = new ShotCutDetector({ adaptive });
      let max = 0;
      for (let t = 0; t < 60; t++) {
        const res = det.push(crop(a, 5 * t, Math.floor(t / 2)));
        max = Math.max(max, res.distance);
        expect(res.cut).toBe(false);
      }
      const ramp = new ShotCutDetector({ adaptive });
      for (let t = 0; t < 50; t++) {
        // Fade down to 40 % brightness, 1.2 % per frame.
        expect(ramp.push(crop(b, 100, 50, 640, 360, 1 - 0.012 * t)).cut).toBe(false);
      }
    }
  });

  it('the adaptive rule catches a smaller jump in a calm shot that the fixed threshold misses', () => {
    // Same palette, another arrangement and a slightly different white balance: a cut between two
    // cameras on the same pitch.
    const similar = scene(3, PITCH.map(([r, g, bl]) => [r + 5, g - 5, bl + 5] as [number, number, number]));
    const run = (adaptive: boolean) => {
      const det = new ShotCutDetector({ adaptive });
      const out: { cut: boolean; distance: number; reason: string | null }[] = [];
      for (let t = 0; t < 20; t++) out.push(det.push(t < 10 ? crop(a, 2 * t, 0) : crop(similar, 2 * t, 0)));
      return out;
    };
    const fixed = run(false);
    const adaptive = run(true);
    const d = adaptive[10]!.distance;
    expect(d).toBeGreaterThan(DEFAULT_TRACKING_CONFIG.shotCut.floor);
    expect(d).toBeLessThan(DEFAULT_TRACKING_CONFIG.shotCut.threshold);
    expect(fixed.map((r) => r.cut).indexOf(true)).toBe(-1);
    expect(adaptive.flatMap((r, t) => (r.cut ? [[t, r.reason]] : []))).toEqual([[10, 'adaptive']]);
  });
});

describe('ShotCutDetector on real photos', () => {
  // The face-api package ships six demo photos; no fixture download needed.
  const demo = (i: number) => fileURLToPath(new URL(`../node_modules/@vladmandic/face-api/demo/sample${i}.jpg`, import.meta.url));
  const have = [1, 2, 3, 4, 5, 6].every((i) => existsSync(demo(i)));

  it.skipIf(!have)('cuts between any two of the face-api demo photos, not while panning over one', async () => {
    const load = async (i: number): Promise<FrameLike> => {
      const { data, info } = await sharp(demo(i)).resize(1000, 560, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      return { width: info.width, height: info.height, rgb: new Uint8Array(data) };
    };
    const photos = await Promise.all([1, 2, 3, 4, 5, 6].map(load));
    for (const p of photos) {
      const det = new ShotCutDetector();
      for (let t = 0; t < 30; t++) expect(det.push(crop(p, 6 * t, Math.floor(t / 2), 800, 450)).cut).toBe(false);
      for (const q of photos) {
        if (q === p) continue;
        const res = det.push(crop(q, 0, 0, 800, 450));
        expect(res.cut).toBe(true);
        expect(res.reason).toBe('threshold');
        det.reset();
        det.push(crop(p, 0, 0, 800, 450));
      }
    }
  });
});

// ───────────────────────────── config ─────────────────────────────

describe('tracking config', () => {
  it('defaults validate and every field is described', () => {
    expect(trackingConfigSchema.parse(DEFAULT_TRACKING_CONFIG)).toEqual(DEFAULT_TRACKING_CONFIG);
    for (const [block, schema] of Object.entries(trackingConfigSchema.shape)) {
      expect(schema.description, block).toBeTruthy();
      for (const [field, f] of Object.entries(schema.shape)) expect((f as { description?: string }).description, `${block}.${field}`).toBeTruthy();
    }
    expect(() => new Tracker({ tracker: { minHits: 0 } })).toThrow();
    expect(() => new Tracker({ tracker: { lowScore: 0.8 } })).toThrow(/lowScore ≤ highScore/);
    expect(() => new IdentityEvidence({ keepSupport: 0.9 })).toThrow(/hysteresis/);
  });
});

// ───────────────────────────── cost ─────────────────────────────

describe('cost', () => {
  it('measures plan() + update() with 20 faces', () => {
    const tracker = new Tracker({ embedding: { recheckEvery: 10 } });
    const r = rng(5);
    const faces = Array.from({ length: 20 }, (_, i) => ({
      x: 40 + (i % 5) * 240,
      y: 40 + Math.floor(i / 5) * 170,
      vx: (r() - 0.5) * 6,
      vy: (r() - 0.5) * 4,
    }));
    const warmup = 100;
    const frames = 500;
    let snaps: TrackSnapshot[] = [];
    let embedded = 0;
    let t0 = 0;
    for (let t = 0; t < warmup + frames; t++) {
      if (t === warmup) {
        t0 = performance.now();
        embedded = 0;
      }
      const inputs = faces.map((f) => face([f.x + f.vx * t + (r() - 0.5) * 2, f.y + f.vy * t + (r() - 0.5) * 2, 90, 90], 0.9));
      const plan = tracker.plan(inputs, frame(t));
      for (const d of plan.embed) inputs[d]!.prediction = accept(`p${d}`, 0.7);
      embedded += plan.embed.length;
      snaps = tracker.update(inputs, frame(t));
    }
    const ms = (performance.now() - t0) / frames;
    // Inputs are built inside the timed loop too: an upper bound on the tracker's own cost.
    console.log(`tracking: plan+update with 20 faces: ${ms.toFixed(3)} ms/frame; ${(embedded / frames).toFixed(2)} embeddings/frame`);
    expect(snaps).toHaveLength(20);
    expect(snaps.every((s) => s.state === 'confirmed' && s.identity !== null)).toBe(true);
    expect(new Set(snaps.map((s) => s.id)).size).toBe(20);
    expect(Math.max(...snaps.map((s) => s.id))).toBe(20);
  });
});
