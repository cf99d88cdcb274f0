// The overlay logic of one channel: what is on air, what is cued, and the rules that let
// recognition take, cue and remove the lower third. No sockets here: the server feeds it frames
// and operator commands and forwards its events (`state`, `tags`, `asRun`) to pages and storage.
//
// Rules (times in OverlayOptions):
//  - A track qualifies when it has held the same name at minConfidence or more for confirmMs of
//    source time (confirmation.ts). In auto mode a qualifying player takes the lower third; in
//    assisted mode it is cued (once per player) for a person to take; in manual mode nothing.
//  - Auto never interrupts a lower third that is on air (its own or a person's): it waits for the
//    layer to be free, and the player still in shot then goes on. So two players in one shot
//    alternate at maxOnAirMs instead of flickering.
//  - A lower third that came from recognition (trackId set: an auto take, or a take of a
//    recognition cue) follows the picture: it comes off when its player's face has not been seen
//    for lostMs of source time, and at a shot cut. Every lower third comes off after maxOnAirMs.
//  - After a player's lower third comes off (any reason), recognition leaves that player alone for
//    cooldownMs.
//  - A lower third taken without a card starts on 'intro' and rotates to 'stats' after introMs
//    (if the player has stats). A take that names its card keeps that card.
//
// Graphic ids: one id per take. The card rotation and roster edits (playerChanged) replace the
// Graphic object but keep its id, so a page updates the content in place instead of playing the
// in-animation again; a new take (even of the same player) gets a new id and animates in. A cue
// keeps its id when it is taken, so a dashboard can follow it from the cue list to air.
//
// Clocks: confirmMs and lostMs are measured on the frames' pts (media time, mediaClock.ts), so a
// replayed file decides like the live broadcast. maxOnAirMs, introMs and cooldownMs end at the
// earlier of media time and wall time (deps.clock): the wall clock keeps them running when frames
// stop (a dead stream still clears), media time keeps a fast file replay consistent.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FrameAnalysis } from '../pipeline/sourcePipeline.ts';
import type { Player } from '../roster/roster.ts';
import type { ChannelState, ClientMessage, Graphic, Layer, OverlayMode } from '../shared/protocol.ts';
import type { Logger } from '../shared/log.ts';
import type { AsRunLog } from './asRun.ts';
import { buildPlayerCard } from './card.ts';
import type { OverlayConfig } from './config.ts';
import { ConfirmationTimers, type ConfirmedTrack } from './confirmation.ts';
import { OverlayError } from './errors.ts';
import { MediaClock } from './mediaClock.ts';
import { NameTagBuilder } from './nameTags.ts';
import type { AsRunAction, AsRunEntry, TagsMessage } from './types.ts';

export { OverlayError, type OverlayErrorCode } from './errors.ts';
export type { AsRunEntry, TagsMessage } from './types.ts';

export type OverlayOptions = OverlayConfig;

export interface OverlayDeps {
  /** The roster record, or null when there is no such player. Called again after playerChanged(id). */
  player(id: string): Player | null;
  asRun: Pick<AsRunLog, 'append'>;
  /** Wall clock in ms (default Date.now); tests pin it. */
  clock?: () => number;
  /**
   * Let the controller run its own timer for rotation and maxOnAirMs (default true). With false,
   * the caller must call tick() (tests do, to step time by hand).
   */
  timers?: boolean;
  /** Where a failed as-run write is reported (the graphic still goes on air). */
  log?: Logger;
  /** Graphic ids (default random UUIDs: unique across restarts, so a page never mistakes a new take for an old one). */
  newId?: () => string;
}

export interface OverlayEvents {
  state: [ChannelState];
  tags: [TagsMessage];
  asRun: [AsRunEntry];
}

export interface TakeRequest {
  playerId?: string;
  cueId?: string;
  card?: Graphic['card'];
}

export interface SourceInfo {
  url: string | null;
  state: string;
  detail: string | null;
}

/** Who acts when recognition's rules act. */
export const AUTO = 'auto';
/** The most cues kept; a new one beyond this drops the oldest (a match's worth of stale cues helps nobody). */
export const MAX_CUED = 20;

type AutoOutReason = 'lost' | 'cut' | 'duration' | 'player-removed' | 'source-gone';

/** A moment on both clocks, for durations that end at whichever reaches them first. */
interface Stamp {
  wall: number;
  media: number;
}

interface OnAir {
  graphic: Graphic;
  taken: Stamp;
  /** Media time its player's face was last seen (starts at the take). */
  lastSeenMs: number;
  /** Still due to switch from intro to stats. */
  rotates: boolean;
}

export class OverlayController extends EventEmitter<OverlayEvents> {
  readonly channel: string;
  private readonly opts: OverlayOptions;
  private readonly deps: OverlayDeps;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private mode: OverlayMode;
  private nameTags: boolean;
  private source: SourceInfo = { url: null, state: 'idle', detail: null };
  private onAir: OnAir | null = null;
  private cued: Graphic[] = [];
  private readonly media = new MediaClock();
  private lastFrameWallMs: number | null = null;
  private readonly confirmations: ConfirmationTimers;
  private readonly tags: NameTagBuilder;
  /** When each player's lower third last came off, for the cooldown. */
  private readonly offAt = new Map<string, Stamp>();
  /** Roster lookups per frame would hit SQLite for every tag; playerChanged() invalidates. */
  private readonly players = new Map<string, Player | null>();
  private timer: NodeJS.Timeout | undefined;
  private dirty = false;
  private disposed = false;

  constructor(channel: string, options: OverlayOptions, deps: OverlayDeps) {
    super();
    this.channel = channel;
    this.opts = options;
    this.deps = deps;
    this.clock = deps.clock ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
    this.mode = options.mode;
    this.nameTags = options.nameTags;
    this.confirmations = new ConfirmationTimers(options);
    this.tags = new NameTagBuilder(options.tagSmoothing, options.lostMs);
  }

  // ---- state ------------------------------------------------------------------------------

  state(): ChannelState {
    return {
      channel: this.channel,
      mode: this.mode,
      onAir: { lowerThird: this.onAir?.graphic ?? null },
      cued: [...this.cued],
      nameTags: this.nameTags,
      source: { ...this.source },
    };
  }

  // ---- frames -----------------------------------------------------------------------------

  /** One analysed frame of this channel: recognition rules, then the name tags. */
  onFrame(a: FrameAnalysis): void {
    if (this.disposed) return;
    if (a.channel !== this.channel) {
      this.deps.log?.warn({ channel: this.channel, frameChannel: a.channel }, 'overlay got a frame of another channel; ignored');
      return;
    }
    const nowMs = this.media.advance(a.pts);
    this.lastFrameWallMs = a.wallMs;
    const wall = this.clock();
    this.followPicture(a, nowMs);
    this.checkDurations(wall);
    this.recognise(this.confirmations.update(a.tracks, nowMs), a, wall);
    this.tags.observe(a, nowMs);
    if (this.nameTags) this.emitTags(this.tags.build(a, nowMs, (id) => this.player(id)), a.pts, a.wallMs);
    this.commit();
  }

  /** Rotation and maxOnAirMs without frames; the internal timer calls it, or the caller does with timers: false. */
  tick(now: number = this.clock()): void {
    if (this.disposed) return;
    this.checkDurations(now);
    this.commit();
    // Re-arm even when nothing changed (a rotation skipped for lack of stats still leaves maxOnAirMs due).
    this.schedule();
  }

  /**
   * The source was detached or replaced. A lower third that followed a face comes off (that face
   * is gone); a person's take stays until cleared or maxOnAirMs. Name tags are removed, and the
   * next source's pts start a new time base.
   */
  onSourceGone(): void {
    if (this.disposed) return;
    if (this.onAir && this.onAir.graphic.trackId !== null) this.autoOut('source-gone');
    this.confirmations.clear();
    this.tags.reset();
    if (this.nameTags) this.emitTags([], this.media.pts ?? 0, this.lastFrameWallMs ?? this.clock());
    this.media.rebase();
    this.commit();
  }

  /**
   * The picture stopped (the source stalled, is reconnecting or failed): the tags would show faces
   * where they were, so they come off now; the next frame builds them afresh.
   */
  clearTags(): void {
    if (this.disposed) return;
    this.tags.reset();
    if (this.nameTags) this.emitTags([], this.media.pts ?? 0, this.lastFrameWallMs ?? this.clock());
  }

  /** Auto-out of a recognition graphic whose face is gone or whose shot ended. */
  private followPicture(a: FrameAnalysis, nowMs: number): void {
    const on = this.onAir;
    if (!on || on.graphic.trackId === null) return;
    const playerId = on.graphic.player.id;
    const cutEnded = a.ended.some((e) => e.reason === 'cut' && (e.id === on.graphic.trackId || e.identity?.id === playerId));
    if (a.cut || cutEnded) return this.autoOut('cut');
    if (a.tracks.some((t) => t.identity?.id === playerId && t.state !== 'lost')) on.lastSeenMs = nowMs;
    else if (nowMs - on.lastSeenMs >= this.opts.lostMs) this.autoOut('lost');
  }

  private checkDurations(wall: number): void {
    const on = this.onAir;
    if (!on) return;
    const elapsed = this.elapsedSince(on.taken, wall);
    if (this.opts.maxOnAirMs > 0 && elapsed >= this.opts.maxOnAirMs) return this.autoOut('duration');
    if (on.rotates && this.opts.introMs > 0 && elapsed >= this.opts.introMs) {
      on.rotates = false;
      // A player without stats keeps the intro card: an empty stats card would be a blank box.
      if (on.graphic.player.stats.length === 0) return;
      on.graphic = { ...on.graphic, card: 'stats' };
      this.log('rotate', on.graphic, { by: AUTO, detail: 'intro→stats' });
      this.changed();
    }
  }

  /** What recognition does with the tracks that qualify in this frame, by mode. */
  private recognise(qualifying: ConfirmedTrack[], a: FrameAnalysis, wall: number): void {
    if (this.mode === 'manual') return;
    const handled = new Set<string>();
    for (const q of qualifying) {
      const playerId = q.identity.id;
      if (handled.has(playerId)) continue; // two tracks with one name: the longest-held one speaks
      handled.add(playerId);
      if (this.onAir?.graphic.player.id === playerId || this.inCooldown(playerId, wall)) continue;
      const player = this.player(playerId);
      if (!player) continue; // named by a model trained before the player was removed
      if (this.mode === 'auto') {
        if (this.onAir) return; // never interrupt what is on air; take when the layer is free
        this.putOnAir(this.graphicFor(player, { trackId: q.trackId, confidence: q.identity.confidence, pts: a.pts, by: AUTO }, wall), true, AUTO);
        return;
      }
      if (!this.cued.some((g) => g.player.id === playerId)) {
        this.addCue(this.graphicFor(player, { trackId: q.trackId, confidence: q.identity.confidence, pts: a.pts, by: AUTO }, wall));
      }
    }
  }

  // ---- commands ---------------------------------------------------------------------------

  /**
   * Puts a lower third on air, replacing the current one. With cueId: that cue. With playerId: that
   * player's cue if there is one, else a fresh graphic. With neither: the oldest cue.
   */
  take(req: TakeRequest, by: string): Graphic {
    this.assertLive();
    const cue = this.findCue(req);
    const playerId = cue?.player.id ?? req.playerId!;
    const player = this.player(playerId);
    if (!player) {
      if (cue) this.dropCue(cue.id); // its player was removed; the cue can never be taken
      this.commit();
      throw unknownPlayer(playerId);
    }
    const wall = this.clock();
    const fresh = this.graphicFor(player, { trackId: cue?.trackId ?? null, confidence: cue?.confidence ?? null, pts: cue?.pts ?? null, by }, wall);
    const graphic: Graphic = { ...fresh, id: cue?.id ?? fresh.id, card: req.card ?? 'intro' };
    if (cue) this.dropCue(cue.id);
    this.putOnAir(graphic, req.card === undefined, by);
    this.commit();
    return graphic;
  }

  /**
   * Takes a layer off air: lowerThird, nameTag (switches the name tags off), or both when layer is
   * undefined (the "clear all" button must leave nothing on screen). Clearing an empty layer is not
   * an error: a panic button must always work.
   */
  clear(layer: Layer | undefined, by: string): void {
    this.assertLive();
    if (layer === undefined || layer === 'lowerThird') {
      const on = this.onAir;
      if (on) {
        this.takeOff(on);
        this.log('clear', on.graphic, { by });
      }
    }
    if (layer === undefined || layer === 'nameTag') this.switchNameTags(false, by, 'clear');
    this.commit();
  }

  /** Cues a lower third for a player (a person's cue, or the API's); a player is cued at most once. */
  cue(playerId: string, by: string): Graphic {
    this.assertLive();
    const existing = this.cued.find((g) => g.player.id === playerId);
    if (existing) return existing;
    const player = this.player(playerId);
    if (!player) throw unknownPlayer(playerId);
    const graphic = this.graphicFor(player, { trackId: null, confidence: null, pts: null, by }, this.clock());
    this.addCue(graphic);
    this.commit();
    return graphic;
  }

  setMode(mode: OverlayMode, by: string): void {
    this.assertLive();
    if (mode === this.mode) return;
    this.mode = mode;
    this.log('mode', null, { by, detail: mode });
    this.changed();
    this.commit();
  }

  /** Switching off sends an empty tags message at once, so pages remove the tags they show. */
  setNameTags(on: boolean, by = 'system'): void {
    this.assertLive();
    this.switchNameTags(on, by, 'nameTags');
    this.commit();
  }

  setSource(source: SourceInfo): void {
    if (this.disposed) return;
    const s = this.source;
    if (s.url === source.url && s.state === source.state && s.detail === source.detail) return;
    this.source = { url: source.url, state: source.state, detail: source.detail };
    this.changed();
    this.commit();
  }

  /**
   * A player's record changed (name, stats, …) or was removed. An on-air or cued graphic of that
   * player gets the new card under the same id (the page updates the text without animating in
   * again); a removed player's graphics come off air and out of the cue list.
   */
  playerChanged(id: string): void {
    if (this.disposed) return;
    this.players.delete(id);
    const player = this.player(id);
    const on = this.onAir;
    if (on && on.graphic.player.id === id) {
      if (!player) this.autoOut('player-removed');
      else this.refreshCard(on, player);
    }
    const before = this.cued;
    this.cued = this.cued.flatMap((g) => {
      if (g.player.id !== id) return [g];
      if (!player) return [];
      const card = buildPlayerCard(player, this.opts.statKeys);
      return [sameJson(card, g.player) ? g : { ...g, player: card }];
    });
    if (this.cued.some((g, i) => g !== before[i]) || this.cued.length !== before.length) this.changed();
    this.commit();
  }

  /** Dispatches an operator message from a page; ping is the socket layer's business and is ignored here. */
  handle(msg: ClientMessage, by: string): void {
    switch (msg.type) {
      case 'take':
        this.take({ playerId: msg.playerId, cueId: msg.cueId, card: msg.card }, by);
        return;
      case 'clear':
        return this.clear(msg.layer, by);
      case 'cue':
        this.cue(msg.playerId, by);
        return;
      case 'mode':
        return this.setMode(msg.mode, by);
      case 'nameTags':
        return this.setNameTags(msg.on, by);
      case 'takeNext':
        // The oldest cue, as take() without player or cue does; NOTHING_CUED when there is none.
        this.take({}, by);
        return;
      case 'ping':
        return;
      // relabel, attach, detach are about the source and the roster: the channel handles them.
    }
  }

  /** A player's place in the on-air cycle, for the dashboard's "on screen now" rows. */
  onAirStatus(playerId: string): 'on-air' | 'cued' | 'cooldown' | null {
    if (this.onAir?.graphic.player.id === playerId) return 'on-air';
    if (this.cued.some((g) => g.player.id === playerId)) return 'cued';
    return this.inCooldown(playerId, this.clock()) ? 'cooldown' : null;
  }

  /** Stops the timer; the controller ignores frames and refuses commands afterwards. */
  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  // ---- internals --------------------------------------------------------------------------

  private switchNameTags(on: boolean, by: string, action: 'nameTags' | 'clear'): void {
    if (on === this.nameTags) return;
    this.nameTags = on;
    if (!on) {
      this.tags.reset();
      this.emitTags([], this.media.pts ?? 0, this.lastFrameWallMs ?? this.clock());
    }
    this.log(action, null, { by, layer: 'nameTag', detail: on ? 'name tags on' : 'name tags off' });
    this.changed();
  }

  private findCue(req: TakeRequest): Graphic | undefined {
    if (req.cueId !== undefined) {
      const cue = this.cued.find((g) => g.id === req.cueId);
      if (!cue) throw new OverlayError('UNKNOWN_CUE', `nothing is cued with id '${req.cueId}' (already taken or replaced); send the current state's cued ids, or take by playerId`);
      if (req.playerId !== undefined && req.playerId !== cue.player.id) {
        throw new OverlayError('INVALID', `cue '${req.cueId}' is for player '${cue.player.id}', not '${req.playerId}'; send either cueId or playerId`);
      }
      return cue;
    }
    if (req.playerId !== undefined) return this.cued.find((g) => g.player.id === req.playerId);
    const oldest = this.cued[0];
    if (!oldest) throw new OverlayError('NOTHING_CUED', 'nothing is cued; take a player by playerId, or cue one first');
    return oldest;
  }

  private graphicFor(player: Player, from: { trackId: number | null; confidence: number | null; pts: number | null; by: string }, wall: number): Graphic {
    return {
      id: this.newId(),
      layer: 'lowerThird',
      template: this.opts.lowerThirdTemplate,
      card: 'intro',
      player: buildPlayerCard(player, this.opts.statKeys),
      trackId: from.trackId,
      confidence: from.confidence,
      pts: from.pts,
      takenBy: from.by,
      takenAt: wall,
    };
  }

  private putOnAir(graphic: Graphic, rotates: boolean, by: string): void {
    const old = this.onAir;
    if (old) {
      this.takeOff(old);
      this.log('clear', old.graphic, { by, detail: `replaced by ${graphic.player.id}` });
    }
    const media = this.media.now;
    this.onAir = { graphic, taken: { wall: graphic.takenAt, media }, lastSeenMs: media, rotates };
    this.log('take', graphic, { by });
    this.changed();
  }

  private autoOut(reason: AutoOutReason): void {
    const on = this.onAir;
    if (!on) return;
    this.takeOff(on);
    this.log('auto-out', on.graphic, { by: AUTO, detail: reason });
  }

  /** The layer is free again; the player's cooldown starts now. */
  private takeOff(on: OnAir): void {
    if (this.onAir === on) this.onAir = null;
    this.offAt.set(on.graphic.player.id, { wall: this.clock(), media: this.media.now });
    this.changed();
  }

  private inCooldown(playerId: string, wall: number): boolean {
    const off = this.offAt.get(playerId);
    return off !== undefined && this.elapsedSince(off, wall) < this.opts.cooldownMs;
  }

  private elapsedSince(stamp: Stamp, wall: number): number {
    return Math.max(wall - stamp.wall, this.media.now - stamp.media);
  }

  private addCue(graphic: Graphic): void {
    this.cued.push(graphic);
    if (this.cued.length > MAX_CUED) this.cued.shift();
    this.log('cue', graphic, { by: graphic.takenBy });
    this.changed();
  }

  private dropCue(id: string): void {
    this.cued = this.cued.filter((g) => g.id !== id);
    this.changed();
  }

  private refreshCard(on: OnAir, player: Player): void {
    const card = buildPlayerCard(player, this.opts.statKeys);
    if (sameJson(card, on.graphic.player)) return;
    on.graphic = { ...on.graphic, player: card };
    this.changed();
  }

  private player(id: string): Player | null {
    if (!this.players.has(id)) this.players.set(id, this.deps.player(id));
    return this.players.get(id)!;
  }

  private emitTags(tags: TagsMessage['tags'], pts: number, frameWallMs: number): void {
    this.emit('tags', { type: 'tags', channel: this.channel, pts, frameWallMs, sentAt: this.clock(), tags });
  }

  /** One as-run row. A failed write is logged, never thrown: the broadcast must not stop for the log. */
  private log(action: AsRunAction, g: Graphic | null, extra: { by: string; detail?: string; layer?: Layer }): void {
    try {
      const entry = this.deps.asRun.append({
        at: new Date(this.clock()).toISOString(),
        channel: this.channel,
        action,
        layer: g?.layer ?? extra.layer ?? null,
        playerId: g?.player.id ?? null,
        playerName: g?.player.name ?? null,
        confidence: g?.confidence ?? null,
        // take and cue: the frame that triggered it; anything else: where the programme is now.
        pts: (action === 'take' || action === 'cue' ? g?.pts : null) ?? this.media.pts,
        by: extra.by,
        graphicId: g?.id ?? null,
        detail: extra.detail ?? null,
      });
      this.emit('asRun', entry);
    } catch (err) {
      this.deps.log?.error({ channel: this.channel, action, err: (err as Error).message }, 'as-run log write failed');
    }
  }

  private changed(): void {
    this.dirty = true;
  }

  /** One `state` event per command or frame, however many things it changed; then re-arm the timer. */
  private commit(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.schedule();
    this.emit('state', this.state());
  }

  /** Arms one timeout for the next wall-clock deadline (rotation or maxOnAirMs) of the lower third. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const on = this.onAir;
    if (!on || this.deps.timers === false || this.disposed) return;
    const due: number[] = [];
    if (this.opts.maxOnAirMs > 0) due.push(this.opts.maxOnAirMs);
    if (on.rotates && this.opts.introMs > 0) due.push(this.opts.introMs);
    if (due.length === 0) return;
    const delay = Math.max(0, on.taken.wall + Math.min(...due) - this.clock());
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  private assertLive(): void {
    if (this.disposed) throw new OverlayError('DISPOSED', `channel '${this.channel}' was removed; reconnect to a channel that exists`);
  }
}

function unknownPlayer(id: string): OverlayError {
  return new OverlayError('UNKNOWN_PLAYER', `no player '${id}' on the roster; check the id (GET /api/players) or add the player first`);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
