// `facecast roster import` on a media kit laid out like a face dataset: a folder per person named
// Firstname_Lastname, a folder already named like an id, a roster.csv row matched by the slug id,
// and a press photo whose largest face is taken. A real process, real gallery photos and models.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPlayerFolderName, playerFolder, playerFolders } from '../src/roster/playerFolders.ts';
import { haveFixtures, galleryFile, tempDir } from './helpers/fixtures.ts';
import { dominantFacePhoto } from './helpers/pressPhotos.ts';

const HAVE_FIXTURES = haveFixtures('rosterImportFolders.test.ts');

const BIN = fileURLToPath(new URL('../bin/facecast.js', import.meta.url));
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function facecast(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, FACECAST_LOG_LEVEL: 'warn', FACECAST_DATA: dataDir, FACECAST_BACKEND: 'wasm' };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function kit(): { dir: string; data: string } {
  const root = tempDir('facecast-kit-');
  dirs.push(root);
  const dir = join(root, 'kit');
  mkdirSync(dir);
  return { dir, data: join(root, 'data') };
}

describe('player folders', () => {
  it('Firstname_Lastname becomes a slug id and a display name; an id folder keeps its id', () => {
    expect(playerFolder('Alex_Lacamoire')).toEqual({ folder: 'Alex_Lacamoire', id: 'alex-lacamoire', name: 'Alex Lacamoire' });
    expect(playerFolder('Amy_Farrah_Fowler')).toMatchObject({ id: 'amy-farrah-fowler', name: 'Amy Farrah Fowler' });
    // A decomposed name (as macOS gives it) is composed again for the display name.
    expect(playerFolder('Jose\u0301_Marti\u0301nez')).toEqual({ folder: 'Jose\u0301_Marti\u0301nez', id: 'jose-martinez', name: 'José Martínez' });
    expect(playerFolder("Conan_O'Brien")).toMatchObject({ id: 'conan-o-brien', name: "Conan O'Brien" });
    expect(playerFolder('sheldon')).toEqual({ folder: 'sheldon', id: 'sheldon', name: null });
    expect(playerFolder('amy-farrah-fowler')).toMatchObject({ id: 'amy-farrah-fowler', name: null });
  });

  it('a folder with no letters or digits to make an id from is an error saying what to do', () => {
    expect(() => playerFolder('___')).toThrow(/folder '___' gives no player id .*rename it/);
  });

  it('two folders with one id are an error naming both; archive leftovers are not players', () => {
    expect(() => playerFolders(['Alex_Lacamoire', 'alex-lacamoire'])).toThrow(/folders 'Alex_Lacamoire' and 'alex-lacamoire' both give the player id 'alex-lacamoire'/);
    expect(playerFolders(['__MACOSX', '.thumbs', 'Raj_Koothrappali']).map((f) => f.id)).toEqual(['raj-koothrappali']);
    expect(isPlayerFolderName('__MACOSX')).toBe(false);
  });
});

describe.skipIf(!HAVE_FIXTURES)('facecast roster import: a folder per person as face datasets name them', () => {
  it('imports Firstname_Lastname folders and an id folder, matches roster.csv by slug id, takes the press photo’s main face', async () => {
    const { dir, data } = kit();
    const put = (folder: string, files: string[]) => {
      mkdirSync(join(dir, folder));
      for (const f of files) copyFileSync(f, join(dir, folder, f.split('/').pop()!));
    };
    put('Amy_Farrah_Fowler', [galleryFile('amy', 1), galleryFile('amy', 2)]);
    put('Raj_Koothrappali', [galleryFile('raj', 1)]);
    put('howard', [galleryFile('howard', 1)]);
    mkdirSync(join(dir, 'Sheldon_Cooper'));
    writeFileSync(join(dir, 'Sheldon_Cooper', 'press.jpg'), (await dominantFacePhoto()).bytes);
    // The CSV names Amy's folder by its slug id and gives no name for Raj (the folder's is kept).
    writeFileSync(join(dir, 'roster.csv'), 'id,name,number,team,goals\namy-farrah-fowler,Amy F. Fowler,7,Caltech,3\nraj-koothrappali,,9,Caltech,1\n');
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ enrolment: { augment: false } }));

    const r = await facecast(['roster', 'import', dir, '--config', join(dir, 'config.json')], data);
    console.log(r.stdout);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^4 player\(s\) imported/m);
    expect(r.stdout).toMatch(/^5 photo\(s\) enrolled, 0 already enrolled, 0 refused$/m);
    expect(r.stdout).toMatch(/largest face taken: .*press\.jpg: enrolled .*ignored 1 smaller face/);

    const list = await facecast(['roster', 'list', '--json'], data);
    const players = (JSON.parse(list.stdout) as { id: string; name: string; number: number | null; stats: Record<string, unknown>; originalFaceCount: number }[]).sort((a, b) =>
      a.id.localeCompare(b.id),
    );
    expect(players.map((p) => [p.id, p.name, p.number, p.originalFaceCount])).toEqual([
      ['amy-farrah-fowler', 'Amy F. Fowler', 7, 2],
      ['howard', 'howard', null, 1],
      ['raj-koothrappali', 'Raj Koothrappali', 9, 1],
      ['sheldon-cooper', 'Sheldon Cooper', null, 1],
    ]);
    expect(players[0]!.stats).toEqual({ goals: 3 });
  }, 300_000);

  it('two folders that map to one id stop the import before anything is written, naming both', async () => {
    const { dir, data } = kit();
    for (const folder of ['Alex_Lacamoire', 'alex-lacamoire']) {
      mkdirSync(join(dir, folder));
      copyFileSync(galleryFile('leonard', 1), join(dir, folder, 'a.png'));
    }
    const r = await facecast(['roster', 'import', dir], data);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/folders 'Alex_Lacamoire' and 'alex-lacamoire' both give the player id 'alex-lacamoire'; merge them into one folder or rename one/);
    expect(existsSync(data)).toBe(false); // no roster database was even created
  }, 60_000);

  it('a roster.csv id that is not an id says which id its folder gets', async () => {
    const { dir, data } = kit();
    mkdirSync(join(dir, 'Alex_Lacamoire'));
    copyFileSync(galleryFile('leonard', 1), join(dir, 'Alex_Lacamoire', 'a.png'));
    writeFileSync(join(dir, 'roster.csv'), 'id,number\nAlex_Lacamoire,4\n');
    const r = await facecast(['roster', 'import', dir], data);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/roster\.csv: id 'Alex_Lacamoire' is not a player id; write it as a lowercase slug \(a folder 'Alex_Lacamoire' gets the id 'alex-lacamoire'\)/);
  }, 60_000);
});

