// Recognition against a trained roster on real photos: the 8 gallery people enrolled from their
// tight crops, then every face of the 5 group photos. A broadcaster's roster is one headshot per
// player, so that roster comes first; five photos each, with and without 300 LFW strangers as
// negatives, follow. On air a wrong name is far worse than none, and a mute graphic is no product:
// no face may get a wrong name, bbt2.jpg's stranger must stay unknown, and the players must be named.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { openRoster } from '../src/roster/roster.ts';
import { addNegativePhotos, ensureBuiltinNegatives, Recognizer, trainRoster } from '../src/recognition/service.ts';
import { negativeImages } from '../src/cli/train.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { decodeImage } from '../src/vision/image.ts';
import type { FaceResult } from '../src/shared/protocol.ts';
import { FIXTURES, haveFixtures, PEOPLE, galleryFile, groupDir, tempDir } from './helpers/fixtures.ts';

interface Label {
  name: string | null;
  box: [number, number, number, number];
}

const inside = (p: [number, number], b: readonly number[]) => p[0] >= b[0]! && p[0] <= b[0]! + b[2]! && p[1] >= b[1]! && p[1] <= b[1]! + b[3]!;
const centre = (b: readonly number[]): [number, number] => [b[0]! + b[2]! / 2, b[1]! + b[3]! / 2];

interface Outcome {
  right: number;
  unknown: string[];
  wrong: string[];
  missed: string[];
  stranger: string[];
}

describe.skipIf(!haveFixtures('groupRecognition.test.ts'))('recognition of the group photos against the enrolled gallery', () => {
  let config: Config;
  let engine: VisionEngine;
  /** Every labelled face of the group photos, found once. */
  const faces: { file: string; truth: Label; face: FaceResult | undefined }[] = [];

  beforeAll(async () => {
    config = loadConfig({ env: {}, overrides: { vision: { backend: 'wasm' }, enrolment: { views: 8 } } });
    engine = await VisionEngine.create(config.vision);
    const labels = JSON.parse(readFileSync(join(groupDir(), 'labels.json'), 'utf8')) as Record<string, { faces: Label[] }>;
    for (const [file, { faces: truth }] of Object.entries(labels)) {
      const found = await engine.analyse(await decodeImage(join(groupDir(), file)));
      for (const t of truth) faces.push({ file, truth: t, face: found.find((d) => inside(centre(d.box), t.box) && inside(centre(t.box), d.box)) });
    }
  }, 300_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  /** A roster of `photos` gallery photos per person (+ LFW negatives), trained as the CLI does. */
  async function trainedRoster(photos: number, lfwNegatives: number): Promise<Recognizer> {
    const dataDir = tempDir('facecast-group-');
    const roster = openRoster(dataDir);
    for (const id of PEOPLE) {
      roster.upsertPlayer({ id, name: id[0]!.toUpperCase() + id.slice(1) });
      const files = Array.from({ length: photos }, (_, i) => galleryFile(id, i + 1));
      const reports = await enrolPhotos(engine, roster, id, await readPhotos(files), { augment: true, views: config.enrolment.views, actor: 'test' });
      expect(reports.map((r) => r.status)).toEqual(Array(photos).fill('enrolled'));
    }
    await ensureBuiltinNegatives(engine, roster);
    if (lfwNegatives > 0) await addNegativePhotos(engine, roster, negativeImages(join(FIXTURES, 'lfw-view1'), lfwNegatives), 'lfw', 'test');
    const { model } = trainRoster(roster, engine.setup, { augmented: true, openSet: config.recognition.openSet });
    return new Recognizer(model, roster);
  }

  function outcome(recognizer: Recognizer): Outcome {
    const o: Outcome = { right: 0, unknown: [], wrong: [], missed: [], stranger: [] };
    for (const { file, truth: t, face: f } of faces) {
      if (!f) {
        o.missed.push(`${file}:${t.name}`);
        continue;
      }
      const p = recognizer.predict(f.embedding!);
      const who = p.identity;
      const why = `${p.best.id} d ${p.best.openSet?.distance.toFixed(3)} ≤ ${p.best.openSet?.threshold.toFixed(3)}? ${p.rejectedBy.join(',')}`;
      if (t.name === null) {
        if (who) o.stranger.push(`${file}: stranger named ${who.id}`);
      } else if (!who) o.unknown.push(`${file}:${t.name} (${why})`);
      else if (who.id !== t.name) o.wrong.push(`${file}: ${t.name} named ${who.id}`);
      else o.right++;
    }
    return o;
  }

  it('one headshot per player, no imported negatives: names nearly everyone, no one wrongly, the stranger unknown', async () => {
    const recognizer = await trainedRoster(1, 0);
    const o = outcome(recognizer);
    console.log('group photos, 1 photo per player:', JSON.stringify(o), 'threshold', recognizer.model.classifier.openSet?.distanceMax);
    expect(recognizer.model.classifier.openSet?.fittedGates).toBe(false);
    expect(o.missed).toEqual([]);
    expect(o.wrong).toEqual([]);
    expect(o.stranger).toEqual([]);
    expect(o.right).toBeGreaterThanOrEqual(21);
  });

  it('five photos per player without imported negatives: the same', async () => {
    const o = outcome(await trainedRoster(5, 0));
    console.log('group photos, 5 photos per player:', JSON.stringify(o));
    expect(o.wrong).toEqual([]);
    expect(o.stranger).toEqual([]);
    expect(o.right).toBeGreaterThanOrEqual(21);
  });

  it('five photos per player with 300 LFW negatives: the same', async () => {
    const recognizer = await trainedRoster(5, 300);
    // 300 LFW images give well over the 200 negatives below which training warns.
    expect(recognizer.model.classifier.metrics.warnings.join('\n')).not.toMatch(/only \d+ negative faces/);
    const o = outcome(recognizer);
    console.log('group photos, 5 photos per player + 300 LFW negatives:', JSON.stringify(o));
    expect(o.wrong).toEqual([]);
    expect(o.stranger).toEqual([]);
    expect(o.right).toBeGreaterThanOrEqual(21);
  });
});
