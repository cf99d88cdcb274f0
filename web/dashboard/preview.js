/* global Blob, ResizeObserver, atob, createImageBitmap, devicePixelRatio */
// Live preview: the sampled frames the server analyses (a few per second, JPEG), with what the
// tracker saw drawn on top: a box per track, its id, the suggested name and confidence. A shot
// cut flashes a CUT marker. Boxes are drawn here rather than burnt into the JPEG so they stay
// sharp at any panel size and the same frame can serve the program/preview monitors.

const STALE_MS = 3000;
const CUT_FLASH_MS = 1200;

const COLORS = {
  onAir: '#ff4d4f',
  named: '#3fb950',
  unknown: '#e3b341',
  weak: '#8b949e',
};

function decodeJpeg(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return createImageBitmap(new Blob([bytes], { type: 'image/jpeg' }));
}

/** Where an image of w×h lands in a box of cw×ch, letterboxed: {x, y, s}. */
export function contain(w, h, cw, ch) {
  const s = Math.min(cw / w, ch / h);
  return { x: (cw - w * s) / 2, y: (ch - h * s) / 2, s };
}

export class Preview {
  /** root: the panel holding canvas, .cut-marker and .no-video; onFrame(bitmap) for the monitors. */
  constructor(root, { onFrame } = {}) {
    this.root = root;
    this.canvas = root.querySelector('canvas');
    this.ctx = this.canvas.getContext('2d');
    this.cutMarker = root.querySelector('.cut-marker');
    this.info = root.querySelector('.preview-info');
    this.onFrame = onFrame;
    this.frame = null; // {bitmap, msg}
    this.arrivals = 0;
    this.lastAt = 0;
    this.cuts = 0;
    this.cutTimer = null;
    /** trackId → 'cued' | 'on-air' | 'cooldown', from the latest tracks rows. */
    this.air = new Map();
    this.frames = 0;
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    setInterval(() => this.root.classList.toggle('stale', performance.now() - this.lastAt > STALE_MS), 500);
  }

  async show(msg) {
    // Counted on arrival, not by msg.seq: a re-attached source starts its seq from 0 again.
    const n = ++this.arrivals;
    let bitmap;
    try {
      bitmap = await decodeJpeg(msg.jpeg);
    } catch (err) {
      console.warn(`facecast: preview frame ${msg.seq} could not be decoded: ${err.message}`);
      return;
    }
    // A newer frame may have finished decoding first: never go back in time.
    if (n !== this.arrivals) return bitmap.close();
    this.frame?.bitmap.close();
    this.frame = { bitmap, msg };
    this.lastAt = performance.now();
    this.frames++;
    this.root.dataset.frames = String(this.frames);
    if (msg.cut) this.flashCut();
    this.draw();
    this.onFrame?.(bitmap);
  }

  setAirStates(rows) {
    this.air = new Map(rows.filter((r) => r.onAir).map((r) => [r.trackId, r.onAir]));
  }

  flashCut() {
    this.cuts++;
    this.root.dataset.cuts = String(this.cuts);
    this.cutMarker.classList.remove('on');
    void this.cutMarker.offsetWidth; // restart the flash animation
    this.cutMarker.classList.add('on');
    clearTimeout(this.cutTimer);
    this.cutTimer = setTimeout(() => this.cutMarker.classList.remove('on'), CUT_FLASH_MS);
  }

  draw() {
    const { canvas, ctx } = this;
    const dpr = devicePixelRatio || 1;
    const cw = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const ch = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== cw || canvas.height !== ch) Object.assign(canvas, { width: cw, height: ch });
    ctx.fillStyle = '#05070a';
    ctx.fillRect(0, 0, cw, ch);
    if (!this.frame) return;
    const { bitmap, msg } = this.frame;
    const { x, y, s } = contain(msg.width, msg.height, cw, ch);
    ctx.drawImage(bitmap, x, y, msg.width * s, msg.height * s);
    const font = Math.max(11, Math.round(13 * dpr));
    ctx.font = `600 ${font}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    for (const t of msg.tracks) this.drawTrack(t, x, y, s, font, dpr);
    if (this.info) this.info.textContent = `frame ${msg.seq} · ${msg.pts.toFixed(1)} s · ${msg.tracks.length} face${msg.tracks.length === 1 ? '' : 's'}`;
  }

  drawTrack(t, ox, oy, s, font, dpr) {
    const { ctx } = this;
    const [bx, by, bw, bh] = t.box;
    const x = ox + bx * s;
    const y = oy + by * s;
    const air = this.air.get(t.id);
    const color = air === 'on-air' ? COLORS.onAir : t.identity ? COLORS.named : t.state === 'confirmed' ? COLORS.unknown : COLORS.weak;
    ctx.lineWidth = Math.max(1.5, 2 * dpr);
    ctx.strokeStyle = color;
    ctx.setLineDash(t.state === 'confirmed' ? [] : [6 * dpr, 4 * dpr]);
    ctx.strokeRect(x, y, bw * s, bh * s);
    ctx.setLineDash([]);
    const name = t.identity ? `${t.identity.name} ${Math.round(t.identity.confidence * 100)}%` : 'unknown';
    // Short: labels of neighbouring faces must not cover each other. On air shows as red.
    const label = `#${t.id} ${name}`;
    const pad = 3 * dpr;
    const w = ctx.measureText(label).width + pad * 2;
    const h = font + pad * 2;
    // Above the box, or inside its top edge when the face is at the top of the picture; never
    // past the right edge, where a face near the frame's edge would lose its name.
    const ly = y - h >= 0 ? y - h : y;
    const lx = Math.max(0, Math.min(x - ctx.lineWidth / 2, this.canvas.width - w));
    ctx.fillStyle = color;
    ctx.fillRect(lx, ly, w, h);
    ctx.fillStyle = '#0b0d12';
    ctx.fillText(label, lx + pad, ly + pad);
  }
}
