// The HTTP API over real HTTP: a server on a random port with a temporary data dir, driven with
// fetch. Covers auth, the JSON error contract, upload limits (each refused request must leave the
// roster byte-for-byte as it was), and — with the shared fixtures — enrol → train → recognise.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import sharp from 'sharp';
import { z } from 'zod';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/shared/log.ts';
import { startServer, type RunningServer } from '../src/server/app.ts';
import { resolveApiToken } from '../src/server/auth.ts';
import { errorHandler } from '../src/server/errors.ts';
import {
  enrolResponseSchema,
  errorResponseSchema,
  healthResponseSchema,
  modelInfoSchema,
  recognizeResponseSchema,
  reembedReportSchema,
  verifyResponseSchema,
} from '../src/server/apiSchemas.ts';
import { haveFixtures, galleryFile, groupDir, tempDir, writeBadInputs } from './helpers/fixtures.ts';

const TOKEN = 'test-token-0123456789';
/** In bbt3.jpg: everyone but penny, who stays unknown. Few people and views keep the test quick on 2 cores. */
const ENROLLED = ['howard', 'leonard', 'raj', 'sheldon'] as const;

let server: RunningServer;
let dataDir: string;
let bad: Awaited<ReturnType<typeof writeBadInputs>>;

function testConfig(overrides: Record<string, unknown> = {}) {
  return loadConfig({
    env: {},
    overrides: {
      dataDir,
      logLevel: 'silent',
      vision: { backend: 'wasm' },
      enrolment: { augment: true, views: 4 },
      server: { host: '127.0.0.1', port: 0, apiToken: TOKEN, production: false },
      ...overrides,
    },
  });
}

function api(path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${server.url}${path}`, { ...init, headers });
}

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** multipart/form-data with files given as [field, bytes, file name, type]. */
function form(...files: [field: string, bytes: Uint8Array, name: string, type?: string][]): RequestInit {
  const fd = new FormData();
  for (const [field, bytes, name, type] of files) fd.append(field, new Blob([new Uint8Array(bytes)], { type: type ?? 'application/octet-stream' }), name);
  return { method: 'POST', body: fd };
}

async function errorOf(res: Response) {
  return errorResponseSchema.parse(await res.json()).error;
}

/** What a failed request must not change: row counts (audit included) and the trained-on hash. */
function snapshot() {
  return { counts: server.ctx.roster.counts(), hash: server.ctx.roster.rosterHash() };
}

beforeAll(async () => {
  dataDir = tempDir('facecast-api-');
  bad = await writeBadInputs(dataDir);
  server = await startServer(testConfig(), silentLogger);
});

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('auth', () => {
  it('refuses /api without a token, with a wrong one and with a non-bearer scheme, saying how to authenticate', async () => {
    const before = snapshot();
    for (const [token, headers] of [
      [null, {}],
      ['wrong-token', {}],
      [null, { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }],
    ] as const) {
      const res = await api('/api/players', { method: 'POST', body: JSON.stringify({ name: 'Intruder' }), token, headers: { 'content-type': 'application/json', ...headers } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(res)).message).toMatch(/Authorization: Bearer <token>/);
    }
    // Unknown routes are not revealed before authentication either.
    expect((await api('/api/no-such-route', { token: null })).status).toBe(401);
    expect(snapshot()).toEqual(before);
  });

  it('serves /healthz without a token (up, nothing more), and the details with it', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const wrong = await api('/healthz', { token: 'wrong' });
    expect(await wrong.json()).toEqual({ ok: true });
    expect(healthResponseSchema.parse(await (await api('/healthz')).json())).toMatchObject({ ok: true, backend: 'wasm', model: null });
  });

  it('makes up a token when none is configured, and refuses to start without one in production', async () => {
    const dev = resolveApiToken({ ...server.ctx.config.server, apiToken: '' });
    expect(dev.generated).toBe(true);
    expect(dev.token.length).toBeGreaterThanOrEqual(32);
    expect(resolveApiToken({ ...server.ctx.config.server, apiToken: '' }).token).not.toBe(dev.token);
    const prod = testConfig({ server: { host: '127.0.0.1', port: 0, apiToken: '', production: true } });
    await expect(startServer(prod, silentLogger)).rejects.toThrow(/production.*FACECAST_API_TOKEN/);
  });
});

describe('errors', () => {
  it('answers unknown /api routes with a JSON 404', async () => {
    const res = await api('/api/no-such-route');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/no route GET \/api\/no-such-route/) });
  });

  it('shows internal error details only outside production with debug logging', async () => {
    const statusAndBody = async (production: boolean, log = silentLogger) => {
      const app = express();
      app.get('/boom', () => {
        throw new Error('secret internals');
      });
      app.use(errorHandler({ production, log }));
      const http = app.listen(0, '127.0.0.1');
      await new Promise((r) => http.once('listening', r));
      try {
        const res = await fetch(`http://127.0.0.1:${(http.address() as { port: number }).port}/boom`);
        return { status: res.status, text: await res.text() };
      } finally {
        http.close();
      }
    };
    const prod = await statusAndBody(true);
    expect(prod.status).toBe(500);
    expect(prod.text).not.toMatch(/secret internals|at .*\.ts/);
    const dev = await statusAndBody(false);
    expect(dev.text).not.toMatch(/secret internals|at .*\.ts/);
    const debug = await statusAndBody(false, pino({ level: 'debug' }, { write: () => undefined }));
    expect(debug.text).toMatch(/secret internals/);
    expect(JSON.parse(debug.text).error.stack).toMatch(/api\.test\.ts/);
    expect((await statusAndBody(true, pino({ level: 'debug' }, { write: () => undefined }))).text).not.toMatch(/secret internals/);
  });
});

describe('players', () => {
  it('creates, reads, edits, patches stats and deletes a player', async () => {
    const created = await api('/api/players', json({ name: 'Amy Farrah Fowler', number: 12, teamColor: '#1D428A' }));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/players/amy-farrah-fowler');
    expect((await created.json()).player).toMatchObject({ id: 'amy-farrah-fowler', number: 12, teamColor: '#1d428a', faceCount: 0 });

    expect((await api('/api/players', json({ id: 'amy-farrah-fowler', name: 'Again' }))).status).toBe(409);

    const patched = await api('/api/players/amy-farrah-fowler', { ...json({ position: 'Neuroscientist', number: null }), method: 'PATCH' });
    expect(patched.status).toBe(200);
    expect((await patched.json()).player).toMatchObject({ position: 'Neuroscientist', number: null });

    const stats = (body: unknown) => api('/api/players/amy-farrah-fowler/stats', { ...json(body), method: 'PATCH' });
    await stats({ papers: 3, lab: 'UCLA' });
    const merged = await stats({ papers: 4, lab: null, awards: 1 });
    expect((await merged.json()).player.stats).toEqual({ papers: 4, awards: 1 });

    const list = await (await api('/api/players')).json();
    expect(list.players.map((p: { id: string }) => p.id)).toContain('amy-farrah-fowler');
    expect((await api('/api/players/amy-farrah-fowler/photo')).status).toBe(404);

    const removed = await api('/api/players/amy-farrah-fowler', { method: 'DELETE' });
    expect(await removed.json()).toMatchObject({ removed: 'amy-farrah-fowler', removedFaces: 0 });
    for (const path of ['/api/players/amy-farrah-fowler', '/api/players/amy-farrah-fowler/photo']) {
      expect((await api(path)).status).toBe(404);
    }
  });

  it('refuses invalid players with a 400 naming the field, writing nothing', async () => {
    const before = snapshot();
    const cases: [unknown, string][] = [
      [{ name: 'Sheldon', number: 1000 }, 'number'],
      [{ name: 'Sheldon', teamColour: '#ffffff' }, 'teamColour'],
      [{ id: 'Not A Slug', name: 'x' }, 'id'],
      [{ name: '' }, 'name'],
    ];
    for (const [body, field] of cases) {
      const res = await api('/api/players', json(body));
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = await errorOf(res);
      expect(error.fields).toContain(field);
      expect(error.message).toContain(field);
    }
    const notJson = await api('/api/players', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' });
    expect(notJson.status).toBe(400);
    const stats = await api('/api/players/nobody/stats', { ...json({ goals: 1 }), method: 'PATCH' });
    expect(stats.status).toBe(404);
    expect(snapshot()).toEqual(before);
  });
  it('imports a roster.csv row by row: adds new ids, updates known ones and merges their stats, reports refused rows', async () => {
    const csv = (text: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'text/csv' }, body: text });
    expect((await api('/api/players', json({ id: 'csv-known', name: 'Known', stats: { apps: 3 } }))).status).toBe(201);
    const res = await api(
      '/api/players/import',
      csv('\uFEFFid,name,number,team,goals\ncsv-known,Known Again,,,5\ncsv-new,"New, Player",7,CSV FC,2\ncsv-bad,Bad,1000,,\n,no id,,,\n'),
    );
    expect(res.status).toBe(207);
    const { reports } = (await res.json()) as { reports: { line: number; id: string; status: string; message: string }[] };
    expect(reports.map((r) => [r.line, r.status])).toEqual([
      [2, 'updated'],
      [3, 'created'],
      [4, 'refused'],
      [5, 'refused'],
    ]);
    expect(reports[2]!.message).toMatch(/^line 4 \(csv-bad\): .*number/);
    expect(reports[3]!.message).toMatch(/line 5: empty id/);
    const known = ((await (await api('/api/players/csv-known')).json()) as { player: { name: string; stats: Record<string, unknown> } }).player;
    expect(known).toMatchObject({ name: 'Known Again', stats: { apps: 3, goals: 5 } });
    const added = ((await (await api('/api/players/csv-new')).json()) as { player: { name: string; number: number; team: string } }).player;
    expect(added).toMatchObject({ name: 'New, Player', number: 7, team: 'CSV FC' });
    expect((await api('/api/players/csv-bad')).status).toBe(404);

    const before = snapshot();
    const none = await api('/api/players/import', csv('id,number\ncsv-x,1000\n'));
    expect(none.status).toBe(422);
    expect((await errorOf(none)).code).toBe('NOTHING_IMPORTED');
    const noHeader = await api('/api/players/import', csv('name,number\nX,1\n'));
    expect(noHeader.status).toBe(400);
    expect((await errorOf(noHeader)).message).toMatch(/"id" column/);
    expect((await api('/api/players/import', json({ id: 'x' }))).status).toBe(415);
    expect(snapshot()).toEqual(before);
    for (const id of ['csv-known', 'csv-new']) expect((await api(`/api/players/${id}`, { method: 'DELETE' })).status).toBe(200);
  });
});

describe('upload limits and bad images', () => {
  beforeAll(async () => {
    await api('/api/players', json({ id: 'limits', name: 'Limits' }));
  });
  afterAll(async () => {
    await api('/api/players/limits', { method: 'DELETE' });
  });

  it('refuses a 20 MB upload with a 413 that says the limit, raw or multipart, writing nothing', async () => {
    const before = snapshot();
    const big = new Uint8Array(20 * 1024 * 1024);
    const answers = [
      await api('/api/recognize', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: big }),
      await api('/api/recognize', form(['image', big, 'big.jpg', 'image/jpeg'])),
      await api('/api/players/limits/photos', form(['photos', big, 'big.jpg', 'image/jpeg'])),
    ];
    for (const res of answers) {
      expect(res.status).toBe(413);
      const error = await errorOf(res);
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.message).toMatch(/larger than the 10\.0 MB limit.*server\.maxUploadBytes/);
    }
    expect(snapshot()).toEqual(before);
  });

  it('refuses a text file, a truncated JPEG, an empty body and a wrong Content-Type with one-line reasons', async () => {
    const before = snapshot();
    const text = readFileSync(bad.notImage);
    const truncated = readFileSync(bad.truncated);
    const raw = (bytes: Uint8Array, type = 'image/jpeg') => api('/api/recognize', { method: 'POST', headers: { 'content-type': type }, body: new Uint8Array(bytes) });
    const cases: [Response, number, RegExp][] = [
      [await raw(text), 422, /not an image/],
      [await api('/api/recognize', form(['image', text, 'notes.jpg', 'image/jpeg'])), 422, /notes\.jpg.*not an image/],
      [await raw(truncated), 422, /corrupt or truncated/],
      [await raw(new Uint8Array()), 422, /empty/],
      [await raw(text, 'text/plain'), 415, /Content-Type 'text\/plain'/],
      [await api('/api/recognize', form(['picture', text, 'x.jpg'])), 400, /field 'image' is missing/],
      [await api('/api/players/limits/photos', form(['photos', text, 'notes.jpg'], ['photos', truncated, 'cut.jpg'])), 422, /none of the 2 photo/],
      [await api('/api/players/nobody/photos', form(['photos', text, 'notes.jpg'])), 404, /no player 'nobody'/],
    ];
    for (const [res, status, message] of cases) {
      const error = await errorOf(res);
      expect(res.status, error.message).toBe(status);
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('\n');
    }
    expect(snapshot()).toEqual(before);
  });

  it('refuses to train on an empty roster and has no model to show', async () => {
    const before = snapshot();
    const train = await api('/api/train', { method: 'POST' });
    expect(train.status).toBe(422);
    expect((await errorOf(train)).message).toMatch(/no enrolled faces/);
    const model = await api('/api/model');
    expect(model.status).toBe(404);
    expect((await errorOf(model)).message).toMatch(/train first/);
    expect(snapshot()).toEqual(before);
  });
});

/** Does each box's centre lie inside the other? Then they are the same face. */
function sameFace(a: number[], b: number[]): boolean {
  const inside = (p: number[], q: number[]) => {
    const [cx, cy] = [p[0]! + p[2]! / 2, p[1]! + p[3]! / 2];
    return cx >= q[0]! && cx <= q[0]! + q[2]! && cy >= q[1]! && cy <= q[1]! + q[3]!;
  };
  return inside(a, b) && inside(b, a);
}

describe.skipIf(!haveFixtures('api.test.ts: enrol, train and recognise'))('enrol, train and recognise real faces', () => {
  const gallery = (person: string, i: number) => readFileSync(galleryFile(person, i));

  it('enrols multipart photos; a non-image among them is reported while the good ones are enrolled (207)', async () => {
    const added = new Map<string, number>();
    for (const person of ENROLLED) {
      expect((await api('/api/players', json({ id: person, name: person[0]!.toUpperCase() + person.slice(1) }))).status).toBe(201);
      const files: [string, Uint8Array, string, string][] = [1, 2, 3, 4, 5].map((i) => ['photos', gallery(person, i), `${person}${i}.png`, 'image/png']);
      if (person === 'sheldon') files.splice(2, 0, ['photos', readFileSync(bad.notImage), 'notes.txt', 'text/plain']);
      const res = await api(`/api/players/${person}/photos`, form(...files));
      const body = enrolResponseSchema.parse(await res.json());
      expect(body.enrolled, JSON.stringify(body.reports)).toBe(5);
      added.set(person, body.reports.reduce((n, r) => n + r.added, 0));
      if (person === 'sheldon') {
        expect(res.status).toBe(207);
        expect(body.refused).toBe(1);
        expect(body.reports[2]).toMatchObject({ file: 'notes.txt', status: 'unreadable', added: 0, message: expect.stringMatching(/notes\.txt: not an image/) });
      } else {
        expect(res.status).toBe(200);
      }
    }
    const sheldon = (await (await api('/api/players/sheldon')).json()).player;
    // Each photo gives its own crop plus augmented views.
    expect(sheldon).toMatchObject({ hasPhoto: true, originalFaceCount: 5, faceCount: added.get('sheldon') });
    expect(sheldon.faceCount).toBeGreaterThan(5);
    const photo = await api('/api/players/sheldon/photo');
    expect(photo.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(Buffer.from(await photo.arrayBuffer())).metadata()).width).toBe(160);

    // The same photo again changes nothing: 200 with 'unchanged'.
    const before = snapshot();
    const again = await api('/api/players/raj/photos', form(['photos', gallery('raj', 1), 'raj1.png', 'image/png']));
    expect(again.status).toBe(200);
    expect(enrolResponseSchema.parse(await again.json()).unchanged).toBe(1);
    expect(snapshot()).toEqual(before);
  });

  it('trains (a second request meanwhile gets 409) and shows the model without its embeddings', async () => {
    const [first, second] = await Promise.all([api('/api/train', { method: 'POST' }), api('/api/train', { method: 'POST' })]);
    const ok = first.status === 200 ? first : second;
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const trained = await ok.json();
    expect(trained.negativesAdded).toBeGreaterThan(0); // built-in strangers
    const model = modelInfoSchema.parse(trained.model);
    expect(model).toMatchObject({ stale: false, classes: ENROLLED.length, augmented: true });
    expect(model.metrics.players).toBe(ENROLLED.length);

    const shown = await api('/api/model');
    const text = await shown.text();
    expect(text).not.toContain('gallery');
    expect(text.length).toBeLessThan(20_000);
    expect(modelInfoSchema.parse(JSON.parse(text).model).trainedAt).toBe(model.trainedAt);
    expect(healthResponseSchema.parse(await (await api('/healthz')).json()).model).toMatchObject({ stale: false, players: 4 });
  });

  it('names the enrolled people in a group photo and leaves the stranger unknown', async () => {
    const labels = JSON.parse(readFileSync(join(groupDir(), 'labels.json'), 'utf8'))['bbt3.jpg'] as { faces: { name: string | null; box: number[] }[] };
    const res = await api('/api/recognize', { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: readFileSync(join(groupDir(), 'bbt3.jpg')) });
    expect(res.status).toBe(200);
    const result = recognizeResponseSchema.parse(await res.json());
    expect(result).toMatchObject({ width: 594, height: 383, backend: 'wasm' });
    expect(result.warning).toBeUndefined();
    for (const label of labels.faces) {
      const face = result.faces.find((f) => sameFace(f.box, label.box));
      expect(face, `${label.name} detected`).toBeDefined();
      expect(face!.embedding).toBeUndefined();
      const expected = label.name && (ENROLLED as readonly string[]).includes(label.name) ? label.name : null;
      expect(face!.identity?.id ?? null, `face of ${label.name}`).toBe(expected);
    }
  });

  it('verifies two photos: same person, different people, and a 422 naming the image without a face', async () => {
    const verify = (a: Uint8Array, b: Uint8Array) => api('/api/verify', form(['a', a, 'a.png', 'image/png'], ['b', b, 'b.png', 'image/png']));
    const same = verifyResponseSchema.parse(await (await verify(gallery('leonard', 1), gallery('leonard', 2))).json());
    expect(same.same).toBe(true);
    expect(same.distance).toBeLessThan(same.threshold);
    const different = verifyResponseSchema.parse(await (await verify(gallery('leonard', 1), gallery('penny', 1))).json());
    expect(different.same).toBe(false);

    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } }).png().toBuffer();
    const none = await verify(gallery('leonard', 1), blank);
    expect(none.status).toBe(422);
    expect(await errorOf(none)).toMatchObject({ code: 'NO_FACE', image: 'b', message: expect.stringMatching(/no face found in image b/) });
  });

  it('keeps the model fresh when only captions and stats change', async () => {
    const res = await api('/api/players/howard/stats', { ...json({ rockets: 1 }), method: 'PATCH' });
    expect((await res.json()).player.stats).toEqual({ rockets: 1 });
    expect(modelInfoSchema.parse((await (await api('/api/model')).json()).model).stale).toBe(false);
  });

  it('refuses to train on faces embedded with another vision setup (409, how to re-embed); enrolling them again fixes it', async () => {
    // As if raj had been enrolled while vision.detector was ssd with the box alignment.
    server.ctx.roster.db.sqlite.prepare("UPDATE faces SET embedded_with = 'faceRecognitionNet/ssd/box' WHERE player_id = 'raj'").run();
    const before = snapshot();
    const refused = await api('/api/train', { method: 'POST' });
    expect(refused.status).toBe(409);
    const error = await errorOf(refused);
    expect(error.code).toBe('EMBEDDING_SETUP');
    expect(error.message).toMatch(/enrolled faces \(raj\) and 0 negatives were embedded with faceRecognitionNet\/ssd\/box, but vision is now faceRecognitionNet\/mtcnn\/landmarks68: re-embed them with `facecast roster reembed`/);
    expect(snapshot()).toEqual(before);

    const files: [string, Uint8Array, string, string][] = [1, 2, 3, 4, 5].map((i) => ['photos', gallery('raj', i), `raj${i}.png`, 'image/png']);
    const again = enrolResponseSchema.parse(await (await api('/api/players/raj/photos', form(...files))).json());
    expect(again.reports.map((r) => r.message)).toEqual(files.map(([, , name]) => expect.stringMatching(new RegExp(`^${name}: re-embedded with faceRecognitionNet/mtcnn/landmarks68`))));
    expect(server.ctx.roster.counts().faces).toBe(before.counts.faces);
    expect(server.ctx.roster.rosterHash()).not.toBe(before.hash);
    expect((await api('/api/train', { method: 'POST' })).status).toBe(200);
  });

  it('POST /api/roster/reembed embeds the stored photos again and retrains; what it cannot re-embed is a 409 until dropStale', async () => {
    const roster = server.ctx.roster;
    const OLD = 'faceRecognitionNet/ssd/box';
    roster.db.sqlite.prepare('UPDATE faces SET embedded_with = ? WHERE player_id = ?').run(OLD, 'raj');
    // A face learnt from a live track under the old setup: there is no photo to embed again.
    const [trackFace] = roster.listFaces('raj');
    const trackSha = createHash('sha256').update('track:api-test').digest('hex');
    roster.addFaces('raj', [{ sourceSha256: trackSha, embedding: trackFace!.embedding, quality: 0.5, augmentation: '', sourceFile: 'track 3 on channel 1', embeddedWith: OLD }]);
    const rajPhotos = roster.staleSources('faceRecognitionNet/mtcnn/landmarks68').faces.filter((f) => f.stored).length;
    expect(rajPhotos).toBe(5);

    const refused = await api('/api/roster/reembed', { method: 'POST' });
    expect(refused.status).toBe(409);
    const error = await errorOf(refused);
    expect(error).toMatchObject({ code: 'EMBEDDING_SETUP', message: expect.stringMatching(/^1 photo\(s\) could not be re-embedded .*track 3 on channel 1 \(raj\).*dropStale/) });
    // The photos it could re-embed stay re-embedded; only the track's face is of the old setup.
    expect(roster.setupCounts().faces.filter((g) => g.embeddedWith === OLD)).toEqual([{ playerId: 'raj', embeddedWith: OLD, n: 1 }]);
    expect((await (await api('/api/training')).json()).training).toMatchObject({ state: 'failed', reason: 'reembed' });

    expect((await api('/api/roster/reembed', json({ dropStale: 'yes' }))).status).toBe(400);
    const ok = await api('/api/roster/reembed', json({ dropStale: true }));
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as { reembed: { reports: unknown[] }; model: unknown };
    expect(z.array(reembedReportSchema).parse(body.reembed.reports).map((r) => [r.owner, r.status])).toEqual([['raj', 'dropped']]);
    expect(modelInfoSchema.parse(body.model)).toMatchObject({ stale: false, vision: { detector: 'mtcnn', alignment: 'landmarks68' } });
    expect(roster.setupCounts().faces.every((g) => g.embeddedWith === 'faceRecognitionNet/mtcnn/landmarks68')).toBe(true);
  });
});

