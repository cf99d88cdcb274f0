// POST /api/players/import on the real server: a large file keeps the server answering, is one
// transaction with one audit row and one roster event, and the replies name the right lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponseSchema } from '../src/server/apiSchemas.ts';
import { startTestServer, type TestServer } from './helpers/apiServer.ts';
import { SERVICE_LEVEL } from './helpers/serviceLevels.ts';

interface Report {
  line: number;
  id: string;
  status: string;
  message: string;
}

let t: TestServer;

const csv = (body: string | Uint8Array, type = "text/csv"): RequestInit => ({ method: "POST", headers: { "content-type": type }, body: typeof body === "string" ? body : new Blob([new Uint8Array(body)]) });
const importCsv = (body: string | Uint8Array, type?: string) => t.api('/api/players/import', csv(body, type));
const reportsOf = async (res: Response) => ((await res.json()) as { reports: Report[] }).reports;
const errorOf = async (res: Response) => errorResponseSchema.parse(await res.json()).error;
const auditCount = () => t.server.ctx.roster.counts().auditEntries;

beforeAll(async () => {
  // Rows well above the default cap, to show that the import itself never holds the event loop.
  t = await startTestServer({ server: { csvImportMaxRows: 50_000 } }, 'facecast-csv-');
});

afterAll(async () => {
  await t?.close();
});

describe('roster CSV import', () => {
  it('imports 47,000 rows for one player while /healthz keeps answering within a second; one audit row, one event', async () => {
    const rows = Array.from({ length: 47_000 }, (_, i) => `star,Star,${i}`);
    const body = `id,name,goals\n${rows.join('\n')}\n`;
    const events = { player: 0, roster: [] as string[][] };
    const onPlayer = () => events.player++;
    const onRoster = ({ ids }: { ids: string[] }) => events.roster.push(ids);
    t.server.ctx.events.on('player', onPlayer);
    t.server.ctx.events.on('roster', onRoster);
    const audit0 = auditCount();
    let done = false;
    const started = performance.now();
    const posting = importCsv(body).finally(() => (done = true));
    const health: number[] = [];
    while (!done) {
      const t0 = performance.now();
      const res = await fetch(`${t.server.url}/healthz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      health.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await posting;
    const took = performance.now() - started;
    t.server.ctx.events.off('player', onPlayer);
    t.server.ctx.events.off('roster', onRoster);
    expect(res.status).toBe(200);
    const reports = await reportsOf(res);
    expect(reports).toHaveLength(47_000);
    expect(reports[0]).toMatchObject({ line: 2, status: 'created' });
    expect(reports.at(-1)).toMatchObject({ line: 47_001, status: 'updated' });
    console.log(`47,000-row import: ${Math.round(took)} ms; /healthz answered ${health.length} times, slowest ${Math.round(Math.max(...health))} ms`);
    expect(health.length).toBeGreaterThan(1);
    // The service-level promise: health checks (and the live pipeline) keep their turn.
    expect(Math.max(...health)).toBeLessThan(SERVICE_LEVEL.healthzDuringImportMs);
    expect(auditCount() - audit0).toBe(1);
    const [entry] = t.server.ctx.roster.listAudit({ limit: 1 });
    expect(entry).toMatchObject({ action: 'players.import', details: { rows: 47_000, created: 1, updated: 0 } });
    expect(events).toEqual({ player: 0, roster: [['star']] });
    expect(t.server.ctx.roster.getPlayer('star')!.stats).toEqual({ goals: 46_999 });
  });

  it('names the right line after blank lines and quoted newlines, and refuses the row of an unclosed quote alone', async () => {
    const res = await importCsv('id,name,bio\nl-a,A,x\n\n\nl-b,B,"two\nlines"\nl-c,"Unclosed,y\nl-d,D,z\n\nl-e,E,1000\n');
    expect(res.status).toBe(207);
    const reports = await reportsOf(res);
    expect(reports.map((r) => [r.line, r.id, r.status])).toEqual([
      [2, 'l-a', 'created'],
      [5, 'l-b', 'created'],
      [7, '', 'refused'],
      [8, 'l-d', 'created'],
      [10, 'l-e', 'created'],
    ]);
    expect(reports[2]!.message).toMatch(/^line 7: .*closing quote is missing/);
    expect(t.server.ctx.roster.getPlayer('l-d')).not.toBeNull();
  });

  it('refuses CSV in another charset than UTF-8, and bytes that are not UTF-8, saying what to do', async () => {
    const before = auditCount();
    const utf7 = await importCsv('id,name\nu7,+AFw-Joe\n', 'text/csv; charset=utf-7');
    expect(utf7.status).toBe(415);
    expect(await errorOf(utf7)).toMatchObject({ code: 'UNSUPPORTED_CHARSET', message: expect.stringMatching(/must be UTF-8, not utf-7.*charset=utf-8/) });
    const latin1 = await importCsv(new Uint8Array([...Buffer.from('id,name\nl1,Jos'), 0xe9, 0x0a]), 'text/csv; charset=utf-8');
    expect(latin1.status).toBe(400);
    expect((await errorOf(latin1)).code).toBe('INVALID_ENCODING');
    expect((await importCsv('id,name\nok8,"Zoë"\n', 'text/csv; charset=UTF-8')).status).toBe(200);
    expect(t.server.ctx.roster.getPlayer('u7')).toBeNull();
    expect(auditCount() - before).toBe(1);
  });

  it('refuses a file over the row cap whole, naming the setting', async () => {
    const cfg = t.server.ctx.config.server;
    const cap = cfg.csvImportMaxRows;
    cfg.csvImportMaxRows = 3;
    try {
      const before = auditCount();
      const res = await importCsv('id\nc1\nc2\nc3\nc4\n');
      expect(res.status).toBe(413);
      expect(await errorOf(res)).toMatchObject({ code: 'TOO_MANY_ROWS', message: expect.stringMatching(/4 rows.*server\.csvImportMaxRows/) });
      expect(auditCount()).toBe(before);
    } finally {
      cfg.csvImportMaxRows = cap;
    }
  });

  it('keeps a known player\'s name when the file gives only stats', async () => {
    expect((await t.api('/api/players', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'named', name: 'Has A Name' }) })).status).toBe(201);
    const res = await importCsv('id,goals\nnamed,4\n');
    expect((await reportsOf(res))[0]).toMatchObject({ status: 'updated' });
    expect(t.server.ctx.roster.getPlayer('named')).toMatchObject({ name: 'Has A Name', stats: { goals: 4 } });
  });
});
