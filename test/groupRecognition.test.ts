// Recognition against a trained roster on real photos: the 8 gallery people enrolled from their
// 5 tight crops each, strangers from LFW as negatives, then every face of the 5 group photos.
// On air a wrong name is far worse than none: no face may get a wrong name, the stranger of
// bbt2.jpg must stay unknown, and the named players must (nearly all) get their names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { openRoster, type Roster } from '../src/roster/roster.ts';
import { addNegativePhotos, ensureBuiltinNegatives, Recognizer, trainRoster } from '../src/recognition/service.ts';
import { saveModel } from '../src/recognition/store.ts';
import { negativeImages } from '../src/cli/train.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage } from '../src/vision/image.ts';
import { FIXTURES, haveFixtures, PEOPLE, galleryFile, groupDir, tempDir } from './helpers/fixtures.ts';

interface Label {
  name: string | null;
  box: [number, number, number, number];
}

const inside = (p: [number, number], b: readonly number[]) => p[0] >= b[0]! && p[0] <= b[0]! + b[2]! && p[1] >= b[1]! && p[1] <= b[1]! + b[3]!;
const centre = (b: readonly number[]): [number, number] => [b[0]! + b[2]! / 2, b[1]! + b[3]! / 2];

describe.skipIf(!haveFixtures('groupRecognition.test.ts'))('recognition of the group photos against the enrolled gallery', () => {
  const dataDir = tempDir('facecast-group-');
  let engine: VisionEngine;
  let roster: Roster;
  let recognizer: Recognizer;

  beforeAll(async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir, vision: { backend: 'wasm' }, enrolment: { views: 8 } } });
    engine = await VisionEngine.create(config.vision);
    roster = openRoster(dataDir);
    for (const id of PEOPLE) {
      roster.upsertPlayer({ id, name: id[0]!.toUpperCase() + id.slice(1) });
      const reports = await enrolPhotos(engine, roster, id, await readPhotos([1, 2, 3, 4, 5].map((i) => galleryFile(id, i))), {
        augment: true,
        views: config.enrolment.views,
        actor: 'test',
      });
      expect(reports.map((r) => r.status)).toEqual(Array(5).fill('enrolled'));
    }
    await ensureBuiltinNegatives(engine, roster);
    await addNegativePhotos(engine, roster, negativeImages(join(FIXTURES, 'lfw-view1'), 300), 'lfw', 'test');
    const { model } = trainRoster(roster, { embedder: 'faceRecognitionNet', detector: 'mtcnn', alignment: config.vision.alignment }, { augmented: true });
    // 300 LFW images give well over the 200 negatives below which training warns.
    expect(model.classifier.metrics.warnings.join('\n')).not.toMatch(/only \d+ negative faces/);
    saveModel(dataDir, model);
    recognizer = Recognizer.load(dataDir, roster)!;
  }, 600_000);
  afterAll(async () => {
    roster?.close();
    await engine?.dispose();
  });

  it('names no one wrongly, keeps the stranger unknown, and names the players', async () => {
    const labels = JSON.parse(readFileSync(join(groupDir(), 'labels.json'), 'utf8')) as Record<string, { faces: Label[] }>;
    const outcome = { right: 0, unknown: [] as string[], wrong: [] as string[], missed: [] as string[], stranger: [] as string[] };
    for (const [file, { faces: truth }] of Object.entries(labels)) {
      const faces = await engine.analyse(await decodeImage(join(groupDir(), file)));
      for (const t of truth) {
        const f = faces.find((d) => inside(centre(d.box), t.box) && inside(centre(t.box), d.box));
        if (!f) {
          outcome.missed.push(`${file}:${t.name}`);
          continue;
        }
        const who = recognizer.identify(f.embedding!);
        if (t.name === null) {
          if (who) outcome.stranger.push(`${file}: stranger named ${who.id}`);
        } else if (!who) outcome.unknown.push(`${file}:${t.name}`);
        else if (who.id !== t.name) outcome.wrong.push(`${file}: ${t.name} named ${who.id}`);
        else outcome.right++;
      }
    }
    console.log('group photos:', JSON.stringify(outcome));
    expect(outcome.missed).toEqual([]);
    expect(outcome.wrong).toEqual([]);
    expect(outcome.stranger).toEqual([]);
    // 22 named faces; measured: 21 named, bbt1's leonard stays unknown (see the closing note).
    expect(outcome.right).toBeGreaterThanOrEqual(21);
  });
});
