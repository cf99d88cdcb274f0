// npm run bench:strangers -- --faces 120 — the per-track false-accept rate on video of strangers.
// LFW DevTest faces (people in no roster, not used as negatives) are laid out six to a frame and
// rendered into a video with pans and zooms (the same renderer as the pipeline tests), then run
// through the live pipeline against a one-photo-per-player roster of the 8 gallery people. Every
// named track is a stranger named on air. The run is repeated with the track-level evidence off
// (frameCorrelation 1: a held-back face counts only when the track's mean face is on the threshold),
// side by side, so the cost of naming players from accumulated evidence is measured, not assumed.
//
// Options: --faces N (120), --seconds S per shot (3), --fps F analysed (5).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { table } from '../src/cli/output.ts';
import { loadConfig } from '../src/config/load.ts';
import type { Config } from '../src/config/schema.ts';
import { lfwImagePath, readPairs } from '../src/eval/lfw.ts';
import { FfmpegFrameSource, resolveFfmpeg } from '../src/ingest/index.ts';
import { createPool } from '../src/pipeline/pool.ts';
import { SourcePipeline } from '../src/pipeline/sourcePipeline.ts';
import { ensureBuiltinNegatives, Recognizer, trainRoster } from '../src/recognition/service.ts';
import { enrolPhotos, readPhotos } from '../src/roster/enroll.ts';
import { openRoster } from '../src/roster/roster.ts';
import { silentLogger } from '../src/shared/log.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { buildVideo, type ShotSpec } from '../test/helpers/videos.ts';

const { values: opts } = parseArgs({
  options: { json: { type: 'boolean' }, faces: { type: 'string', default: '120' }, seconds: { type: 'string', default: '3' }, fps: { type: 'string', default: '5' } },
});
const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'fixtures');
const LFW = join(FIXTURES, 'lfw-view1');
const GALLERY = join(FIXTURES, 'faces', 'gallery');
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];
const TILE = 250;
const COLS = 3;
const ROWS = 2;

/** One image of each DevTest person, in file order: strangers to the gallery roster. */
function strangerImages(count: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of readPairs(LFW, 'DevTest')) {
    for (const ref of [p.a, p.b]) {
      if (seen.has(ref.name) || out.length >= count) continue;
      seen.add(ref.name);
      out.push(lfwImagePath(LFW, ref));
    }
  }
  return out;
}

/** Grids of six faces as "group photos" with labels (all strangers), and shots that pan and zoom over them. */
async function strangerShots(dir: string, files: string[], seconds: number): Promise<ShotSpec[]> {
  const labels: Record<string, { width: number; height: number; faces: { name: null; box: [number, number, number, number] }[] }> = {};
  const shots: ShotSpec[] = [];
  const width = COLS * TILE;
  const height = ROWS * TILE;
  for (let g = 0; g * COLS * ROWS < files.length; g++) {
    const tiles = files.slice(g * COLS * ROWS, (g + 1) * COLS * ROWS);
    const name = `grid${g}.jpg`;
    const composite = await Promise.all(tiles.map(async (f, i) => ({ input: await sharp(f).resize(TILE, TILE).toBuffer(), left: (i % COLS) * TILE, top: Math.floor(i / COLS) * TILE })));
    await sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 40 } } }).composite(composite).jpeg({ quality: 92 }).toFile(join(dir, name));
    // LFW's faces sit near the middle of each 250 px image.
    labels[name] = { width, height, faces: tiles.map((_, i) => ({ name: null, box: [(i % COLS) * TILE + 70, Math.floor(i / COLS) * TILE + 60, 110, 130] })) };
    const zoom = g % 2 === 1;
    shots.push({
      photo: name,
      motion: zoom ? 'zoom' : 'pan',
      seconds,
      from: zoom ? { x: 0, y: 40, width } : { x: 0, y: 0, width: width - 60 },
      to: zoom ? { x: 60, y: 60, width: width - 120 } : { x: 60, y: 20, width: width - 60 },
    });
  }
  writeFileSync(join(dir, 'labels.json'), JSON.stringify(labels));
  return shots;
}

async function trainOnePhotoRoster(config: Config): Promise<Recognizer> {
  const roster = openRoster(config.dataDir);
  const engine = await VisionEngine.create(config.vision, silentLogger);
  try {
    for (const id of PEOPLE) {
      roster.upsertPlayer({ id, name: id }, 'bench');
      await enrolPhotos(engine, roster, id, await readPhotos([join(GALLERY, id, `${id}1.png`)]), { augment: true, views: config.enrolment.views, actor: 'bench' });
    }
    await ensureBuiltinNegatives(engine, roster);
  } finally {
    await engine.dispose();
  }
  return new Recognizer(trainRoster(roster, engine.setup, { augmented: true, openSet: config.recognition.openSet }).model, roster);
}

async function run(config: Config, file: string, recognizer: Recognizer) {
  const pool = await createPool(config, silentLogger);
  const tracks = new Map<number, { faces: number; named: string | null }>();
  try {
    const source = new FfmpegFrameSource({ ...config.ingest, input: file, channel: 'bench', logger: silentLogger });
    const pipeline = new SourcePipeline({ source, pool, config, recognizer: () => recognizer, policy: 'file', log: silentLogger });
    pipeline.on('frame', (a) => {
      for (const t of a.tracks) {
        const e = tracks.get(t.id) ?? { faces: 0, named: null };
        e.faces++;
        if (t.identity) e.named ??= t.identity.id;
        tracks.set(t.id, e);
      }
    });
    await pipeline.start();
  } finally {
    await pool.close();
  }
  const all = [...tracks.values()].filter((t) => t.faces >= 3);
  return { tracks: all.length, named: all.filter((t) => t.named).length, names: all.flatMap((t) => (t.named ? [t.named] : [])) };
}

const dir = mkdtempSync(join(tmpdir(), 'facecast-strangers-'));
try {
  const base = loadConfig({ env: {}, overrides: { dataDir: join(dir, 'data'), vision: { backend: 'wasm' }, ingest: { fps: Number(opts.fps) }, enrolment: { views: 6 } } });
  mkdirSync(join(dir, 'grid'));
  const files = strangerImages(Number(opts.faces));
  const shots = await strangerShots(join(dir, 'grid'), files, Number(opts.seconds));
  const ffmpeg = (await resolveFfmpeg(base.ingest.ffmpegPath)).path;
  const [video, recognizer] = await Promise.all([
    buildVideo({ groupDir: join(dir, 'grid'), file: join(dir, 'strangers.mp4'), shots, width: 960, height: 540, fps: 25, ffmpeg }),
    trainOnePhotoRoster(base),
  ]);
  const rows: string[][] = [];
  const json: unknown[] = [];
  for (const [label, frameCorrelation] of [['track evidence on (default 0.5)', base.tracking.identity.frameCorrelation], ['track evidence off (1.0)', 1]] as const) {
    const config: Config = { ...base, tracking: { ...base.tracking, identity: { ...base.tracking.identity, frameCorrelation } } };
    const r = await run(config, video.file, recognizer);
    rows.push([label, String(files.length), String(r.tracks), String(r.named), r.tracks ? `${((100 * r.named) / r.tracks).toFixed(2)} %` : '–', r.names.join(' ') || '–']);
    json.push({ label, frameCorrelation, faces: files.length, ...r });
  }
  process.stdout.write(
    `stranger tracks: ${files.length} LFW DevTest faces in ${shots.length} shots of ${opts.seconds} s at ${opts.fps} fps against a 1-photo roster of ${PEOPLE.length} ` +
      `(threshold ${recognizer.model.classifier.openSet?.distanceMax}, target ${base.recognition.openSet.falseAcceptRate} per face)\n` +
      table(['run', 'stranger faces', 'tracks (≥ 3 frames)', 'named tracks', 'per-track false accepts', 'names given'], rows) +
      '\n',
  );
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(json) + '\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
