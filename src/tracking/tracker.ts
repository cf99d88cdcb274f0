// Multi-face tracker: Kalman-predicted boxes, ByteTrack two-pass matching, a track lifecycle and a
// per-track identity vote; plus the plan of which faces need an embedding this frame.
//
// Per frame the pipeline does:
//   cut?  → tracker.cut()
//   plan  = tracker.plan(faces, frame)            // matches by overlap only; changes nothing
//   embed + classify the faces in plan.embed      // only those
//   tracks = tracker.update(inputs, frame)        // same matches; predictions feed identities
//   ended  = tracker.takeEnded()
//
// plan() and update() run the same deterministic matching on the same state, so the faces the
// plan picked are the ones the update gives to those tracks.
import { faceQuality } from '../vision/quality.ts';
import type { Box, DetectedFace } from '../vision/types.ts';
import { associate, type Association, type TrackState } from './associate.ts';
import { iou } from './assignment.ts';
import { IdentityEvidence, type EvidencePrediction, type IdentityState, type NameLookup, type TrackIdentity } from './identity.ts';
import { BoxKalman } from './kalman.ts';
import { resolveBlock, type EmbeddingConfig, type IdentityConfig, type KalmanConfig, type TrackerConfig } from './options.ts';

export type { TrackState };

export interface TrackInput extends DetectedFace {
  /** The classifier's answer on this face, when it was embedded this frame. */
  prediction?: EvidencePrediction | null;
  /** Face quality 0…1 (faceQuality with sharpness, ideally); computed from the box, score and landmarks when absent. */
  quality?: number;
}

export interface FrameInfo {
  /** Sampled-frame counter of the source; frames count in these units. */
  seq: number;
  pts: number;
  width: number;
  height: number;
}

export interface TrackSnapshot {
  /** Stable for the life of the track; never reused by this tracker. */
  id: number;
  /** The filtered box (predicted while lost). */
  box: Box;
  /** Detector score of the last matched detection. */
  score: number;
  state: TrackState;
  /** null: no name to show (never for sure, dropped, or re-verifying). */
  identity: TrackIdentity | null;
  /** Matched detections, the first one included. */
  hits: number;
  /** Frames since the track started, this one included. */
  age: number;
  /** Frames since the last matched detection (0 = matched this frame). */
  timeSinceUpdate: number;
  /** Quality of the last matched detection. */
  quality: number;
  /** Index of the detection matched this frame in the update's input, or null. */
  detection: number | null;
}

export type EndReason = 'cut' | 'expired' | 'unconfirmed';

export interface EndedTrack {
  id: number;
  reason: EndReason;
  /** The name it had (null if none): remove that graphic. */
  identity: TrackIdentity | null;
  box: Box;
  hits: number;
  age: number;
  /** The last frame the tracker had seen when the track ended (for a cut: the last frame of the old shot). */
  seq: number;
}

export interface EmbeddingPlan {
  seq: number;
  /** Per detection: the id of the track it will continue, or null (starts a track, or is dropped). */
  trackOf: (number | null)[];
  /** Per detection: it will start a new track. */
  startsTrack: boolean[];
  /** Detections to embed and classify before update(), most useful first. */
  embed: number[];
}

export interface TrackerOptions {
  kalman?: Partial<KalmanConfig>;
  tracker?: Partial<TrackerConfig>;
  embedding?: Partial<EmbeddingConfig>;
  identity?: Partial<IdentityConfig>;
  /** Display name of a player id, for TrackIdentity.name. */
  nameOf?: NameLookup;
}

interface Track {
  id: number;
  kf: BoxKalman;
  state: TrackState;
  hits: number;
  startSeq: number;
  lastMatchSeq: number;
  lastEmbedSeq: number;
  score: number;
  quality: number;
  detection: number | null;
  identity: IdentityEvidence;
}

/** What plan() and update() share: the matching of this frame against the current tracks. */
interface Matching {
  dt: number;
  association: Association;
  qualities: number[];
  ambiguous: boolean[];
}

export class Tracker {
  private readonly kalmanOpts: KalmanConfig;
  private readonly opts: TrackerConfig;
  private readonly embedOpts: EmbeddingConfig;
  private readonly identityOpts: IdentityConfig;
  private readonly nameOf: NameLookup | undefined;
  private tracks: Track[] = [];
  private ended: EndedTrack[] = [];
  private nextId = 1;
  private lastSeq: number | null = null;

  constructor(options: TrackerOptions = {}) {
    this.kalmanOpts = resolveBlock('kalman', options.kalman);
    this.opts = resolveBlock('tracker', options.tracker);
    this.embedOpts = resolveBlock('embedding', options.embedding);
    this.identityOpts = resolveBlock('identity', options.identity);
    this.nameOf = options.nameOf;
  }

  /**
   * Which of this frame's detections need an embedding: faces on tracks without a name (new ones
   * included) or whose name the last answer disputed, and named tracks due a re-check. Never
   * doubtful faces (below identity.minQuality, or overlapping another face): their answer would not
   * be used. Changes nothing; pass update() the same detections.
   */
  plan(detections: readonly TrackInput[], frame: FrameInfo): EmbeddingPlan {
    const tracks = this.isBackwards(frame.seq) ? [] : this.tracks;
    const m = this.match(tracks, detections, frame.seq);
    const trackOf = m.association.trackOf.map((t) => (t >= 0 ? tracks[t]!.id : null));
    const startsTrack = detections.map(() => false);
    for (const d of m.association.newTracks) startsTrack[d] = true;

    const wanted: { det: number; unnamed: boolean; quality: number; stale: number }[] = [];
    detections.forEach((_det, d) => {
      if (m.ambiguous[d] || !(m.qualities[d]! >= this.identityOpts.minQuality)) return;
      const t = m.association.trackOf[d]!;
      if (t < 0) {
        if (startsTrack[d]) wanted.push({ det: d, unnamed: true, quality: m.qualities[d]!, stale: Infinity });
        return;
      }
      const track = tracks[t]!;
      // "unnamed" = wants an answer now: no name shown, about to be re-verified, or in dispute.
      const unnamed = track.identity.identity === null || track.identity.disputed || this.needsReverify(track, frame.seq);
      const stale = frame.seq - track.lastEmbedSeq;
      if (unnamed || stale >= this.embedOpts.recheckEvery) wanted.push({ det: d, unnamed, quality: m.qualities[d]!, stale });
    });
    // Unnamed faces first (best quality first: the likeliest to give a usable answer), then the
    // named tracks whose last check is oldest.
    wanted.sort((a, b) => Number(b.unnamed) - Number(a.unnamed) || (a.unnamed ? b.quality - a.quality : b.stale - a.stale) || a.det - b.det);
    const cap = this.embedOpts.maxPerFrame > 0 ? this.embedOpts.maxPerFrame : wanted.length;
    return { seq: frame.seq, trackOf, startsTrack, embed: wanted.slice(0, cap).map((w) => w.det) };
  }

  /** Advance to this frame: predict, match, update tracks and identities. Returns the live tracks by id. */
  update(detections: readonly TrackInput[], frame: FrameInfo): TrackSnapshot[] {
    const seq = frame.seq;
    if (this.isBackwards(seq)) this.cut(); // the source restarted: nothing carries over
    const m = this.match(this.tracks, detections, seq);
    for (const t of this.tracks) {
      t.kf.predict(m.dt, { freezeSize: t.state === 'lost' });
      t.detection = null;
    }

    m.association.trackOf.forEach((ti, d) => {
      if (ti < 0) return;
      const t = this.tracks[ti]!;
      const det = detections[d]!;
      if (this.needsReverify(t, seq) || m.ambiguous[d]) t.identity.suspend();
      t.kf.update(det.box);
      t.hits++;
      t.lastMatchSeq = seq;
      t.score = det.score;
      t.quality = m.qualities[d]!;
      t.detection = d;
      if (t.state === 'lost' || t.hits >= this.opts.minHits) t.state = 'confirmed';
      this.observe(t, det, m.qualities[d]!, m.ambiguous[d]!, seq);
    });

    const removed = new Set<Track>();
    for (const ti of m.association.unmatchedTracks) {
      const t = this.tracks[ti]!;
      const missed = seq - t.lastMatchSeq;
      if (t.state === 'tentative') {
        if (missed > this.opts.tentativeMaxAge) removed.add(this.end(t, 'unconfirmed', seq));
      } else if (missed > this.opts.maxAge) {
        removed.add(this.end(t, 'expired', seq));
      } else {
        t.state = 'lost';
      }
    }
    if (removed.size > 0) this.tracks = this.tracks.filter((t) => !removed.has(t));

    for (const d of m.association.newTracks) {
      const det = detections[d]!;
      const t: Track = {
        id: this.nextId++,
        kf: new BoxKalman(det.box, this.kalmanOpts),
        state: this.opts.minHits <= 1 ? 'confirmed' : 'tentative',
        hits: 1,
        startSeq: seq,
        lastMatchSeq: seq,
        lastEmbedSeq: -Infinity,
        score: det.score,
        quality: m.qualities[d]!,
        detection: d,
        identity: new IdentityEvidence(this.identityOpts, this.nameOf),
      };
      this.observe(t, det, m.qualities[d]!, m.ambiguous[d]!, seq);
      this.tracks.push(t);
    }
    this.lastSeq = seq;
    return this.snapshot();
  }

  /** A shot cut (or source switch): every track ends now, reason 'cut'. */
  cut(): void {
    const seq = this.lastSeq ?? 0;
    for (const t of this.tracks) this.end(t, 'cut', seq);
    this.tracks = [];
  }

  /** Tracks removed since the last call (expired, unconfirmed or cut), oldest first. */
  takeEnded(): EndedTrack[] {
    const out = this.ended;
    this.ended = [];
    return out;
  }

  /** The live tracks as of the last update, by id. */
  snapshot(): TrackSnapshot[] {
    const seq = this.lastSeq ?? 0;
    return this.tracks
      .map((t) => ({
        id: t.id,
        box: t.kf.box,
        score: t.score,
        state: t.state,
        identity: t.identity.identity,
        hits: t.hits,
        age: seq - t.startSeq + 1,
        timeSinceUpdate: seq - t.lastMatchSeq,
        quality: t.quality,
        detection: t.detection,
      }))
      .sort((a, b) => a.id - b.id);
  }

  /** The identity vote of a live track (diagnostics), or null when there is no such track. */
  identityState(trackId: number): IdentityState | null {
    return this.tracks.find((t) => t.id === trackId)?.identity.state() ?? null;
  }

  private match(tracks: readonly Track[], detections: readonly TrackInput[], seq: number): Matching {
    const dt = this.lastSeq === null || seq <= this.lastSeq ? 1 : seq - this.lastSeq;
    const predicted = tracks.map((t) => ({ box: t.kf.predictedBox(dt, { freezeSize: t.state === 'lost' }), state: t.state }));
    const association = associate(predicted, detections, this.opts);
    const qualities = detections.map((d) => d.quality ?? faceQuality(d));
    const ambiguous = detections.map((d, i) => detections.some((o, j) => j !== i && iou(d.box, o.box) >= this.embedOpts.ambiguousIoU));
    return { dt, association, qualities, ambiguous };
  }

  /** A face overlapping another may have been swapped with it: its answer is not evidence. */
  private observe(t: Track, det: TrackInput, quality: number, ambiguous: boolean, seq: number): void {
    if (!det.prediction) return;
    t.lastEmbedSeq = seq;
    if (!ambiguous) t.identity.observe(det.prediction, quality);
  }

  /** Re-found after a gap long enough that another face could have taken its place. */
  private needsReverify(t: Track, seq: number): boolean {
    return seq - t.lastMatchSeq - 1 >= this.embedOpts.reverifyAfterLost;
  }

  private isBackwards(seq: number): boolean {
    return this.lastSeq !== null && seq <= this.lastSeq;
  }

  private end(t: Track, reason: EndReason, seq: number): Track {
    this.ended.push({ id: t.id, reason, identity: t.identity.identity, box: t.kf.box, hits: t.hits, age: seq - t.startSeq + 1, seq });
    return t;
  }
}
