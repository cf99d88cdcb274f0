// The channels of `facecast serve`: each is one source (file, RTMP, SRT, …) with its own live
// pipeline and overlay controller, and the graphics pages that show it (/graphics?channel=N).
// A channel exists before a source is attached, so output pages can be set up in OBS first.
//
// Data flow per channel: FfmpegFrameSource → SourcePipeline (shared VisionPool) → FrameAnalysis →
// OverlayController (auto/assisted/manual, as-run log) → `state` / `tags` → OverlayHub → pages.
// Operator dashboards also get this channel's `preview` and `tracks` (operatorFeed.ts), every
// channel's `health`, and `roster` / `training` news; their corrections (relabel) teach the roster.
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { FfmpegFrameSource, IngestError, InputRefusedError, SourcePolicy, parseInput, publicStatusText, redact, type FrameSource, type SourceStatus } from '../ingest/index.ts';
import { AsRunLog } from '../overlay/asRun.ts';
import { OverlayController } from '../overlay/controller.ts';
import { SourcePipeline, type FrameAnalysis } from '../pipeline/sourcePipeline.ts';
import type { Logger } from '../shared/log.ts';
import type { ChannelState, ClientMessage, ServerMessage } from '../shared/protocol.ts';
import type { VisionPool } from '../vision/pool/index.ts';
import type { AppContext } from './context.ts';
import { HttpError } from './errors.ts';
import type { FacecastMetrics } from './metrics.ts';
import type { OverlayChannel } from './overlayHub.ts';
import { DelayMeter, type DelayReport } from './delay.ts';
import { OperatorFeed, type OperatorOutput } from './operatorFeed.ts';
import { embeddingSetupKey } from '../vision/setup.ts';

type TagsMessage = Extract<ServerMessage, { type: 'tags' }>;

type HealthChannel = Extract<ServerMessage, { type: 'health' }>['channels'][number];

/**
 * Where on-air changes go (the WebSocket hub); kept as an interface so tests can listen directly.
 * Without the operator methods there are no dashboard feeds.
 */
export interface OverlayOutput extends Partial<OperatorOutput> {
  broadcastState(state: ChannelState): void;
  broadcastTags(msg: TagsMessage): void;
  /** Connected pages per channel and role, for the health message. */
  counts?(): { byChannel: Record<string, { graphics: number; operator: number }> };
}

/** What a correction did: rows added to the roster (a player's faces, or negatives). */
export interface RelabelResult {
  channel: string;
  trackId: number;
  playerId: string | null;
  added: number;
  /** The background retrain it started (or joined). */
  training: ReturnType<AppContext['trainer']['status']>;
}

export interface AttachOptions {
  /** Files only: start again at the end (the demo). */
  loop?: boolean;
  /** Files only: play at the native frame rate, as a live feed would arrive (default true in serve). */
  realtime?: boolean;
}

export interface ChannelInfo {
  id: string;
  source: { url: string | null; status: SourceStatus['state']; detail: string | null };
  state: ChannelState;
  timing: DelayReport;
  analysedFrames: number;
  dropped: number;
}

/** More channels than one server should carry; also caps what output pages can create. */
export const MAX_CHANNELS = 16;

/** Channel ids appear in URLs and metrics labels: keep them short and plain. */
const CHANNEL_ID = /^[A-Za-z0-9_-]{1,32}$/;

export function checkChannelId(id: string): string {
  if (!CHANNEL_ID.test(id)) throw new HttpError(400, 'BAD_CHANNEL', `channel "${id.slice(0, 40)}" is not valid: use 1–32 letters, digits, - or _ (e.g. 1, 2, main)`);
  return id;
}

/** What the API and pages say about a source: a category; ffmpeg's own words stay in the log. */
const statusDetail = publicStatusText;

class Channel implements OverlayChannel {
  readonly controller: OverlayController;
  readonly delay = new DelayMeter();
  url: string | null = null;
  private pipeline: SourcePipeline | null = null;
  private running: Promise<unknown> | null = null;
  status: SourceStatus = { state: 'idle' };
  analysedFrames = 0;
  private droppedSeen = 0;
  /** The dashboard's preview and "on screen now"; null when the output has no operator side. */
  private readonly feed: OperatorFeed | null;
  /** Fires when no frame came for overlay.lostMs: the picture stalled before the source noticed. */
  private stallTimer?: NodeJS.Timeout;
  /** Set while tags are cleared: those messages belong to no frame, so they are not a delay sample. */
  private clearingTags = false;

  constructor(
    readonly id: string,
    private readonly deps: {
      config: Config;
      ctx: AppContext;
      pool: () => Promise<VisionPool>;
      output: OverlayOutput;
      metrics: FacecastMetrics | null;
      asRun: AsRunLog;
      log: Logger;
      policy: SourcePolicy;
    },
  ) {
    this.controller = new OverlayController(id, deps.config.overlay, { player: (pid) => deps.ctx.roster.getPlayer(pid), asRun: deps.asRun });
    this.controller.on('state', (s) => deps.output.broadcastState(s));
    this.controller.on('tags', (m) => this.sendTags(m));
    this.controller.on('asRun', (e) => {
      if (e.action === 'take') deps.metrics?.takesTotal.inc({ channel: id, mode: this.controller.state().mode, by: e.by.split(':')[0] ?? e.by });
      else if (e.action === 'clear' || e.action === 'auto-out') deps.metrics?.clearsTotal.inc({ channel: id, reason: e.detail ?? e.action });
    });
    const out = deps.output;
    this.feed =
      out.hasOperators && out.broadcastOperator
        ? new OperatorFeed(id, deps.config.dashboard, { hasOperators: out.hasOperators.bind(out), broadcastOperator: out.broadcastOperator.bind(out) }, (pid) => this.controller.onAirStatus(pid), deps.log)
        : null;
  }

  state(): ChannelState {
    return this.controller.state();
  }

  /**
   * An operator command from the WebSocket or the API. Overlay commands are synchronous; attach and
   * detach return a promise (the hub reports its rejection). Errors carry a `code` for the client.
   */
  handle(msg: ClientMessage, by: string): void | Promise<void> {
    switch (msg.type) {
      case 'attach':
        return this.attachFromOperator(msg.url, msg.loop, by);
      case 'detach':
        this.deps.log.info({ channel: this.id, by }, `channel ${this.id}: source detached by ${by}`);
        return this.detach();
      case 'relabel':
        this.relabel(msg.trackId, msg.playerId, by);
        return;
      default:
        this.controller.handle(msg, by);
    }
  }

  private async attachFromOperator(url: string, loop: boolean | undefined, by: string): Promise<void> {
    try {
      await this.attachChecked(url, { loop });
    } catch (err) {
      if (err instanceof InputRefusedError) throw new HttpError(400, 'INPUT_REFUSED', err.message);
      throw new HttpError(500, 'ATTACH_FAILED', `could not attach ${redact(url)}: ${(err as Error).message}`);
    }
    this.deps.log.info({ channel: this.id, by, source: redact(url) }, `channel ${this.id}: ${by} attached ${redact(url)}`);
  }

  /**
   * "This track is player X" (or, with null, "not a player"): the track's remembered faces become
   * that player's enrolled faces (or negatives), with the operator in the audit trail, and the
   * classifier retrains in the background. The frame with the best face counts as the original
   * photo and the others as its views (augmentation 'track-frame-<seq>'), so cross-validation
   * treats one track like one photo instead of scoring near-identical frames against each other.
   */
  relabel(trackId: number, playerId: string | null, by: string): RelabelResult {
    const faces = this.pipeline?.trackFaces(trackId) ?? [];
    if (faces.length === 0) {
      throw new HttpError(
        404,
        'UNKNOWN_TRACK',
        `track ${trackId} on channel ${this.id} has no faces to learn from (no source, never embedded, or ended over ${Math.round(this.deps.config.dashboard.trackGraceMs / 1000)} s ago); pick a track from "on screen now"`,
      );
    }
    const { roster, events, trainer } = this.deps.ctx;
    const origin = `track ${trackId} on channel ${this.id}`;
    // The channel's workers embed with the configured setup, the one the shared engine reports.
    const embeddedWith = embeddingSetupKey(this.deps.ctx.engine.setup);
    const sha = createHash('sha256').update(`track:${this.id}:${trackId}:${new Date().toISOString()}`).digest('hex');
    let added: number;
    if (playerId !== null) {
      const player = roster.getPlayer(playerId);
      if (!player) throw new HttpError(404, 'UNKNOWN_PLAYER', `no player '${playerId}' on the roster; check the id (GET /api/players) or add the player first`);
      const best = faces.reduce((b, f, i) => (f.quality > faces[b]!.quality ? i : b), 0);
      const rows = faces.map((f, i) => ({ sourceSha256: sha, embedding: f.embedding, quality: f.quality, augmentation: i === best ? '' : `track-frame-${f.seq}`, sourceFile: `${origin} (relabelled by ${by})`, embeddedWith }));
      added = roster.addFaces(playerId, rows, by).added;
      events.emit('player', { type: 'enrolled', id: playerId, player });
    } else {
      const rows = faces.map((f, i) => ({ embedding: f.embedding, source: 'operator' as const, sourceSha256: sha, faceIndex: i, note: `${origin}: not a player (${by})`, embeddedWith }));
      added = roster.addNegatives(rows, by).added;
      this.deps.output.broadcastOperator?.(null, { type: 'roster', change: 'relabelled', playerId: null }, { skippable: false });
    }
    this.deps.log.info({ channel: this.id, trackId, playerId, added, by }, `${origin} relabelled as ${playerId ?? 'not a player'} by ${by}`);
    void trainer.request('relabel');
    return { channel: this.id, trackId, playerId, added, training: trainer.status() };
  }

  /**
   * An operator's source (API, dashboard): the source policy (ingest.mediaRoots, allowHosts, …)
   * decides before anything starts, and an HLS source's requests all go through its checking proxy.
   */
  async attachChecked(url: string, opts: AttachOptions): Promise<void> {
    const input = await this.deps.policy.check(url);
    await this.attach(input, opts, () => this.deps.policy.hlsProxyUrl());
  }

  /**
   * Stops any current source, then starts this one. Refuses unlisted protocols before anything
   * starts, but trusts the path or host: for sources the process itself was given (the command
   * line, the demo, tests); operators' sources go through attachChecked.
   */
  async attach(url: string, opts: AttachOptions, hlsProxy?: () => Promise<string>): Promise<void> {
    const spec = parseInput(url);
    await this.detach();
    const { config, log } = this.deps;
    const pool = await this.deps.pool();
    const isFile = spec.kind === 'file';
    const realtime = isFile ? (opts.realtime ?? true) : false;
    const source = new FfmpegFrameSource({
      ...config.ingest,
      input: url,
      channel: this.id,
      loop: isFile ? (opts.loop ?? config.ingest.loop) : false,
      realtime,
      // A file played at its native rate stands in for a live feed: drop rather than fall behind.
      live: isFile ? realtime : undefined,
      logger: log,
      hlsProxy,
    });
    this.run(source, pool, url, isFile && !realtime ? 'file' : 'live');
  }

  /** Runs the pipeline on any frame source: tests and generated feeds push frames from code. */
  async attachSource(source: FrameSource, label: string, policy: 'file' | 'live' = 'live'): Promise<void> {
    await this.detach();
    this.run(source, await this.deps.pool(), label, policy);
  }

  private run(source: FrameSource, pool: VisionPool, url: string, policy: 'file' | 'live'): void {
    const { config, log } = this.deps;
    const pipeline = new SourcePipeline({
      source,
      pool,
      config,
      recognizer: () => this.deps.ctx.recognizer,
      policy,
      log,
      tap: this.feed?.tap,
      trackMemory: { perTrack: config.dashboard.trackEmbeddings, graceMs: config.dashboard.trackGraceMs },
    });
    this.url = url;
    this.pipeline = pipeline;
    this.droppedSeen = 0;
    this.setStatus(source.status);
    pipeline.on('status', (s) => this.setStatus(s));
    pipeline.on('frame', (a) => this.onFrame(a));
    this.running = pipeline.start().then(
      (summary) => log.info({ channel: this.id, summary }, `channel ${this.id}: source ended`),
      (err: unknown) => {
        log.error({ channel: this.id, err }, `channel ${this.id}: ${(err as Error).message}`);
        this.setStatus({ state: 'error', kind: err instanceof IngestError ? err.kind : 'unknown', message: (err as Error).message, fatal: true });
      },
    );
    log.info({ channel: this.id, source: redact(url) }, `channel ${this.id}: attached ${redact(url)}`);
  }

  async detach(): Promise<void> {
    const pipeline = this.pipeline;
    if (!pipeline) return;
    this.pipeline = null;
    clearTimeout(this.stallTimer);
    await pipeline.stop().catch(() => undefined);
    await this.running;
    this.running = null;
    this.url = null;
    this.setStatus({ state: 'idle' });
    this.clearingTags = true;
    try {
      this.controller.onSourceGone();
    } finally {
      this.clearingTags = false;
    }
    this.feed?.reset();
  }

  /** This channel's row of the dashboard's health message. */
  health(outputs: { graphics: number; operator: number }): HealthChannel {
    const summary = this.pipeline?.summary();
    const timing = this.delay.report();
    return {
      id: this.id,
      source: { url: this.url ? redact(this.url) : null, state: this.status.state, detail: statusDetail(this.status) },
      analysedFps: summary?.analysedFps ?? 0,
      dropped: summary?.dropped ?? 0,
      latencyMs: { p50: summary && summary.frames > 0 ? summary.latencyMs.p50 : null, p95: summary && summary.frames > 0 ? summary.latencyMs.p95 : null },
      recommendedDelayMs: timing.recommendedDelayMs,
      advice: timing.advice,
      outputs,
    };
  }

  info(): ChannelInfo {
    return {
      id: this.id,
      source: { url: this.url ? redact(this.url) : null, status: this.status.state, detail: statusDetail(this.status) },
      state: this.state(),
      timing: this.delay.report(),
      analysedFrames: this.analysedFrames,
      dropped: this.pipeline?.summary().dropped ?? 0,
    };
  }

  private setStatus(s: SourceStatus): void {
    const wasPlaying = this.status.state === 'playing';
    this.status = s;
    if (wasPlaying && s.state !== 'playing') this.pictureStopped();
    this.deps.metrics?.sourceUp.set({ channel: this.id }, s.state === 'playing' ? 1 : 0);
    this.controller.setSource({ url: this.url ? redact(this.url) : null, state: s.state, detail: statusDetail(s) });
  }

  private onFrame(a: FrameAnalysis): void {
    this.analysedFrames++;
    const m = this.deps.metrics;
    m?.framesTotal.inc({ channel: this.id });
    m?.frameLatency.observe({ channel: this.id }, a.latencyMs / 1000);
    m?.tracksActive.set({ channel: this.id }, a.tracks.length);
    const dropped = this.pipeline?.summary().dropped ?? 0;
    if (dropped > this.droppedSeen) m?.framesDroppedTotal.inc({ channel: this.id }, dropped - this.droppedSeen);
    this.droppedSeen = dropped;
    if (this.status.state !== 'playing') this.setStatus({ state: 'playing', width: a.width, height: a.height });
    this.controller.onFrame(a);
    // A live source only notices a stall after ingest.stallTimeoutSec; tags must not wait that long.
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.pictureStopped(), this.deps.config.overlay.lostMs);
    this.stallTimer.unref();
    // After the controller, so on-air states in the rows reflect this frame's decisions.
    this.feed?.onFrame(a);
  }

  /** No picture (stalled, reconnecting, failed, ended): name tags come off the pages now. */
  private pictureStopped(): void {
    clearTimeout(this.stallTimer);
    this.clearingTags = true;
    try {
      this.controller.clearTags();
    } finally {
      this.clearingTags = false;
    }
  }

  private sendTags(msg: TagsMessage): void {
    const sent: TagsMessage = { ...msg, sentAt: Date.now() };
    this.deps.output.broadcastTags(sent);
    if (this.clearingTags) return;
    const delayMs = sent.sentAt - sent.frameWallMs;
    this.delay.push(delayMs);
    this.deps.metrics?.overlayDelay.observe({ channel: this.id }, delayMs / 1000);
  }

  dispose(): void {
    clearTimeout(this.stallTimer);
    this.controller.dispose();
  }
}

export class ChannelManager {
  private readonly channels = new Map<string, Channel>();
  private poolPromise: Promise<VisionPool> | null = null;
  private readonly asRun: AsRunLog;
  /** What operators may attach (files under media roots, allowed hosts); see ingest/sourcePolicy.ts. */
  readonly policy: SourcePolicy;

  constructor(
    private readonly ctx: AppContext,
    private readonly output: OverlayOutput,
    private readonly createPool: () => Promise<VisionPool>,
    private readonly metrics: FacecastMetrics | null = null,
  ) {
    this.asRun = new AsRunLog(ctx.roster.db);
    this.policy = new SourcePolicy(ctx.config.ingest, ctx.log);
    // Stats from a feed (PATCH /api/players/:id/stats) and roster edits show on air at once.
    ctx.events.on('player', ({ id }) => {
      for (const c of this.channels.values()) c.controller.playerChanged(id);
    });
    // An import names every player it touched: look them up a slice at a time between frames.
    ctx.events.on('roster', ({ ids }) => {
      const step = (from: number) => {
        for (const id of ids.slice(from, from + 500)) for (const c of this.channels.values()) c.controller.playerChanged(id);
        if (from + 500 < ids.length) setImmediate(step, from + 500);
      };
      step(0);
    });
    this.startDashboardFeeds();
    // Channel 1 always exists (the demo, pages without ?channel=); then the configured ones.
    for (const id of [...new Set(['1', ...ctx.config.server.channels])].slice(0, MAX_CHANNELS)) this.ensure(id);
  }

  /** Roster and training news for every dashboard, and health every healthIntervalMs while one watches. */
  private startDashboardFeeds(): void {
    const out = this.output;
    const send = out.broadcastOperator?.bind(out);
    if (!send || !out.hasOperators) return;
    const onPlayer: (c: { type: 'created' | 'updated' | 'stats' | 'enrolled' | 'removed'; id: string }) => void = ({ type, id }) =>
      send(null, { type: 'roster', change: type, playerId: id }, { skippable: false });
    const onTraining = (msg: Extract<ServerMessage, { type: 'training' }>, progressOnly: boolean) => send(null, msg, { skippable: progressOnly });
    const onRoster = () => send(null, { type: 'roster', change: 'updated', playerId: null }, { skippable: false });
    this.ctx.events.on('player', onPlayer);
    this.ctx.events.on('roster', onRoster);
    this.ctx.trainer.on('training', onTraining);
    const timer = setInterval(() => {
      if (out.hasOperators?.(null)) send(null, this.health());
    }, this.ctx.config.dashboard.healthIntervalMs);
    timer.unref();
    this.stopFeeds = () => {
      clearInterval(timer);
      this.ctx.events.off('player', onPlayer);
      this.ctx.events.off('roster', onRoster);
      this.ctx.trainer.off('training', onTraining);
    };
  }

  private stopFeeds: () => void = () => undefined;

  /** The dashboard's health message: the vision backend, and per channel throughput, latency, delay and outputs. */
  health(): Extract<ServerMessage, { type: 'health' }> {
    const pool = this.poolReady;
    const engine = this.ctx.engine.backend;
    const counts = this.output.counts?.().byChannel ?? {};
    return {
      type: 'health',
      backend: pool?.backend?.name ?? engine.name,
      device: pool?.backend?.device ?? engine.device,
      workers: pool?.size ?? 0,
      channels: [...this.channels.values()].map((c) => c.health(counts[c.id] ?? { graphics: 0, operator: 0 })),
    };
  }

  get asRunLog(): AsRunLog {
    return this.asRun;
  }

  /** The channel, created on first use (graphics pages may connect before a source exists). */
  ensure(id: string): Channel {
    checkChannelId(id);
    let c = this.channels.get(id);
    if (!c) {
      if (this.channels.size >= MAX_CHANNELS) throw new HttpError(409, 'TOO_MANY_CHANNELS', `at most ${MAX_CHANNELS} channels per server: detach and reuse one, or run another instance`);
      c = new Channel(id, {
        config: this.ctx.config,
        ctx: this.ctx,
        pool: () => this.pool(),
        output: this.output,
        metrics: this.metrics,
        asRun: this.asRun,
        log: this.ctx.log,
        policy: this.policy,
      });
      this.channels.set(id, c);
    }
    return c;
  }

  get(id: string): Channel | undefined {
    return this.channels.get(id);
  }

  /**
   * For operators' connections: the channel, created if the id is valid and there is room. Output
   * pages only get existing channels (server.channels, or one an operator made): `get`.
   */
  lookup(id: string): Channel | undefined {
    if (this.channels.has(id)) return this.channels.get(id);
    if (!CHANNEL_ID.test(id) || this.channels.size >= MAX_CHANNELS) return undefined;
    return this.ensure(id);
  }

  list(): ChannelInfo[] {
    return [...this.channels.values()].map((c) => c.info());
  }

  /** Runs a channel on frames from code (tests, generated feeds) instead of an ffmpeg input. */
  async attachSource(id: string, source: FrameSource, label: string, policy: 'file' | 'live' = 'live'): Promise<ChannelInfo> {
    const c = this.ensure(id);
    await c.attachSource(source, label, policy);
    return c.info();
  }

  /** See Channel.relabel; 404 for a channel that does not exist. */
  relabel(id: string, trackId: number, playerId: string | null, by: string): RelabelResult {
    const c = this.channels.get(id);
    if (!c) throw new HttpError(404, 'NO_CHANNEL', `no channel "${id}": GET /api/channels lists them`);
    return c.relabel(trackId, playerId, by);
  }

  /** A source the process itself chose (command line, demo, tests): not checked by the source policy. */
  async attach(id: string, url: string, opts: AttachOptions = {}): Promise<ChannelInfo> {
    const c = this.ensure(id);
    await c.attach(url, opts);
    return c.info();
  }

  /** An operator's source (API): checked by the source policy before anything starts. */
  async attachChecked(id: string, url: string, opts: AttachOptions = {}): Promise<ChannelInfo> {
    checkChannelId(id);
    // Refused sources do not create a channel on the way.
    const input = await this.policy.check(url);
    const c = this.ensure(id);
    await c.attach(input, opts, () => this.policy.hlsProxyUrl());
    return c.info();
  }

  async detach(id: string): Promise<ChannelInfo> {
    const c = this.channels.get(id);
    if (!c) throw new HttpError(404, 'NO_CHANNEL', `no channel "${id}": GET /api/channels lists them`);
    await c.detach();
    return c.info();
  }

  /** One vision pool for every channel: workers are the scarce resource, not channels. */
  private pool(): Promise<VisionPool> {
    this.poolPromise ??= this.createPool().then(
      (pool) => (this.poolReady = pool),
      (err: unknown) => {
        this.poolPromise = null;
        throw err;
      },
    );
    return this.poolPromise;
  }

  /** The pool once started (health reads it synchronously). */
  private poolReady: VisionPool | null = null;

  async close(): Promise<void> {
    this.stopFeeds();
    await Promise.all([...this.channels.values()].map((c) => c.detach()));
    for (const c of this.channels.values()) c.dispose();
    await this.policy.close();
    const pool = this.poolPromise;
    this.poolPromise = null;
    this.poolReady = null;
    if (pool) await (await pool.catch(() => null))?.close();
  }
}
