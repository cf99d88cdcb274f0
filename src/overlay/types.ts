// Shapes the overlay logic shares with whoever wires it to sockets and storage.
import type { Layer, ServerMessage } from '../shared/protocol.ts';

/** The frame-rate name-tag message, exactly as sent to pages. */
export type TagsMessage = Extract<ServerMessage, { type: 'tags' }>;

/**
 * What an as-run row records:
 *  - take, clear: a graphic went on / came off air by someone's command (or replaced by a take);
 *  - auto-out: recognition's rules took it off (detail: lost, cut, duration, player-removed);
 *  - rotate: the on-air lower third switched card (detail: intro→stats);
 *  - cue: recognition or a person cued a graphic;
 *  - mode, nameTags: the channel's mode or name tags were switched (detail: the new value).
 */
export const AS_RUN_ACTIONS = ['take', 'clear', 'auto-out', 'rotate', 'cue', 'mode', 'nameTags'] as const;
export type AsRunAction = (typeof AS_RUN_ACTIONS)[number];

export interface AsRunEntry {
  id: number;
  /** ISO-8601 UTC with milliseconds (sorts as text). */
  at: string;
  channel: string;
  action: AsRunAction;
  layer: Layer | null;
  playerId: string | null;
  /** Copied at the time, so a later rename or removal does not rewrite history. */
  playerName: string | null;
  confidence: number | null;
  /** Source pts (s): the triggering frame for recognition, else the latest analysed frame. */
  pts: number | null;
  /** 'auto', 'operator:<name>', 'api'. */
  by: string;
  graphicId: string | null;
  detail: string | null;
}

/** What a caller hands to AsRunLog.append: the id is assigned, `at` defaults to now. */
export type AsRunInput = Omit<AsRunEntry, 'id' | 'at'> & { at?: string };
