// Tabs for the lower left panel (sources, health, as-run): one shown at a time, so all three fit
// a 1366×768 screen next to the preview.
export function initTabs(root, { onShow } = {}) {
  const tabs = [...root.querySelectorAll('[role="tab"]')];
  const show = (name) => {
    for (const t of tabs) t.setAttribute('aria-selected', String(t.dataset.tab === name));
    for (const p of root.querySelectorAll('.tab-panel')) p.hidden = p.dataset.panel !== name;
    onShow?.(name);
  };
  for (const t of tabs) t.addEventListener('click', () => show(t.dataset.tab));
}
