// Auto-shrink: a name must show in full on air, however long (Jean-Philippe Kouassi-Vanderbeek-
// Montgomery) or in whichever script (손흥민). Elements marked data-fit keep one line and lose
// font size until they fit their box; never an ellipsis. Only at data-fit-min (default 45 % of the
// styled size) may the text wrap as a last resort.

function fitOne(el) {
  el.style.fontSize = '';
  el.classList.remove('fc-fit-wrap');
  // clientWidth is 0 while not laid out (display: none, detached): nothing to measure yet.
  if (el.clientWidth === 0) return;
  const max = parseFloat(getComputedStyle(el).fontSize);
  const min = Number(el.dataset.fitMin) || Math.round(max * 0.45);
  let size = max;
  for (let i = 0; i < 8 && el.scrollWidth > el.clientWidth; i++) {
    // Proportional step, a little under, so rounding of glyph advances cannot leave 1 px over.
    const next = Math.max(min, Math.floor((size * el.clientWidth) / el.scrollWidth) - 1);
    if (next >= size) break;
    size = next;
    el.style.fontSize = `${size}px`;
    if (size === min) break;
  }
  if (el.scrollWidth > el.clientWidth) el.classList.add('fc-fit-wrap');
}

/** Fits every data-fit element under (and including) root. */
export function fitAll(root) {
  if (root.matches?.('[data-fit]')) fitOne(root);
  for (const el of root.querySelectorAll('[data-fit]')) fitOne(el);
}
