// The overlay logic of one channel, fed FrameAnalysis objects directly, with a real roster and
// as-run log in a temporary SQLite file and the wall clock pinned: recognition rules per mode,
// auto-out, cooldown, card rotation, roster edits, name-tag geometry, errors.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import type { FrameAnalysis, TrackOut } from '../src/pipeline/sourcePipeline.ts';
import { openRoster, type Roster } from '../src/roster/roster.ts';
import type { Logger } from '../src/shared/log.ts';
import { channelStateSchema, serverMessageSchema, type ChannelState, type OverlayMode } from '../src/shared/protocol.ts';
import { AsRunLog } from '../src/overlay/asRun.ts';
import { overlayConfigSchema } from '../src/overlay/config.ts';
import { OverlayController, OverlayError, type OverlayOptions } from '../src/overlay/controller.ts';
import type { AsRunEntry, TagsMessage } from '../src/overlay/types.ts';

const OPTIONS: OverlayOptions = overlayConfigSchema.parse({
  mode: 'auto',
  minConfidence: 0.5,
  confirmMs: 1000,
  lostMs: 1500,
  maxOnAirMs: 8000,
  cooldownMs: 30000,
  introMs: 4000,
  statKeys: [],
  nameTags: true,
  tagSmoothing: 0,
  lowerThirdTemplate: 'lower-third',
});

const FRAME_MS = 200; // 5 analysed frames per second, the ingest default
const T0 = Date.parse('2026-05-01T19:30:00.000Z');

type Box = [number, number, number, number];

interface TrackSpec {
  id: number;
  /** Player id; null or omitted = a stranger. */
  player?: string | null;
  conf?: number;
  box?: Box;
  state?: TrackOut['state'];
}

const dirs: string[] = [];
const rosters: Roster[] = [];
const controllers: OverlayController[] = [];

afterEach(() => {
  vi.useRealTimers();
  for (const c of controllers.splice(0)) c.dispose();
  for (const r of rosters.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A channel with a roster of three players, a pinned clock and recorders for every event. */
class Harness {
  readonly roster: Roster;
  readonly asRun: AsRunLog;
  readonly c: OverlayController;
  readonly states: ChannelState[] = [];
  readonly tags: TagsMessage[] = [];
  readonly logged: AsRunEntry[] = [];
  wall = T0;
  pts = 0;
  private seq = 0;

  constructor(options: Partial<OverlayOptions> = {}, deps: { timers?: boolean; clock?: () => number } = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'facecast-overlay-'));
    dirs.push(dir);
    this.roster = openRoster(dir);
    rosters.push(this.roster);
    this.roster.upsertPlayer({
      id: 'sheldon',
      name: 'Sheldon Cooper',
      number: 73,
      team: 'Caltech',
      teamColor: '#C8102E',
      position: 'FW',
      stats: { goals: 12, assists: 3, apps: 20, minutes: 1500, cards: 1 },
    });
    this.roster.upsertPlayer({ id: 'raj', name: 'Raj Koothrappali', number: 9, team: 'Caltech', stats: { goals: 4, apps: 11 } });
    this.roster.upsertPlayer({ id: 'penny', name: 'Penny', team: 'Cheesecake Factory' }); // no stats
    this.asRun = new AsRunLog(this.roster.db);
    this.c = new OverlayController(
      'main',
      { ...OPTIONS, ...options },
      { player: (id) => this.roster.getPlayer(id), asRun: this.asRun, clock: deps.clock ?? (() => this.wall), timers: deps.timers ?? false },
    );
    controllers.push(this.c);
    this.c.on('state', (s) => this.states.push(s));
    this.c.on('tags', (m) => this.tags.push(m));
    this.c.on('asRun', (e) => this.logged.push(e));
  }

  get onAir() {
    return this.c.state().onAir.lowerThird;
  }

  /** One analysed frame at the current pts / wall time. */
  frame(tracks: TrackSpec[], extra: Partial<Pick<FrameAnalysis, 'cut' | 'ended' | 'width' | 'height'>> = {}): FrameAnalysis {
    const a: FrameAnalysis = {
      channel: 'main',
      frame: this.seq++,
      pts: this.pts,
      wallMs: this.wall,
      width: extra.width ?? 1280,
      height: extra.height ?? 720,
      cut: extra.cut ?? false,
      ended: extra.ended ?? [],
      latencyMs: 40,
      faces: tracks.length,
      embedded: 0,
      tracks: tracks.map((t) => ({
        id: t.id,
        box: t.box ?? [600, 200, 80, 80],
        score: 0.97,
        state: t.state ?? 'confirmed',
        identity: t.player ? { id: t.player, name: this.roster.getPlayer(t.player)?.name ?? t.player, confidence: t.conf ?? 0.8 } : null,
      })),
    };
    this.c.onFrame(a);
    return a;
  }

  /** Moves both clocks on by ms. */
  advance(ms: number): void {
    this.pts = Math.round((this.pts + ms / 1000) * 1e6) / 1e6;
    this.wall += ms;
  }

  /** Frames every FRAME_MS for `ms` (the first one FRAME_MS from now), both clocks advancing. */
  run(ms: number, tracks: TrackSpec[] | (() => TrackSpec[])): void {
    for (let t = FRAME_MS; t <= ms; t += FRAME_MS) {
      this.advance(FRAME_MS);
      this.frame(typeof tracks === 'function' ? tracks() : tracks);
    }
  }

  rows(): AsRunEntry[] {
    return this.asRun.list({ channel: 'main' });
  }
}

const SHELDON: TrackSpec = { id: 1, player: 'sheldon', conf: 0.8 };
const RAJ: TrackSpec = { id: 2, player: 'raj', conf: 0.7, box: [200, 200, 80, 80] };

describe('auto mode', () => {
  it('takes the lower third once a name has held at ≥ minConfidence for confirmMs of source time, not before', () => {
    const h = new Harness();
    h.frame([SHELDON]); // pts 0: the name is first seen
    h.run(800, [SHELDON]); // up to pts 0.8
    expect(h.onAir).toBeNull();
    h.run(200, [SHELDON]); // pts 1.0: held for 1000 ms
    const g = h.onAir!;
    expect(g).toMatchObject({ layer: 'lowerThird', template: 'lower-third', card: 'intro', trackId: 1, confidence: 0.8, pts: 1, takenBy: 'auto', takenAt: h.wall });
    expect(g.player).toEqual({
      id: 'sheldon',
      name: 'Sheldon Cooper',
      number: 73,
      team: 'Caltech',
      teamColor: '#c8102e',
      position: 'FW',
      stats: [
        { label: 'goals', value: '12' },
        { label: 'assists', value: '3' },
        { label: 'apps', value: '20' },
        { label: 'minutes', value: '1500' },
      ],
    });
    expect(channelStateSchema.parse(h.states.at(-1))).toEqual(h.c.state());
  });

  it('counts source time, not wall time: a file analysed 10× faster than real time decides the same', () => {
    const h = new Harness();
    for (let i = 0; i <= 4; i++) {
      h.frame([SHELDON]);
      h.pts += 0.2;
      h.wall += 20; // 1 s of video in 100 ms of wall time
    }
    expect(h.onAir).toBeNull(); // pts 0…0.8
    h.frame([SHELDON]); // pts 1.0
    expect(h.onAir?.player.id).toBe('sheldon');
  });

  it('never takes below minConfidence, and one frame below restarts the count', () => {
    const h = new Harness();
    h.run(20_000, [{ ...SHELDON, conf: 0.49 }]);
    expect(h.onAir).toBeNull();
    expect(h.c.state().cued).toEqual([]);

    const g = new Harness();
    g.frame([SHELDON]);
    g.run(800, [SHELDON]);
    g.run(200, [{ ...SHELDON, conf: 0.3 }]); // pts 1.0: dips
    g.run(800, [SHELDON]); // pts 1.8: held again since 1.2 only
    expect(g.onAir).toBeNull();
    g.run(200, [SHELDON]); // pts 2.0 … still 800 ms
    expect(g.onAir).toBeNull();
    g.run(200, [SHELDON]); // pts 2.2: 1000 ms since 1.2
    expect(g.onAir?.pts).toBe(2.2);
  });

  it('a stranger never gets a graphic, a cue or a tag', () => {
    for (const mode of ['auto', 'assisted'] as OverlayMode[]) {
      const h = new Harness({ mode });
      h.run(20_000, [{ id: 5, player: null }]);
      expect(h.onAir).toBeNull();
      expect(h.c.state().cued).toEqual([]);
      expect(h.tags.length).toBe(100);
      expect(h.tags.every((m) => m.tags.length === 0)).toBe(true);
      expect(h.rows()).toEqual([]);
    }
  });

  it('a lost (predicted) track does not go on air until its face is seen again', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(800, [SHELDON]);
    h.run(400, [{ ...SHELDON, state: 'lost' }]); // pts 1.2: held long enough, but not visible
    expect(h.onAir).toBeNull();
    h.run(200, [SHELDON]);
    expect(h.onAir?.pts).toBe(1.4);
  });

  it('never interrupts what is on air: a second player waits for the layer, then goes on', () => {
    const h = new Harness({ cooldownMs: 60_000 });
    h.frame([SHELDON, RAJ]);
    h.run(1000, [SHELDON, RAJ]); // both qualify at pts 1.0; sheldon's track is held as long, higher confidence
    expect(h.onAir?.player.id).toBe('sheldon');
    h.run(7800, [SHELDON, RAJ]); // pts 8.8: sheldon still on (taken at 1.0)
    expect(h.onAir?.player.id).toBe('sheldon');
    h.run(200, [SHELDON, RAJ]); // pts 9.0: maxOnAirMs ends sheldon; raj takes the free layer in the same frame
    expect(h.onAir?.player.id).toBe('raj');
    const actions = h.rows().map((r) => `${r.action}:${r.playerId}:${r.detail ?? ''}`);
    expect(actions).toEqual(['take:sheldon:', 'rotate:sheldon:intro→stats', 'auto-out:sheldon:duration', 'take:raj:']);
  });

  it('skips players not on the roster (a model trained before a removal)', () => {
    const h = new Harness();
    h.roster.removePlayer('raj');
    h.c.playerChanged('raj');
    h.run(3000, [RAJ]);
    expect(h.onAir).toBeNull();
    expect(h.tags.at(-1)!.tags).toEqual([]);
  });
});

describe('auto-out', () => {
  function onAirAt1s(options: Partial<OverlayOptions> = {}): Harness {
    const h = new Harness(options);
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]);
    expect(h.onAir?.player.id).toBe('sheldon');
    return h;
  }

  it('when the face has not been seen for lostMs of source time', () => {
    const h = onAirAt1s();
    const stranger: TrackSpec = { id: 3, player: null };
    h.run(1400, [stranger, { ...SHELDON, state: 'lost' }]); // a predicted box is not a seen face
    expect(h.onAir?.player.id).toBe('sheldon');
    h.run(200, [stranger]); // 1600 ms since last seen
    expect(h.onAir).toBeNull();
    const out = h.rows().at(-1)!;
    expect(out).toMatchObject({ action: 'auto-out', detail: 'lost', by: 'auto', playerId: 'sheldon', layer: 'lowerThird', pts: 2.6 });
  });

  it('the face coming back in time keeps it on', () => {
    const h = onAirAt1s();
    h.run(1200, []);
    h.run(200, [{ ...SHELDON, id: 7 }]); // a new track of the same player
    h.run(1200, []);
    expect(h.onAir?.player.id).toBe('sheldon');
  });

  it('at a shot cut', () => {
    const h = onAirAt1s();
    h.advance(FRAME_MS);
    h.frame([], { cut: true, ended: [{ id: 1, reason: 'cut', identity: { id: 'sheldon', confidence: 0.8 }, box: [0, 0, 1, 1], hits: 6, age: 6, seq: 5 }] });
    expect(h.onAir).toBeNull();
    expect(h.rows().at(-1)).toMatchObject({ action: 'auto-out', detail: 'cut', pts: 1.2 });
  });

  it('when its track ends with reason cut, even without the frame flag', () => {
    const h = onAirAt1s();
    h.advance(FRAME_MS);
    h.frame([SHELDON], { ended: [{ id: 1, reason: 'cut', identity: null, box: [0, 0, 1, 1], hits: 6, age: 6, seq: 5 }] });
    expect(h.onAir).toBeNull();
    // A track of someone else ending does nothing.
    const g = onAirAt1s();
    g.advance(FRAME_MS);
    g.frame([SHELDON], { ended: [{ id: 9, reason: 'expired', identity: { id: 'raj', confidence: 0.7 }, box: [0, 0, 1, 1], hits: 3, age: 40, seq: 5 }] });
    expect(g.onAir?.player.id).toBe('sheldon');
  });

  it('after maxOnAirMs with the face still in shot', () => {
    const h = onAirAt1s();
    h.run(7800, [SHELDON]);
    expect(h.onAir).not.toBeNull();
    h.run(200, [SHELDON]);
    expect(h.onAir).toBeNull();
    expect(h.rows().at(-1)).toMatchObject({ action: 'auto-out', detail: 'duration' });
  });

  it('after maxOnAirMs of wall time when the stream is dead (no frames at all)', () => {
    const h = onAirAt1s();
    h.wall += 7999;
    h.c.tick();
    expect(h.onAir).not.toBeNull();
    h.wall += 1;
    h.c.tick();
    expect(h.onAir).toBeNull();
  });

  it('a person’s take does not follow the picture, only maxOnAirMs', () => {
    const h = new Harness({ mode: 'manual' });
    h.frame([]);
    h.c.take({ playerId: 'raj' }, 'operator:ann');
    h.advance(FRAME_MS);
    h.frame([], { cut: true });
    h.run(5000, []);
    expect(h.onAir?.player.id).toBe('raj');
    h.run(3000, []);
    expect(h.onAir).toBeNull();
  });

  it('when the source goes away, a recognition graphic comes off and a person’s take stays', () => {
    const h = onAirAt1s();
    h.c.onSourceGone();
    expect(h.onAir).toBeNull();
    expect(h.rows().at(-1)).toMatchObject({ action: 'auto-out', detail: 'source-gone' });
    expect(h.tags.at(-1)!.tags).toEqual([]);
    h.c.take({ playerId: 'raj' }, 'operator:ann');
    h.c.onSourceGone();
    expect(h.onAir?.player.id).toBe('raj');
  });
});

describe('cooldown', () => {
  it('auto does not retake a player within cooldownMs of the graphic coming off', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]); // on at pts 1
    h.run(8000, [SHELDON]); // off at pts 9 (duration)
    expect(h.onAir).toBeNull();
    const firstId = h.rows()[0]!.graphicId;
    h.run(29_800, [SHELDON]); // pts 38.8
    expect(h.onAir).toBeNull();
    h.run(200, [SHELDON]); // pts 39: 30 s after it came off
    expect(h.onAir?.player.id).toBe('sheldon');
    expect(h.onAir?.id).not.toBe(firstId);
  });

  it('applies after an operator clear too, and to assisted cues', () => {
    const h = new Harness({ mode: 'assisted' });
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]);
    h.c.take({}, 'operator:ann');
    h.c.clear('lowerThird', 'operator:ann');
    h.run(20_000, [SHELDON]);
    expect(h.c.state().cued).toEqual([]);
    h.run(10_000, [SHELDON]);
    expect(h.c.state().cued.map((g) => g.player.id)).toEqual(['sheldon']);
  });
});

describe('assisted and manual modes', () => {
  it('assisted: recognition cues (once per player) and a take puts the cue on air under its id', () => {
    const h = new Harness({ mode: 'assisted' });
    h.frame([SHELDON, RAJ]);
    h.run(5000, [SHELDON, RAJ]);
    expect(h.onAir).toBeNull();
    const cued = h.c.state().cued;
    expect(cued.map((g) => g.player.id)).toEqual(['sheldon', 'raj']);
    expect(cued[0]).toMatchObject({ trackId: 1, confidence: 0.8, pts: 1, takenBy: 'auto', card: 'intro' });
    const taken = h.c.take({}, 'operator:ann'); // the oldest cue
    expect(taken.id).toBe(cued[0]!.id);
    expect(h.onAir).toMatchObject({ id: cued[0]!.id, takenBy: 'operator:ann', trackId: 1, pts: 1 });
    expect(h.c.state().cued.map((g) => g.player.id)).toEqual(['raj']);
    h.c.take({ cueId: cued[1]!.id }, 'operator:ann');
    expect(h.onAir?.player.id).toBe('raj');
    expect(h.c.state().cued).toEqual([]);
    // Taken from recognition, so it follows the picture.
    h.run(1600, [SHELDON]);
    expect(h.onAir).toBeNull();
    expect(h.rows().map((r) => `${r.action}:${r.playerId}:${r.by}`)).toEqual([
      'cue:sheldon:auto',
      'cue:raj:auto',
      'take:sheldon:operator:ann',
      'clear:sheldon:operator:ann',
      'take:raj:operator:ann',
      'auto-out:raj:auto',
    ]);
  });

  it('manual: recognition does nothing; take and clear do', () => {
    const h = new Harness({ mode: 'manual' });
    h.frame([SHELDON]);
    h.run(20_000, [SHELDON]);
    expect(h.onAir).toBeNull();
    expect(h.c.state().cued).toEqual([]);
    const g = h.c.take({ playerId: 'sheldon' }, 'api');
    expect(g).toMatchObject({ trackId: null, confidence: null, pts: null, takenBy: 'api' });
    h.c.clear(undefined, 'api');
    expect(h.onAir).toBeNull();
  });

  it('switching mode takes effect at the next frame and is logged', () => {
    const h = new Harness({ mode: 'manual' });
    h.frame([SHELDON]);
    h.run(3000, [SHELDON]);
    h.c.setMode('auto', 'operator:ann');
    expect(h.c.state().mode).toBe('auto');
    h.run(200, [SHELDON]);
    expect(h.onAir?.takenBy).toBe('auto');
    expect(h.rows()[0]).toMatchObject({ action: 'mode', detail: 'auto', by: 'operator:ann' });
  });

  it('a person can cue a player; cueing twice gives the same cue', () => {
    const h = new Harness({ mode: 'manual' });
    const a = h.c.cue('penny', 'operator:ann');
    const b = h.c.cue('penny', 'operator:bob');
    expect(b.id).toBe(a.id);
    expect(h.c.state().cued).toHaveLength(1);
    h.c.take({ playerId: 'penny' }, 'operator:bob');
    expect(h.onAir?.id).toBe(a.id);
    expect(h.c.state().cued).toEqual([]);
  });
});

describe('one lower third at a time', () => {
  it('a take replaces what is on air and logs a clear for it first', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]);
    const auto = h.onAir!;
    const states = h.states.length;
    h.c.take({ playerId: 'raj' }, 'operator:ann');
    expect(h.states.length).toBe(states + 1); // one state for the whole replacement
    expect(h.onAir?.player.id).toBe('raj');
    expect(h.onAir?.id).not.toBe(auto.id);
    const [clear, take] = h.rows().slice(-2);
    expect(clear).toMatchObject({ action: 'clear', playerId: 'sheldon', graphicId: auto.id, by: 'operator:ann', detail: 'replaced by raj' });
    expect(take).toMatchObject({ action: 'take', playerId: 'raj', by: 'operator:ann' });
    // Retaking the same player is a new take: new id, so the page animates it in again.
    const first = h.onAir!.id;
    h.c.take({ playerId: 'raj' }, 'operator:ann');
    expect(h.onAir?.id).not.toBe(first);
  });
});

describe('card rotation and roster edits', () => {
  it('rotates intro → stats after introMs under the same id', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]);
    const id = h.onAir!.id;
    h.run(3800, [SHELDON]);
    expect(h.onAir?.card).toBe('intro');
    h.run(200, [SHELDON]);
    expect(h.onAir).toMatchObject({ id, card: 'stats' });
    expect(h.rows().at(-1)).toMatchObject({ action: 'rotate', graphicId: id, detail: 'intro→stats' });
  });

  it('rotates by wall clock without frames; a player without stats and a chosen card stay put', () => {
    const h = new Harness({ mode: 'manual' });
    h.c.take({ playerId: 'sheldon' }, 'api');
    h.wall += 4000;
    h.c.tick();
    expect(h.onAir?.card).toBe('stats');

    h.c.take({ playerId: 'penny' }, 'api');
    h.wall += 5000;
    h.c.tick();
    expect(h.onAir).toMatchObject({ card: 'intro', player: { id: 'penny', stats: [] } });

    h.c.take({ playerId: 'raj', card: 'intro' }, 'api');
    h.wall += 5000;
    h.c.tick();
    expect(h.onAir?.card).toBe('intro');
    h.c.take({ playerId: 'raj', card: 'stats' }, 'api');
    expect(h.onAir?.card).toBe('stats');
  });

  it('a stats edit updates the on-air and cued cards, keeping their ids', () => {
    const h = new Harness({ mode: 'manual', statKeys: ['goals', 'cards', 'nope'] });
    const g = h.c.take({ playerId: 'sheldon' }, 'api');
    const cue = h.c.cue('raj', 'api');
    expect(g.player.stats).toEqual([
      { label: 'goals', value: '12' },
      { label: 'cards', value: '1' },
    ]);
    const states = h.states.length;
    h.roster.patchStats('sheldon', { goals: 13 });
    h.c.playerChanged('sheldon');
    expect(h.states.length).toBe(states + 1);
    expect(h.onAir).toMatchObject({ id: g.id, card: 'intro', player: { stats: [{ label: 'goals', value: '13' }, { label: 'cards', value: '1' }] } });
    h.roster.updatePlayer('raj', { name: 'Rajesh Koothrappali' });
    h.c.playerChanged('raj');
    expect(h.c.state().cued[0]).toMatchObject({ id: cue.id, player: { name: 'Rajesh Koothrappali' } });
    // Nothing changed for this card: no state.
    const n = h.states.length;
    h.c.playerChanged('sheldon');
    expect(h.states.length).toBe(n);
  });

  it('a removed player comes off air and out of the cue list', () => {
    const h = new Harness({ mode: 'manual' });
    h.c.take({ playerId: 'sheldon' }, 'api');
    h.c.cue('sheldon', 'api');
    h.roster.removePlayer('sheldon');
    h.c.playerChanged('sheldon');
    expect(h.onAir).toBeNull();
    expect(h.c.state().cued).toEqual([]);
    expect(h.rows().at(-1)).toMatchObject({ action: 'auto-out', detail: 'player-removed', playerName: 'Sheldon Cooper' });
  });
});

describe('as-run from the controller', () => {
  it('records every take and clear with player, confidence, pts and who', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(1000, [SHELDON]); // auto take at pts 1
    h.run(1000, [SHELDON]);
    h.c.clear('lowerThird', 'operator:ann'); // at pts 2
    h.c.take({ playerId: 'raj' }, 'api');
    h.c.clear(undefined, 'api');
    const rows = h.rows();
    expect(rows.map((r) => ({ ...r, id: 0 }))).toEqual([
      { id: 0, at: new Date(T0 + 1000).toISOString(), channel: 'main', action: 'take', layer: 'lowerThird', playerId: 'sheldon', playerName: 'Sheldon Cooper', confidence: 0.8, pts: 1, by: 'auto', graphicId: rows[0]!.graphicId, detail: null },
      { id: 0, at: new Date(T0 + 2000).toISOString(), channel: 'main', action: 'clear', layer: 'lowerThird', playerId: 'sheldon', playerName: 'Sheldon Cooper', confidence: 0.8, pts: 2, by: 'operator:ann', graphicId: rows[0]!.graphicId, detail: null },
      { id: 0, at: new Date(T0 + 2000).toISOString(), channel: 'main', action: 'take', layer: 'lowerThird', playerId: 'raj', playerName: 'Raj Koothrappali', confidence: null, pts: 2, by: 'api', graphicId: rows[2]!.graphicId, detail: null },
      { id: 0, at: new Date(T0 + 2000).toISOString(), channel: 'main', action: 'clear', layer: 'lowerThird', playerId: 'raj', playerName: 'Raj Koothrappali', confidence: null, pts: 2, by: 'api', graphicId: rows[2]!.graphicId, detail: null },
      { id: 0, at: new Date(T0 + 2000).toISOString(), channel: 'main', action: 'clear', layer: 'nameTag', playerId: null, playerName: null, confidence: null, pts: 2, by: 'api', graphicId: null, detail: 'name tags off' },
    ]);
    expect(h.logged).toEqual(rows); // the asRun event carries the stored rows
  });

  it('a failing as-run write does not stop the take', () => {
    const dir = mkdtempSync(join(tmpdir(), 'facecast-overlay-'));
    dirs.push(dir);
    const roster = openRoster(dir);
    rosters.push(roster);
    roster.upsertPlayer({ id: 'amy', name: 'Amy' });
    const errors: string[] = [];
    const log = { error: (_o: unknown, msg: string) => errors.push(msg), warn: () => undefined } as unknown as Logger;
    const c = new OverlayController('main', OPTIONS, {
      player: (id) => roster.getPlayer(id),
      asRun: { append: () => { throw new Error('disk full'); } },
      timers: false,
      log,
    });
    controllers.push(c);
    c.take({ playerId: 'amy' }, 'api');
    expect(c.state().onAir.lowerThird?.player.id).toBe('amy');
    expect(errors).toEqual(['as-run log write failed']);
  });
});

describe('name tags', () => {
  it('maps boxes into 1920×1080 (letterboxed or pillarboxed) and emits a valid tags message every frame', () => {
    const h = new Harness();
    h.frame([{ ...SHELDON, box: [640, 360, 64, 48] }]); // 1280×720 → ×1.5
    let m = h.tags.at(-1)!;
    expect(serverMessageSchema.parse(m)).toEqual(m);
    expect(m).toMatchObject({ type: 'tags', channel: 'main', pts: 0, frameWallMs: T0, sentAt: T0 });
    expect(m.tags).toEqual([{ trackId: 1, playerId: 'sheldon', name: 'Sheldon Cooper', number: 73, teamColor: '#c8102e', box: [960, 540, 96, 72], confidence: 0.8 }]);

    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, id: 3, box: [0, 0, 640, 480] }], { width: 640, height: 480 }); // 4:3 → ×2.25, 240 px bars left and right
    expect(h.tags.at(-1)!.tags[0]!.box).toEqual([240, 0, 1440, 1080]);

    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, id: 4, box: [0, 0, 1000, 1000] }], { width: 1000, height: 1000 }); // square → ×1.08, 420 px bars
    expect(h.tags.at(-1)!.tags[0]!.box).toEqual([420, 0, 1080, 1080]);

    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, id: 5, box: [0, 0, 3840, 1080] }], { width: 3840, height: 1080 }); // 32:9 → ×0.5, 270 px bars top and bottom
    m = h.tags.at(-1)!;
    expect(m.tags[0]!.box).toEqual([0, 270, 1920, 540]);
  });

  it('smooths each track with an exponential filter, starting fresh for a new track', () => {
    const h = new Harness({ tagSmoothing: 0.75 });
    h.frame([{ ...SHELDON, box: [0, 0, 100, 100] }], { width: 1920, height: 1080 });
    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, box: [400, 0, 100, 100] }], { width: 1920, height: 1080 });
    expect(h.tags.at(-1)!.tags[0]!.box).toEqual([100, 0, 100, 100]); // 0.75 × 0 + 0.25 × 400
    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, box: [400, 0, 100, 100] }], { width: 1920, height: 1080 });
    expect(h.tags.at(-1)!.tags[0]!.box).toEqual([175, 0, 100, 100]);
    h.advance(FRAME_MS);
    h.frame([{ ...SHELDON, id: 9, box: [1000, 500, 100, 100] }], { width: 1920, height: 1080 });
    expect(h.tags.at(-1)!.tags[0]!.box).toEqual([1000, 500, 100, 100]);
  });

  it('keeps a tag through a short loss, drops it after lostMs, and only names roster players', () => {
    const h = new Harness();
    h.frame([SHELDON, { id: 2, player: null }]);
    expect(h.tags.at(-1)!.tags.map((t) => t.trackId)).toEqual([1]);
    h.run(1400, [{ ...SHELDON, state: 'lost' }]);
    expect(h.tags.at(-1)!.tags.map((t) => t.trackId)).toEqual([1]);
    h.run(200, [{ ...SHELDON, state: 'lost' }]);
    expect(h.tags.at(-1)!.tags).toEqual([]);
  });

  it('switching tags off sends one empty list and then nothing; clear(nameTag) does the same', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    const before = h.tags.length;
    h.c.setNameTags(false, 'operator:ann');
    expect(h.tags.length).toBe(before + 1);
    expect(h.tags.at(-1)!.tags).toEqual([]);
    h.run(1000, [SHELDON]);
    expect(h.tags.length).toBe(before + 1);
    expect(h.c.state().nameTags).toBe(false);
    h.c.setNameTags(true, 'operator:ann');
    h.run(200, [SHELDON]);
    expect(h.tags.at(-1)!.tags).toHaveLength(1);
    h.c.clear('nameTag', 'operator:ann');
    expect(h.tags.at(-1)!.tags).toEqual([]);
    expect(h.c.state().nameTags).toBe(false);
    expect(h.onAir?.player.id).toBe('sheldon'); // the lower third is another layer
  });
});

describe('time and timers', () => {
  it('a pts jump backwards (a looped file, a reconnect) is no time passing', () => {
    const h = new Harness();
    h.frame([SHELDON]);
    h.run(600, [SHELDON]); // pts 0.6, held 600 ms
    h.pts = 0; // the file starts again
    h.frame([SHELDON]);
    h.run(200, [SHELDON]); // 800 ms of media time
    expect(h.onAir).toBeNull();
    h.run(200, [SHELDON]);
    expect(h.onAir?.player.id).toBe('sheldon');
  });

  it('its own timer rotates and takes off without frames or ticks', () => {
    vi.useFakeTimers({ now: T0 });
    const h = new Harness({ mode: 'manual' }, { timers: true, clock: () => Date.now() });
    h.c.take({ playerId: 'sheldon' }, 'api');
    vi.advanceTimersByTime(3999);
    expect(h.onAir?.card).toBe('intro');
    vi.advanceTimersByTime(1);
    expect(h.onAir?.card).toBe('stats');
    vi.advanceTimersByTime(3999);
    expect(h.onAir).not.toBeNull();
    vi.advanceTimersByTime(1);
    expect(h.onAir).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    h.c.take({ playerId: 'penny' }, 'api'); // no stats: the intro timer finds nothing to rotate, the duration still ends it
    vi.advanceTimersByTime(8000);
    expect(h.onAir).toBeNull();
    h.c.take({ playerId: 'raj' }, 'api');
    h.c.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('commands and errors', () => {
  function codeOf(fn: () => unknown): string | undefined {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(OverlayError);
      expect((err as Error).message.length).toBeGreaterThan(20);
      return (err as OverlayError).code;
    }
    return undefined;
  }

  it('refuses what cannot be done with a code, a status and a message that says what to do', () => {
    const h = new Harness({ mode: 'manual' });
    expect(codeOf(() => h.c.take({ playerId: 'howard' }, 'api'))).toBe('UNKNOWN_PLAYER');
    expect(codeOf(() => h.c.cue('howard', 'api'))).toBe('UNKNOWN_PLAYER');
    expect(codeOf(() => h.c.take({}, 'api'))).toBe('NOTHING_CUED');
    expect(codeOf(() => h.c.take({ cueId: 'nope' }, 'api'))).toBe('UNKNOWN_CUE');
    const cue = h.c.cue('raj', 'api');
    expect(codeOf(() => h.c.take({ cueId: cue.id, playerId: 'sheldon' }, 'api'))).toBe('INVALID');
    expect(new OverlayError('UNKNOWN_PLAYER', 'x').status).toBe(404);
    expect(h.onAir).toBeNull();
    expect(h.rows().map((r) => r.action)).toEqual(['cue']);
    h.c.dispose();
    expect(codeOf(() => h.c.take({ playerId: 'raj' }, 'api'))).toBe('DISPOSED');
  });

  it('handle() dispatches operator messages and ignores ping', () => {
    const h = new Harness({ mode: 'manual' });
    h.c.handle({ type: 'ping', t: 1 }, 'operator:ann');
    expect(h.states).toEqual([]);
    h.c.handle({ type: 'mode', mode: 'assisted' }, 'operator:ann');
    h.c.handle({ type: 'cue', playerId: 'raj' }, 'operator:ann');
    h.c.handle({ type: 'take', card: 'stats' }, 'operator:ann');
    expect(h.onAir).toMatchObject({ card: 'stats', player: { id: 'raj' }, takenBy: 'operator:ann' });
    h.c.handle({ type: 'nameTags', on: false }, 'operator:ann');
    h.c.handle({ type: 'clear' }, 'operator:ann');
    const s = h.c.state();
    expect(s).toMatchObject({ mode: 'assisted', nameTags: false, onAir: { lowerThird: null }, cued: [] });
    expect(h.states.at(-1)).toEqual(s);
    expect(() => h.c.handle({ type: 'take', playerId: 'nobody' }, 'operator:ann')).toThrow(OverlayError);
  });

  it('setSource changes the state only when something changed', () => {
    const h = new Harness();
    h.c.setSource({ url: 'srt://encoder:9000', state: 'playing', detail: null });
    h.c.setSource({ url: 'srt://encoder:9000', state: 'playing', detail: null });
    expect(h.states).toHaveLength(1);
    expect(h.states[0]!.source).toEqual({ url: 'srt://encoder:9000', state: 'playing', detail: null });
  });
});

describe('configuration', () => {
  let cfg: ReturnType<typeof loadConfig>;
  beforeEach(() => {
    cfg = loadConfig({ env: {} });
  });

  it('config/default.json has a valid overlay section', () => {
    expect(cfg.overlay).toMatchObject({ mode: 'auto', minConfidence: 0.5, confirmMs: 1000, lostMs: 1500, maxOnAirMs: 8000, cooldownMs: 30000, introMs: 4000, statKeys: [], nameTags: true });
    expect(() => overlayConfigSchema.parse({ ...cfg.overlay, tagSmoothing: 1 })).toThrow();
    expect(() => overlayConfigSchema.parse({ ...cfg.overlay, mode: 'robot' })).toThrow();
  });
});
