/* global ResizeObserver, URL */
// Program / preview monitors. PGM is the real graphics page (/graphics?key=…&channel=N) in an
// iframe, so the operator sees exactly what OBS shows, over the latest analysed frame. PVW shows
// the selected cue as it would go on air, drawn by the graphics page's own lower-third code and
// template, over the same frame.
import { LowerThird, DEFAULT_TEMPLATE } from '/web/graphics/lowerThird.js';
import { contain } from './preview.js';

const STAGE_W = 1920;
const STAGE_H = 1080;

/** Draws the latest frame into a monitor's background canvas. */
function paint(canvas, bitmap) {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (!w || !h) return;
  if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
  const ctx = canvas.getContext('2d');
  const { x, y, s } = contain(bitmap.width, bitmap.height, w, h);
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, x, y, bitmap.width * s, bitmap.height * s);
}

export class Monitors {
  constructor({ pgm, pvw }) {
    this.pgm = pgm;
    this.pvw = pvw;
    this.frame = pgm.querySelector('iframe');
    this.stage = pvw.querySelector('.pvw-stage');
    this.lowerThird = new LowerThird(this.stage.querySelector('.pvw-layer'));
    this.shownId = null;
    this.fit();
    new ResizeObserver(() => this.fit()).observe(pvw);
  }

  /** The graphics page URL from /api/outputs, made same-origin (the API may name another host). */
  setGraphicsUrl(url) {
    const u = new URL(url, location.href);
    const src = `/graphics${u.search}`;
    if (this.frame.getAttribute('src') !== src) this.frame.src = src;
  }

  /** The 1920×1080 PVW stage scaled to its monitor, as the graphics page scales itself. */
  fit() {
    const box = this.stage.parentElement;
    const s = Math.min(box.clientWidth / STAGE_W, box.clientHeight / STAGE_H);
    if (s > 0) this.stage.style.transform = `scale(${s})`;
  }

  frameArrived(bitmap) {
    paint(this.pgm.querySelector('canvas'), bitmap);
    paint(this.pvw.querySelector('canvas'), bitmap);
  }

  /** The cue that Space would take (null: nothing cued). */
  preview(g) {
    const label = this.pvw.querySelector('.monitor-note');
    if (!g) {
      this.shownId = null;
      this.lowerThird.hide(undefined, { cut: true });
      label.textContent = 'nothing cued';
      this.pvw.dataset.cueId = '';
      return;
    }
    label.textContent = '';
    this.pvw.dataset.cueId = g.id;
    if (this.shownId === g.id && this.lowerThird.cur) return this.lowerThird.update(this.lowerThird.cur, { ...g, source: 'pvw' });
    this.shownId = g.id;
    this.lowerThird
      .show({ id: g.id, template: g.template || DEFAULT_TEMPLATE, card: g.card, player: g.player, source: 'pvw' })
      .catch((err) => console.error(`facecast: preview of ${g.player.name} failed: ${err.message}`));
  }
}
