/* global FormData */
// Roster: every player with inline editing (a change is one PATCH), per-player on-air controls
// (cue, take, hide), and a details row with the team colour, stats and photo upload. Rows are
// kept between refreshes and a field being edited is never overwritten, because roster notices
// (another operator, a stats feed) can arrive while someone types.
import { api } from './api.js';
import { el, setText } from './dom.js';
import { attempt, showNote } from './notify.js';
import { PhotoUpload } from './photoUpload.js';
import { StatsEditor } from './statsEditor.js';

const FIELDS = ['number', 'name', 'team', 'position'];

/** What an input's text means for a field: '' clears the optional ones. */
function fieldValue(field, text) {
  const v = text.trim();
  if (field === 'name') return v;
  if (field === 'number') return v === '' ? null : Number(v);
  return v === '' ? null : v;
}

export class Roster {
  constructor(root, { send, onPlayers }) {
    this.root = root;
    this.body = root.querySelector('tbody');
    this.send = send;
    this.onPlayers = onPlayers;
    this.rows = new Map();
    this.players = [];
    this.onAirId = null;
    this.cuedIds = new Set();
    this.refreshing = null;
    this.again = false;
    root.querySelector('.add-player').addEventListener('submit', (e) => {
      e.preventDefault();
      this.create(e.currentTarget);
    });
  }

  /** Refetches the list; calls while one is in flight fold into one more afterwards. */
  async refresh() {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = attempt(async () => {
      const { players } = await api('/api/players');
      this.render(players);
    });
    await this.refreshing;
    this.refreshing = null;
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }

  async create(form) {
    const data = new FormData(form);
    const body = { name: String(data.get('name') ?? '').trim() };
    const number = String(data.get('number') ?? '').trim();
    const team = String(data.get('team') ?? '').trim();
    if (number) body.number = Number(number);
    if (team) body.team = team;
    const res = await attempt(() => api('/api/players', { method: 'POST', json: body }));
    if (!res) return;
    form.reset();
    showNote(`added ${res.player.name} (${res.player.id}); upload photos, then retrain`);
    await this.refresh();
    this.expand(res.player.id, true);
  }

  render(players) {
    this.players = players;
    const ids = new Set(players.map((p) => p.id));
    for (const [id, row] of this.rows) {
      if (ids.has(id)) continue;
      row.tr.remove();
      row.details.remove();
      this.rows.delete(id);
    }
    let at = 0;
    for (const p of players) {
      let row = this.rows.get(p.id);
      if (!row) {
        row = this.makeRow(p);
        this.rows.set(p.id, row);
      }
      this.fill(row, p);
      // Player order is the server's (by name); rows move only when it changes.
      if (this.body.children[at] !== row.tr) this.body.insertBefore(row.tr, this.body.children[at] ?? null);
      at++;
      if (this.body.children[at] !== row.details) this.body.insertBefore(row.details, this.body.children[at] ?? null);
      at++;
    }
    setText(this.root.querySelector('.count'), players.length);
    this.root.querySelector('.empty').hidden = players.length > 0;
    this.markAir();
    this.onPlayers?.(players);
  }

  makeRow(p) {
    const id = p.id;
    const inputs = {};
    const cells = FIELDS.map((f) => {
      const input = el('input', {
        class: `cell-input f-${f}`,
        'aria-label': `${f} of ${p.name}`,
        data: { field: f },
        ...(f === 'number' ? { type: 'number', min: 0, max: 999, inputmode: 'numeric' } : { maxlength: f === 'position' ? 40 : 100 }),
      });
      input.addEventListener('change', () => this.save(id, f, input));
      input.addEventListener('keydown', (e) => e.key === 'Enter' && input.blur());
      inputs[f] = input;
      return el('td', { class: `c-${f}` }, input);
    });
    const img = el('img', { class: 'thumb', alt: '', width: 32, height: 32 });
    const faces = el('td', { class: 'num faces' });
    const buttons = {
      cue: el('button', { class: 'btn small cue', text: 'Cue', on: { click: () => this.send({ type: 'cue', playerId: id }) } }),
      take: el('button', { class: 'btn small take', text: 'Take', on: { click: () => this.send({ type: 'take', playerId: id }) } }),
      hide: el('button', { class: 'btn small hide', text: 'Hide', on: { click: () => this.send({ type: 'clear', layer: 'lowerThird' }) } }),
    };
    const toggle = el('button', { class: 'btn small ghost expand', title: 'stats, colour, photos', 'aria-expanded': 'false', text: '▸', on: { click: () => this.expand(id) } });
    const tr = el('tr', { class: 'player', data: { playerId: id } }, el('td', {}, img), ...cells, faces, el('td', { class: 'actions' }, buttons.cue, buttons.take, buttons.hide, toggle));
    const details = el('tr', { class: 'details', hidden: true, data: { playerId: id } });
    return { tr, details, inputs, img, faces, buttons, toggle, stats: null, photos: null, colour: null, player: p };
  }

  fill(row, p) {
    row.player = p;
    for (const f of FIELDS) {
      const input = row.inputs[f];
      const v = p[f] === null || p[f] === undefined ? '' : String(p[f]);
      input.dataset.saved = v;
      if (document.activeElement !== input) input.value = v;
      input.setAttribute('aria-label', `${f} of ${p.name}`);
    }
    const src = p.hasPhoto ? `/api/players/${encodeURIComponent(p.id)}/photo?v=${encodeURIComponent(p.updatedAt)}` : '';
    if (row.img.getAttribute('src') !== src) {
      if (src) row.img.src = src;
      else row.img.removeAttribute('src');
    }
    setText(row.faces, p.originalFaceCount ?? p.faceCount ?? 0);
    row.faces.title = `${p.originalFaceCount ?? '?'} photos, ${p.faceCount ?? '?'} faces with augmented views`;
    row.tr.dataset.faces = String(p.faceCount ?? 0);
    row.tr.dataset.photos = String(p.originalFaceCount ?? 0);
    row.tr.style.setProperty('--team', p.teamColor ?? 'transparent');
    if (row.stats) row.stats.render(p.stats ?? {});
    if (row.colour && document.activeElement !== row.colour) row.colour.value = p.teamColor ?? '#000000';
    if (row.position && document.activeElement !== row.position) {
      row.position.value = p.position ?? '';
      row.position.dataset.saved = p.position ?? '';
    }
  }

  async save(id, field, input) {
    const value = fieldValue(field, input.value);
    const res = await attempt(() => api(`/api/players/${encodeURIComponent(id)}`, { method: 'PATCH', json: { [field]: value } }));
    // Refused: back to what the server has, so the table never shows an unsaved value as saved.
    if (!res) input.value = input.dataset.saved ?? '';
  }

  expand(id, open) {
    const row = this.rows.get(id);
    if (!row) return;
    const show = open ?? row.details.hidden;
    if (show && !row.stats) this.buildDetails(row);
    row.details.hidden = !show;
    row.toggle.setAttribute('aria-expanded', String(show));
    row.toggle.textContent = show ? '▾' : '▸';
    row.tr.classList.toggle('open', show);
  }

  buildDetails(row) {
    const p = row.player;
    row.stats = new StatsEditor(p.id);
    row.photos = new PhotoUpload(p.id);
    row.colour = el('input', { type: 'color', class: 'team-colour', 'aria-label': `team colour of ${p.name}`, value: p.teamColor ?? '#000000' });
    row.colour.addEventListener('change', async () => {
      const ok = await attempt(() => api(`/api/players/${encodeURIComponent(p.id)}`, { method: 'PATCH', json: { teamColor: row.colour.value } }));
      if (!ok) row.colour.value = row.player.teamColor ?? '#000000';
    });
    const remove = el('button', {
      class: 'btn small danger',
      text: 'Delete player',
      on: { click: () => this.remove(row.player) },
    });
    // The position column is hidden on narrow screens; here it stays editable.
    row.position = el('input', { class: 'cell-input boxed f-position', 'aria-label': `position of ${p.name} (details)`, maxlength: 40, value: p.position ?? '' });
    row.position.addEventListener('change', () => this.save(p.id, 'position', row.position));
    const misc = el(
      'div',
      { class: 'details-misc' },
      el('h4', { text: 'Player' }),
      el('label', { class: 'inline details-pos' }, 'Position ', row.position),
      el('label', { class: 'inline' }, 'Team colour ', row.colour),
      el('p', { class: 'hint', text: `id: ${p.id}` }),
      remove,
    );
    row.details.replaceChildren(el('td', { colspan: 7 }, el('div', { class: 'details-grid' }, misc, row.stats.root, row.photos.root)));
    row.stats.render(p.stats ?? {});
  }

  async remove(p) {
    if (!window.confirm(`Delete ${p.name} and all their enrolled photos? The model forgets them at the next retrain.`)) return;
    const res = await attempt(() => api(`/api/players/${encodeURIComponent(p.id)}`, { method: 'DELETE' }));
    if (res) showNote(`deleted ${p.name}; retrain so the model forgets them`);
  }

  /** From the channel state: who is on air and who is cued, for the per-player buttons. */
  setChannelState(state) {
    this.onAirId = state.onAir.lowerThird?.player.id ?? null;
    this.cuedIds = new Set(state.cued.map((g) => g.player.id));
    this.markAir();
  }

  markAir() {
    for (const [id, row] of this.rows) {
      const live = id === this.onAirId;
      row.tr.classList.toggle('is-on-air', live);
      row.tr.classList.toggle('is-cued', this.cuedIds.has(id));
      row.buttons.hide.disabled = !live;
    }
  }
}
