// One source's live pipeline: frames → vision pool (detect) → tracker plan → pool (embed the faces
// that need it) → classifier → tracker update → a FrameAnalysis event. Used alike by
// `facecast analyze` (JSON lines) and `facecast serve` (overlays).
//
// Frames are submitted to the pool as they arrive so detection of the next frame overlaps the
// tracking of this one, but results are consumed strictly in source order: the tracker sees every
// analysed frame once, in order.
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.ts';
import type { FrameSource, SourceStatus } from '../ingest/types.ts';
import type { Logger } from '../shared/log.ts';
import type { Decision, Frame, Identity } from '../shared/protocol.ts';
import type { Recognizer } from '../recognition/service.ts';
import { ShotCutDetector } from '../tracking/shotCut.ts';
import { Tracker, type EmbeddingPlan, type EndedTrack, type TrackInput, type TrackSnapshot } from '../tracking/tracker.ts';
import type { AnalyseResult, VisionPool } from '../vision/pool/index.ts';
import { isPoolError } from '../vision/pool/index.ts';
import { LatencyWindow, ScreenTime } from './stats.ts';
import { TrackMemory, type RememberedFace } from './trackMemory.ts';

export interface TrackOut {
  id: number;
  box: [number, number, number, number];
  score: number;
  identity: Identity | null;
  state: TrackSnapshot['state'];
  /** The decision on the track's last embedded face: its best candidate and what named it or held it back. */
  decision?: Decision;
}

/** One analysed frame: the JSON line of `facecast analyze`, and what the overlay logic reacts to. */
export interface FrameAnalysis {
  channel: string;
  frame: number;
  pts: number;
  wallMs: number;
  width: number;
  height: number;
  /** A shot cut was detected at or before this frame (since the last analysed one): all tracks ended. */
  cut: boolean;
  tracks: TrackOut[];
  /** Tracks that ended with this frame (cut, expired): their graphics come off. */
  ended: EndedTrack[];
  /** Frame arrival (wallMs) to analysis done, ms. */
  latencyMs: number;
  faces: number;
  embedded: number;
}

export interface PipelineSummary {
  frames: number;
  dropped: number;
  lost: number;
  analysedFps: number;
  latencyMs: { p50: number; p95: number };
  tracks: number;
  identities: { id: string; name: string; screenTimeS: number }[];
}

export interface SourcePipelineOptions {
  source: FrameSource;
  pool: VisionPool;
  config: Config;
  /** The current roster model (read per frame, so a retrain takes effect at once); null = no names. */
  recognizer: () => Recognizer | null;
  /** 'file' never drops frames (ffmpeg waits); 'live' lets the pool drop the oldest waiting frame. */
  policy: 'file' | 'live';
  log: Logger;
  /**
   * Sees each sampled frame before its pixels are transferred to a worker (after that they are
   * gone): the dashboard preview copies the few it wants here. Must be quick; errors are logged.
   */
  tap?: (frame: Frame) => void;
  /**
   * Remember each track's recent embeddings (and keep ended tracks graceMs), for corrections that
   * teach the roster. Without a model it also embeds faces, at most one per track every
   * tracking.embedding.recheckEvery frames, so there is something to teach with from the start.
   */
  trackMemory?: { perTrack: number; graceMs: number };
}

export interface SourcePipelineEvents {
  frame: [FrameAnalysis];
  status: [SourceStatus];
  end: [PipelineSummary];
}

export class SourcePipeline extends EventEmitter<SourcePipelineEvents> {
  readonly channel: string;
  private readonly tracker: Tracker;
  private readonly shotCut: ShotCutDetector;
  private readonly latency = new LatencyWindow();
  private readonly screen = new ScreenTime();
  private readonly trackIds = new Set<number>();
  /** Each live track's last decision, so a track that stays unknown can say why. */
  private readonly decisions = new Map<number, Decision>();
  private readonly cutSeqs: number[] = [];
  private analysed = 0;
  private poolDropped = 0;
  private lost = 0;
  private startedAt = 0;
  private stopped = false;
  private running: Promise<PipelineSummary> | undefined;
  private readonly memory: TrackMemory | null;

  constructor(private readonly opts: SourcePipelineOptions) {
    super();
    this.channel = opts.source.channel;
    const t = opts.config.tracking;
    this.tracker = new Tracker({
      kalman: t.kalman,
      tracker: t.tracker,
      embedding: t.embedding,
      identity: t.identity,
      nameOf: (id) => opts.recognizer()?.model.players[id],
    });
    this.shotCut = new ShotCutDetector(t.shotCut);
    this.memory = opts.trackMemory ? new TrackMemory(opts.trackMemory.perTrack, opts.trackMemory.graceMs) : null;
    opts.source.onStatus((s) => this.emit('status', s));
  }

  /** Runs until the source ends or stop() is called; resolves with the summary. */
  start(): Promise<PipelineSummary> {
    this.running ??= this.run();
    return this.running;
  }

  async stop(): Promise<PipelineSummary> {
    this.stopped = true;
    await this.opts.source.stop();
    return this.start();
  }

  /** The recent faces of a live (or recently ended) track, oldest first; empty without trackMemory. */
  trackFaces(trackId: number): RememberedFace[] {
    return this.memory?.faces(trackId) ?? [];
  }

  summary(): PipelineSummary {
    const seconds = this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0;
    return {
      frames: this.analysed,
      dropped: this.opts.source.dropped + this.poolDropped,
      lost: this.lost,
      analysedFps: seconds > 0 ? Math.round((this.analysed / seconds) * 100) / 100 : 0,
      latencyMs: this.latency.summary(),
      tracks: this.trackIds.size,
      identities: this.screen.list(),
    };
  }

  private async run(): Promise<PipelineSummary> {
    this.startedAt = performance.now();
    const frameSeconds = 1 / this.opts.config.ingest.fps;
    let chain: Promise<void> = Promise.resolve();
    for await (const frame of this.opts.source) {
      if (this.stopped) break;
      // The histogram must be read before the pixels are transferred to a worker.
      if (this.shotCut.push(frame).cut) this.cutSeqs.push(frame.seq);
      if (this.opts.tap) this.tapFrame(frame);
      const meta = { seq: frame.seq, pts: frame.pts, wallMs: frame.wallMs, width: frame.width, height: frame.height };
      const submission = this.opts.pool.submit(frame, { policy: this.opts.policy, embed: 'none', keep: true });
      chain = chain.then(() => this.consume(submission.result, meta, frameSeconds));
      // Files wait for room in the pool (ffmpeg is paused meanwhile); live frames never wait.
      await submission.accepted;
    }
    await chain;
    const summary = this.summary();
    this.emit('end', summary);
    return summary;
  }

  /** Processes one frame's detections in source order. Never throws: a lost frame is counted. */
  private async consume(result: Promise<AnalyseResult>, meta: Omit<Frame, 'rgb' | 'channel'>, frameSeconds: number): Promise<void> {
    let r: AnalyseResult;
    try {
      r = await result;
    } catch (err) {
      if (isPoolError(err) && err.code === 'dropped') this.poolDropped++;
      else {
        this.lost++;
        this.opts.log.warn({ channel: this.channel, seq: meta.seq, err: (err as Error).message }, 'frame lost');
      }
      return;
    }
    const cut = this.takeCut(meta.seq);
    if (cut) this.tracker.cut();
    const recognizer = this.opts.recognizer();
    const inputs: TrackInput[] = r.faces.map((f) => ({ box: f.box, score: f.score, landmarks: f.landmarks, quality: f.quality }));
    const plan = this.tracker.plan(inputs, meta);
    const toEmbed = recognizer ? plan.embed : this.paceWithoutModel(plan);
    const embeddings = new Map<number, Float32Array>();
    const decisions = new Map<number, Decision>();
    let embedded = 0;
    if (toEmbed.length > 0) {
      try {
        const e = await this.opts.pool.embed(r.frameId, toEmbed);
        e.embedded.forEach((faceIndex, i) => {
          embeddings.set(faceIndex, e.embeddings[i]!);
          if (!recognizer) return;
          const { prediction: p, decision } = recognizer.decide(e.embeddings[i]!);
          decisions.set(faceIndex, decision);
          const os = p.best.openSet;
          inputs[faceIndex]!.prediction = {
            identity: p.identity ? { id: p.identity.id, confidence: p.identity.confidence } : null,
            // Only a face held back by the distance alone carries evidence: one another gate refused says nothing for the candidate.
            evidence: os && p.rejectedBy.every((g) => g === 'falseAcceptRate') ? { id: p.best.id, llr: os.llr, llrAtThreshold: os.llrAtThreshold } : null,
          };
        });
        embedded = e.embedded.length;
      } catch (err) {
        this.opts.log.warn({ channel: this.channel, seq: meta.seq, err: (err as Error).message }, 'embedding failed; tracking without identity this frame');
      }
    } else if (r.kept) {
      this.opts.pool.release(r.frameId);
    }
    const snapshots = this.tracker.update(inputs, meta);
    const ended = this.tracker.takeEnded();
    if (this.memory) this.remember(snapshots, ended, embeddings, meta);
    for (const t of snapshots) {
      const d = t.detection === null ? undefined : decisions.get(t.detection);
      if (d) this.decisions.set(t.id, d);
    }
    for (const e of ended) this.decisions.delete(e.id);
    const tracks = snapshots.map((t): TrackOut => {
      this.trackIds.add(t.id);
      const name = t.identity ? (t.identity.name ?? recognizer?.model.players[t.identity.id] ?? t.identity.id) : '';
      return {
        id: t.id,
        box: t.box.map((v) => Math.round(v * 10) / 10) as TrackOut['box'],
        score: Math.round(t.score * 1000) / 1000,
        identity: t.identity ? { id: t.identity.id, name, confidence: Math.round(t.identity.confidence * 1000) / 1000 } : null,
        state: t.state,
        ...(this.decisions.has(t.id) ? { decision: this.decisions.get(t.id)! } : {}),
      };
    });
    // On screen now: named tracks that were seen in this very frame.
    this.screen.add(
      tracks.flatMap((t, i) => (t.identity && snapshots[i]!.timeSinceUpdate === 0 ? [{ id: t.identity.id, name: t.identity.name }] : [])),
      frameSeconds,
    );
    this.analysed++;
    const latencyMs = Date.now() - meta.wallMs;
    this.latency.push(latencyMs);
    this.emit('frame', {
      channel: this.channel,
      frame: meta.seq,
      pts: meta.pts,
      wallMs: meta.wallMs,
      width: meta.width,
      height: meta.height,
      cut,
      tracks,
      ended,
      latencyMs,
      faces: r.faces.length,
      embedded,
    });
  }

  /** Without a model nothing asks for names; embed only what the track memory is due. */
  private paceWithoutModel(plan: EmbeddingPlan): number[] {
    const memory = this.memory;
    if (!memory) return [];
    const every = this.opts.config.tracking.embedding.recheckEvery;
    return plan.embed.filter((d) => {
      const track = plan.trackOf[d];
      const last = track === null || track === undefined ? null : memory.lastSeq(track);
      return last === null || plan.seq - last >= every;
    });
  }

  private remember(snapshots: TrackSnapshot[], ended: EndedTrack[], embeddings: Map<number, Float32Array>, meta: { seq: number; pts: number }): void {
    const memory = this.memory!;
    for (const t of snapshots) {
      const e = t.detection === null ? undefined : embeddings.get(t.detection);
      if (e) memory.add(t.id, { embedding: e, quality: Math.round(t.quality * 1000) / 1000, seq: meta.seq, pts: meta.pts });
    }
    for (const e of ended) memory.ended(e.id);
    memory.sweep();
  }

  /** A failing preview must never stop the analysis. */
  private tapFrame(frame: Frame): void {
    try {
      this.opts.tap!(frame);
    } catch (err) {
      this.opts.log.warn({ channel: this.channel, err: (err as Error).message }, 'frame tap failed');
    }
  }

  /** True when a cut was seen at this frame or at a frame dropped since the last analysed one. */
  private takeCut(seq: number): boolean {
    let cut = false;
    while (this.cutSeqs.length && this.cutSeqs[0]! <= seq) {
      this.cutSeqs.shift();
      cut = true;
    }
    return cut;
  }
}
