// The graphics page in a real headless Chromium against a real server (router + hub, fake
// channels): what appears on air, when, where, and that nothing stale or clipped ever does.
// Needs /usr/bin/chromium (Debian: apt-get install chromium fonts-noto-cjk); skipped without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { graphicsUrl, obsDragLink } from '../src/server/graphicsRoutes.ts';
import type { NameTag } from '../src/shared/protocol.ts';
import type { GraphicsPageHook } from './helpers/graphicsPageHook.ts';
import { OUTPUT_KEY, emptyState, lowerThird, player, startOverlayTestServer, tag, type OverlayTestServer } from './helpers/overlayTestServer.ts';
import { SERVICE_LEVEL } from './helpers/serviceLevels.ts';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`${CHROMIUM} not found: graphics page browser tests skipped (Debian: apt-get install -y chromium fonts-noto-cjk)`);

/** Whether fontconfig has the Korean font the page asks for first. */
const HAVE_NOTO_CJK = (() => {
  try {
    return execFileSync('fc-list', [':lang=ko', 'family'], { encoding: 'utf8' }).includes('Noto Sans CJK KR');
  } catch {
    return false;
  }
})();

declare global {
  interface Window {
    facecast: GraphicsPageHook;
    update(data: unknown): void;
    play(): void;
    next(): void;
    obsstudio?: object;
  }
}

type Rect = { x: number; y: number; w: number; h: number };
const LT = '#layer-lower-third .lt:not(.fc-out)';

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('graphics URLs', () => {
  it('builds the page URL and the OBS drag-and-drop link', () => {
    expect(graphicsUrl('http://host:8686/', 'k y', 2)).toBe('http://host:8686/graphics?key=k%20y&channel=2');
    expect(obsDragLink('http://host:8686', 'abc', 3)).toBe(
      'http://host:8686/graphics?key=abc&channel=3&layer-name=facecast%20ch%203&layer-width=1920&layer-height=1080',
    );
  });
});

describe.skipIf(!HAVE_CHROMIUM)('graphics page', () => {
  let browser: Browser;
  let server: OverlayTestServer;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    server = await startOverlayTestServer();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(pageErrors).toEqual([]);
  });

  async function openPage(base = server.url, query = `key=${OUTPUT_KEY}&channel=1`): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // The page must run under its own Content-Security-Policy without violations.
    page.on('console', (m) => void (m.type() === 'error' && /Content Security Policy/i.test(m.text()) && pageErrors.push(m.text())));
    await page.goto(`${base}/graphics?${query}`);
    // Connected, with the stock template loaded: timings below are of takes, not of the page's start.
    await page.waitForFunction(() => window.facecast?.connected === true && window.facecast.templateReady, null, { timeout: 10_000 });
    return page;
  }

  const nameOnAir = (page: Page) => page.evaluate((sel) => document.querySelector(`${sel} .lt-name`)?.textContent ?? null, LT);
  const waitForName = (page: Page, name: string | null, timeout = 5000) =>
    page.waitForFunction(([sel, n]) => (document.querySelector(`${sel} .lt-name`)?.textContent ?? null) === n, [LT, name] as const, { timeout });
  /** Animations in the templates are under a second. */
  const settle = () => sleep(900);

  it('answers a missing or wrong key with a plain 401 and no page', async () => {
    for (const q of ['', '?key=wrong', `?key=${OUTPUT_KEY}x`]) {
      const res = await fetch(`${server.url}/graphics${q}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const body = await res.text();
      expect(body).toContain('key');
      expect(body.toLowerCase()).not.toContain('<html');
      expect(body.toLowerCase()).not.toContain('<script');
    }
    const page = await browser.newPage();
    const res = await page.goto(`${server.url}/graphics?key=wrong&channel=1`);
    expect(res?.status()).toBe(401);
    expect(await page.evaluate(() => ({ stage: !!document.getElementById('stage'), app: 'facecast' in window }))).toEqual({ stage: false, app: false });
    await page.close();
    // Assets hold no secrets and load without the key.
    expect((await fetch(`${server.url}/overlays/lower-third/template.json`)).status).toBe(200);
    expect((await fetch(`${server.url}/web/graphics/main.js`)).headers.get('content-type')).toMatch(/javascript/);
  });

  it('shows a lower third within the service level of a state push, updates it in place, and takes it off', async () => {
    server.setState(emptyState('1'));
    const page = await openPage();
    const t0 = Date.now();
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('lt-1', player({ name: 'Alex Morgan', number: 7, team: 'Harbour City FC' })) } });
    await waitForName(page, 'Alex Morgan', SERVICE_LEVEL.graphicsUpdateMs);
    expect(Date.now() - t0).toBeLessThan(SERVICE_LEVEL.graphicsUpdateMs);
    const text = await page.evaluate((sel) => document.querySelector(sel)!.textContent!.replace(/\s+/g, ' '), LT);
    expect(text).toContain('7');
    expect(text).toContain('Harbour City FC');
    expect(text).toContain('Forward');
    // Same id, new data and card: the same element, no second entrance.
    await page.evaluate((sel) => document.querySelector(sel)!.setAttribute('data-marker', 'first'), LT);
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('lt-1', player({ stats: [{ label: 'Goals', value: '13' }] }), { card: 'stats' }) } });
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-card') === 'stats', LT, { timeout: 5000 });
    expect(await page.evaluate((sel) => [document.querySelectorAll(sel).length, document.querySelector(sel)!.getAttribute('data-marker'), document.querySelector(`${sel} .lt-stats`)!.textContent], LT)).toEqual([
      1,
      'first',
      '13Goals',
    ]);
    // A new id replaces it: the old one animates out, the new one in.
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('lt-2', player({ name: 'Sam Kerr', number: 20 })) } });
    await waitForName(page, 'Sam Kerr');
    expect(await page.evaluate(() => document.querySelector('[data-marker="first"]')?.classList.contains('fc-out') ?? 'gone')).not.toBe(false);
    server.setState(emptyState('1'));
    await page.waitForFunction(() => document.querySelectorAll('#layer-lower-third > *').length === 0, null, { timeout: 2000 });
    await page.close();
  });

  it('keeps name tags beside their moving face, never over it, and inside the stage', async () => {
    server.setState(emptyState('1'));
    const page = await openPage();
    const tagRect = (trackId: number) =>
      page.evaluate((id) => {
        const el = document.querySelector(`.fc-name-tag[data-track-id="${id}"]`);
        if (!el || el.classList.contains('fc-hidden')) return null;
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height, side: (el as HTMLElement).dataset.side };
      }, trackId);
    const push = async (tags: NameTag[]) => {
      server.pushTags('1', tags);
      await page.waitForFunction(
        (want) => want.every(([id, box]) => (document.querySelector(`.fc-name-tag[data-track-id="${id}"]`) as HTMLElement | null)?.dataset.box === box),
        tags.map((t) => [t.trackId, t.box.map(Math.round).join(',')] as const),
        { timeout: 5000 },
      );
    };
    const boxes: [number, number, number, number][] = [
      [880, 520, 120, 150], // middle: above
      [1000, 470, 130, 160],
      [700, 12, 120, 150], // at the top: no room above, goes below
      [2, 400, 110, 130], // at the left edge: clamped inside
      [1800, 0, 120, 140], // top-right corner: below and clamped
      [820, 930, 120, 150], // at the bottom: above
    ];
    for (const box of boxes) {
      await push([tag(5, box, { name: 'Alex Morgan' })]);
      // Sample while it moves: a glide must never cross the face either.
      for (let i = 0; i < 4; i++) {
        const r = await tagRect(5);
        expect(r, `tag for ${box}`).not.toBeNull();
        expect(overlaps(r!, { x: box[0], y: box[1], w: box[2], h: box[3] }), `tag ${JSON.stringify(r)} over face ${box}`).toBe(false);
        await sleep(60);
      }
      await sleep(300);
      const r = (await tagRect(5))!;
      expect(overlaps(r, { x: box[0], y: box[1], w: box[2], h: box[3] })).toBe(false);
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.y).toBeGreaterThanOrEqual(0);
      expect(r.x + r.w).toBeLessThanOrEqual(1920);
      expect(r.y + r.h).toBeLessThanOrEqual(1080);
      if (box[1] > 200) expect(r.side).toBe('above');
      if (box[1] < 20) expect(r.side).toBe('below');
      // Centred on the face unless the stage edge pushed it.
      if (box[0] > 300 && box[0] < 1600) expect(Math.abs(r.x + r.w / 2 - (box[0] + box[2] / 2))).toBeLessThan(2);
    }
    // A steady pan at 25 tags/s: the tag follows and stays clear of the face at every sample.
    for (let i = 0; i < 20; i++) {
      const box: [number, number, number, number] = [600 + i * 18, 500 - i * 4, 120, 150];
      server.pushTags('1', [tag(5, box)]);
      await sleep(40);
      const r = await page.evaluate(() => {
        const el = document.querySelector('.fc-name-tag[data-track-id="5"]') as HTMLElement;
        const b = el.getBoundingClientRect();
        return { x: b.x, y: b.y, w: b.width, h: b.height, box: el.dataset.box!.split(',').map(Number) };
      });
      expect(overlaps(r, { x: r.box[0], y: r.box[1], w: r.box[2], h: r.box[3] })).toBe(false);
    }
    // Two faces, then one leaves: its tag goes, the other stays.
    await push([tag(5, [400, 500, 120, 150]), tag(6, [1300, 480, 120, 150], { name: '손흥민', number: 7, teamColor: '#ffffff' })]);
    server.pushTags('1', [tag(5, [400, 500, 120, 150])]);
    await page.waitForFunction(() => !document.querySelector('.fc-name-tag[data-track-id="6"]'), null, { timeout: 2000 });
    expect(await tagRect(5)).not.toBeNull();
    // No tags for a while: positions are stale, so they come off by themselves.
    await page.waitForFunction(() => !document.querySelector('.fc-name-tag'), null, { timeout: 3000 });
    // Name tags switched off: incoming tags are not drawn.
    server.setState({ ...emptyState('1'), nameTags: false });
    await page.waitForFunction(() => window.facecast.state?.nameTags === false);
    server.pushTags('1', [tag(5, [400, 500, 120, 150])]);
    await sleep(300);
    expect(await tagRect(5)).toBeNull();
    server.setState(emptyState('1'));
    await page.close();
  });

  it('has a transparent background: every pixel outside the graphics has alpha 0', async () => {
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('lt-shot', player({ name: '손흥민', number: 7, team: 'Tottenham Hotspur', teamColor: '#132257', position: 'Forward' })) } });
    const page = await openPage();
    server.pushTags('1', [tag(9, [1180, 300, 150, 190], { name: 'Alex Morgan', number: 13, teamColor: '#c8102e' })]);
    await page.waitForSelector('.fc-name-tag');
    await settle();
    server.pushTags('1', [tag(9, [1180, 300, 150, 190], { name: 'Alex Morgan', number: 13, teamColor: '#c8102e' })]);
    await sleep(200);
    const png = await page.screenshot({ omitBackground: true });
    writeFileSync('/tmp/graphics-sample.png', png);
    const rects = await page.evaluate(() =>
      [...document.querySelectorAll('.fc-graphic')].map((el) => {
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      }),
    );
    expect(rects.length).toBe(2);
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([1920, 1080]);
    // Shadows and the tag's caret reach a little past the elements' boxes.
    const PAD = 48;
    const inGraphic = (x: number, y: number) => rects.some((r) => x >= r.x - PAD && x < r.x + r.w + PAD && y >= r.y - PAD && y < r.y + r.h + PAD);
    let stray = 0;
    let drawn = 0;
    for (let y = 0; y < info.height; y++) {
      for (let x = 0; x < info.width; x++) {
        const a = data[(y * info.width + x) * 4 + 3];
        if (inGraphic(x, y)) drawn += a > 0 ? 1 : 0;
        else if (a !== 0) stray++;
      }
    }
    expect(stray).toBe(0);
    expect(drawn).toBeGreaterThan(20_000);
    server.setState(emptyState('1'));
    await page.close();
  });

  it('after a server restart, reconnects and shows the new state, never the old one', async () => {
    const first = await startOverlayTestServer({ states: [{ ...emptyState('1'), onAir: { lowerThird: lowerThird('old', player({ name: 'Old Name' })) } }] });
    const page = await openPage(first.url);
    await waitForName(page, 'Old Name', 2000);
    const { port } = first;
    await first.close();
    // Connection lost: what the server put up comes down, at once.
    await page.waitForFunction(() => !window.facecast.connected && !document.querySelector('#layer-lower-third .lt:not(.fc-out)'), null, { timeout: 2000 });
    // From here on, record every name that is put on air.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('#layer-lower-third .lt:not(.fc-out) .lt-name')) if (!seen.includes(el.textContent!)) seen.push(el.textContent!);
      }).observe(document.getElementById('layer-lower-third')!, { subtree: true, childList: true, characterData: true });
    });
    await sleep(1500); // a few reconnect attempts fail meanwhile
    const second = await startOverlayTestServer({ port, states: [{ ...emptyState('1'), mode: 'auto', onAir: { lowerThird: lowerThird('new', player({ name: 'New Name' })) } }] });
    try {
      await waitForName(page, 'New Name', 10_000);
      expect(await page.evaluate(() => window.facecast.state?.mode)).toBe('auto');
      expect(await page.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual(['New Name']);
    } finally {
      await page.close();
      await second.close();
    }
  });

  it('plays CasparCG update/play/next/stop from the console without a server connection', async () => {
    const own = await startOverlayTestServer();
    const page = await openPage(own.url);
    await own.close();
    await page.waitForFunction(() => !window.facecast.connected);
    await page.evaluate(() => {
      window.update(JSON.stringify({ name: 'Chris Doe', number: 9, team: 'Riverside', teamColor: '#0055aa', position: 'Keeper', stats: { Saves: 41, 'Clean sheets': 6 } }));
      window.play();
    });
    await waitForName(page, 'Chris Doe');
    expect(await page.evaluate(() => window.facecast.onAir)).toMatchObject({ card: 'intro', name: 'Chris Doe' });
    await page.evaluate((sel) => document.querySelector(sel)!.setAttribute('data-marker', 'caspar'), LT);
    await page.evaluate(() => window.next());
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute('data-card') === 'stats', LT);
    expect(await page.evaluate((sel) => [...document.querySelectorAll(`${sel} .lt-stat`)].map((e) => e.textContent), LT)).toEqual(['41Saves', '6Clean sheets']);
    // update() while playing changes the text in place (Graphic-like payload this time).
    await page.evaluate(() => window.update({ player: { name: 'Chris Doe-Smith', number: 9, stats: [{ label: 'Saves', value: '42' }] } }));
    await waitForName(page, 'Chris Doe-Smith');
    expect(await page.evaluate((sel) => document.querySelector(sel)!.getAttribute('data-marker'), LT)).toBe('caspar');
    await page.evaluate(() => window.stop());
    await page.waitForFunction(() => document.querySelectorAll('#layer-lower-third > *').length === 0, null, { timeout: 2000 });
    // CasparCG's classic XML template data works too.
    await page.evaluate(() => {
      window.update('<templateData><componentData id="name"><data id="text" value="Kim Min-jae"/></componentData><componentData id="number"><data id="text" value="4"/></componentData></templateData>');
      window.play();
    });
    await waitForName(page, 'Kim Min-jae');
    expect(await page.evaluate((sel) => document.querySelector(`${sel} .lt-number`)!.textContent, LT)).toBe('4');
    await page.close();
  });

  it('retries a stock template load the server cut short, so CasparCG play() works once it is back', async () => {
    const own = await startOverlayTestServer();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // Hold the stylesheet back, so the server goes down while the template is still loading.
    await page.route('**/lower-third/style.css', async (route) => {
      await sleep(1500);
      await route.continue().catch(() => route.abort());
    });
    await page.goto(`${own.url}/graphics?key=${OUTPUT_KEY}&channel=1`);
    await page.waitForFunction(() => window.facecast?.connected === true, null, { timeout: 10_000 });
    expect(await page.evaluate(() => window.facecast.templateReady)).toBe(false);
    const { port } = own;
    await own.close();
    await sleep(2500);
    expect(await page.evaluate(() => window.facecast.templateReady)).toBe(false);
    const back = await startOverlayTestServer({ port });
    let backUp = true;
    try {
      await page.waitForFunction(() => window.facecast.templateReady, null, { timeout: 15_000 });
      // Down again: the take must come from what the page already holds.
      await back.close();
      backUp = false;
      await page.evaluate(() => {
        window.update({ name: 'Late Loader', number: 1 });
        window.play();
      });
      await waitForName(page, 'Late Loader');
    } finally {
      await page.close();
      if (backUp) await back.close();
    }
  });

  it('renders Korean and very long Latin names in full: shrunk to fit, never clipped', async () => {
    server.setState(emptyState('1'));
    const page = await openPage();
    const measure = () =>
      page.evaluate((sel) => {
        const name = document.querySelector(`${sel} .lt-name`) as HTMLElement;
        const range = document.createRange();
        range.selectNodeContents(name);
        const text = range.getBoundingClientRect();
        const lt = document.querySelector(sel)!.getBoundingClientRect();
        return {
          scrollWidth: name.scrollWidth,
          clientWidth: name.clientWidth,
          textWidth: text.width,
          textRight: text.right,
          nameRight: name.getBoundingClientRect().right,
          fontSize: parseFloat(getComputedStyle(name).fontSize),
          wrapped: name.classList.contains('fc-fit-wrap'),
          overflow: getComputedStyle(name).textOverflow,
          ltRight: lt.right,
          rect: { x: text.x, y: text.y, w: text.width, h: text.height },
        };
      }, LT);

    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('ko', player({ name: '손흥민', team: '토트넘 홋스퍼', position: '공격수' })) } });
    await waitForName(page, '손흥민');
    await settle();
    const ko = await measure();
    expect(ko.scrollWidth).toBeLessThanOrEqual(ko.clientWidth);
    expect(ko.textWidth).toBeGreaterThan(100); // three full-size glyphs at ~60 px, not nothing
    // The glyphs are real: 손 and 흥 drawn with the page's font differ (missing-glyph boxes would be identical).
    const glyphs = await page.evaluate((sel) => {
      const cs = getComputedStyle(document.querySelector(`${sel} .lt-name`)!);
      const font = `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const draw = (ch: string) => {
        const c = document.createElement('canvas');
        c.width = c.height = 80;
        const g = c.getContext('2d')!;
        g.font = font;
        g.fillText(ch, 5, 60);
        return Array.from(g.getImageData(0, 0, 80, 80).data);
      };
      const a = draw('손');
      const b = draw('흥');
      return { inkA: a.filter((v, i) => i % 4 === 3 && v > 0).length, differ: a.some((v, i) => v !== b[i]) };
    }, LT);
    expect(glyphs.inkA).toBeGreaterThan(50);
    expect(glyphs.differ).toBe(true);
    const shot = await page.screenshot({ omitBackground: true, clip: { x: ko.rect.x, y: ko.rect.y, width: ko.rect.w, height: ko.rect.h } });
    const stats = await sharp(shot).ensureAlpha().raw().toBuffer();
    let ink = 0;
    for (let i = 0; i < stats.length; i += 4) if (stats[i] > 200 && stats[i + 1] > 200 && stats[i + 2] > 200) ink++;
    expect(ink).toBeGreaterThan(500); // white glyph pixels on the dark panel
    if (HAVE_NOTO_CJK) {
      expect(await page.evaluate(() => document.fonts.check('48px "Noto Sans CJK KR"'))).toBe(true);
      // Ask Chromium which installed font actually drew the name.
      const cdp = await page.context().newCDPSession(page);
      const { root } = await cdp.send('DOM.getDocument');
      const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#layer-lower-third .lt:not(.fc-out) .lt-name' });
      await cdp.send('CSS.enable');
      const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      expect(fonts.map((f) => f.familyName)).toContain('Noto Sans CJK KR');
    } else {
      console.warn('fonts-noto-cjk not installed: skipped the check that Hangul is drawn with Noto Sans CJK KR');
    }

    const long = 'Jean-Philippe Kouassi-Vanderbeek-Montgomery';
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('long', player({ name: long })) } });
    await waitForName(page, long);
    await settle();
    const lat = await measure();
    expect(lat.scrollWidth).toBeLessThanOrEqual(lat.clientWidth);
    expect(lat.textRight).toBeLessThanOrEqual(lat.nameRight + 0.5);
    expect(lat.overflow).not.toBe('ellipsis');
    expect(lat.wrapped).toBe(false); // shrinking was enough: one line
    expect(lat.fontSize).toBeLessThan(62); // it did have to shrink
    expect(lat.fontSize).toBeGreaterThanOrEqual(30); // still readable at 1080p
    expect(lat.ltRight).toBeLessThanOrEqual(1920);

    // The same holds for a name tag.
    server.pushTags('1', [tag(4, [900, 500, 120, 150], { name: long })]);
    await page.waitForSelector('.fc-name-tag[data-track-id="4"]');
    await sleep(400);
    const nt = await page.evaluate(() => {
      const el = document.querySelector('.fc-name-tag[data-track-id="4"] .nt-name') as HTMLElement;
      return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, text: el.textContent };
    });
    expect(nt.text).toBe(long);
    expect(nt.scrollWidth).toBeLessThanOrEqual(nt.clientWidth);
    server.setState(emptyState('1'));
    await page.close();
  });

  it("pauses animations while OBS hides the source and resyncs when it is shown", async () => {
    server.setState(emptyState('1'));
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.addInitScript(() => {
      window.obsstudio = { pluginVersion: '2.24.0' };
    });
    await page.goto(`${server.url}/graphics?key=${OUTPUT_KEY}&channel=1`);
    await page.waitForFunction(() => window.facecast?.connected === true);
    const hide = (visible: boolean) => page.evaluate((v) => window.dispatchEvent(new CustomEvent('obsSourceVisibleChanged', { detail: { visible: v } })), visible);
    await hide(false);
    expect(await page.evaluate(() => document.getElementById('stage')!.classList.contains('fc-paused'))).toBe(true);
    // Taken while hidden: it is there (paused) and shows complete once visible again.
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('obs', player({ name: 'Hidden Take' })) } });
    await waitForName(page, 'Hidden Take');
    await hide(true);
    expect(await page.evaluate(() => document.getElementById('stage')!.classList.contains('fc-paused'))).toBe(false);
    await sleep(100);
    const opacity = await page.evaluate((sel) => getComputedStyle(document.querySelector(`${sel} .lt-name`)!).opacity, LT);
    expect(opacity).toBe('1');
    expect(await nameOnAir(page)).toBe('Hidden Take');
    server.setState(emptyState('1'));
    await page.close();
  });
});
