// The dashboard's live views of one channel: `preview` (a JPEG of a sampled frame with the tracks
// the tracker had in that very frame) and `tracks` ("on screen now": one row per live track with
// a face thumbnail). Built only while an operator watches the channel, so an unwatched server
// pays nothing.
//
// The frame's pixels are transferred to a vision worker when the frame is submitted, so the
// pipeline's tap hands a frame here first; at previewFps one copy is kept, keyed by seq, and
// encoded once that frame's analysis arrives (so boxes and picture match). JPEG encoding and
// cropping run in sharp's (libvips) threads, off the event loop.
import sharp from 'sharp';
import type { DashboardConfig } from '../config/schema.ts';
import type { FrameAnalysis } from '../pipeline/sourcePipeline.ts';
import type { Logger } from '../shared/log.ts';
import type { Frame, PreviewMessage, ServerMessage, TrackRow } from '../shared/protocol.ts';

export interface OperatorOutput {
  hasOperators(channel: string | null): boolean;
  broadcastOperator(channel: string | null, msg: ServerMessage, opts?: { skippable?: boolean }): void;
}

interface Shot {
  rgb: Uint8Array;
  width: number;
  height: number;
}

/** Copies waiting for their analysis; more means the pool dropped them (live sources). */
const MAX_PENDING = 4;
/** A face crop this much larger than the box shows hair and chin, as a person recognises a face. */
const THUMB_MARGIN = 1.4;

const round1 = (v: number) => Math.round(v * 10) / 10;

export class OperatorFeed {
  private readonly pending = new Map<number, Shot>();
  private lastGrabMs = -Infinity;
  private encoding = false;
  private lastTracksMs = -Infinity;
  /** Source pts (s) when each live track was first seen: "how long on screen". */
  private readonly firstPts = new Map<number, number>();
  private readonly thumbs = new Map<number, { jpeg: string; at: number }>();

  constructor(
    private readonly channel: string,
    private readonly cfg: DashboardConfig,
    private readonly out: OperatorOutput,
    private readonly onAirStatus: (playerId: string) => TrackRow['onAir'],
    private readonly log: Logger,
  ) {}

  /** Pipeline tap: keeps a copy of a frame now and then, only while someone watches. */
  tap = (frame: Frame): void => {
    if (this.cfg.previewFps <= 0 || !this.out.hasOperators(this.channel)) return;
    const now = Date.now();
    if (now - this.lastGrabMs < 1000 / this.cfg.previewFps) return;
    this.lastGrabMs = now;
    this.pending.set(frame.seq, { rgb: frame.rgb.slice(), width: frame.width, height: frame.height });
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
  };

  onFrame(a: FrameAnalysis): void {
    for (const t of a.tracks) if (!this.firstPts.has(t.id)) this.firstPts.set(t.id, a.pts);
    for (const e of a.ended) {
      this.firstPts.delete(e.id);
      this.thumbs.delete(e.id);
    }
    // Copies of earlier frames will never be analysed (dropped): free them.
    for (const seq of this.pending.keys()) if (seq < a.frame) this.pending.delete(seq);
    const shot = this.pending.get(a.frame);
    if (shot) {
      this.pending.delete(a.frame);
      // One encode at a time: on a loaded machine previews thin out instead of piling up.
      if (!this.encoding) {
        this.encoding = true;
        this.sendPreview(a, shot)
          .catch((err: unknown) => this.log.warn({ channel: this.channel, err: (err as Error).message }, 'dashboard preview failed'))
          .finally(() => (this.encoding = false));
      }
    }
    const now = Date.now();
    if (now - this.lastTracksMs >= this.cfg.tracksIntervalMs && this.out.hasOperators(this.channel)) {
      this.lastTracksMs = now;
      this.out.broadcastOperator(this.channel, { type: 'tracks', channel: this.channel, pts: a.pts, tracks: this.rows(a) });
    }
  }

  /** The source went away: nothing pending or on screen any more. */
  reset(): void {
    this.pending.clear();
    this.firstPts.clear();
    this.thumbs.clear();
    if (this.out.hasOperators(this.channel)) this.out.broadcastOperator(this.channel, { type: 'tracks', channel: this.channel, pts: 0, tracks: [] });
  }

  private rows(a: FrameAnalysis): TrackRow[] {
    return a.tracks.map((t) => ({
      trackId: t.id,
      playerId: t.identity?.id ?? null,
      name: t.identity?.name ?? null,
      confidence: t.identity?.confidence ?? null,
      onScreenMs: Math.max(0, Math.round((a.pts - (this.firstPts.get(t.id) ?? a.pts)) * 1000)),
      state: t.state,
      onAir: t.identity ? this.onAirStatus(t.identity.id) : null,
      thumb: this.thumbs.get(t.id)?.jpeg ?? null,
      candidate: t.decision
        ? { name: t.decision.candidate.name, distance: t.decision.distance, threshold: t.decision.threshold ?? null, heldBackBy: t.decision.heldBackBy }
        : null,
      why: t.decision?.reason ?? null,
    }));
  }

  private async sendPreview(a: FrameAnalysis, shot: Shot): Promise<void> {
    const { width, height } = shot;
    const scale = Math.min(1, this.cfg.previewWidth / width);
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const raw = { raw: { width, height, channels: 3 as const } };
    const jpeg = await sharp(shot.rgb, raw).resize(w, h).jpeg({ quality: this.cfg.previewQuality }).toBuffer();
    await this.refreshThumbs(a, shot);
    const msg: PreviewMessage = {
      type: 'preview',
      channel: this.channel,
      seq: a.frame,
      pts: a.pts,
      cut: a.cut,
      width: w,
      height: h,
      jpeg: jpeg.toString('base64'),
      tracks: a.tracks.map((t) => ({
        id: t.id,
        box: [round1(t.box[0] * scale), round1(t.box[1] * scale), round1(t.box[2] * scale), round1(t.box[3] * scale)],
        state: t.state,
        identity: t.identity,
      })),
    };
    this.out.broadcastOperator(this.channel, msg);
  }

  /** Cuts a new face thumbnail for tracks seen in this frame whose thumbnail is old or missing. */
  private async refreshThumbs(a: FrameAnalysis, shot: Shot): Promise<void> {
    const now = Date.now();
    const due = a.tracks.filter((t) => t.state !== 'lost' && now - (this.thumbs.get(t.id)?.at ?? -Infinity) >= this.cfg.thumbRefreshMs);
    await Promise.all(
      due.map(async (t) => {
        const region = cropRegion(t.box, shot.width, shot.height);
        if (!region) return;
        const jpeg = await sharp(shot.rgb, { raw: { width: shot.width, height: shot.height, channels: 3 } })
          .extract(region)
          .resize(this.cfg.thumbSize, this.cfg.thumbSize, { fit: 'cover' })
          .jpeg({ quality: this.cfg.previewQuality })
          .toBuffer();
        // The track may have ended while encoding; its row is gone then.
        if (this.firstPts.has(t.id)) this.thumbs.set(t.id, { jpeg: jpeg.toString('base64'), at: now });
      }),
    );
  }
}

/** A square around the face box, clamped to the frame; null when nothing of it is inside. */
export function cropRegion(box: readonly [number, number, number, number], width: number, height: number): { left: number; top: number; width: number; height: number } | null {
  const side = Math.max(box[2], box[3]) * THUMB_MARGIN;
  const cx = box[0] + box[2] / 2;
  const cy = box[1] + box[3] / 2;
  const left = Math.max(0, Math.floor(cx - side / 2));
  const top = Math.max(0, Math.floor(cy - side / 2));
  const right = Math.min(width, Math.ceil(cx + side / 2));
  const bottom = Math.min(height, Math.ceil(cy + side / 2));
  if (right - left < 2 || bottom - top < 2) return null;
  return { left, top, width: right - left, height: bottom - top };
}
