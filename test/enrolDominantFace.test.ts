// Enrolment from press photos: a photo with the player large in frame and a clearly smaller face
// behind enrols the player and reports the other face; two faces of comparable size, or a largest
// face cut by the edge, are refused with what to do. Real group-photo pixels (test/helpers/pressPhotos.ts), the real MTCNN and
// recognition net, a real SQLite roster, and the HTTP route with its per-file reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { loadConfig } from '../src/config/load.ts';
import { embedPhoto, enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { openRoster, type Roster } from '../src/roster/roster.ts';
import { enrolResponseSchema } from '../src/server/apiSchemas.ts';
import { startServer, type RunningServer } from '../src/server/app.ts';
import { silentLogger } from '../src/shared/log.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { haveFixtures, galleryFile, tempDir } from './helpers/fixtures.ts';
import { comparableFacesPhoto, dominantFaceCutByEdgePhoto, dominantFacePhoto, iou, type PressPhoto } from './helpers/pressPhotos.ts';

const HAVE_FIXTURES = haveFixtures('enrolDominantFace.test.ts');

const TOKEN = 'test-token-0123456789';
const OPTS = { augment: true, views: 2, actor: 'test' };
const VERIFY_THRESHOLD = loadConfig({ env: {} }).recognition.verifyThreshold;
/** Euclidean distance of two L2-normalised embeddings. */
const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

describe.skipIf(!HAVE_FIXTURES)('enrolment takes the dominant face of a press photo', () => {
  const dataDir = tempDir('facecast-enrol-choice-');
  let engine: VisionEngine;
  let roster: Roster;
  let dominant: PressPhoto;
  let comparable: PressPhoto;

  beforeAll(async () => {
    engine = await VisionEngine.create(loadConfig({ env: {}, overrides: { vision: { backend: 'wasm' } } }).vision);
    roster = openRoster(dataDir);
    [dominant, comparable] = await Promise.all([dominantFacePhoto(), comparableFacesPhoto()]);
  }, 120_000);
  afterAll(async () => {
    roster?.close();
    await engine?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('enrols the player at ~300 px and reports the ~60 px face behind; the stored face is the player', async () => {
    roster.upsertPlayer({ id: 'sheldon', name: 'Sheldon' });
    const [report] = await enrolPhotos(engine, roster, 'sheldon', [{ name: 'sheldon-press.jpg', bytes: dominant.bytes }], OPTS);
    console.log(`dominant: ${report!.message}`);
    expect(report!.status).toBe('enrolled');
    expect(report!.added).toBeGreaterThan(1);
    expect(iou(report!.face!.box, dominant.boxes.sheldon!)).toBeGreaterThan(0.5);
    expect(report!.face!.side).toBeGreaterThan(250);
    expect(report!.ignored).toHaveLength(1);
    expect(iou(report!.ignored![0]!.box, dominant.boxes.howard!)).toBeGreaterThan(0.3);
    expect(report!.ignored![0]!.side).toBeLessThan(report!.face!.side / 2);
    expect(report!.message).toMatch(/took the largest face \(\d+ px at \(\d+, \d+\)\), ignored 1 smaller face \(\d+ px at \(\d+, \d+\)\)$/);

    // The embedding kept is Sheldon's, not Howard's: the same person as his gallery photo by the
    // verification threshold, a different one from Howard's.
    const original = roster.listFaces('sheldon').find((f) => f.augmentation === '')!;
    const gallery = async (who: string) => {
      const [photo] = await readPhotos([galleryFile(who, 1)]);
      const out = await embedPhoto(engine, photo!, { augment: false, views: 0 });
      if (!out.ok) throw new Error(out.message);
      return out.photo.views[0]!.embedding;
    };
    const toSheldon = distance(original.embedding, await gallery('sheldon'));
    const toHoward = distance(original.embedding, await gallery('howard'));
    console.log(`distance to gallery photos: sheldon ${toSheldon.toFixed(3)}, howard ${toHoward.toFixed(3)} (threshold ${VERIFY_THRESHOLD})`);
    expect(toSheldon).toBeLessThan(VERIFY_THRESHOLD);
    expect(toHoward).toBeGreaterThan(VERIFY_THRESHOLD);
  }, 120_000);

  it('refuses two faces of comparable size, lists them and says what to do; nothing is stored', async () => {
    roster.upsertPlayer({ id: 'howard', name: 'Howard' });
    const [report] = await enrolPhotos(engine, roster, 'howard', [{ name: 'pair.jpg', bytes: comparable.bytes }], OPTS);
    console.log(`comparable: ${report!.message}`);
    expect(report).toMatchObject({ status: 'several-faces', added: 0 });
    expect(report!.face).toBeUndefined();
    expect(report!.faces).toHaveLength(2);
    for (const who of ['howard', 'sheldon']) expect(Math.max(...report!.faces!.map((f) => iou(f.box, comparable.boxes[who]!)))).toBeGreaterThan(0.4);
    expect(report!.message).toMatch(/^pair\.jpg: 2 faces of comparable size found \(.+\); crop the photo to the one player, or choose a photo where the player is clearly the main face$/);
    expect(roster.listFaces('howard')).toHaveLength(0);
  }, 120_000);

  it('refuses a photo whose largest face is cut by the edge, even with the other face far smaller', async () => {
    roster.upsertPlayer({ id: 'leonard', name: 'Leonard' });
    const [report] = await enrolPhotos(engine, roster, 'leonard', [{ name: 'cut.jpg', bytes: (await dominantFaceCutByEdgePhoto()).bytes }], OPTS);
    console.log(`cut by the edge: ${report!.message}`);
    expect(report).toMatchObject({ status: 'several-faces', added: 0 });
    expect(report!.faces).toHaveLength(2);
    expect(report!.faces![0]!.box[1]).toBeLessThan(0); // MTCNN's box reaches past the top
    expect(report!.message).toMatch(/the largest is cut by the photo's edge; choose a photo where the player's whole face is in frame/);
    expect(roster.listFaces('leonard')).toHaveLength(0);
  }, 120_000);
});

describe.skipIf(!HAVE_FIXTURES)('POST /api/players/:id/photos with press photos', () => {
  const dataDir = tempDir('facecast-enrol-api-');
  let server: RunningServer;

  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        logLevel: 'silent',
        vision: { backend: 'wasm', pool: { workers: 1 } },
        enrolment: { augment: true, views: 2 },
        server: { host: '127.0.0.1', port: 0, apiToken: TOKEN, production: false },
      },
    });
    server = await startServer(config, silentLogger);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('per-file reports: the dominant photo enrolled with the face taken and the one ignored, the pair refused (207)', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    expect((await fetch(`${server.url}/api/players`, { method: 'POST', headers, body: JSON.stringify({ id: 'sheldon', name: 'Sheldon' }) })).ok).toBe(true);
    const fd = new FormData();
    fd.append('photos', new Blob([new Uint8Array((await dominantFacePhoto()).bytes)], { type: 'image/jpeg' }), 'press.jpg');
    fd.append('photos', new Blob([new Uint8Array((await comparableFacesPhoto()).bytes)], { type: 'image/jpeg' }), 'pair.jpg');
    const res = await fetch(`${server.url}/api/players/sheldon/photos`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: fd });
    expect(res.status).toBe(207);
    const body = enrolResponseSchema.parse(await res.json());
    expect(body).toMatchObject({ enrolled: 1, refused: 1 });
    const [press, pair] = body.reports;
    expect(press).toMatchObject({ file: 'press.jpg', status: 'enrolled' });
    expect(press!.face!.side).toBeGreaterThan(250);
    expect(press!.ignored!.map((f) => f.side)).toEqual([expect.any(Number)]);
    expect(pair).toMatchObject({ file: 'pair.jpg', status: 'several-faces' });
    expect(pair!.faces).toHaveLength(2);
  }, 180_000);
});

