// "Is this face really that player?" over time: a track qualifies for a graphic once it has held
// the same name at minConfidence or more, frame after frame, for confirmMs of source time. One
// frame below the threshold, another name or no name restarts the count; so does the track ending.
// A track the tracker reports as lost (face not detected this frame, box predicted) keeps its
// count if it keeps its name, but does not qualify until its face is seen again: a graphic should
// go on air while the face is in the picture.
import type { TrackOut } from '../pipeline/sourcePipeline.ts';
import type { Identity } from '../shared/protocol.ts';

export interface ConfirmationOptions {
  minConfidence: number;
  confirmMs: number;
}

/** A track that qualifies now. */
export interface ConfirmedTrack {
  trackId: number;
  identity: Identity;
  /** Media time (ms) since which it has held the name. */
  sinceMs: number;
}

export class ConfirmationTimers {
  private readonly held = new Map<number, { playerId: string; sinceMs: number }>();

  constructor(private readonly opts: ConfirmationOptions) {}

  /**
   * Feeds one frame's tracks (media time nowMs); returns the tracks that qualify in this frame,
   * held longest first (then higher confidence, then lower track id, so the order is stable).
   */
  update(tracks: readonly TrackOut[], nowMs: number): ConfirmedTrack[] {
    const seen = new Set<number>();
    const out: ConfirmedTrack[] = [];
    for (const t of tracks) {
      const id = t.identity;
      if (!id || !(id.confidence >= this.opts.minConfidence)) continue;
      seen.add(t.id);
      let h = this.held.get(t.id);
      if (!h || h.playerId !== id.id) {
        h = { playerId: id.id, sinceMs: nowMs };
        this.held.set(t.id, h);
      }
      if (t.state !== 'lost' && nowMs - h.sinceMs >= this.opts.confirmMs) out.push({ trackId: t.id, identity: id, sinceMs: h.sinceMs });
    }
    for (const trackId of this.held.keys()) if (!seen.has(trackId)) this.held.delete(trackId);
    return out.sort((a, b) => a.sinceMs - b.sinceMs || b.identity.confidence - a.identity.confidence || a.trackId - b.trackId);
  }

  clear(): void {
    this.held.clear();
  }
}
