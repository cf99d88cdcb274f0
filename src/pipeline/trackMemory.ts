// The recent face embeddings of each track, so an operator's correction ("this is Raj", "not a
// player") can teach the roster with the faces the pipeline actually saw. Bounded per track, and
// an ended track is kept for a grace period: the operator often reacts after the face has left.

export interface RememberedFace {
  /** 128-D, L2-normalised; an own copy (never a view into a transferred buffer). */
  embedding: Float32Array;
  /** Face quality 0…1 of that detection. */
  quality: number;
  seq: number;
  pts: number;
}

interface Entry {
  faces: RememberedFace[];
  /** Wall-clock ms when the track ended; null while it is live. */
  endedAt: number | null;
}

export class TrackMemory {
  private readonly tracks = new Map<number, Entry>();

  constructor(
    private readonly perTrack: number,
    private readonly graceMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  add(trackId: number, face: RememberedFace): void {
    let e = this.tracks.get(trackId);
    if (!e) this.tracks.set(trackId, (e = { faces: [], endedAt: null }));
    e.faces.push({ ...face, embedding: Float32Array.from(face.embedding) });
    if (e.faces.length > this.perTrack) e.faces.shift();
  }

  /** Seq of the newest remembered face of a track, or null: used to pace embeddings without a model. */
  lastSeq(trackId: number): number | null {
    return this.tracks.get(trackId)?.faces.at(-1)?.seq ?? null;
  }

  ended(trackId: number): void {
    const e = this.tracks.get(trackId);
    if (e && e.endedAt === null) e.endedAt = this.clock();
  }

  /** The track's faces, oldest first (empty when unknown or past its grace). */
  faces(trackId: number): RememberedFace[] {
    this.sweep();
    return [...(this.tracks.get(trackId)?.faces ?? [])];
  }

  /** Forgets ended tracks whose grace is over. */
  sweep(): void {
    const now = this.clock();
    for (const [id, e] of this.tracks) if (e.endedAt !== null && now - e.endedAt > this.graceMs) this.tracks.delete(id);
  }

  clear(): void {
    this.tracks.clear();
  }
}
