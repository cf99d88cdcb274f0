// The `facecast eval --report` page: one self-contained HTML file (inline CSS, inline SVG drawn
// here, no scripts, no external assets) with the ROC curves, score histograms with the thresholds
// marked, the leave-one-out confusion matrix and the summary table. Every piece of text goes
// through one escaping template tag, and every element is closed, so the page is also well-formed XML.
import {
  classifierScores,
  equalErrorRate,
  histogram,
  ratesAt,
  rocAuc,
  rocCurve,
  tarAtFar,
  UNKNOWN_COLUMN,
  NO_FACE_COLUMN,
  type ConfigResult,
  type ConfusionMatrix,
  type EvalResult,
  type RocPoint,
} from './evaluate.ts';

// ───────────────────────────── escaping ─────────────────────────────

/** Markup that is already escaped. */
class Raw {
  constructor(readonly html: string) {}
}
type Part = Raw | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function renderPart(p: Part): string {
  if (p instanceof Raw) return p.html;
  if (Array.isArray(p)) return p.map(renderPart).join('');
  if (p === null || p === undefined || p === false || p === true) return '';
  return escapeHtml(String(p));
}

/** Template tag: interpolated values are escaped unless they are Raw (built by this same tag). */
function h(strings: TemplateStringsArray, ...parts: Part[]): Raw {
  let out = strings[0]!;
  parts.forEach((p, i) => {
    out += renderPart(p) + strings[i + 1]!;
  });
  return new Raw(out);
}

// ───────────────────────────── formatting ─────────────────────────────

const pct = (v: number, digits = 1) => (Number.isFinite(v) ? `${(v * 100).toFixed(digits)} %` : '–');
const num = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
/** Coordinates: short and locale-free. */
const c = (v: number) => (Math.round(v * 10) / 10).toString();
/** Tick labels: at most two decimals, no trailing zeros. */
const tick = (v: number) => String(Number(v.toFixed(2)));
/** Largest finite value of several arrays (no spread: the pair lists can be long). */
function maxOf(floor: number, ...lists: readonly (readonly number[])[]): number {
  let m = floor;
  for (const l of lists) for (const v of l) if (Number.isFinite(v) && v > m) m = v;
  return m;
}

const COLORS = { genuine: '#2a9d4b', impostor: '#d1495b', negative: '#e09f1f', stranger: '#d1495b', classifier: '#3b6fb6', threshold: '#333' };

// ───────────────────────────── SVG charts ─────────────────────────────

interface Series {
  name: string;
  color: string;
  points: [number, number][];
  dashed?: boolean;
}

interface Marker {
  x: number;
  y: number;
  label: string;
  color: string;
}

const W = 640;
const H = 380;
const M = { left: 62, right: 18, bottom: 52 };

function linearTicks(min: number, max: number, count = 5): number[] {
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function farLabel(v: number): string {
  const p = v * 100;
  return p >= 1 ? `${p.toFixed(0)}%` : `${p.toPrecision(1)}%`;
}

/** An ROC chart: TAR (linear) against FAR on a log axis; FAR = 0 is drawn on the left edge. */
function rocChart(id: string, title: string, series: Series[], markers: Marker[], farMin: number): Raw {
  const leg = legend(series.map((s) => ({ name: s.name, color: s.color })));
  const top = leg.height + 8;
  const lo = Math.log10(farMin);
  // Zoom the TAR axis to where the curves are once they enter the plot (at FAR = farMin).
  const tarMin = Math.max(0, Math.floor(Math.min(...series.map((s) => tarAtFar(s.points.map(([far, tar]) => ({ far, tar, threshold: 0 })), farMin))) * 10) / 10 - 0.1);
  const x = (far: number) => M.left + ((Math.log10(Math.max(far, farMin)) - lo) / -lo) * (W - M.left - M.right);
  const y = (tar: number) => H - M.bottom - ((Math.max(tar, tarMin) - tarMin) / (1 - tarMin)) * (H - top - M.bottom);
  const decades: number[] = [];
  for (let k = Math.round(lo); k <= 0; k++) decades.push(10 ** k);
  const grid = [
    ...decades.map((d) => h`<line x1="${c(x(d))}" y1="${c(top)}" x2="${c(x(d))}" y2="${c(H - M.bottom)}" class="grid" /><text x="${c(x(d))}" y="${c(H - M.bottom + 16)}" text-anchor="middle">${farLabel(d)}</text>`),
    ...linearTicks(tarMin, 1).map((t) => h`<line x1="${c(M.left)}" y1="${c(y(t))}" x2="${c(W - M.right)}" y2="${c(y(t))}" class="grid" /><text x="${c(M.left - 6)}" y="${c(y(t) + 4)}" text-anchor="end">${`${Math.round(t * 100)}%`}</text>`),
  ];
  // Thousands of pair distances give thousands of points: keep one per distinct pixel position.
  const polyline = (pts: [number, number][]) => pts.map(([f, t]) => `${c(x(f))},${c(y(t))}`).filter((p, i, all) => i === 0 || p !== all[i - 1]);
  const lines = series.map(
    (s) => h`<polyline points="${polyline(s.points).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? new Raw(' stroke-dasharray="6 4"') : ''} />`,
  );
  const marks = markers.map((m, i) => {
    const right = x(m.x) + 8 + m.label.length * 6.2 > W - M.right;
    return h`<circle cx="${c(x(m.x))}" cy="${c(y(m.y))}" r="4.5" fill="${m.color}" stroke="#fff" stroke-width="1.5" /><text x="${c(x(m.x) + (right ? -8 : 8))}" y="${c(y(m.y) + 16 + i * 14)}" text-anchor="${right ? 'end' : 'start'}" class="mark">${m.label}</text>`;
  });
  return h`<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}">
<title>${title}</title>
<rect x="${c(M.left)}" y="${c(top)}" width="${c(W - M.left - M.right)}" height="${c(H - top - M.bottom)}" class="plot" />
${grid}
${lines}
${marks}
${leg.svg}
<text x="${c((M.left + W - M.right) / 2)}" y="${c(H - 12)}" text-anchor="middle" class="axis">false accept rate (log scale; 0 drawn at the left edge)</text>
<text transform="translate(16 ${c((top + H - M.bottom) / 2)}) rotate(-90)" text-anchor="middle" class="axis">true accept rate</text>
</svg>`;
}

/** Legend items flowed left to right above the plot; returns the markup and the height it takes. */
function legend(items: { name: string; color: string }[]): { svg: Raw; height: number } {
  const placed: Raw[] = [];
  let x0 = M.left;
  let row = 0;
  for (const it of items) {
    const width = 26 + it.name.length * 6.2;
    if (x0 > M.left && x0 + width > W - M.right) {
      row++;
      x0 = M.left;
    }
    const y0 = 8 + row * 17;
    placed.push(h`<rect x="${c(x0)}" y="${c(y0)}" width="14" height="10" fill="${it.color}" fill-opacity="0.6" stroke="${it.color}" /><text x="${c(x0 + 19)}" y="${c(y0 + 9)}">${it.name}</text>`);
    x0 += width + 14;
  }
  return { svg: h`<g class="legend">${placed}</g>`, height: 8 + (row + 1) * 17 };
}

interface HistSeries {
  name: string;
  color: string;
  values: number[];
}

interface ThresholdLine {
  value: number;
  label: string;
  dashed?: boolean;
}

/** Overlaid histograms, each normalised to its own total (share of that series per bin). */
function histogramChart(id: string, title: string, xLabel: string, series: HistSeries[], lines: ThresholdLine[], min: number, max: number, bins: number): Raw {
  const hists = series.map((s) => ({ ...s, h: histogram(s.values, min, max, bins) }));
  const leg = legend(hists.map((s) => ({ name: `${s.name} (n = ${s.h.total})`, color: s.color })));
  const top = leg.height + 8;
  const peak = Math.max(0.01, ...hists.flatMap((s) => s.h.counts.map((n) => (s.h.total ? n / s.h.total : 0))));
  const x = (v: number) => M.left + ((v - min) / (max - min)) * (W - M.left - M.right);
  // Leave room above the tallest bar for the threshold labels.
  const headroom = 0.86 - 0.04 * lines.length;
  const y = (share: number) => H - M.bottom - (share / peak) * (H - top - M.bottom) * headroom;
  const grid = [
    ...linearTicks(min, max, 8).map((t) => h`<line x1="${c(x(t))}" y1="${c(H - M.bottom)}" x2="${c(x(t))}" y2="${c(H - M.bottom + 4)}" class="axisline" /><text x="${c(x(t))}" y="${c(H - M.bottom + 16)}" text-anchor="middle">${tick(t)}</text>`),
    ...linearTicks(0, peak / headroom, 4).map((t) => h`<line x1="${c(M.left)}" y1="${c(y(t))}" x2="${c(W - M.right)}" y2="${c(y(t))}" class="grid" /><text x="${c(M.left - 6)}" y="${c(y(t) + 4)}" text-anchor="end">${`${Math.round(t * 100)}%`}</text>`),
  ];
  const bars = hists.map((s) => {
    if (!s.h.total) return h``;
    let d = `M${c(x(min))},${c(y(0))}`;
    s.h.counts.forEach((n, i) => {
      const share = n / s.h.total;
      d += ` L${c(x(min + i * s.h.binWidth))},${c(y(share))} L${c(x(min + (i + 1) * s.h.binWidth))},${c(y(share))}`;
    });
    d += ` L${c(x(max))},${c(y(0))} Z`;
    return h`<path d="${d}" fill="${s.color}" fill-opacity="0.25" stroke="${s.color}" stroke-width="1.5" />`;
  });
  const marks = lines
    .filter((l) => Number.isFinite(l.value))
    .map((l, i) => {
      const xv = x(Math.min(max, Math.max(min, l.value)));
      const text = `${l.label} = ${num(l.value)}`;
      const anchor = xv + 6 + text.length * 6.2 > W - M.right ? 'end' : 'start';
      const dx = anchor === 'end' ? -4 : 4;
      return h`<line x1="${c(xv)}" y1="${c(top)}" x2="${c(xv)}" y2="${c(H - M.bottom)}" stroke="${COLORS.threshold}" stroke-width="1.5"${l.dashed ? new Raw(' stroke-dasharray="5 3"') : ''} /><text x="${c(xv + dx)}" y="${c(top + 12 + i * 14)}" text-anchor="${anchor}" class="mark">${text}</text>`;
    });
  return h`<svg id="${id}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}">
<title>${title}</title>
<rect x="${c(M.left)}" y="${c(top)}" width="${c(W - M.left - M.right)}" height="${c(H - top - M.bottom)}" class="plot" />
${grid}
${bars}
${marks}
${leg.svg}
<text x="${c((M.left + W - M.right) / 2)}" y="${c(H - 12)}" text-anchor="middle" class="axis">${xLabel}</text>
<text transform="translate(16 ${c((top + H - M.bottom) / 2)}) rotate(-90)" text-anchor="middle" class="axis">share of each kind per bin</text>
</svg>`;
}

// ───────────────────────────── tables ─────────────────────────────

function summaryTable(r: EvalResult): Raw {
  const unseen = r.unseenStrangers !== undefined;
  return h`<table class="summary">
<thead><tr><th>config</th><th>images</th><th>detected</th><th>accuracy</th><th>misidentified</th><th>unknown rate</th><th>false-accept rate</th>${unseen ? h`<th>unseen strangers named</th>` : ''}<th>mean train ms</th><th>C</th><th>pMin</th><th>marginMin</th><th>distMax</th></tr></thead>
<tbody>${r.configs.map(
    (k) => h`<tr${k.name === r.defaultConfig ? new Raw(' class="default"') : ''}><td>${k.name}</td><td>${k.images}</td><td>${k.detected}</td><td>${pct(k.accuracy)} (${k.correct})</td><td>${k.misidentified}</td><td>${pct(k.unknownRate)} (${k.unknown})</td><td>${pct(k.falseAcceptRate)} (${k.falseAccepts}/${k.strangerTrials})</td>${unseen ? h`<td>${pct(k.unseenStrangers.rate)} (${k.unseenStrangers.named.length}/${k.unseenStrangers.faces})</td>` : ''}<td>${Math.round(k.meanTrainMs)}</td><td>${k.full.C}</td><td>${num(k.full.thresholds.pMin)}</td><td>${num(k.full.thresholds.marginMin)}</td><td>${num(k.full.thresholds.distMax)}</td></tr>`,
  )}</tbody>
</table>`;
}

function confusionTable(m: ConfusionMatrix, id: string): Raw {
  const cell = (row: number, col: number, n: number, total: number) => {
    const name = m.columns[col]!;
    const share = total ? n / total : 0;
    const kind = name === UNKNOWN_COLUMN || name === NO_FACE_COLUMN ? 'miss' : col === row ? 'hit' : 'wrong';
    const rgb = kind === 'hit' ? '42,157,75' : kind === 'wrong' ? '209,73,91' : '120,120,120';
    if (n === 0) return h`<td class="${kind}">·</td>`;
    return h`<td class="${kind}" style="${`background: rgba(${rgb},${(0.15 + 0.7 * share).toFixed(2)})`}">${n}</td>`;
  };
  return h`<table class="confusion" id="${id}">
<thead><tr><th class="corner">true ↓ / predicted →</th>${m.columns.map((col) => h`<th>${col}</th>`)}</tr></thead>
<tbody>${m.labels.map((label, r) => {
    const row = m.counts[r]!;
    const total = row.reduce((a, b) => a + b, 0);
    return h`<tr><th>${label}</th>${row.map((n, col) => cell(r, col, n, total))}</tr>`;
  })}</tbody>
</table>`;
}

function trialTable(k: ConfigResult): Raw {
  const bad = k.trials.filter((t) => t.outcome !== 'correct');
  if (bad.length === 0) return h`<p>Every held-out image was named correctly.</p>`;
  return h`<table class="trials">
<thead><tr><th>image</th><th>true</th><th>outcome</th><th>best guess</th><th>probability</th><th>margin</th><th>distance</th><th>failed gates</th><th>that classifier's pMin / marginMin / distMax</th></tr></thead>
<tbody>${bad.map(
    (t) => h`<tr><td>${t.file}</td><td>${t.label}</td><td>${t.outcome}</td><td>${t.best ?? '–'}</td><td>${num(t.probability ?? NaN)}</td><td>${num(t.margin ?? NaN)}</td><td>${num(t.distance ?? NaN)}</td><td>${(t.rejectedBy ?? []).join(', ')}</td><td>${t.thresholds ? `${num(t.thresholds.pMin)} / ${num(t.thresholds.marginMin)} / ${num(t.thresholds.distMax)}` : '–'}</td></tr>`,
  )}</tbody>
</table>`;
}

function strangerTable(k: ConfigResult): Raw {
  const accepted = k.strangers.filter((s) => s.predicted !== null);
  if (accepted.length === 0) return h`<p>No stranger was given a name (${k.strangerTrials} trials).</p>`;
  return h`<table class="trials">
<thead><tr><th>image of (left out)</th><th>named as</th><th>probability</th><th>margin</th><th>distance</th></tr></thead>
<tbody>${accepted.map((s) => h`<tr><td>${s.file}</td><td>${s.predicted}</td><td>${num(s.probability)}</td><td>${num(s.margin)}</td><td>${num(s.distance)}</td></tr>`)}</tbody>
</table>`;
}

// ───────────────────────────── the page ─────────────────────────────

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px auto; max-width: 1360px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; } code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
table { border-collapse: collapse; margin: 8px 0; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th { background: #f6f6f6; } td:first-child, th:first-child { text-align: left; }
tr.default td { font-weight: 600; }
table.confusion td { text-align: center; min-width: 44px; } table.confusion th.corner { font-weight: normal; color: #666; }
table.trials td { font-size: 13px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; } figure { margin: 0; } figcaption { color: #555; max-width: 640px; font-size: 13px; }
svg.chart { font: 11px system-ui, sans-serif; background: #fff; max-width: 100%; height: auto; }
svg.chart .plot { fill: #fcfcfc; stroke: #bbb; } svg.chart .grid { stroke: #e4e4e4; } svg.chart .axisline { stroke: #999; }
svg.chart text { fill: #444; } svg.chart .axis { font-size: 12px; fill: #222; } svg.chart .mark { font-size: 11px; fill: #111; }
details { margin: 8px 0; } summary { cursor: pointer; font-weight: 600; }
`;

export interface ReportOptions {
  /** config.recognition.verifyThreshold: the 1:1 verification distance. */
  verifyThreshold: number;
  /** Shown in the header (default: now). */
  generatedAt?: string;
  backend?: string;
}

/** The report page for an evaluation result. */
export function renderReport(r: EvalResult, opts: ReportOptions): string {
  const def = r.configs.find((k) => k.name === r.defaultConfig) ?? r.configs[0]!;
  const { genuine, impostor, negative } = r.pairs;
  const scores = classifierScores(def);
  const nImpostor = Math.max(impostor.length, negative.length, scores.impostor.p.length, 10);
  const farMin = 10 ** Math.max(-6, Math.floor(Math.log10(1 / nImpostor)));
  const t = def.full.thresholds;

  const rocPairs = rocCurve(genuine, impostor, true);
  const rocNeg = rocCurve(genuine, negative, true);
  const rocClf = rocCurve(scores.genuine.p, scores.impostor.p, false);
  const series: Series[] = [
    { name: `distance: players vs players (AUC ${num(rocAuc(rocPairs))})`, color: COLORS.impostor, points: rocPairs.map((p) => [p.far, p.tar]) },
    ...(negative.length ? [{ name: `distance: players vs negatives (AUC ${num(rocAuc(rocNeg))})`, color: COLORS.negative, points: rocNeg.map((p): [number, number] => [p.far, p.tar]) }] : []),
    { name: `classifier probability, ${def.name}`, color: COLORS.classifier, points: rocClf.map((p) => [p.far, p.tar]), dashed: true },
  ];
  const atVerify = ratesAt(genuine, impostor, opts.verifyThreshold, true);
  const atPMin = ratesAt(scores.genuine.p, scores.impostor.p, t.pMin, false);
  const markers: Marker[] = [
    { x: atVerify.far, y: atVerify.tar, label: `verifyThreshold ${num(opts.verifyThreshold, 2)}`, color: COLORS.impostor },
    { x: atPMin.far, y: atPMin.tar, label: `pMin ${num(t.pMin)}`, color: COLORS.classifier },
  ];

  const distTop = Math.ceil(maxOf(Math.max(0.8, opts.verifyThreshold), genuine, impostor, negative) * 10) / 10;
  const nearTop = Math.ceil(maxOf(Math.max(0.6, t.distMax), scores.genuine.d, scores.impostor.d) * 10) / 10;
  const rocRows = (name: string, pts: RocPoint[]) =>
    h`<tr><td>${name}</td><td>${pct(equalErrorRate(pts), 2)}</td><td>${pct(tarAtFar(pts, 0.01))}</td><td>${pct(tarAtFar(pts, 0.001))}</td><td>${pct(tarAtFar(pts, 0))}</td><td>${num(rocAuc(pts), 4)}</td></tr>`;

  const page = h`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${`facecast eval: ${r.dir}`}</title>
<style>${new Raw(CSS)}</style>
</head>
<body>
<h1>facecast eval</h1>
<p class="meta"><code>${r.dir}</code>: ${r.identities.length} identities, ${r.images} images, ${r.detected} with exactly one face; ${r.views} augmented views per image; negatives: ${r.negatives.folder ? `${r.negatives.folderFaces} faces from ${r.negatives.folderImages} images of ${r.negatives.folder}, ` : ''}${r.negatives.builtinFaces} built-in faces. Protocol: ${r.quick ? 'quick (C fixed from the full-data training, 3 folds)' : 'full (every training picks its own C by 5-fold cross-validation)'}. ${opts.backend ? `Backend ${opts.backend}. ` : ''}Generated ${opts.generatedAt ?? new Date().toISOString()}.</p>

<h2>Summary</h2>
<p>Leave-one-image-out identification (a classifier trained without the image names it; rates over all images, detection failures included) and leave-identity-out false accepts (every image of a person left out of training must come out unknown). Thresholds shown are those of the classifier trained on every image of that configuration.</p>
${summaryTable(r)}

<h2>ROC</h2>
<div class="charts">
<figure>
${rocChart('roc', 'ROC: true accept rate against false accept rate', series, markers, farMin)}
<figcaption>Solid: euclidean distance between two original embeddings (${genuine.length} same-person pairs; ${impostor.length} pairs of different players${negative.length ? `; ${negative.length} player × negative pairs` : ''}). Dashed: the ${def.name} classifier's best probability on leave-one-out photos (genuine, best guess right: ${scores.genuine.p.length}) against leave-identity-out strangers and wrong best guesses (${scores.impostor.p.length}).</figcaption>
</figure>
<figure>
<table class="roc">
<thead><tr><th>score</th><th>EER</th><th>TAR @ FAR 1 %</th><th>TAR @ FAR 0.1 %</th><th>TAR @ FAR 0</th><th>AUC</th></tr></thead>
<tbody>
${rocRows('distance, players vs players', rocPairs)}
${negative.length ? rocRows('distance, players vs negatives', rocNeg) : ''}
${rocRows(`classifier probability (${def.name})`, rocClf)}
</tbody>
</table>
<p>At verifyThreshold ${num(opts.verifyThreshold, 3)}: TAR ${pct(atVerify.tar)}, FAR ${pct(atVerify.far, 2)} (players vs players)${negative.length ? `, FAR ${pct(ratesAt(genuine, negative, opts.verifyThreshold, true).far, 2)} (players vs negatives)` : ''}.</p>
</figure>
</div>

<h2>Score distributions</h2>
<div class="charts">
<figure>
${histogramChart(
  'hist-distance',
  'Pair distances',
  'euclidean distance between original embeddings',
  [
    { name: 'same person', color: COLORS.genuine, values: genuine },
    { name: 'different players', color: COLORS.impostor, values: impostor },
    ...(negative.length ? [{ name: 'player vs negative', color: COLORS.negative, values: negative }] : []),
  ],
  [
    { value: opts.verifyThreshold, label: 'verifyThreshold' },
    { value: t.distMax, label: `distMax (${def.name})`, dashed: true },
  ],
  0,
  distTop,
  40,
)}
<figcaption>distMax is the classifier's gate on the distance to the nearest enrolled embedding (augmented views included), drawn here for scale.</figcaption>
</figure>
<figure>
${histogramChart(
  'hist-probability',
  'Classifier probability',
  `best calibrated probability (${def.name})`,
  [
    { name: 'held-out photo, best guess right', color: COLORS.genuine, values: scores.genuine.p },
    { name: 'stranger / wrong best guess', color: COLORS.stranger, values: scores.impostor.p },
  ],
  [
    { value: t.pMin, label: 'pMin' },
    { value: def.looThresholds.pMin.median, label: 'pMin, leave-one-out median', dashed: true },
  ],
  0,
  1,
  25,
)}
</figure>
<figure>
${histogramChart(
  'hist-nearest',
  'Distance to the nearest enrolled embedding',
  `distance of the best guess's nearest enrolled embedding (${def.name})`,
  [
    { name: 'held-out photo, best guess right', color: COLORS.genuine, values: scores.genuine.d },
    { name: 'stranger / wrong best guess', color: COLORS.stranger, values: scores.impostor.d },
  ],
  [
    { value: t.distMax, label: 'distMax' },
    { value: def.looThresholds.distMax.median, label: 'distMax, leave-one-out median', dashed: true },
  ],
  0,
  nearTop,
  30,
)}
</figure>
</div>

<h2>Confusion matrix: ${def.name}</h2>
<p>Leave-one-image-out: rows are the true identity, columns what the classifier trained without that image said.</p>
${confusionTable(def.confusion, 'confusion')}
<h3>Images not named correctly</h3>
${trialTable(def)}
<h3>Strangers given a name</h3>
${strangerTable(def)}
${r.configs
  .filter((k) => k !== def)
  .map(
    (k) => h`<details>
<summary>${k.name}: confusion matrix and failures</summary>
${confusionTable(k.confusion, `confusion-${k.name.replace(/\W+/g, '-')}`)}
${trialTable(k)}
${strangerTable(k)}
</details>`,
  )}

<h2>Thresholds</h2>
<table>
<thead><tr><th>config</th><th>pMin (all data)</th><th>pMin leave-one-out min / median / max</th><th>marginMin (all data)</th><th>marginMin leave-one-out</th><th>distMax (all data)</th><th>distMax leave-one-out</th></tr></thead>
<tbody>${r.configs.map((k) => {
    const s = (x: { min: number; median: number; max: number }) => `${num(x.min)} / ${num(x.median)} / ${num(x.max)}`;
    return h`<tr><td>${k.name}</td><td>${num(k.full.thresholds.pMin)}</td><td>${s(k.looThresholds.pMin)}</td><td>${num(k.full.thresholds.marginMin)}</td><td>${s(k.looThresholds.marginMin)}</td><td>${num(k.full.thresholds.distMax)}</td><td>${s(k.looThresholds.distMax)}</td></tr>`;
  })}</tbody>
</table>
<p>verifyThreshold (config.recognition.verifyThreshold): ${num(opts.verifyThreshold)}.</p>
${
  r.configs.some((k) => k.warnings.length)
    ? h`<h3>Training warnings</h3>
<ul>${r.configs.flatMap((k) => k.warnings.map((w) => h`<li>${k.name}: ${w}</li>`))}</ul>`
    : ''
}
${
  r.failures.length || r.negatives.failed.length
    ? h`<h2>Images without exactly one face</h2>
<ul>${r.failures.map((f) => h`<li>${f.message}</li>`)}${r.negatives.failed.map((f) => h`<li>negative: ${f}</li>`)}</ul>`
    : ''
}
<p class="meta">Timings: embedding ${Math.round(r.timings.embedMs / 1000)} s, negatives ${Math.round(r.timings.negativesMs / 1000)} s, trainings ${Math.round(r.timings.trainMs / 1000)} s, total ${Math.round(r.timings.totalMs / 1000)} s.</p>
</body>
</html>
`;
  return page.html;
}
