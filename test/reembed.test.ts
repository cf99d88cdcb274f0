// Re-embedding a roster after a change of vision setup, from the photos the roster keeps: real
// gallery photos and LFW images, the real MTCNN + recognition net, a real SQLite file. The
// roster is enrolled with the 5-point `similarity` alignment and then re-embedded with the
// default `landmarks68`; what comes out must equal a fresh enrolment under landmarks68.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { reembedPlan, reembedRoster } from '../src/roster/reembed.ts';
import { openRoster, type Roster } from '../src/roster/roster.ts';
import { addNegativePhotos, ensureBuiltinNegatives, trainRoster, TrainingInputError } from '../src/recognition/service.ts';
import { negativeImages } from '../src/cli/train.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage } from '../src/vision/image.ts';
import { embeddingSetupKey } from '../src/vision/setup.ts';
import { FIXTURES, haveFixtures, galleryFile, tempDir, writeBadInputs } from './helpers/fixtures.ts';

const SIMILARITY = 'faceRecognitionNet/mtcnn/similarity';
const LANDMARKS68 = 'faceRecognitionNet/mtcnn/landmarks68';
const PHOTOS = { amy: [1, 2], raj: [1, 2] } as const;
const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(!haveFixtures('reembed.test.ts'))('facecast roster reembed: a roster embedded with another setup, embedded again from its stored photos', () => {
  let oldEngine: VisionEngine;
  let engine: VisionEngine;
  let dataDir: string;
  let roster: Roster;
  const lfw = () => negativeImages(join(FIXTURES, 'lfw-view1'), 3);

  async function enrolAll(e: VisionEngine, r: Roster, views: number): Promise<void> {
    for (const [id, nums] of Object.entries(PHOTOS)) {
      r.upsertPlayer({ id, name: id });
      const reports = await enrolPhotos(e, r, id, await readPhotos(nums.map((i) => galleryFile(id, i))), { augment: true, views, actor: 'test' });
      expect(reports.map((x) => x.status)).toEqual(nums.map(() => 'enrolled'));
    }
  }

  beforeAll(async () => {
    const config = (alignment: string) => loadConfig({ env: {}, overrides: { vision: { backend: 'wasm', alignment } } });
    oldEngine = await VisionEngine.create(config('similarity').vision);
    engine = await VisionEngine.create(config('landmarks68').vision);
    expect([embeddingSetupKey(oldEngine.setup), embeddingSetupKey(engine.setup)]).toEqual([SIMILARITY, LANDMARKS68]);
    dataDir = tempDir('facecast-reembed-');
    roster = openRoster(dataDir);
    // Old setup, 8 augmented views per photo; the re-embedding below uses 7 (6 is the core set).
    await enrolAll(oldEngine, roster, 8);
    await ensureBuiltinNegatives(oldEngine, roster);
    expect((await addNegativePhotos(oldEngine, roster, lfw(), 'lfw', 'test')).failed).toEqual([]);
    // A face learnt from a live track (relabel): no photo behind it.
    const [one] = await oldEngine.analyse(await decodeImage(readFileSync(galleryFile('amy', 3)), { source: 'amy3' }), { padRetry: true });
    roster.addFaces('amy', [{ sourceSha256: sha(Buffer.from('track:1:7')), embedding: Float32Array.from(one!.embedding!), quality: 0.9, augmentation: '', sourceFile: 'track 7 on channel 1 (relabelled by test)', embeddedWith: SIMILARITY }]);
    roster.close();
    roster = openRoster(dataDir); // what follows reads the photos back from the file
  }, 300_000);
  afterAll(async () => {
    roster?.close();
    await oldEngine?.dispose();
    await engine?.dispose();
  });

  it('keeps every enrolled photo and imported negative image in the roster file, byte for byte', () => {
    for (const [id, nums] of Object.entries(PHOTOS))
      for (const i of nums) {
        const bytes = readFileSync(galleryFile(id, i));
        expect(Buffer.compare(Buffer.from(roster.sourcePhoto(sha(bytes))!.bytes), bytes)).toBe(0);
      }
    for (const file of lfw()) expect(roster.sourcePhoto(sha(readFileSync(file)))?.name).toBe(file);
  });

  it('plans one entry per photo of another setup, and says which photos it does not have', () => {
    const plan = reembedPlan(roster, engine);
    expect(plan.faces.map((f) => [f.playerId, f.rows, f.stored])).toEqual([
      ['amy', 9, true],
      ['amy', 9, true],
      ['amy', 1, false],
      ['raj', 9, true],
      ['raj', 9, true],
    ]);
    expect(plan.negatives.map((n) => [n.source, n.stored])).toEqual(lfw().map(() => ['lfw', true]));
    expect(reembedPlan(roster, oldEngine)).toEqual({ faces: [], negatives: [] });
    expect(() => trainRoster(roster, engine.setup, { augmented: true })).toThrow(TrainingInputError);
  });

  it('re-embeds what it can, names what it cannot, and training still refuses until that is dealt with', async () => {
    const steps: number[] = [];
    const result = await reembedRoster(engine, roster, { augment: true, views: 7, actor: 'test', dropStale: false }, (done) => steps.push(done));
    expect(result.setup).toBe(LANDMARKS68);
    expect(steps.at(-1)).toBe(4 + 1 + lfw().length);
    const faces = result.reports.filter((r) => r.kind === 'face');
    expect(faces.map((r) => [r.owner, r.status, r.oldRows, r.newRows])).toEqual([
      ['amy', 'reembedded', 9, 8],
      ['amy', 'reembedded', 9, 8],
      ['amy', 'not-stored', 1, 0],
      ['raj', 'reembedded', 9, 8],
      ['raj', 'reembedded', 9, 8],
    ]);
    expect(faces[2]!.message).toMatch(/track 7 on channel 1.*photo is not stored.*facecast enroll amy <photo>.*--drop-stale/);
    expect(result.reports.filter((r) => r.kind === 'negative').every((r) => r.status === 'reembedded' && r.newRows >= 1)).toBe(true);
    expect(result.builtinNegatives).toBeGreaterThan(0);
    // Each photo now holds exactly the original and the 7 views of today's settings, all of the new setup.
    const counts = roster.setupCounts();
    expect(counts.faces).toEqual([
      { playerId: 'amy', embeddedWith: LANDMARKS68, n: 16 },
      { playerId: 'amy', embeddedWith: SIMILARITY, n: 1 },
      { playerId: 'raj', embeddedWith: LANDMARKS68, n: 16 },
    ]);
    expect(counts.negatives.every((g) => g.embeddedWith === LANDMARKS68)).toBe(true);
    expect(() => trainRoster(roster, engine.setup, { augmented: true })).toThrow(/1 enrolled faces \(amy\).*facecast roster reembed/);
  }, 300_000);

  it('gives the same embeddings as enrolling the photos afresh under the new setup', async () => {
    const fresh = openRoster(tempDir('facecast-reembed-fresh-'));
    try {
      await enrolAll(engine, fresh, 7);
      const key = (f: { playerId: string; sourceSha256: string; augmentation: string }) => `${f.playerId}/${f.sourceSha256}/${f.augmentation}`;
      const expected = new Map(fresh.listFaces().map((f) => [key(f), f.embedding]));
      const reembedded = roster.listFaces().filter((f) => f.embeddedWith === LANDMARKS68);
      expect(reembedded.map(key).sort()).toEqual([...expected.keys()].sort());
      for (const f of reembedded) expect(cosine(f.embedding, expected.get(key(f))!)).toBeGreaterThan(0.9999);
    } finally {
      fresh.close();
    }
  }, 300_000);

  it('negatives import reports an image it cannot read, keeps going, and stores only what it used', async () => {
    const r = openRoster(tempDir('facecast-reembed-bad-'));
    try {
      const bad = await writeBadInputs(tempDir('facecast-bad-'));
      const files = [bad.notImage, lfw()[0]!, bad.truncated, bad.empty, bad.huge, join(FIXTURES, 'no-such-image.jpg')];
      const result = await addNegativePhotos(engine, r, files, 'lfw', 'test');
      expect(result.failed.map((f) => f.file)).toEqual([bad.notImage, bad.truncated, bad.empty, bad.huge, files[5]]);
      for (const f of result.failed) expect(f.message).toContain(f.file.split('/').pop()!);
      expect(result.failed.at(-1)!.message).toBe(`${files[5]}: file not found`);
      expect(result.added).toBeGreaterThanOrEqual(1);
      expect(r.db.sqlite.prepare('SELECT name FROM source_photos').pluck().all()).toEqual([lfw()[0]]);
    } finally {
      r.close();
    }
  }, 120_000);

  it('with --drop-stale drops what it cannot re-embed; then the roster trains, and a removed player takes its photos along', async () => {
    const result = await reembedRoster(engine, roster, { augment: true, views: 7, actor: 'test', dropStale: true });
    expect(result.reports.map((r) => [r.owner, r.status])).toEqual([['amy', 'dropped']]);
    expect(reembedPlan(roster, engine)).toEqual({ faces: [], negatives: [] });
    expect(roster.listAudit({ subject: 'amy', action: 'faces.reembed' })[0]!.details).toMatchObject({ removed: 1, added: 0 });
    const { model } = trainRoster(roster, engine.setup, { augmented: true });
    expect(Object.keys(model.players).sort()).toEqual(['amy', 'raj']);
    const photos = () => roster.db.sqlite.prepare('SELECT count(*) FROM source_photos').pluck().get();
    expect(photos()).toBe(4 + lfw().length);
    roster.removePlayer('raj', 'test');
    expect(photos()).toBe(2 + lfw().length);
    expect(roster.sourcePhoto(sha(readFileSync(galleryFile('raj', 1))))).toBeNull();
  }, 300_000);
});
