// `facecast roster add|import|list|show|remove|reembed` and `facecast enroll`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { enrolPhotos, readPhotos, type EnrolReport } from '../roster/enroll.ts';
import { reembedPlan, reembedRoster } from '../roster/reembed.ts';
import { readRosterFile } from '../roster/rosterFile.ts';
import { needsBuiltinNegatives } from '../recognition/service.ts';
import { embeddingSetupKey } from '../vision/setup.ts';
import type { Roster } from '../roster/roster.ts';
import { playerIdSchema, slugify, type PlayerInput } from '../roster/schema.ts';
import { playerFolders } from '../roster/playerFolders.ts';
import { VisionEngine } from '../vision/engine.ts';
import { openDataRoster } from './context.ts';
import { printJson, table } from './output.ts';
import { Progress } from './progress.ts';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif', '.heic', '.heif', '.bmp']);

function imagesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

async function withRoster<T>(config: Config, fn: (roster: Roster) => Promise<T> | T): Promise<T> {
  const roster = openDataRoster(config);
  try {
    return await fn(roster);
  } finally {
    roster.close();
  }
}

/** Enrols with a progress bar; returns the reports and prints failures as they happen. */
async function enrolWithProgress(engine: VisionEngine, roster: Roster, config: Config, playerId: string, files: string[], progress: Progress) {
  const photos = await readPhotos(files);
  return enrolPhotos(engine, roster, playerId, photos, { augment: config.enrolment.augment, views: config.enrolment.views, actor: 'cli' }, (r) => {
    progress.tick(1, `${playerId}: ${basename(r.file)}`);
    if (r.status !== 'enrolled' && r.status !== 'unchanged') process.stderr.write(`\n${r.status}: ${r.message}\n`);
  });
}

function summarise(reports: EnrolReport[], json?: boolean): number {
  const bad = reports.filter((r) => r.status !== 'enrolled' && r.status !== 'unchanged');
  if (json) printJson(reports);
  else {
    const enrolled = reports.filter((r) => r.status === 'enrolled').length;
    process.stdout.write(`${enrolled} photo(s) enrolled, ${reports.length - enrolled - bad.length} already enrolled, ${bad.length} refused\n`);
    // Photos with other people in them: which face was taken, so a wrong pick can be spotted.
    for (const r of reports.filter((x) => x.ignored?.length)) process.stdout.write(`  largest face taken: ${r.message}\n`);
    for (const r of bad) process.stdout.write(`  ${r.status}: ${r.message}\n`);
  }
  return bad.length ? 1 : 0;
}

export async function runRosterAdd(player: PlayerInput, config: Config): Promise<number> {
  return withRoster(config, (roster) => {
    const { outcome } = roster.upsertPlayer(player, 'cli');
    process.stdout.write(`player ${player.id}: ${outcome}\n`);
    return 0;
  });
}

export async function runEnroll(playerId: string, files: string[], opts: { json?: boolean }, config: Config, log: Logger): Promise<number> {
  const engine = await VisionEngine.create(config.vision, log);
  try {
    return await withRoster(config, async (roster) => {
      const progress = new Progress('enrol', files.length);
      const reports = await enrolWithProgress(engine, roster, config, playerId, files, progress);
      progress.finish();
      return summarise(reports, opts.json);
    });
  } finally {
    await engine.dispose();
  }
}

/** A roster file's ids must be ids already: they are matched against the folders' slug ids. */
function checkRosterFileIds(dir: string, meta: Map<string, PlayerInput>): void {
  const file = join(dir, existsSync(join(dir, 'roster.json')) ? 'roster.json' : 'roster.csv');
  for (const id of meta.keys()) {
    if (!playerIdSchema.safeParse(id).success) {
      throw new Error(`${file}: id '${id}' is not a player id; write it as a lowercase slug (a folder '${id}' gets the id '${slugify(id) || '?'}')`);
    }
  }
}

/**
 * A folder per player plus an optional roster.csv / roster.json. A folder named like an id keeps
 * it; `Firstname_Lastname` (face datasets, media kits) becomes `firstname-lastname` with the name
 * "Firstname Lastname". A roster row matches the folder with its id and its fields win.
 */
export async function runRosterImport(dir: string, opts: { json?: boolean }, config: Config, log: Logger): Promise<number> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder; give a folder with one sub-folder of photos per player`);
  const meta = readRosterFile(dir);
  checkRosterFileIds(dir, meta);
  const folders = playerFolders(readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory()).sort());
  if (folders.length === 0 && meta.size === 0) throw new Error(`${dir} has no player folders and no roster.csv/roster.json`);
  const engine = await VisionEngine.create(config.vision, log);
  try {
    return await withRoster(config, async (roster) => {
      const folderName = new Map(folders.map((f) => [f.id, f.name]));
      const ids = new Set([...meta.keys(), ...folders.map((f) => f.id)]);
      for (const id of ids) {
        const row = meta.get(id);
        // A CSV row without a name carries its id as the name; the folder's "Firstname Lastname" is better.
        const name = row?.name && row.name !== id ? row.name : (folderName.get(id) ?? id);
        roster.upsertPlayer({ ...row, name, id }, 'cli');
      }
      const work = folders.map(({ id, folder }) => ({ id, files: imagesIn(join(dir, folder)) }));
      const progress = new Progress('import', work.reduce((n, w) => n + w.files.length, 0));
      const reports: EnrolReport[] = [];
      for (const { id, files } of work) reports.push(...(await enrolWithProgress(engine, roster, config, id, files, progress)));
      progress.finish();
      if (!opts.json) process.stdout.write(`${ids.size} player(s) imported from ${dir}\n`);
      return summarise(reports, opts.json);
    });
  } finally {
    await engine.dispose();
  }
}

export async function runRosterList(opts: { json?: boolean }, config: Config): Promise<number> {
  return withRoster(config, (roster) => {
    const players = roster.listPlayers();
    if (opts.json) printJson(players);
    else if (players.length === 0) process.stdout.write(`no players in ${config.dataDir}; add them with \`facecast roster import <dir>\`\n`);
    else
      process.stdout.write(
        table(
          ['id', 'name', 'number', 'team', 'position', 'photos', 'embeddings'],
          players.map((p) => [p.id, p.name, p.number ?? '', p.team ?? '', p.position ?? '', p.originalFaceCount, p.faceCount]),
        ) + '\n',
      );
    return 0;
  });
}

export async function runRosterShow(id: string, opts: { json?: boolean }, config: Config): Promise<number> {
  return withRoster(config, (roster) => {
    const p = roster.getPlayer(id);
    if (!p) {
      process.stderr.write(`no player '${id}'; see \`facecast roster list\`\n`);
      return 1;
    }
    const faces = roster.listFaces(id);
    if (opts.json) printJson({ ...p, faces: faces.map(({ embedding: _e, ...f }) => f) });
    else {
      process.stdout.write(`${p.name} (${p.id})${p.number !== null ? ` #${p.number}` : ''}${p.team ? `, ${p.team}` : ''}${p.position ? `, ${p.position}` : ''}\n`);
      for (const [k, v] of Object.entries(p.stats)) process.stdout.write(`  ${k}: ${v}\n`);
      const sources = new Map<string, number>();
      for (const f of faces) sources.set(f.sourceFile ?? f.sourceSha256, (sources.get(f.sourceFile ?? f.sourceSha256) ?? 0) + 1);
      process.stdout.write(`${sources.size} photo(s), ${faces.length} embeddings\n`);
      for (const [src, n] of sources) process.stdout.write(`  ${src} (${n})\n`);
    }
    return 0;
  });
}

export async function runRosterRemove(id: string, config: Config): Promise<number> {
  return withRoster(config, (roster) => {
    const { removedFaces } = roster.removePlayer(id, 'cli');
    process.stdout.write(`removed ${id} and ${removedFaces} embeddings; run \`facecast train\` to update the model\n`);
    return 0;
  });
}

/**
 * Re-embeds every stored face and negative that another vision setup made, from the photos kept
 * in the roster; exit 1 when some could not be (each is listed with what to do).
 */
export async function runRosterReembed(opts: { json?: boolean; dropStale?: boolean }, config: Config, log: Logger): Promise<number> {
  const engine = await VisionEngine.create(config.vision, log);
  try {
    return await withRoster(config, async (roster) => {
      const setup = embeddingSetupKey(engine.setup);
      const plan = reembedPlan(roster, engine);
      if (plan.faces.length + plan.negatives.length === 0 && !needsBuiltinNegatives(roster, engine.setup)) {
        if (opts.json) printJson({ setup, reports: [], builtinNegatives: 0 });
        else process.stdout.write(`every stored face and negative was embedded with ${setup}; nothing to re-embed\n`);
        return 0;
      }
      const progress = new Progress('reembed', plan.faces.length + plan.negatives.length + 1);
      const result = await reembedRoster(
        engine,
        roster,
        { augment: config.enrolment.augment, views: config.enrolment.views, actor: 'cli', dropStale: opts.dropStale ?? false },
        (done, _total, note) => progress.update(done, note),
      );
      progress.finish();
      const left = result.reports.filter((r) => r.status !== 'reembedded' && r.status !== 'dropped');
      if (opts.json) printJson(result);
      else {
        const done = (kind: 'face' | 'negative') => result.reports.filter((r) => r.kind === kind && r.status === 'reembedded');
        const rows = (rs: { newRows: number }[]) => rs.reduce((n, r) => n + r.newRows, 0);
        process.stdout.write(
          `re-embedded with ${setup}: ${done('face').length} photo(s) (${rows(done('face'))} embeddings), ` +
            `${done('negative').length} negative image(s) (${rows(done('negative'))} faces), ${result.builtinNegatives} built-in negative(s)\n`,
        );
        const dropped = result.reports.filter((r) => r.status === 'dropped');
        for (const r of dropped) process.stdout.write(`  dropped: ${r.message}\n`);
        if (left.length) process.stdout.write(`${left.length} photo(s) left as they were; training refuses to mix setups until they are dealt with:\n`);
        for (const r of left) process.stdout.write(`  ${r.status}: ${r.message}\n`);
        if (!left.length) process.stdout.write('run `facecast train` to retrain on the new embeddings\n');
      }
      return left.length ? 1 : 0;
    });
  } finally {
    await engine.dispose();
  }
}
