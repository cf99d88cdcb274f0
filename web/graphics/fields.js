// Filling a template with player data: every element with data-field="<field>" gets that field as
// text (never as HTML: names come from a roster anyone with the API can edit), `stats` becomes a
// list, and teamColor becomes the CSS variables --team-color and --team-ink (a text colour that
// stays readable on it).

const probe = document.createElement('canvas').getContext('2d');

/** '#c8102e' / 'rgb(…)' / 'red' → [r, g, b] 0…255, or null if the browser cannot parse it. */
function rgb(color) {
  if (typeof color !== 'string' || !CSS.supports('color', color)) return null;
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  const v = String(probe.fillStyle);
  if (v.startsWith('#')) return [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16));
  const m = v.match(/[\d.]+/g);
  return m ? m.slice(0, 3).map(Number) : null;
}

/** WCAG relative luminance. */
function luminance([r, g, b]) {
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function applyTeamColor(root, color) {
  const c = rgb(color);
  if (!c) {
    root.style.removeProperty('--team-color');
    root.style.removeProperty('--team-ink');
    return;
  }
  const l = luminance(c);
  // Whichever of white or near-black has the higher contrast ratio on this colour.
  const onWhite = 1.05 / (l + 0.05);
  const onBlack = (l + 0.05) / 0.05;
  root.style.setProperty('--team-color', `rgb(${c.join(' ')})`);
  root.style.setProperty('--team-ink', onWhite >= onBlack ? '#ffffff' : '#0b0d12');
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
  el.toggleAttribute('data-empty', text === '');
}

function format(value) {
  if (value === null || value === undefined) return '';
  return String(value);
}

/** Stats as items cloned from the element's own <template> (or plain spans without one). */
function renderStats(el, stats) {
  const max = Number(el.dataset.max) || 4;
  const items = (Array.isArray(stats) ? stats : []).slice(0, max);
  const key = JSON.stringify(items);
  if (el.dataset.rendered === key) return;
  el.dataset.rendered = key;
  const tpl = el.querySelector(':scope > template');
  for (const node of [...el.childNodes]) if (node !== tpl) node.remove();
  for (const s of items) {
    const item = tpl ? tpl.content.firstElementChild.cloneNode(true) : document.createElement('span');
    const label = item.querySelector('[data-item="label"]');
    const value = item.querySelector('[data-item="value"]');
    if (label || value) {
      if (label) label.textContent = format(s.label);
      if (value) value.textContent = format(s.value);
    } else {
      item.textContent = `${format(s.value)} ${format(s.label)}`;
    }
    el.append(item);
  }
  el.toggleAttribute('data-empty', items.length === 0);
}

/** Writes `data` (a PlayerCard or a NameTag) into every data-field element under root. */
export function bindFields(root, data) {
  for (const el of root.querySelectorAll('[data-field]')) {
    const field = el.dataset.field;
    if (field === 'stats') renderStats(el, data.stats);
    else setText(el, format(data[field]));
  }
  applyTeamColor(root, data.teamColor);
}
