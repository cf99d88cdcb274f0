// OBS's browser source tells a page when it is shown or hidden (visible: in any view) and when it
// goes on or off program (active), both through window.obsstudio callbacks and DOM events. While
// hidden, animations are paused (nobody sees them, and they should not finish unseen); when
// shown or taken to program again, the page resyncs to the current state without replaying.

export function watchObs(win, { pause, resync }) {
  if (!win.obsstudio) return false;
  let visible = true;
  const setVisible = (v) => {
    v = Boolean(v);
    if (v === visible) return;
    visible = v;
    if (v) resync();
    else pause();
  };
  const setActive = (a) => {
    if (a && visible) resync();
  };
  // Both mechanisms exist across OBS versions; the handlers only act on changes, so getting both
  // is harmless.
  win.obsstudio.onVisibilityChange = setVisible;
  win.obsstudio.onActiveChange = setActive;
  win.addEventListener('obsSourceVisibleChanged', (e) => setVisible(e.detail?.visible));
  win.addEventListener('obsSourceActiveChanged', (e) => setActive(e.detail?.active));
  return true;
}
