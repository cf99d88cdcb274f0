// A player's stats, edited in place: each change is one PATCH /api/players/:id/stats (the server
// merges it; null deletes a stat), so a stats feed writing other stats at the same time is not
// overwritten. Values that read as numbers are sent as numbers, as the CSV import does.
import { api } from './api.js';
import { el } from './dom.js';
import { attempt } from './notify.js';

export function statValue(text) {
  const v = String(text).trim();
  const n = Number(v);
  return v !== '' && Number.isFinite(n) ? n : v;
}

export class StatsEditor {
  constructor(playerId) {
    this.playerId = playerId;
    this.list = el('div', { class: 'stats-list' });
    this.newKey = el('input', { class: 'stat-key', placeholder: 'stat, e.g. goals', 'aria-label': 'new stat name', maxlength: 64 });
    this.newValue = el('input', { class: 'stat-value', placeholder: 'value', 'aria-label': 'new stat value', maxlength: 200 });
    const add = el('button', { class: 'btn small', type: 'submit', text: 'Add stat' });
    const form = el('form', { class: 'stat-add', on: { submit: (e) => (e.preventDefault(), this.add()) } }, this.newKey, this.newValue, add);
    this.root = el('div', { class: 'stats-editor' }, el('h4', { text: 'Stats' }), this.list, form);
    this.rows = new Map();
  }

  patch(body) {
    return attempt(() => api(`/api/players/${encodeURIComponent(this.playerId)}/stats`, { method: 'PATCH', json: body }));
  }

  async add() {
    const key = this.newKey.value.trim();
    if (!key) return this.newKey.focus();
    const done = await this.patch({ [key]: statValue(this.newValue.value) });
    if (done) {
      this.newKey.value = '';
      this.newValue.value = '';
      this.newKey.focus();
    }
  }

  /** stats: {label: value} as the server has them. */
  render(stats) {
    const keys = Object.keys(stats);
    for (const [key, row] of this.rows) {
      if (keys.includes(key)) continue;
      row.root.remove();
      this.rows.delete(key);
    }
    for (const key of keys) {
      let row = this.rows.get(key);
      if (!row) {
        const input = el('input', { class: 'stat-value', 'aria-label': `stat ${key}`, maxlength: 200, data: { stat: key } });
        input.addEventListener('change', async () => {
          const ok = await this.patch({ [key]: statValue(input.value) });
          if (!ok) input.value = input.dataset.saved ?? '';
        });
        const remove = el('button', { class: 'btn small ghost', title: `delete ${key}`, text: '✕', on: { click: () => this.patch({ [key]: null }) } });
        row = { root: el('div', { class: 'stat-row' }, el('label', { class: 'stat-key', text: key }), input, remove), input };
        this.rows.set(key, row);
        this.list.append(row.root);
      }
      const v = String(stats[key]);
      row.input.dataset.saved = v;
      if (document.activeElement !== row.input) row.input.value = v;
    }
  }
}
