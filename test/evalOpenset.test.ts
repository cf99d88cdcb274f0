// `facecast eval-openset`: the open-set protocol on LFW View 1 at a small scale (a real process on
// the real images), and the seeded choice of rosters, strangers and negatives on invented people.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planOpenset, type Person } from '../src/eval/openset.ts';
import type { RosterResult } from '../src/eval/openset.ts';
import { FIXTURES, haveFixtures } from './helpers/fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/facecast.js', import.meta.url));
const PROJECT = fileURLToPath(new URL('..', import.meta.url));
const HAVE_LFW = haveFixtures('evalOpenset.test.ts', 'lfw-view1/pairsDevTrain.txt');

function facecast(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, FACECAST_LOG_LEVEL: 'warn' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Invented people: `n` images each, every third one inside DevTrain. */
function people(counts: number[]): Person[] {
  return counts.map((n, i) => {
    const name = `P${String(i).padStart(3, '0')}`;
    return { name, images: Array.from({ length: n }, (_, k) => `${name}/${k}.jpg`), devTrain: i % 3 === 0 };
  });
}

describe('open-set plan', () => {
  const pool = people(Array.from({ length: 300 }, (_, i) => 1 + (i % 6)));

  it('is the same for the same seed and differs for another', () => {
    const o = { players: 40, photos: [1, 3], strangers: 60, negatives: 30, seed: 7 };
    expect(planOpenset(pool, o)).toEqual(planOpenset([...pool].reverse(), o));
    expect(planOpenset(pool, { ...o, seed: 8 })).not.toEqual(planOpenset(pool, o));
  });

  it('keeps rosters, strangers and negatives apart, prefers people outside DevTrain, and enrols the first images', () => {
    const plan = planOpenset(pool, { players: 40, photos: [1, 3], strangers: 60, negatives: 30, seed: 1 });
    const rostered = new Set(plan.rosters.flatMap((r) => r.players.map((p) => p.name)));
    const strangers = new Set(plan.strangers.map((s) => s.name));
    const negatives = new Set(plan.negatives.map((n) => n.name));
    expect(strangers.size).toBe(60);
    expect(negatives.size).toBe(30);
    for (const s of strangers) expect(rostered.has(s) || negatives.has(s)).toBe(false);
    for (const n of negatives) expect(rostered.has(n)).toBe(false);
    for (const r of plan.rosters) {
      expect(r.players).toHaveLength(40);
      // 200 people are outside DevTrain, enough for both rosters: no DevTrain player is needed.
      expect(r.players.every((p) => !p.devTrain)).toBe(true);
      for (const p of r.players) {
        const all = pool.find((x) => x.name === p.name)!.images;
        expect(p.enrolled).toEqual(all.slice(0, r.photos));
        expect(p.probes).toEqual(all.slice(r.photos));
        expect(p.probes.length).toBeGreaterThan(0);
      }
    }
    expect(plan.strangers.every((s) => !s.devTrain)).toBe(true);
  });

  it('fills a roster from DevTrain people when too few are outside it', () => {
    // 150 people have 4 images or more, 100 of them outside DevTrain: all of those, then 20 from DevTrain.
    const plan = planOpenset(pool, { players: 120, photos: [3], strangers: 10, negatives: 0, seed: 1 });
    expect(plan.rosters[0]!.players).toHaveLength(120);
    expect(plan.rosters[0]!.players.filter((p) => !p.devTrain)).toHaveLength(100);
  });
});

describe.skipIf(!HAVE_LFW)('facecast eval-openset on LFW View 1 (50 players, 100 strangers)', () => {
  it('trains both rosters and reports DIR, FAR and rank-1 within the protocol', { timeout: 900_000 }, async () => {
    const r = await facecast([
      '--data', join(PROJECT, 'data'),
      'eval-openset', '--root', join(FIXTURES, 'lfw-view1'), '--players', '50', '--strangers', '100', '--negatives', '100', '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      counts: { strangers: number; negatives: number };
      rosters: RosterResult[];
      plan: { photos: number; players: { name: string; enrolled: string[]; probes: string[] }[] }[];
      strangers: { name: string; image: string }[];
      negatives: { name: string; image: string }[];
    };
    expect(out.counts.strangers).toBe(100);
    expect(out.counts.negatives).toBe(100);
    const strangers = new Set(out.strangers.map((s) => s.name));
    const negatives = new Set(out.negatives.map((n) => n.name));
    expect(strangers.size).toBe(100);
    for (const n of negatives) expect(strangers.has(n)).toBe(false);

    expect(out.plan.map((p) => p.photos)).toEqual([1, 3]);
    for (const roster of out.plan) {
      expect(roster.players).toHaveLength(50);
      for (const p of roster.players) {
        expect(p.enrolled).toHaveLength(roster.photos);
        expect(p.probes.length).toBeGreaterThan(0);
        expect(p.probes.some((img) => p.enrolled.includes(img))).toBe(false);
        for (const img of [...p.enrolled, ...p.probes]) expect(img).toContain(`/${p.name}/`);
        expect(strangers.has(p.name) || negatives.has(p.name)).toBe(false);
      }
    }

    expect(out.rosters.map((x) => x.photos)).toEqual([1, 3]);
    for (const [i, res] of out.rosters.entries()) {
      expect(res.players).toBe(50);
      expect(res.enrolled).toBe(50 * res.photos);
      expect(res.openSet.chances).toBeGreaterThan(0);
      expect(res.trainMs).toBeGreaterThan(0);
      expect(res.identifyMsMedian).toBeGreaterThan(0);
      const all = res.rows.find((x) => x.subset === 'all')!;
      expect(all.probes).toBe(out.plan[i]!.players.reduce((s, p) => s + p.probes.length, 0));
      expect(all.strangers).toBe(100);
      for (const v of [all.rank1, all.atDefault.dir, all.atDefault.far]) expect(v).toBeGreaterThanOrEqual(0);
      for (const v of [all.rank1, all.atDefault.dir, all.atDefault.far]) expect(v).toBeLessThanOrEqual(1);
      // Named correctly never exceeds ranked correctly; real faces of 50 people are mostly ranked right.
      expect(all.atDefault.dir).toBeLessThanOrEqual(all.rank1);
      expect(all.rank1).toBeGreaterThan(0.9);
      expect(all.points.map((p) => p.targetFar)).toEqual([0.001, 0.01]);
      for (const p of all.points) {
        expect(p.far).toBeLessThanOrEqual(p.targetFar);
        expect(p.falseAccepts).toBeLessThanOrEqual(Math.floor(p.targetFar * all.strangers));
        expect(p.dir).toBeGreaterThanOrEqual(0);
        expect(p.dir).toBeLessThanOrEqual(all.rank1);
      }
      // A looser false-accept target never names fewer players.
      expect(all.points[1]!.dir).toBeGreaterThanOrEqual(all.points[0]!.dir);
    }
  });
});
