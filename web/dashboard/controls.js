// Control: mode (auto / assisted / manual), name tags, what is on air, the cue list, and the
// take / take next / clear buttons with their hotkeys (Space take, Esc clear all, ↑/↓ select a
// cue). Everything is a command to the server; the page changes only when the server's next
// `state` says so, so what the operator sees is what is really on air.
import { el, duration, isTyping, pct, setText } from './dom.js';

const CARD_TEXT = { intro: 'intro', stats: 'stats' };

export class Controls {
  /** root: the control panel; send(msg) → bool; onSelect(graphic|null) for the preview monitor. */
  constructor(root, { send, onSelect }) {
    this.root = root;
    this.send = send;
    this.onSelect = onSelect;
    this.state = null;
    this.selectedId = null;
    this.list = root.querySelector('.cue-list');
    this.air = root.querySelector('.on-air');
    this.modes = [...document.querySelectorAll('.modes [data-mode]')];
    this.tags = document.querySelector('#name-tags');
    for (const b of this.modes) b.addEventListener('click', () => this.send({ type: 'mode', mode: b.dataset.mode }));
    this.tags.addEventListener('change', () => {
      const on = this.tags.checked;
      // Shown as the server has it until the server confirms.
      this.tags.checked = Boolean(this.state?.nameTags);
      this.send({ type: 'nameTags', on });
    });
    this.button('take').addEventListener('click', () => this.take());
    this.button('take-next').addEventListener('click', () => this.send({ type: 'takeNext' }));
    this.button('clear').addEventListener('click', () => this.clearAll());
    this.button('hide').addEventListener('click', () => this.send({ type: 'clear', layer: 'lowerThird' }));
    addEventListener('keydown', (e) => this.onKey(e), true);
    // A focused button would also be "clicked" by Space on keyup: Space is the take key here.
    addEventListener('keyup', (e) => e.key === ' ' && !isTyping(e.target) && e.preventDefault(), true);
    setInterval(() => this.tick(), 1000);
  }

  button(name) {
    return this.root.querySelector(`[data-action="${name}"]`);
  }

  get cued() {
    return this.state?.cued ?? [];
  }

  get selected() {
    return this.cued.find((g) => g.id === this.selectedId) ?? null;
  }

  setState(state) {
    this.state = state;
    for (const b of this.modes) b.setAttribute('aria-pressed', String(b.dataset.mode === state.mode));
    document.body.dataset.airMode = state.mode;
    this.tags.checked = state.nameTags;
    // The selection follows its cue; when that cue is gone (taken, replaced), the first one.
    if (!this.selected) this.selectedId = this.cued[0]?.id ?? null;
    this.renderCues();
    this.renderAir();
  }

  renderCues() {
    const items = this.cued.map((g) =>
      el(
        'li',
        {
          class: g.id === this.selectedId ? 'cue-item selected' : 'cue-item',
          data: { cueId: g.id, playerId: g.player.id },
          'aria-selected': String(g.id === this.selectedId),
          on: { click: () => this.select(g.id) },
        },
        el('span', { class: 'cue-num', text: g.player.number ?? '' }),
        el('span', { class: 'cue-name', text: g.player.name }),
        el('span', { class: 'cue-meta', text: `${CARD_TEXT[g.card] ?? g.card} · ${g.confidence === null ? g.takenBy : pct(g.confidence)}` }),
        el('button', { class: 'btn small take', text: 'Take', on: { click: (e) => (e.stopPropagation(), this.send({ type: 'take', cueId: g.id })) } }),
      ),
    );
    this.list.replaceChildren(...items);
    if (items.length === 0) this.list.append(el('li', { class: 'empty', text: 'nothing cued — cue a player from the roster or from on-screen-now' }));
    this.onSelect?.(this.selected);
  }

  renderAir() {
    const g = this.state?.onAir.lowerThird ?? null;
    this.air.dataset.graphicId = g?.id ?? '';
    this.air.classList.toggle('live', Boolean(g));
    setText(this.air.querySelector('.air-name'), g ? `${g.player.number !== null ? `${g.player.number} ` : ''}${g.player.name}` : 'nothing on air');
    setText(
      this.air.querySelector('.air-meta'),
      g ? `${CARD_TEXT[g.card] ?? g.card} · ${g.takenBy}${g.trackId !== null ? ` · track #${g.trackId}` : ''}${g.confidence !== null ? ` · ${pct(g.confidence)}` : ''}` : '',
    );
    this.button('hide').disabled = !g;
    this.tick();
  }

  tick() {
    const g = this.state?.onAir.lowerThird;
    setText(this.air.querySelector('.air-time'), g ? duration(Date.now() - g.takenAt) : '');
  }

  select(id) {
    this.selectedId = id;
    this.renderCues();
  }

  move(step) {
    const cued = this.cued;
    if (cued.length === 0) return;
    const i = cued.findIndex((g) => g.id === this.selectedId);
    const next = i < 0 ? 0 : Math.min(cued.length - 1, Math.max(0, i + step));
    this.select(cued[next].id);
    this.list.querySelector('.selected')?.scrollIntoView({ block: 'nearest' });
  }

  /** The selected cue, or the first one when none is selected (the server says if nothing is cued). */
  take() {
    const g = this.selected;
    return this.send(g ? { type: 'take', cueId: g.id } : { type: 'takeNext' });
  }

  clearAll() {
    return this.send({ type: 'clear' });
  }

  flash(name) {
    const b = this.button(name);
    b?.classList.add('pressed');
    setTimeout(() => b?.classList.remove('pressed'), 180);
  }

  onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    switch (e.key) {
      case ' ':
        if (e.repeat) break; // holding Space must not take again and again
        this.flash('take');
        this.take();
        break;
      case 'Escape':
        this.flash('clear');
        this.clearAll();
        break;
      case 'ArrowUp':
        this.move(-1);
        break;
      case 'ArrowDown':
        this.move(1);
        break;
      default:
        return;
    }
    e.preventDefault();
  }
}
