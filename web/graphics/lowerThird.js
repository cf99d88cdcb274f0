// The lower-third layer: at most one graphic on air. A new graphic id animates in (the old one
// out); the same id with new data updates the text in place, so a stats change or a card switch
// does not replay the entrance. Each graphic remembers its source ('server' or 'caspar'): one
// source clearing its graphic never removes the other's.
import { loadTemplate } from './templates.js';
import { bindFields } from './fields.js';
import { fitAll } from './fit.js';

export const DEFAULT_TEMPLATE = 'lower-third';

export class LowerThird {
  constructor(layer) {
    this.layer = layer;
    /** {id, source, template, card, player, el, tpl} of the graphic on air, or null. */
    this.cur = null;
    /** Incremented by every show/hide, so a template that finishes loading late cannot win. */
    this.seq = 0;
    this.pendingSource = null;
  }

  /** g: {id, template, card, player, source}. */
  async show(g) {
    const seq = ++this.seq;
    const cur = this.cur;
    if (cur && cur.id === g.id && cur.source === g.source && cur.template === g.template) {
      this.pendingSource = null;
      this.update(cur, g);
      return;
    }
    this.pendingSource = g.source;
    let tpl;
    try {
      tpl = await loadTemplate(g.template);
    } catch (err) {
      // A misspelt or broken template must not leave the air empty: use the stock one.
      console.warn(`facecast: template "${g.template}" failed (${err.message}); using ${DEFAULT_TEMPLATE}`);
      tpl = await loadTemplate(DEFAULT_TEMPLATE);
    }
    if (seq !== this.seq) return;
    this.pendingSource = null;
    if (this.cur) this.out(this.cur);
    const el = tpl.instantiate();
    el.classList.add('fc-graphic');
    el.dataset.graphicId = g.id;
    el.dataset.source = g.source;
    el.dataset.card = g.card;
    this.layer.append(el);
    bindFields(el, g.player);
    fitAll(el);
    el.classList.add('fc-in');
    this.cur = { ...g, el, tpl };
  }

  update(cur, g) {
    bindFields(cur.el, g.player);
    cur.el.dataset.card = g.card;
    cur.player = g.player;
    cur.card = g.card;
    fitAll(cur.el);
  }

  /** Takes the graphic off air (animated), if it came from `source` (any source when omitted). */
  hide(source, { cut = false } = {}) {
    if (this.pendingSource && (!source || this.pendingSource === source)) {
      this.seq++;
      this.pendingSource = null;
    }
    if (this.cur && (!source || this.cur.source === source)) {
      this.out(this.cur, cut);
      this.cur = null;
    }
  }

  out(entry, cut = false) {
    const { el, tpl } = entry;
    if (cut) return el.remove();
    el.classList.remove('fc-in');
    el.classList.add('fc-out');
    // A timer rather than animationend: the event does not fire for a template without an out
    // animation, nor while OBS has the source hidden and animations paused.
    setTimeout(() => el.remove(), tpl.outMs + 50);
  }

  /** Drops graphics still animating out (after a resync nothing half-gone should linger). */
  flushOut() {
    for (const el of this.layer.querySelectorAll('.fc-out')) el.remove();
  }

  refit() {
    if (this.cur) fitAll(this.cur.el);
  }
}
