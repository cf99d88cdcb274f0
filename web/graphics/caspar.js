// CasparCG's HTML template API: the server calls the page's global update(data), play(), stop()
// and next() (CG ADD / UPDATE / PLAY / STOP / NEXT). They work on their own, without the facecast
// server, so the same page can be driven from CasparCG, a CasparCG client or the browser console.
//
// update(data): a JSON string or object, either Graphic-like ({player, card?, template?, id?}) or
// PlayerCard-like ({name, number, team, teamColor, position, stats}); also CasparCG's classic
// XML (<templateData><componentData id="name"><data id="text" value="…"/></componentData>…).
// stats may be [{label, value}] or {label: value}.
import { DEFAULT_TEMPLATE } from './lowerThird.js';

const CARDS = ['intro', 'stats'];

function fromXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.querySelector('parsererror')) throw new Error('data is neither JSON nor CasparCG template XML');
  const out = {};
  for (const c of doc.querySelectorAll('componentData')) {
    const v = c.querySelector('data')?.getAttribute('value');
    if (c.id && v !== null && v !== undefined) out[c.id] = v;
  }
  return out;
}

function parse(data) {
  if (typeof data !== 'string') return data ?? {};
  const text = data.trim();
  if (text.startsWith('<')) return fromXml(text);
  return text ? JSON.parse(text) : {};
}

function stats(raw) {
  if (Array.isArray(raw)) return raw.filter((s) => s && s.label !== undefined).map((s) => ({ label: String(s.label), value: String(s.value ?? '') }));
  if (raw && typeof raw === 'object') return Object.entries(raw).map(([label, value]) => ({ label, value: String(value) }));
  return [];
}

function text(v) {
  return v === null || v === undefined || v === '' ? null : String(v);
}

/** Any accepted payload → {id?, template, card?, player: PlayerCard}. */
export function normalisePayload(data) {
  const raw = parse(data);
  const p = raw.player && typeof raw.player === 'object' ? raw.player : raw;
  const number = p.number === null || p.number === undefined || p.number === '' ? null : Number(p.number);
  return {
    id: typeof raw.id === 'string' && raw.player ? raw.id : null,
    template: typeof raw.template === 'string' ? raw.template : DEFAULT_TEMPLATE,
    card: CARDS.includes(raw.card) ? raw.card : null,
    player: {
      id: String(p.id ?? p.name ?? ''),
      name: String(p.name ?? p.f0 ?? ''),
      number: Number.isFinite(number) ? number : null,
      team: text(p.team),
      teamColor: text(p.teamColor),
      position: text(p.position),
      stats: stats(p.stats),
    },
  };
}

export function installCasparApi(win, lowerThird) {
  let data = null;
  let playing = false;
  let card = 'intro';
  let takes = 0;
  let id = null;

  const show = () =>
    lowerThird
      .show({ id: data.id ?? id, template: data.template, card, player: data.player, source: 'caspar' })
      .catch((err) => console.error(`facecast: ${err.message}`));

  win.update = (raw) => {
    try {
      data = normalisePayload(raw);
    } catch (err) {
      return console.error(`facecast update(): ${err.message}`);
    }
    if (data.card) card = data.card;
    if (playing) show();
  };
  win.play = () => {
    if (!data) return console.warn('facecast play(): call update(data) first');
    playing = true;
    id = `caspar-${++takes}`; // a fresh id: play always animates in
    card = data.card ?? 'intro';
    show();
  };
  win.stop = () => {
    playing = false;
    lowerThird.hide('caspar');
  };
  win.next = () => {
    if (!playing) return;
    const i = CARDS.indexOf(card);
    let nextCard = CARDS[(i + 1) % CARDS.length];
    // A player without stats has no stats card to step to.
    if (nextCard === 'stats' && data.player.stats.length === 0) nextCard = 'intro';
    if (nextCard === card) return;
    card = nextCard;
    show();
  };
  win.remove = () => {
    playing = false;
    lowerThird.hide('caspar', { cut: true });
  };
}
