// The built-in demo roster: the people of the face-api sample photos as invented players of two
// invented teams, enrolled with augmentation and trained, in a data directory of its own. Built
// once; later starts reuse it while a marker file says it was built from the same inputs.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DB_FILE_NAME } from '../roster/db.ts';
import { enrolPhotos, type EnrolReport } from '../roster/enroll.ts';
import { openRoster, type Player, type Roster } from '../roster/roster.ts';
import { addNegativePhotos, builtinNegativePhotos, Recognizer, trainRoster, type ProgressFn } from '../recognition/service.ts';
import { loadModel, modelPath, saveModel } from '../recognition/store.ts';
import type { Logger } from '../shared/log.ts';
import type { VisionEngine } from '../vision/engine.ts';
import type { Box } from '../vision/types.ts';
import { packageDir } from '../vision/weights.ts';
import { cropFace, DEMO_CROPS, detectDemoFaces, groupPeople, MIN_FACE_SCORE, MIN_FACE_SIDE, SAME_PERSON_DISTANCE, type Appearance, type CropSpec } from './faces.ts';
import { DEMO_PEOPLE_COUNT, demoPlayerInput } from './players.ts';

/**
 * Bump when the way the demo is built changes, so existing demo folders are rebuilt.
 * 2: stored embeddings record their vision setup (roster schema 3); older demo rows do not.
 * 3: the roster keeps the enrolled photos (schema 4), so the demo can be re-embedded from them.
 */
const DEMO_ROSTER_VERSION = 3;
export const DEMO_MARKER_FILE = 'demo-roster.json';

/**
 * Augmented views per enrolment crop. Fewer than `facecast enroll`'s default (12): each player
 * already has two framings, the demo video is made of the enrolment pictures themselves, and the
 * first start on a 2-core machine should take well under two minutes.
 */
export const DEMO_VIEWS = 6;

export interface DemoAppearance {
  photo: string;
  box: Box;
}

export interface DemoRoster {
  /** In demo order (photo order, then left to right). */
  players: Player[];
  /** Where each player's face is in the sample photos, by player id. */
  appearances: Record<string, DemoAppearance[]>;
  /** Names come from the model (the roster database is closed again). */
  recognizer: Recognizer;
  /** True when this call built the roster, false when an earlier build was reused. */
  built: boolean;
  seconds: number;
}

interface Marker {
  format: 'facecast-demo-roster';
  /** False from the start of a build until it finished: the folder is the demo's, its roster not ready. */
  complete: boolean;
  inputsHash: string;
  builtAt: string;
  seconds: number;
  players: string[];
  appearances: Record<string, DemoAppearance[]>;
}

/** The stranger of the face-api webcam screenshot (the package author, not in any sample photo). */
function strangerPhoto(): string {
  return join(packageDir('@vladmandic/face-api'), 'demo', 'screenshot-webcam.png');
}

function fileSha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Everything the build depends on; a different value means the stored demo is out of date. */
function inputsHash(engine: VisionEngine, photos: string[]): string {
  const { detector, alignment, flipAverage } = engine.config;
  const stranger = existsSync(strangerPhoto()) ? fileSha(strangerPhoto()) : null;
  const canonical = JSON.stringify({
    v: DEMO_ROSTER_VERSION,
    photos: photos.map((f) => [basename(f), fileSha(f)]),
    stranger,
    people: Array.from({ length: DEMO_PEOPLE_COUNT }, (_, i) => demoPlayerInput(i)),
    faces: { MIN_FACE_SCORE, MIN_FACE_SIDE, SAME_PERSON_DISTANCE, DEMO_CROPS, DEMO_VIEWS },
    vision: { detector, alignment, flipAverage },
  });
  return createHash('sha256').update(canonical).digest('hex');
}

function readMarker(dataDir: string): Marker | null {
  try {
    const m = JSON.parse(readFileSync(join(dataDir, DEMO_MARKER_FILE), 'utf8')) as Marker;
    return m.format === 'facecast-demo-roster' ? m : null;
  } catch {
    return null;
  }
}

/** The stored demo when it matches `hash` and its model still matches its roster; else null. */
function reuse(dataDir: string, hash: string): Omit<DemoRoster, 'seconds'> | null {
  const marker = readMarker(dataDir);
  if (!marker?.complete || marker.inputsHash !== hash || !existsSync(join(dataDir, DB_FILE_NAME))) return null;
  const model = loadModel(dataDir);
  if (!model) return null;
  const roster = openRoster(dataDir);
  try {
    if (roster.rosterHash() !== model.rosterHash) return null;
    const players = marker.players.map((id) => roster.getPlayer(id));
    if (players.some((p) => p === null)) return null;
    return { players: players as Player[], appearances: marker.appearances, recognizer: new Recognizer(model), built: false };
  } finally {
    roster.close();
  }
}

/**
 * Enrols one appearance in one framing. A crop can still show a second "face" to the detector (a
 * pattern on a dress, a sliver of a neighbour), which enrolment refuses; a tighter framing of the
 * same face then usually passes.
 */
async function enrolAppearance(engine: VisionEngine, roster: Roster, id: string, a: Appearance, spec: CropSpec): Promise<EnrolReport> {
  let report: EnrolReport | undefined;
  for (const shrink of [1, 0.8, 0.65]) {
    const side = Math.max(1.3, spec.side * shrink);
    const bytes = await cropFace(a.file, a.box, a.others, { ...spec, side });
    const name = `${a.photo}@${Math.round(a.box[0])},${Math.round(a.box[1])}×${side.toFixed(2)}`;
    [report] = await enrolPhotos(engine, roster, id, [{ name, bytes }], { augment: true, views: DEMO_VIEWS, actor: 'demo' });
    if (report!.status !== 'several-faces') break;
  }
  return report!;
}

function writeMarker(dataDir: string, marker: Marker): void {
  const path = join(dataDir, DEMO_MARKER_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(marker, null, 2));
  renameSync(`${path}.tmp`, path);
}

/**
 * Empties a previous (or half-finished) demo build in place, and refuses a folder whose roster is
 * somebody's real one. Files are not deleted: the server may already have this database open
 * (it starts before the demo is prepared), so players are removed through the roster instead.
 */
function clearForBuild(roster: Roster, dataDir: string): void {
  const c = roster.counts();
  if (!readMarker(dataDir) && (c.players > 0 || c.faces > 0 || c.negatives > 0)) {
    throw new Error(`${dataDir} holds a roster that is not the built-in demo's; give the demo an empty data folder of its own`);
  }
  for (const p of roster.listPlayers()) roster.removePlayer(p.id, 'demo');
  rmSync(modelPath(dataDir), { force: true });
}

type Built = Pick<DemoRoster, 'players' | 'appearances' | 'recognizer'>;

async function build(engine: VisionEngine, dataDir: string, hash: string, log: Logger, onProgress?: ProgressFn): Promise<Built> {
  const photos = builtinNegativePhotos();
  mkdirSync(dataDir, { recursive: true });
  const roster = openRoster(dataDir);
  try {
    clearForBuild(roster, dataDir);
    writeMarker(dataDir, { format: 'facecast-demo-roster', complete: false, inputsHash: hash, builtAt: '', seconds: 0, players: [], appearances: {} });
    // One progress scale for the three phases (a progress bar is made once, from the first total):
    // detection 0–30 %, enrolment 30–90 %, training 90–100 %, by their rough share of the time.
    const report = (from: number, to: number, done: number, total: number, note: string) =>
      onProgress?.(Math.round(from + ((to - from) * done) / Math.max(1, total)), 100, note);
    const faces = await detectDemoFaces(engine, photos, (i, file) => report(0, 30, i, photos.length, `detect ${basename(file)}`));
    const people = groupPeople(faces);
    const players: Player[] = [];
    const appearances: Record<string, DemoAppearance[]> = {};
    const total = people.reduce((n, p) => n + p.appearances.length * DEMO_CROPS.length, 0);
    let done = 0;
    for (const [i, person] of people.entries()) {
      const { player } = roster.upsertPlayer(demoPlayerInput(i), 'demo');
      let enrolled = 0;
      for (const a of person.appearances) {
        for (const spec of DEMO_CROPS) {
          report(30, 90, done++, total, `enrol ${player.name}`);
          const outcome = await enrolAppearance(engine, roster, player.id, a, spec);
          if (outcome.status === 'enrolled' || outcome.status === 'unchanged') enrolled++;
          else log.warn({ player: player.id }, `demo enrolment skipped a crop: ${outcome.message}`);
        }
      }
      if (enrolled === 0) {
        roster.removePlayer(player.id, 'demo');
        continue;
      }
      players.push(roster.getPlayer(player.id)!);
      appearances[player.id] = person.appearances.map((a) => ({ photo: a.photo, box: a.box }));
    }
    // The usual built-in negatives are these very faces, so they must stay out of this roster. A
    // stranger stored under source 'builtin' also tells ensureBuiltinNegatives (a retrain from the
    // dashboard) that this roster already has its built-in negatives.
    if (existsSync(strangerPhoto())) await addNegativePhotos(engine, roster, [strangerPhoto()], 'builtin', 'demo');
    const { model } = trainRoster(
      roster,
      engine.setup,
      { augmented: true },
      (d, t, note) => report(90, 100, d, t, `train: ${note}`),
    );
    onProgress?.(100, 100, 'done');
    saveModel(dataDir, model);
    // Info, not warn: with every player at 100 % held-out accuracy these notes (e.g. a few SVM solves
    // at maxIter for the largest C) are harmless, and a first `npm start` should not look broken.
    for (const w of model.classifier.metrics.warnings) log.info(`demo training note: ${w}`);
    return { players, appearances, recognizer: new Recognizer(model) };
  } finally {
    roster.close();
  }
}

/**
 * The demo roster in `dataDir` (a folder of its own, e.g. <dataDir>/demo), built on first use and
 * reused after that. Refuses a folder that holds a roster it did not build.
 */
export async function prepareDemoRoster(engine: VisionEngine, dataDir: string, log: Logger, onProgress?: ProgressFn): Promise<DemoRoster> {
  const started = performance.now();
  const hash = inputsHash(engine, builtinNegativePhotos());
  const seconds = () => Math.round(performance.now() - started) / 1000;
  const stored = reuse(dataDir, hash);
  if (stored) {
    log.info({ dataDir, players: stored.players.length }, 'demo roster: reusing the one built earlier (invented players)');
    return { ...stored, seconds: seconds() };
  }
  log.info({ dataDir }, 'demo roster: building it from the face-api sample photos (invented names and stats; takes a minute)');
  const result = await build(engine, dataDir, hash, log, onProgress);
  const marker: Marker = {
    format: 'facecast-demo-roster',
    complete: true,
    inputsHash: hash,
    builtAt: new Date().toISOString(),
    seconds: seconds(),
    players: result.players.map((p) => p.id),
    appearances: result.appearances,
  };
  // Completed last: a build that stops half-way is redone on the next start.
  writeMarker(dataDir, marker);
  const m = result.recognizer.model.classifier.metrics;
  log.info(
    { dataDir, players: result.players.length, seconds: marker.seconds, cvAccuracy: m.cvAccuracy, genuineAcceptRate: m.genuineAcceptRate, falseAccepts: m.falseAccepts },
    `demo roster: built ${result.players.length} invented players in ${marker.seconds} s`,
  );
  return { ...result, built: true, seconds: marker.seconds };
}
