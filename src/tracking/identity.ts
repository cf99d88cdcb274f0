// Who one track is, voted from the classifier's answers on its faces over time.
//
// One frame's answer is noisy (blur, profile, a look-alike); a track's many answers are not. Each
// counted answer adds quality-weighted evidence: an accepted player to that player, an "unknown" to
// an unknown pool that dilutes every player's share. Older evidence decays by a factor per
// observation, so the vote follows the last ~1/(1 − decay) observations whatever the frame rate.
//
// The name is a state with hysteresis, tuned for "a wrong name on air is far worse than none":
//  - given only with enough observations, enough evidence and a dominant share (giveSupport);
//  - kept while its share stays above keepSupport (< giveSupport), so one bad frame changes nothing;
//  - a rival replaces it directly only with switchMargin more evidence; usually the share of the
//    current name collapses first and the track goes through "no name" before the rival qualifies;
//  - suspended (reported as no name) when the tracker is unsure the track is still the same face.
//
// Faces the open-set rule held back still carry evidence: each one's log-likelihood ratio for its
// best candidate (from the embedder's measured distances) is summed per candidate and discounted for
// how alike a track's faces are; once that reaches what one face on the threshold gives, the
// candidate's further faces count as accepted. Eight moderately convincing faces then name a
// player, while one lucky face of a stranger still needs company.
import { resolveBlock, type IdentityConfig } from './options.ts';

/** What identity.ts reads of a classifier answer; the classifier's Prediction fits. */
export interface EvidencePrediction {
  /** The accepted player, or null for "unknown" (the open-set gates refused every player). */
  identity: { id: string; confidence: number } | null;
  /** The best candidate's log-likelihood ratio, also when held back, and that of a face on its threshold. */
  evidence?: { id: string; llr: number; llrAtThreshold: number } | null;
}

export interface TrackIdentity {
  id: string;
  name?: string;
  /** The name's share of all evidence, with a pseudo-evidence prior: 0 … <1. */
  confidence: number;
}

export interface CandidateEvidence {
  id: string;
  /** Decayed, quality-weighted evidence. */
  evidence: number;
  /** Accepted observations of this player (not decayed). */
  observations: number;
  /** evidence / (all players' evidence + unknown evidence). */
  support: number;
  /** Summed log-likelihood ratio of the faces where this player was the best candidate, discounted for frame correlation. */
  llr?: number;
  /** Faces accepted on the track's accumulated evidence rather than on their own. */
  promoted?: number;
}

export interface IdentityState {
  /** null: no name (never named, dropped, or suspended). */
  identity: TrackIdentity | null;
  /** Strongest first. */
  candidates: CandidateEvidence[];
  /** Observations counted (quality ≥ minQuality), accepted or unknown. */
  observations: number;
  unknownEvidence: number;
  /** The held name is hidden until an observation confirms it (see suspend()). */
  suspended: boolean;
  /** The last counted answer did not confirm the name (see IdentityEvidence.disputed). */
  disputed: boolean;
}

export type NameLookup = (id: string) => string | undefined;

interface Tally {
  evidence: number;
  observations: number;
}

interface LlrTally {
  sum: number;
  faces: number;
  promoted: number;
}

export class IdentityEvidence {
  private readonly opts: IdentityConfig;
  private readonly nameOf: NameLookup | undefined;
  private readonly tallies = new Map<string, Tally>();
  private readonly llrs = new Map<string, LlrTally>();
  private unknown = 0;
  private counted = 0;
  private current: string | null = null;
  private suspended = false;
  private lastDisagreed = false;

  constructor(options: Partial<IdentityConfig> = {}, nameOf?: NameLookup) {
    this.opts = resolveBlock('identity', options);
    this.nameOf = nameOf;
  }

  /** The name to show now, or null. */
  get identity(): TrackIdentity | null {
    if (this.current === null || this.suspended) return null;
    const name = this.nameOf?.(this.current);
    const confidence = this.evidenceOf(this.current) / (this.total() + this.opts.confidencePrior);
    return name === undefined ? { id: this.current, confidence } : { id: this.current, name, confidence };
  }

  /**
   * Add one classifier answer on a face of quality 0…1. Returns false when it was ignored
   * (quality below minQuality).
   */
  observe(prediction: EvidencePrediction, quality: number): boolean {
    const q = Math.min(1, Math.max(0, quality));
    if (!(q >= this.opts.minQuality) || q === 0) return false;
    const accepted = prediction.identity ?? this.promoted(prediction.evidence);
    const weight =
      accepted === null
        ? q * this.opts.unknownWeight
        : q * (this.opts.acceptBase + (1 - this.opts.acceptBase) * Math.min(1, Math.max(0, accepted.confidence)));

    if (this.suspended && accepted !== null) {
      // Same player: confirmed, show the name again. Another player: the track may now follow
      // someone else, so its history is no evidence about this face.
      if (accepted.id !== this.current) this.reset();
      this.suspended = false;
    }

    const d = this.opts.decay;
    for (const t of this.tallies.values()) t.evidence *= d;
    this.unknown *= d;
    this.counted++;
    if (accepted === null) {
      this.unknown += weight;
    } else {
      const t = this.tallies.get(accepted.id) ?? { evidence: 0, observations: 0 };
      t.evidence += weight;
      t.observations++;
      this.tallies.set(accepted.id, t);
    }
    this.decide();
    this.lastDisagreed = this.current !== null && accepted?.id !== this.current;
    return true;
  }

  /**
   * Adds a face's log-likelihood ratio to its candidate's sum; a held-back face counts as accepted
   * (with the least confidence) when the discounted sum has reached the one-face threshold.
   */
  private promoted(ev: EvidencePrediction['evidence']): { id: string; confidence: number } | null {
    if (!ev) return null;
    const t = this.llrs.get(ev.id) ?? { sum: 0, faces: 0, promoted: 0 };
    t.sum += ev.llr;
    t.faces++;
    this.llrs.set(ev.id, t);
    if (ev.llr <= 0 || t.faces < this.opts.minObservations) return null;
    if (this.discountedLlr(t) < ev.llrAtThreshold) return null;
    t.promoted++;
    return { id: ev.id, confidence: 0 };
  }

  private discountedLlr(t: LlrTally): number {
    return t.sum / (1 + this.opts.frameCorrelation * (t.faces - 1));
  }

  /**
   * There is a name and the last counted answer was not that name (another player or unknown).
   * The tracker then asks for an embedding every frame instead of every recheckEvery frames, so a
   * silent track swap is settled by evidence in a few frames, not a few re-checks.
   */
  get disputed(): boolean {
    return this.current !== null && this.lastDisagreed;
  }

  /**
   * The tracker is unsure this track still follows the same face (re-found after a gap, or it
   * overlapped another face). Hide the name until an accepted answer for the same player; an
   * accepted answer for another player first clears the history.
   */
  suspend(): void {
    if (this.current !== null) this.suspended = true;
  }

  /** Forget everything. */
  reset(): void {
    this.tallies.clear();
    this.llrs.clear();
    this.unknown = 0;
    this.counted = 0;
    this.current = null;
    this.suspended = false;
    this.lastDisagreed = false;
  }

  state(): IdentityState {
    const total = this.total();
    const candidates = [...this.tallies.entries()]
      .map(([id, t]) => {
        const l = this.llrs.get(id);
        return { id, evidence: t.evidence, observations: t.observations, support: total > 0 ? t.evidence / total : 0, ...(l ? { llr: this.discountedLlr(l), promoted: l.promoted } : {}) };
      })
      .sort((a, b) => b.evidence - a.evidence || a.id.localeCompare(b.id));
    return {
      identity: this.identity,
      candidates,
      observations: this.counted,
      unknownEvidence: this.unknown,
      suspended: this.suspended,
      disputed: this.disputed,
    };
  }

  private decide(): void {
    const best = this.strongest();
    if (this.current === null) {
      if (best !== null && this.qualifies(best)) this.current = best;
      return;
    }
    if (best !== null && best !== this.current && this.qualifies(best)) {
      if (this.evidenceOf(best) >= this.evidenceOf(this.current) + this.opts.switchMargin) {
        this.current = best;
        this.suspended = false;
        return;
      }
    }
    if (this.support(this.current) < this.opts.keepSupport) {
      // Back to no name; a rival that qualifies gets it at the next observation, so the graphic
      // goes out before another comes in.
      this.current = null;
      this.suspended = false;
    }
  }

  private qualifies(id: string): boolean {
    const t = this.tallies.get(id);
    if (!t) return false;
    return (
      t.observations >= this.opts.minObservations &&
      t.evidence >= this.opts.giveEvidence &&
      this.support(id) >= this.opts.giveSupport
    );
  }

  private strongest(): string | null {
    let best: string | null = null;
    let bestEvidence = -Infinity;
    for (const [id, t] of this.tallies) {
      if (t.evidence > bestEvidence || (t.evidence === bestEvidence && best !== null && id < best)) {
        best = id;
        bestEvidence = t.evidence;
      }
    }
    return best;
  }

  private evidenceOf(id: string): number {
    return this.tallies.get(id)?.evidence ?? 0;
  }

  private support(id: string): number {
    const total = this.total();
    return total > 0 ? this.evidenceOf(id) / total : 0;
  }

  private total(): number {
    let s = this.unknown;
    for (const t of this.tallies.values()) s += t.evidence;
    return s;
  }
}
