// The as-run log of this channel: every graphic on and off air, newest first, with a CSV export
// (a plain link: the browser sends the session cookie and saves the file the server names).
import { api } from './api.js';
import { clock, el, pct, setText } from './dom.js';
import { attempt } from './notify.js';

const LIMIT = 200;

export class AsRun {
  constructor(root, { channel }) {
    this.root = root;
    this.channel = channel;
    this.timer = null;
    const q = `channel=${encodeURIComponent(channel)}`;
    root.querySelector('.export').href = `/api/as-run?${q}&format=csv&limit=100000`;
    root.querySelector('[data-action="refresh"]').addEventListener('click', () => this.load());
  }

  /** On-air changes arrive in bursts (take, then auto-out): one fetch per burst. */
  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 600);
  }

  async load() {
    const res = await attempt(() => api(`/api/as-run?channel=${encodeURIComponent(this.channel)}&limit=${LIMIT}`));
    if (!res) return;
    const rows = [...res.entries].reverse().map((e) =>
      el(
        'tr',
        { data: { action: e.action } },
        el('td', { class: 'num', text: clock(e.at) }),
        el('td', {}, el('span', { class: 'action', text: e.action })),
        el('td', { text: e.playerName ?? e.playerId ?? '' }),
        el('td', { class: 'num', text: e.confidence === null ? '' : pct(e.confidence) }),
        el('td', { text: e.by }),
        el('td', { class: 'wrap', text: e.detail ?? '' }),
      ),
    );
    this.root.querySelector('tbody').replaceChildren(...rows);
    setText(this.root.querySelector('.count'), res.entries.length);
    setText(document.querySelector('[data-tab="as-run"] .count'), res.entries.length);
  }
}
