// The face-following name tags of one channel: which named tracks get a tag this frame, and where.
//
// A tag follows every named track whose player is on the roster. A track the tracker reports as
// lost (a missed detection, box predicted) keeps its tag for up to lostMs of source time, so a
// single missed frame does not make the tag blink; after that the tag goes until the face is seen.
// Strangers (identity null) never get a tag.
import type { FrameAnalysis } from '../pipeline/sourcePipeline.ts';
import type { Player } from '../roster/roster.ts';
import type { NameTag } from '../shared/protocol.ts';
import { TagSmoother, roundBox, toOutputBox } from './geometry.ts';

export class NameTagBuilder {
  private readonly smoother: TagSmoother;
  /** Media time (ms) each track's face was last detected. */
  private readonly lastSeen = new Map<number, number>();

  constructor(
    smoothing: number,
    private readonly lostMs: number,
  ) {
    this.smoother = new TagSmoother(smoothing);
  }

  /** Notes which faces were seen in this frame; call for every frame, tags shown or not. */
  observe(a: FrameAnalysis, nowMs: number): void {
    const live = new Set<number>();
    for (const t of a.tracks) {
      live.add(t.id);
      if (t.state !== 'lost' || !this.lastSeen.has(t.id)) this.lastSeen.set(t.id, nowMs);
    }
    for (const id of this.lastSeen.keys()) if (!live.has(id)) this.lastSeen.delete(id);
  }

  /** The tags of this frame, boxes in output pixels, smoothed per track. */
  build(a: FrameAnalysis, nowMs: number, playerOf: (id: string) => Player | null): NameTag[] {
    const tags: NameTag[] = [];
    const tagged = new Set<number>();
    for (const t of a.tracks) {
      if (!t.identity) continue;
      if (t.state === 'lost' && nowMs - (this.lastSeen.get(t.id) ?? nowMs) >= this.lostMs) continue;
      const player = playerOf(t.identity.id);
      if (!player) continue; // named by a model trained before the player was removed
      tagged.add(t.id);
      const box = this.smoother.smooth(t.id, toOutputBox(t.box, a.width, a.height));
      tags.push({
        trackId: t.id,
        playerId: player.id,
        name: player.name,
        number: player.number,
        teamColor: player.teamColor,
        box: roundBox(box),
        confidence: t.identity.confidence,
      });
    }
    // A tag that disappears and comes back starts again from its raw box instead of gliding.
    this.smoother.retain(tagged);
    return tags;
  }

  /** Tags switched off: the next tag of any track starts fresh. */
  reset(): void {
    this.smoother.clear();
  }
}
