// The dashboard's photo upload with press photos, in a real headless Chromium against the real
// server (no demo, no video): the line of a photo with a smaller face behind says the player's face
// was taken and previews the faces, the one taken outlined in green; a photo of two comparable
// faces is refused with its faces previewed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, rmSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../src/config/load.ts';
import { startServer, type RunningServer } from '../src/server/app.ts';
import { silentLogger } from '../src/shared/log.ts';
import { haveFixtures, tempDir } from './helpers/fixtures.ts';
import { comparableFacesPhoto, dominantFacePhoto } from './helpers/pressPhotos.ts';

const HAVE_FIXTURES = haveFixtures('dashboardUpload.test.ts');

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const TOKEN = 'test-token-0123456789';
const PASSWORD = 'operator-password-for-tests';

describe.skipIf(!HAVE_CHROMIUM || !HAVE_FIXTURES)('dashboard photo upload of press photos', () => {
  const dataDir = tempDir('facecast-dashboard-upload-');
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        logLevel: 'silent',
        vision: { backend: 'wasm', pool: { workers: 1 } },
        enrolment: { augment: true, views: 2 },
        server: { host: '127.0.0.1', port: 0, apiToken: TOKEN, operatorPassword: PASSWORD, production: false },
      },
    });
    server = await startServer(config, silentLogger);
    const res = await fetch(`${server.url}/api/players`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'sheldon', name: 'Sheldon Cooper' }),
    });
    expect(res.ok).toBe(true);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await (await browser.newContext({ viewport: { width: 1600, height: 1000 } })).newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.url}/login`);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/dashboard/), page.click('#login button[type="submit"]')]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });

  it('shows which face was taken and that the other was ignored; previews the faces of a refused pair', async () => {
    const row = '#roster tr.player[data-player-id="sheldon"]';
    const details = '#roster tr.details[data-player-id="sheldon"]';
    await page.waitForSelector(row, { timeout: 15_000 });
    await page.click(`${row} button.expand`);
    await page.waitForSelector(`${details} input.photo-input`, { state: 'attached', timeout: 10_000 });
    await page.setInputFiles(`${details} input.photo-input`, [
      { name: 'press.jpg', mimeType: 'image/jpeg', buffer: (await dominantFacePhoto()).bytes },
      { name: 'pair.jpg', mimeType: 'image/jpeg', buffer: (await comparableFacesPhoto()).bytes },
    ]);
    const line = (file: string) => `${details} li.upload[data-file="${file}"]`;
    await page.waitForSelector(`${line('press.jpg')}[data-state="ok"] canvas.upload-faces`, { timeout: 90_000 });
    await page.waitForSelector(`${line('pair.jpg')}[data-state="error"] canvas.upload-faces`, { timeout: 90_000 });
    const text = (file: string) => page.textContent(`${line(file)} .upload-status`);
    console.log(`press.jpg → ${await text('press.jpg')}\npair.jpg → ${await text('pair.jpg')}`);
    expect(await text('press.jpg')).toMatch(/^enrolled .*took the largest face \(\d+ px at \(\d+, \d+\)\), ignored 1 smaller face/);
    expect(await page.getAttribute(line('press.jpg'), 'data-ignored')).toBe('1');
    expect(await text('pair.jpg')).toMatch(/^several faces: 2 faces of comparable size found .*crop the photo to the one player/);

    // The preview draws the taken face in green and the others in other colours.
    const colours = (file: string) =>
      page.$eval(`${line(file)} canvas.upload-faces`, (c) => {
        const canvas = c as HTMLCanvasElement;
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let green = 0;
        let orange = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i]! === 0x3f && data[i + 1]! === 0xb9 && data[i + 2]! === 0x50) green++;
          if (data[i]! === 0xf0 && data[i + 1]! === 0x88 && data[i + 2]! === 0x3e) orange++;
        }
        return { green, orange, title: canvas.title };
      });
    const press = await colours('press.jpg');
    const pair = await colours('pair.jpg');
    console.log(JSON.stringify({ press, pair }));
    expect(press.green).toBeGreaterThan(100);
    expect(press.title).toMatch(/1 smaller face\(s\) ignored/);
    expect(pair.green).toBe(0);
    expect(pair.orange).toBeGreaterThan(100);
  }, 180_000);
});

