/* global Node, Element */
// Tiny DOM helpers. Everything that comes from the server (names, stats, error text) is set as
// text, never as HTML: the roster can be edited by anyone with the API token.

/**
 * el('td', {class: 'x', text: 'y', data: {id: 1}, on: {click}}, child, …): an element.
 * Other keys become attributes (false/null/undefined ones are left out).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else if (k === 'data') for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = String(dv);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k === 'value') node.value = v;
    else if (k === 'checked') node.checked = Boolean(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/** Sets text only when it changed, so rows refreshed twice a second do not thrash layout. */
export function setText(node, text) {
  const t = String(text ?? '');
  if (node.textContent !== t) node.textContent = t;
}

/** 0.873 → "87 %"; null → "–". */
export const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(v * 100)} %`);

/** 83_000 ms → "1:23". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export const ms = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)} ms`);

/** An ISO time → "14:03:27" in the operator's local time. */
export function clock(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString([], { hour12: false });
}

/** Whether a key press belongs to a form field (hotkeys must not fire while someone types). */
export function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]'));
}
