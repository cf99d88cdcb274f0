// "On screen now": one row per live track, refreshed about twice a second: face thumbnail, the
// suggested player, confidence, time on screen and on-air state. Each row can cue its player and
// correct the recognition (relabel as another player, or "not a player"); a correction goes to
// the server, which stores the track's faces under the right label and retrains.
import { el, duration, pct, setText } from './dom.js';

const AIR_TEXT = { cued: 'cued', 'on-air': 'on air', cooldown: 'cooling down' };
/** A row whose track ended stays this long while its relabel menu is in use. */
const KEEP_GONE_MS = 15000;
const NOT_A_PLAYER = '__none__';

export class OnScreen {
  constructor(root, { send }) {
    this.body = root.querySelector('tbody');
    this.empty = root.querySelector('.empty');
    this.count = root.querySelector('.count');
    this.send = send;
    this.rows = new Map(); // trackId → {tr, cells, select, goneAt}
    this.players = [];
    this.playersKey = '';
  }

  setPlayers(players) {
    this.players = players;
    this.playersKey = JSON.stringify(players.map((p) => [p.id, p.name, p.number]));
    for (const row of this.rows.values()) this.fillSelect(row.select);
  }

  fillSelect(select) {
    if (select.dataset.players === this.playersKey || document.activeElement === select) return;
    const chosen = select.value;
    select.replaceChildren(
      el('option', { value: '', text: 'relabel as…' }),
      ...this.players.map((p) => el('option', { value: p.id, text: `${p.number ?? ''} ${p.name}`.trim() })),
      el('option', { value: NOT_A_PLAYER, text: '✕ not a player' }),
    );
    select.value = this.players.some((p) => p.id === chosen) || chosen === NOT_A_PLAYER ? chosen : '';
    select.dataset.players = this.playersKey;
  }

  makeRow(trackId) {
    const thumb = el('img', { class: 'thumb', alt: '', width: 40, height: 40 });
    const select = el('select', { class: 'relabel-select', 'aria-label': `relabel track ${trackId}` });
    const relabel = el('button', { class: 'btn small', text: 'Relabel', on: { click: () => this.relabel(trackId) } });
    const cue = el('button', { class: 'btn small cue', text: 'Cue', on: { click: () => this.cue(trackId) } });
    const name = el('div', { class: 'name' });
    const why = el('div', { class: 'why' });
    // Name on top, the corrections under it: the row stays narrow enough for a 1366 px screen.
    const cells = {
      thumb: el('td', {}, thumb),
      id: el('td', { class: 'tid' }),
      who: el('td', { class: 'who' }, name, why, el('div', { class: 'row-actions' }, cue, select, relabel)),
      conf: el('td', { class: 'conf' }, el('span', { class: 'bar' }, el('i')), el('span', { class: 'v' })),
      time: el('td', { class: 'num' }),
      air: el('td', {}, el('span', { class: 'badge' })),
    };
    const tr = el('tr', { data: { trackId } }, ...Object.values(cells));
    cells.name = name;
    cells.why = why;
    const row = { tr, cells, thumb, select, cue, goneAt: null, playerId: null };
    this.fillSelect(select);
    return row;
  }

  update(msg) {
    const seen = new Set();
    for (const t of msg.tracks) {
      seen.add(t.trackId);
      let row = this.rows.get(t.trackId);
      if (!row) {
        row = this.makeRow(t.trackId);
        this.rows.set(t.trackId, row);
      }
      row.goneAt = null;
      row.tr.classList.remove('gone');
      this.fill(row, t);
    }
    const now = performance.now();
    for (const [id, row] of this.rows) {
      if (seen.has(id)) continue;
      const inUse = row.select.value !== '' || document.activeElement === row.select;
      row.goneAt ??= now;
      if (inUse && now - row.goneAt < KEEP_GONE_MS) row.tr.classList.add('gone');
      else {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    // Oldest track first (ids only grow): rows keep their place between refreshes.
    const order = [...this.rows.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r.tr);
    order.forEach((tr, i) => {
      if (this.body.children[i] !== tr) this.body.insertBefore(tr, this.body.children[i] ?? null);
    });
    this.empty.hidden = this.rows.size > 0;
    setText(this.count, msg.tracks.length);
  }

  fill(row, t) {
    const { cells } = row;
    if (t.thumb && row.thumbData !== t.thumb) {
      row.thumbData = t.thumb;
      row.thumb.src = `data:image/jpeg;base64,${t.thumb}`;
    }
    setText(cells.id, `#${t.trackId}`);
    cells.id.title = `tracker: ${t.state}`;
    setText(cells.name, t.name ?? 'unknown');
    cells.name.classList.toggle('unknown', !t.playerId);
    cells.name.title = `tracker: ${t.state}`;
    // An unknown track says who it resembles most and what kept the name back; the full line on hover.
    const c = t.candidate;
    setText(cells.why, !t.playerId && c ? `best ${c.name}: d ${c.distance.toFixed(3)}${c.threshold !== null ? ` / ${c.threshold.toFixed(3)}` : ''}${c.heldBackBy.length ? ` · ${c.heldBackBy.join(', ')}` : ' · waiting for more frames'}` : '');
    cells.why.title = t.why ?? '';
    cells.conf.querySelector('i').style.width = `${Math.round((t.confidence ?? 0) * 100)}%`;
    setText(cells.conf.querySelector('.v'), pct(t.confidence));
    setText(cells.time, duration(t.onScreenMs));
    const badge = cells.air.querySelector('.badge');
    setText(badge, AIR_TEXT[t.onAir] ?? '–');
    badge.dataset.state = t.onAir ?? '';
    row.playerId = t.playerId;
    row.name = t.name;
    row.cue.disabled = !t.playerId;
    row.tr.dataset.playerId = t.playerId ?? '';
  }

  cue(trackId) {
    const row = this.rows.get(trackId);
    if (row?.playerId) this.send({ type: 'cue', playerId: row.playerId });
  }

  relabel(trackId) {
    const row = this.rows.get(trackId);
    if (!row) return;
    const v = row.select.value;
    if (!v) {
      row.select.focus();
      return;
    }
    const playerId = v === NOT_A_PLAYER ? null : v;
    if (this.send({ type: 'relabel', trackId, playerId })) {
      row.select.value = '';
      row.tr.classList.add('relabelled');
    }
  }
}
