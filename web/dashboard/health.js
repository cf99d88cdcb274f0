// Health, from the server's `health` message every 2 s: which backend and device run the models,
// the vision workers, and per channel the analysed frame rate, drops, latency, the video delay to
// set in OBS and how many output pages are connected. Silence is shown too: a health message
// that stops coming is itself a fault.
import { el, ms, setText } from './dom.js';

const STALE_MS = 6000;

export class Health {
  constructor(root, { channel }) {
    this.root = root;
    this.channel = channel;
    this.lastAt = 0;
    this.strip = document.querySelector('#header-health');
    setInterval(() => {
      const stale = this.lastAt > 0 && performance.now() - this.lastAt > STALE_MS;
      this.root.classList.toggle('stale', stale);
      this.strip.classList.toggle('stale', stale);
    }, 1000);
  }

  update(h) {
    this.lastAt = performance.now();
    const set = (k, v) => setText(this.root.querySelector(`[data-h="${k}"]`), v);
    set('backend', h.backend);
    set('device', h.device);
    set('workers', h.workers);
    const rows = h.channels.map((c) =>
      el(
        'tr',
        { class: c.id === this.channel ? 'current' : '', data: { channel: c.id } },
        el('td', { text: c.id }),
        el('td', { class: 'num', text: c.analysedFps.toFixed(1) }),
        el('td', { class: 'num', text: c.dropped }),
        el('td', { class: 'num', text: ms(c.latencyMs.p50) }),
        el('td', { class: 'num', text: ms(c.latencyMs.p95) }),
        el('td', { class: 'num delay', text: ms(c.recommendedDelayMs) }),
        el('td', { class: 'num', text: `${c.outputs.graphics} / ${c.outputs.operator}` }),
      ),
    );
    this.root.querySelector('.channels tbody').replaceChildren(...rows);
    const mine = h.channels.find((c) => c.id === this.channel);
    set('advice', mine?.advice ?? '');
    // The header keeps the numbers an operator glances at during a show.
    setText(
      this.strip,
      mine
        ? `${mine.analysedFps.toFixed(1)} fps · p95 ${ms(mine.latencyMs.p95)} · OBS delay ${ms(mine.recommendedDelayMs)} · ${h.backend}`
        : `${h.backend} · ${h.device}`,
    );
    return mine;
  }
}
