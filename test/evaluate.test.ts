// `facecast eval`: the metric helpers on hand-made numbers, the HTML report's escaping and
// self-containedness on a synthetic result, and leave-one-out identification on the real 8 × 5
// gallery (wasm backend, fewer augmented views than the default, for time).
import { afterAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/shared/log.ts';
import { runEval } from '../src/cli/eval.ts';
import {
  confusionMatrix,
  equalErrorRate,
  EvalInputError,
  histogram,
  listIdentitySet,
  listNegativeImages,
  listStrangerImages,
  ratesAt,
  rocAuc,
  rocCurve,
  runnableConfigs,
  spreadSample,
  tarAtFar,
  type ConfigResult,
  type EvalResult,
} from '../src/recognition/evaluate.ts';
import { escapeHtml, renderReport } from '../src/recognition/report.ts';
import { haveFixtures } from './helpers/fixtures.ts';

const FIXTURES = fileURLToPath(new URL('../../shared/fixtures/', import.meta.url));
const GALLERY = join(FIXTURES, 'faces', 'gallery');
const PEOPLE = ['amy', 'bernadette', 'howard', 'leonard', 'penny', 'raj', 'sheldon', 'stuart'];

// ───────────── HTML checks ─────────────

const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);

/** Problems that make the page not well-formed: unbalanced tags, raw < > outside tags, bare &. */
function wellFormedProblems(html: string): string[] {
  const problems: string[] = [];
  if (!/^<!DOCTYPE html>\n/.test(html)) problems.push('does not start with <!DOCTYPE html>');
  const body = html.replace(/^<!DOCTYPE html>/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>/g;
  let last = 0;
  let text = '';
  for (const m of body.matchAll(tag)) {
    text += body.slice(last, m.index);
    last = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    const n = name!.toLowerCase();
    if (closing) {
      const open = stack.pop();
      if (open !== n) problems.push(`</${n}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClosing && !VOID.has(n)) stack.push(n);
  }
  text += body.slice(last);
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  if (/[<>]/.test(text)) problems.push(`raw < or > in text: …${text.slice(Math.max(0, text.search(/[<>]/) - 40), text.search(/[<>]/) + 40)}…`);
  const amp = text.match(/&(?!(?:amp|lt|gt|quot|#39);)[^\s]{0,10}/);
  if (amp) problems.push(`bare ampersand: ${amp[0]}`);
  return problems;
}

function expectSelfContained(html: string): void {
  expect(html).not.toMatch(/https?:\/\//i);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<link\b/i);
  expect(html).not.toMatch(/<img\b/i);
  expect(html).not.toMatch(/url\(/i);
  expect(html).not.toMatch(/@import/i);
}

// ───────────── metric helpers ─────────────

describe('metric helpers', () => {
  it('ROC of distances: one point per distinct value, from (0, 0) to (1, 1)', () => {
    // genuine: 0.2 0.3 0.5; impostor: 0.4 0.5 0.6 0.7. Accept d ≤ t.
    const pts = rocCurve([0.3, 0.2, 0.5], [0.7, 0.4, 0.6, 0.5], true);
    expect(pts.map((p) => [p.threshold, p.far, p.tar])).toEqual([
      [-Infinity, 0, 0],
      [0.2, 0, 1 / 3],
      [0.3, 0, 2 / 3],
      [0.4, 0.25, 2 / 3],
      [0.5, 0.5, 1],
      [0.6, 0.75, 1],
      [0.7, 1, 1],
    ]);
    expect(tarAtFar(pts, 0)).toBeCloseTo(2 / 3);
    expect(tarAtFar(pts, 0.3)).toBeCloseTo(2 / 3);
    expect(tarAtFar(pts, 0.5)).toBe(1);
    // Miss rate 1/3 at FAR 0.25 (t = 0.4) and 0 at FAR 0.5 (t = 0.5): the closest crossing is t = 0.4.
    expect(equalErrorRate(pts)).toBeCloseTo((1 / 3 + 0.25) / 2);
    // AUC by trapezoids: 0.25·(2/3) + 0.25·(2/3+1)/2 + 0.5·1.
    expect(rocAuc(pts)).toBeCloseTo(0.25 * (2 / 3) + (0.25 * (2 / 3 + 1)) / 2 + 0.5);
    expect(ratesAt([0.3, 0.2, 0.5], [0.7, 0.4, 0.6, 0.5], 0.45, true)).toEqual({ tar: 2 / 3, far: 0.25 });
  });

  it('ROC of probabilities accepts high scores, and separable scores give AUC 1 and EER 0', () => {
    const pts = rocCurve([0.9, 0.8], [0.1, 0.3, 0.2], false);
    expect(pts[0]).toEqual({ threshold: Infinity, far: 0, tar: 0 });
    expect(pts[1]).toEqual({ threshold: 0.9, far: 0, tar: 0.5 });
    expect(pts[2]).toEqual({ threshold: 0.8, far: 0, tar: 1 });
    expect(pts.at(-1)).toEqual({ threshold: 0.1, far: 1, tar: 1 });
    expect(rocAuc(pts)).toBe(1);
    expect(equalErrorRate(pts)).toBe(0);
    expect(ratesAt([0.9, 0.8], [0.1, 0.3, 0.2], 0.3, false)).toEqual({ tar: 1, far: 1 / 3 });
  });

  it('ties between a genuine and an impostor score move both rates in one step', () => {
    const pts = rocCurve([0.5], [0.5], true);
    expect(pts).toEqual([
      { threshold: -Infinity, far: 0, tar: 0 },
      { threshold: 0.5, far: 1, tar: 1 },
    ]);
    expect(rocAuc(pts)).toBeCloseTo(0.5);
  });

  it('histogram: equal bins, edges to the upper bin, out-of-range values clamped, non-finite dropped', () => {
    const h = histogram([0, 0.1, 0.25, 0.5, 0.74, 0.75, 1, 1.7, -3, NaN, Infinity], 0, 1, 4);
    expect(h.binWidth).toBe(0.25);
    // [0, .25): 0, 0.1, −3 → 3; [.25, .5): 0.25; [.5, .75): 0.5, 0.74; [.75, 1]: 0.75, 1, 1.7
    expect(h.counts).toEqual([3, 1, 2, 3]);
    expect(h.total).toBe(9);
    expect(() => histogram([1], 1, 1, 4)).toThrow(/max > min/);
  });

  it('confusion matrix: rows true identity, columns identities + unknown (+ no face)', () => {
    const m = confusionMatrix(
      ['a', 'b'],
      [
        { label: 'a', predicted: 'a', detected: true },
        { label: 'a', predicted: 'b', detected: true },
        { label: 'b', predicted: null, detected: true },
        { label: 'b', predicted: 'b', detected: true },
        { label: 'b', predicted: null, detected: false },
      ],
    );
    expect(m.columns).toEqual(['a', 'b', 'unknown', 'no face']);
    expect(m.counts).toEqual([
      [1, 1, 0, 0],
      [0, 1, 1, 1],
    ]);
    expect(confusionMatrix(['a'], [{ label: 'a', predicted: 'a', detected: true }]).columns).toEqual(['a', 'unknown']);
  });

  it('spreadSample takes one item per group across the whole list before second items', () => {
    const groups = Array.from({ length: 10 }, (_, g) => Array.from({ length: 3 }, (_, i) => `${g}.${i}`));
    expect(spreadSample(groups, 4)).toEqual(['0.0', '2.0', '5.0', '7.0']);
    expect(spreadSample(groups, 12)).toEqual([...groups.map((g) => g[0]), '0.1', '5.1']);
    expect(spreadSample(groups, 100)).toHaveLength(30);
    expect(spreadSample([['x'], [], ['y', 'z']], 3)).toEqual(['x', 'y', 'z']);
  });

  it('runs "negatives on" configurations only when there are negatives', () => {
    const all = ['original', 'original+negatives', 'augmented', 'augmented+negatives'] as const;
    expect(runnableConfigs(all, true)).toEqual([...all]);
    expect(runnableConfigs(all, false)).toEqual(['original', 'augmented']);
  });

  it('reads a folder-per-identity set in natural order, ignoring what is not <dir>/<person>/<image>', () => {
    const root = mkdtempSync(join(tmpdir(), 'facecast-eval-set-'));
    try {
      for (const [f, body] of [['b/b10.png', 'x'], ['b/b2.png', 'x'], ['a/a1.jpg', 'x'], ['a/notes.txt', 'x'], ['loose.png', 'x'], ['a/deeper/a9.png', 'x']]) {
        mkdirSync(join(root, f, '..'), { recursive: true });
        writeFileSync(join(root, f), body);
      }
      const set = listIdentitySet(root);
      expect(set.identities).toEqual(['a', 'b']);
      expect(set.images.map((i) => `${i.label}:${i.file.slice(root.length + 1)}`)).toEqual(['a:a/a1.jpg', 'b:b/b2.png', 'b:b/b10.png']);
      expect(set.ignored.map((f) => f.slice(root.length + 1)).sort()).toEqual(['a/deeper', 'a/notes.txt', 'loose.png']);
      rmSync(join(root, 'b'), { recursive: true });
      expect(() => listIdentitySet(root)).toThrow(EvalInputError);
      expect(() => listIdentitySet(join(root, 'missing'))).toThrow(/cannot read/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.skipIf(!haveFixtures('evaluate.test.ts: LFW negatives', 'lfw-view1'))('negatives from LFW are spread over different people', () => {
    const picked = listNegativeImages(join(FIXTURES, 'lfw-view1'), 50);
    expect(picked).toHaveLength(50);
    expect(new Set(picked.map((p) => p.group)).size).toBe(50);
    expect(picked[0]!.group < picked[49]!.group).toBe(true);
  });

  it.skipIf(!haveFixtures('evaluate.test.ts: LFW strangers', 'lfw-view1'))('unseen strangers from the negatives folder leave out every person taken as a negative', () => {
    const lfw = join(FIXTURES, 'lfw-view1');
    const negatives = new Set(listNegativeImages(lfw, 300).map((p) => p.group));
    const all = listStrangerImages(lfw, 0, new Set());
    const unseen = listStrangerImages(lfw, 0, negatives);
    expect(negatives.size).toBe(300);
    expect(unseen.some((s) => negatives.has(s.group))).toBe(false);
    expect(unseen.length).toBe(all.filter((s) => !negatives.has(s.group)).length);
    expect(unseen.length).toBeLessThan(all.length - 300);
    const some = listStrangerImages(lfw, 40, negatives);
    expect(some).toHaveLength(40);
    expect(new Set(some.map((s) => s.group)).size).toBe(40);
  });
});

// ───────────── the report on a synthetic result ─────────────

function syntheticResult(): EvalResult {
  const names = ['Zoë <b>"x"</b>', "O'Neil & Sons", 'plain'];
  const trials = [
    { file: '/g/a&b/1.png', label: names[0]!, detected: true, predicted: names[0]!, outcome: 'correct' as const, best: names[0]!, probability: 0.9, margin: 0.8, distance: 0.2, rejectedBy: [] },
    { file: '/g/<c>/2.png', label: names[1]!, detected: true, predicted: null, outcome: 'unknown' as const, best: names[1]!, probability: 0.4, margin: 0.2, distance: 0.45, rejectedBy: ['probability' as const], thresholds: { pMin: 0.5, marginMin: 0.1, distMax: 0.5 } },
    { file: '/g/plain/3.png', label: names[2]!, detected: false, predicted: null, outcome: 'not-detected' as const },
  ];
  const k: ConfigResult = {
    name: 'augmented+negatives',
    unseenStrangers: { faces: 0, named: [], rate: 0 },
    augmentation: true,
    negatives: true,
    negativeFaces: 3,
    images: 3,
    detected: 2,
    correct: 1,
    misidentified: 0,
    unknown: 1,
    notDetected: 1,
    accuracy: 1 / 3,
    misidentificationRate: 0,
    unknownRate: 1 / 3,
    strangerTrials: 2,
    falseAccepts: 1,
    falseAcceptRate: 0.5,
    trainings: 5,
    meanTrainMs: 12,
    totalMs: 60,
    full: { C: 1, thresholds: { pMin: 0.6, marginMin: 0.2, distMax: 0.4 }, trainingMs: 10, genuineAcceptRate: 1, falseAcceptRate: 0 },
    looThresholds: { pMin: { min: 0.5, median: 0.55, max: 0.6 }, marginMin: { min: 0.1, median: 0.1, max: 0.2 }, distMax: { min: 0.4, median: 0.45, max: 0.5 } },
    trials,
    strangers: [
      { file: '/g/a&b/1.png', label: names[0]!, predicted: names[1]!, best: names[1]!, probability: 0.7, margin: 0.5, distance: 0.3 },
      { file: '/g/<c>/2.png', label: names[1]!, predicted: null, best: names[0]!, probability: 0.2, margin: 0.1, distance: 0.6 },
    ],
    confusion: confusionMatrix(names, trials),
    warnings: [],
  };
  return {
    dir: '/data/<script>alert(1)</script>',
    identities: names,
    images: 3,
    detected: 2,
    failures: [{ file: '/g/plain/3.png', label: 'plain', status: 'no-face', message: '/g/plain/3.png: no face found <here>' }],
    ignoredFiles: [],
    views: 12,
    negatives: { folder: '/n/&', folderImages: 2, folderFaces: 2, builtinImages: 1, builtinFaces: 1, failed: ['/n/x.jpg: no face found'] },
    quick: false,
    defaultConfig: 'augmented+negatives',
    configs: [k, { ...k, name: 'original' }],
    pairs: { genuine: [0.2, 0.3], impostor: [0.5, 0.6, 0.7], negative: [0.45, 0.8] },
    timings: { embedMs: 1, negativesMs: 1, strangersMs: 0, trainMs: 1, totalMs: 3 },
  };
}

describe('HTML report', () => {
  it('escapes every piece of text and stays well-formed and self-contained', () => {
    const html = renderReport(syntheticResult(), { verifyThreshold: 0.55, generatedAt: '2024-01-01T00:00:00Z' });
    expect(wellFormedProblems(html)).toEqual([]);
    expectSelfContained(html);
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).toContain(escapeHtml('Zoë <b>"x"</b>'));
    expect(html).toContain('O&#39;Neil &amp; Sons');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(/<svg id="roc"/);
    expect(html).toContain('verifyThreshold = 0.550');
  });

  it('escapeHtml covers the five special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

// ───────────── the real gallery ─────────────

describe.skipIf(!haveFixtures('evaluate.test.ts: the gallery evaluation', 'faces/gallery'))('facecast eval on the 8 × 5 gallery', () => {
  const dir = mkdtempSync(join(tmpdir(), 'facecast-eval-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let result: EvalResult;
  let printed: Record<string, unknown>;

  it('runs the honest protocol (augmented views, LFW and built-in negatives, unseen LFW strangers), prints JSON and writes the report', { timeout: 600_000 }, async () => {
    // The core augmentation set (6 views) instead of the default 12, for time.
    const config = loadConfig({ env: {}, overrides: { logLevel: 'silent', vision: { backend: 'wasm' }, enrolment: { views: 6 } } });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      // 100 LFW people as negatives (the README's advice: give it negatives) and 60 others, never
      // seen in training, as the unseen strangers.
      const lfw = join(FIXTURES, 'lfw-view1');
      const negatives = { negatives: lfw, negativesLimit: 100, strangers: lfw, strangersLimit: 60 };
      result = await runEval(GALLERY, { json: true, builtinNegatives: true, ...negatives, report: join(dir, 'eval.html'), configs: ['augmented+negatives'] }, config, silentLogger);
      printed = JSON.parse(String(write.mock.calls.at(-1)![0])) as Record<string, unknown>;
    } finally {
      write.mockRestore();
    }
    expect(result.identities).toEqual(PEOPLE);
    expect(result.images).toBe(40);
    expect(result.detected).toBe(40);
    expect(result.negatives.builtinFaces).toBeGreaterThan(5);
    expect(result.configs.map((k) => k.name)).toEqual(['augmented+negatives']);
    expect(result.configs[0]!.trainings).toBe(40 + 8);
    expect(printed).toMatchObject({ identities: 8, images: 40, detected: 40, defaultConfig: 'augmented+negatives' });
    for (const key of ['accuracy', 'falseAcceptRate', 'unknownRate', 'misidentificationRate']) expect(typeof printed[key]).toBe('number');
    expect(printed.thresholds).toMatchObject({ verifyThreshold: config.recognition.verifyThreshold });
  });

  it('the best guess is the right person for every held-out crop, and no stranger gets a name', () => {
    const k = result.configs[0]!;
    expect(k.trials.filter((t) => t.best !== t.label).map((t) => `${t.file} → ${t.best}`)).toEqual([]);
    expect(k.misidentified).toBe(0);
    expect(k.strangerTrials).toBe(40);
    expect(k.strangers.filter((s) => s.predicted !== null).map((s) => `${s.file} named ${s.predicted}`)).toEqual([]);
  });

  it('puts 60 LFW strangers, never seen in training, to the trained classifier: none gets a name', () => {
    expect(result.unseenStrangers).toMatchObject({ images: 60, failed: [] });
    const k = result.configs[0]!.unseenStrangers;
    expect(k.faces).toBeGreaterThanOrEqual(60);
    expect(k.named.map((s) => `${s.file} named ${s.predicted} (p ${s.probability.toFixed(3)})`)).toEqual([]);
    expect(printed.unseenStrangerRate).toBe(0);
    expect(readFileSync(join(dir, 'eval.html'), 'utf8')).toMatch(/<th>unseen strangers named<\/th>/);
  });

  it('leave-one-out names every detected crop correctly (product requirement)', () => {
    const k = result.configs[0]!;
    const wrong = k.trials
      .filter((t) => t.detected && t.outcome !== 'correct')
      .map(
        (t) =>
          `${t.file}: ${t.outcome} (best ${t.best} p=${t.probability?.toFixed(3)} margin=${t.margin?.toFixed(3)} d=${t.distance?.toFixed(3)}, ` +
          `failed ${t.rejectedBy?.join('+')} of pMin=${t.thresholds?.pMin.toFixed(3)} marginMin=${t.thresholds?.marginMin.toFixed(3)} distMax=${t.thresholds?.distMax.toFixed(3)})`,
      );
    expect(wrong).toEqual([]);
    expect(k.accuracy).toBe(1);
  });

  it('the report is one well-formed, self-contained page with the ROC and the confusion matrix', () => {
    const html = readFileSync(join(dir, 'eval.html'), 'utf8');
    expect(wellFormedProblems(html)).toEqual([]);
    expectSelfContained(html);
    const roc = html.match(/<svg id="roc"[\s\S]*?<\/svg>/)?.[0] ?? '';
    expect(roc).toMatch(/<polyline points="[\d., -]+"/);
    const confusion = html.match(/<table class="confusion" id="confusion">[\s\S]*?<\/table>/)?.[0] ?? '';
    for (const p of PEOPLE) expect(confusion).toContain(`<th>${p}</th>`);
    expect(confusion).toContain('<th>unknown</th>');
    expect((confusion.match(/<tr>/g) ?? []).length).toBe(1 + PEOPLE.length);
    expect(html).toMatch(/<svg id="hist-distance"/);
    expect(html).toMatch(/<svg id="hist-probability"/);
  });
});
