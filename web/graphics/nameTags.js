// Face-following name tags: one element per track, kept across frames so it can glide (a CSS
// transition on transform, its duration matched to the tag rate by main.js). Placement is
// recomputed every frame from the face box; a move whose straight path would cross the face
// jumps instead, so a tag is never drawn over the face it names.
import { loadTemplate } from './templates.js';
import { bindFields } from './fields.js';
import { fitAll } from './fit.js';
import { pathCrosses, placeTag } from './placement.js';

export const NAME_TAG_TEMPLATE = 'name-tag';

/** Where the element is drawn right now, mid-transition included (stage pixels). */
function drawnAt(el) {
  const t = getComputedStyle(el).transform;
  if (!t || t === 'none') return { x: 0, y: 0 };
  const m = new DOMMatrixReadOnly(t);
  return { x: m.m41, y: m.m42 };
}

function moveTo(el, x, y, snap) {
  const transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  if (!snap) {
    el.style.transform = transform;
    return;
  }
  el.style.transition = 'none';
  el.style.transform = transform;
  void el.offsetWidth; // commit the jump before transitions are allowed again
  el.style.transition = '';
}

export class NameTags {
  constructor(layer) {
    this.layer = layer;
    /** trackId → {el, key, shown, removeTimer} */
    this.entries = new Map();
    this.tpl = null;
    this.latest = [];
    loadTemplate(NAME_TAG_TEMPLATE)
      .then((tpl) => {
        this.tpl = tpl;
        this.render(this.latest);
      })
      .catch((err) => console.error(`facecast: name tag template failed: ${err.message}`));
  }

  /** The tags of the latest analysed frame (NameTag[]); tracks not in it are taken off. */
  update(tags) {
    this.latest = tags;
    this.render(tags);
  }

  render(tags) {
    if (!this.tpl) return;
    const seen = new Set();
    for (const tag of tags) {
      seen.add(tag.trackId);
      this.place(tag);
    }
    for (const [id, entry] of this.entries) if (!seen.has(id)) this.out(id, entry);
  }

  place(tag) {
    let entry = this.entries.get(tag.trackId);
    const fresh = !entry;
    if (fresh) {
      const el = this.tpl.instantiate();
      el.classList.add('fc-graphic', 'fc-name-tag', 'fc-in');
      el.dataset.trackId = String(tag.trackId);
      this.layer.append(el);
      entry = { el, key: '', shown: false, removeTimer: null };
      this.entries.set(tag.trackId, entry);
    } else if (entry.removeTimer) {
      // Back within its fade-out (a one-frame dropout): revive it instead of making a new one.
      clearTimeout(entry.removeTimer);
      entry.removeTimer = null;
      entry.el.classList.remove('fc-out');
      entry.el.classList.add('fc-in');
    }
    const { el } = entry;
    const key = JSON.stringify([tag.name, tag.number, tag.teamColor, tag.playerId]);
    if (entry.key !== key) {
      entry.key = key;
      bindFields(el, tag);
      fitAll(el);
    }
    el.dataset.box = tag.box.map((v) => Math.round(v)).join(',');
    const w = el.offsetWidth;
    const h = el.offsetHeight;
    const p = placeTag(tag.box, w, h);
    if (!p) {
      el.classList.add('fc-hidden');
      entry.shown = false;
      return;
    }
    el.classList.remove('fc-hidden');
    el.dataset.side = p.side;
    const [bx, , bw] = tag.box;
    el.style.setProperty('--caret-x', `${Math.round(Math.min(Math.max(bx + bw / 2 - p.x, 16), w - 16))}px`);
    const from = entry.shown ? drawnAt(el) : null;
    moveTo(el, p.x, p.y, !from || pathCrosses(from.x, from.y, p.x, p.y, w, h, tag.box));
    entry.shown = true;
  }

  out(id, entry, cut = false) {
    if (cut) {
      clearTimeout(entry.removeTimer);
      entry.el.remove();
      this.entries.delete(id);
      return;
    }
    if (entry.removeTimer) return;
    entry.el.classList.remove('fc-in');
    entry.el.classList.add('fc-out');
    entry.removeTimer = setTimeout(() => {
      entry.el.remove();
      if (this.entries.get(id) === entry) this.entries.delete(id);
    }, (this.tpl?.outMs ?? 200) + 50);
  }

  /** Takes every tag off: animated, or at once (cut) when their positions are known to be stale. */
  clear({ cut = false } = {}) {
    this.latest = [];
    for (const [id, entry] of this.entries) this.out(id, entry, cut);
  }

  /** Removes tags still fading out (after a resync). */
  flushOut() {
    for (const [id, entry] of this.entries) if (entry.removeTimer) this.out(id, entry, true);
  }

  refit() {
    for (const entry of this.entries.values()) fitAll(entry.el);
    this.render(this.latest);
  }
}
