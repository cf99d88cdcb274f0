// The invented people of the built-in demo. Every name, number, team and stat here is made up;
// the faces come from the sample photos of @vladmandic/face-api. Both teams carry "Demo" in their
// name and every id starts with "demo-", so demo data can never pass for a real roster, while the
// on-air card still gets realistic material: a Korean name (Hangul glyphs), a long hyphenated
// Latin name (wrapping and shrinking), diacritics (Zoë, Đorđević, Sæther) and an apostrophe
// (O'Rourke, for escaping).
import type { PlayerInput } from '../roster/schema.ts';

export interface DemoTeam {
  name: string;
  color: string;
}

export const DEMO_TEAMS = {
  city: { name: 'Demo City FC', color: '#1d428a' },
  harbour: { name: 'Demo Harbour United', color: '#c8102e' },
} as const satisfies Record<string, DemoTeam>;

type TeamKey = keyof typeof DEMO_TEAMS;
type Position = 'Goalkeeper' | 'Defender' | 'Midfielder' | 'Forward';

interface DemoPerson {
  id: string;
  name: string;
  number: number;
  team: TeamKey;
  position: Position;
  apps: number;
  /** Goals for outfield players, clean sheets for goalkeepers. */
  tally: number;
  assists: number;
}

// Order matters: the n-th distinct person found in the sample photos (photo order, then left to
// right) gets the n-th entry.
const PEOPLE: DemoPerson[] = [
  { id: 'demo-maya-lindqvist', name: 'Maya Lindqvist', number: 9, team: 'city', position: 'Forward', apps: 48, tally: 31, assists: 9 },
  { id: 'demo-anne-sophie-kouassi-vanderbeek', name: 'Anne-Sophie Kouassi-Vanderbeek', number: 8, team: 'city', position: 'Midfielder', apps: 61, tally: 7, assists: 18 },
  { id: 'demo-elena-marchetti', name: 'Elena Marchetti', number: 1, team: 'city', position: 'Goalkeeper', apps: 72, tally: 29, assists: 0 },
  { id: 'demo-han-seo-yun', name: '한서윤', number: 10, team: 'harbour', position: 'Midfielder', apps: 55, tally: 14, assists: 21 },
  { id: 'demo-zoe-dordevic', name: 'Zoë Đorđević', number: 4, team: 'city', position: 'Defender', apps: 40, tally: 2, assists: 3 },
  { id: 'demo-priya-raman-okafor', name: 'Priya Raman-Okafor', number: 11, team: 'harbour', position: 'Forward', apps: 37, tally: 19, assists: 6 },
  { id: 'demo-ingrid-saether', name: 'Ingrid Sæther', number: 5, team: 'harbour', position: 'Defender', apps: 66, tally: 4, assists: 2 },
  { id: 'demo-lucia-ferreira', name: 'Lucía Ferreira', number: 7, team: 'city', position: 'Forward', apps: 52, tally: 22, assists: 12 },
  { id: 'demo-chloe-dubois-martin', name: 'Chloé Dubois-Martin', number: 6, team: 'harbour', position: 'Midfielder', apps: 44, tally: 5, assists: 10 },
  { id: 'demo-amara-nwosu', name: 'Amara Nwosu', number: 3, team: 'city', position: 'Defender', apps: 58, tally: 3, assists: 5 },
  { id: 'demo-sofia-castellano', name: 'Sofia Castellano', number: 1, team: 'harbour', position: 'Goalkeeper', apps: 63, tally: 24, assists: 0 },
  { id: 'demo-hana-takeda', name: 'Hana Takeda', number: 14, team: 'city', position: 'Midfielder', apps: 29, tally: 6, assists: 8 },
  { id: 'demo-leilani-kahale', name: 'Leilani Kahale', number: 2, team: 'harbour', position: 'Defender', apps: 47, tally: 1, assists: 4 },
  { id: 'demo-noor-haddad', name: 'Noor Haddad', number: 17, team: 'city', position: 'Forward', apps: 33, tally: 15, assists: 7 },
  { id: 'demo-freya-whitcombe', name: 'Freya Whitcombe', number: 9, team: 'harbour', position: 'Forward', apps: 50, tally: 27, assists: 11 },
  { id: 'demo-camila-restrepo', name: 'Camila Restrepo', number: 12, team: 'city', position: 'Defender', apps: 38, tally: 2, assists: 6 },
  { id: 'demo-mei-lin-chua', name: 'Mei Lin Chua', number: 8, team: 'harbour', position: 'Midfielder', apps: 41, tally: 9, assists: 13 },
  { id: 'demo-oksana-hrytsenko', name: 'Oksana Hrytsenko', number: 15, team: 'city', position: 'Midfielder', apps: 26, tally: 4, assists: 9 },
  { id: 'demo-tamsin-o-rourke', name: "Tamsin O'Rourke", number: 3, team: 'harbour', position: 'Defender', apps: 57, tally: 2, assists: 7 },
];

/** How many invented people there are; more faces than this get generic "Demo Player N" names. */
export const DEMO_PEOPLE_COUNT = PEOPLE.length;

/** The roster entry of the i-th distinct person of the sample photos (0-based). */
export function demoPlayerInput(i: number): PlayerInput {
  const p = PEOPLE[i];
  if (!p) {
    // A backend that finds an extra face should still get a working demo, not a crash.
    const n = i + 1;
    const team = DEMO_TEAMS[n % 2 ? 'city' : 'harbour'];
    return { id: `demo-player-${n}`, name: `Demo Player ${n}`, number: 50 + n, team: team.name, teamColor: team.color, position: 'Midfielder', stats: { apps: 0, goals: 0, assists: 0 } };
  }
  const team = DEMO_TEAMS[p.team];
  const stats: Record<string, number> = p.position === 'Goalkeeper' ? { apps: p.apps, 'clean sheets': p.tally } : { apps: p.apps, goals: p.tally, assists: p.assists };
  return { id: p.id, name: p.name, number: p.number, team: team.name, teamColor: team.color, position: p.position, stats };
}
