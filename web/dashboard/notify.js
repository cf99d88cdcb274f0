// Messages for the operator. Errors from the server (WebSocket `error`, API 4xx/5xx bodies) stay
// on screen until dismissed: during a show a message that vanished before anyone looked is a
// message nobody read. Notes (done, saved) fade by themselves.
import { el } from './dom.js';

const MAX_SHOWN = 6;
const NOTE_MS = 4000;

let box = null;

export function initNotify(container) {
  box = container;
}

function add(kind, text, code) {
  if (!box) return console.error(text);
  const item = el(
    'div',
    { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status', data: { code: code ?? '' } },
    code ? el('b', { text: code }) : null,
    el('span', { text }),
    el('button', { class: 'msg-close', title: 'Dismiss', 'aria-label': 'Dismiss', text: '×', on: { click: () => item.remove() } }),
  );
  box.prepend(item);
  // Oldest beyond the limit go; the newest errors are the ones that matter now.
  while (box.children.length > MAX_SHOWN) box.lastElementChild.remove();
  if (kind !== 'error') setTimeout(() => item.remove(), NOTE_MS);
  return item;
}

/** An error for the operator: an ApiError / Error, or a code and a message. */
export function showError(err, message) {
  if (typeof err === 'string' && message !== undefined) return add('error', message, err);
  if (err && typeof err === 'object') return add('error', err.message ?? String(err), err.code);
  return add('error', String(err));
}

export function showNote(text) {
  return add('note', text);
}

/** Runs an async action and reports its failure; returns its result or undefined. */
export async function attempt(fn) {
  try {
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  }
}
