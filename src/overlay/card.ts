// What a lower third shows of a player: the roster record cut down to the template's fields.
import type { Player } from '../roster/roster.ts';
import type { PlayerCard, StatItem } from '../shared/protocol.ts';

/** Stats shown when no statKeys are configured: enough for a lower third, not a table. */
export const DEFAULT_STAT_COUNT = 4;

/**
 * The card for `player`. statKeys picks and orders the stats (keys the player lacks are skipped,
 * so one list can serve a squad whose records differ); empty = the player's first 4 stats in
 * their stored order. Labels are the stat keys as entered (roster.csv headers), values strings.
 */
export function buildPlayerCard(player: Player, statKeys: readonly string[]): PlayerCard {
  const keys = statKeys.length > 0 ? statKeys.filter((k) => Object.hasOwn(player.stats, k)) : Object.keys(player.stats).slice(0, DEFAULT_STAT_COUNT);
  const stats: StatItem[] = keys.map((k) => ({ label: k, value: String(player.stats[k]) }));
  return {
    id: player.id,
    name: player.name,
    number: player.number,
    team: player.team,
    teamColor: player.teamColor,
    position: player.position,
    stats,
  };
}
