// The operator dashboard: one channel (?channel=, default 1). Wires the live feeds of the
// operator WebSocket (state, preview, tracks, health, training, roster notices, errors) to the
// panels, and the panels' commands back to the server. Nothing here decides what is on air: the
// server does, and the page redraws from its `state`.
//
// For tests and debugging, window.facecastDashboard exposes {connected, state, tracks, …}.
import { api } from './api.js';
import { $, el } from './dom.js';
import { AsRun } from './asRun.js';
import { Controls } from './controls.js';
import { importCsv } from './csvImport.js';
import { Health } from './health.js';
import { OperatorLink } from './link.js';
import { attempt, initNotify, showError, showNote } from './notify.js';
import { OnScreen } from './onScreen.js';
import { Preview } from './preview.js';
import { Monitors } from './program.js';
import { Roster } from './roster.js';
import { Sources } from './sources.js';
import { Training } from './training.js';
import { initTabs } from './tabs.js';

const channel = new URLSearchParams(location.search).get('channel') || '1';
document.title = `facecast · ch ${channel}`;
initNotify($('#messages'));

let state = null;
let tracks = [];
/** The training states the server reported, in order (tests wait on it). */
const trainingLog = [];
let link = null;
const send = (msg) => link.send(msg);

const monitors = new Monitors({ pgm: $('#pgm'), pvw: $('#pvw') });
const preview = new Preview($('#preview'), { onFrame: (bitmap) => monitors.frameArrived(bitmap) });
const onScreen = new OnScreen($('#on-screen'), { send });
const controls = new Controls($('#control'), { send, onSelect: (g) => monitors.preview(g) });
const roster = new Roster($('#roster'), { send, onPlayers: (players) => onScreen.setPlayers(players) });
const training = new Training($('#training'));
const sources = new Sources($('#sources'), { channel, send });
const health = new Health($('#health'), { channel });
const asRun = new AsRun($('#as-run'), { channel });
initTabs($('#tabs'), { onShow: (name) => name === 'as-run' && asRun.load() });

let rosterTimer = null;
/** Roster notices come in bursts (an upload of ten photos): one refetch per burst. */
function rosterChanged() {
  clearTimeout(rosterTimer);
  rosterTimer = setTimeout(() => {
    roster.refresh();
    training.loadModel();
  }, 250);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'state':
      if (msg.state.channel !== channel) return;
      state = msg.state;
      controls.setState(state);
      roster.setChannelState(state);
      sources.setSource(state.source);
      asRun.soon();
      break;
    case 'preview':
      if (msg.channel === channel) preview.show(msg);
      break;
    case 'tracks':
      if (msg.channel !== channel) return;
      tracks = msg.tracks;
      onScreen.update(msg);
      preview.setAirStates(msg.tracks);
      break;
    case 'health':
      health.update(msg);
      sources.setChannels(msg.channels);
      break;
    case 'training':
      trainingLog.push(msg.state);
      if (trainingLog.length > 100) trainingLog.shift();
      training.update(msg);
      break;
    case 'roster':
      rosterChanged();
      break;
    case 'error':
      showError(msg.code, msg.message);
      break;
    default:
      break; // hello, pong, tags (name tags are drawn by the graphics page in PGM)
  }
}

const linkState = $('#link-state');
link = new OperatorLink(channel, {
  onMessage,
  onStatus: ({ state: s, attempt: n }) => {
    linkState.dataset.state = s;
    linkState.textContent = s === 'reconnecting' ? `reconnecting (attempt ${n})` : s;
  },
});

async function loadOutputs() {
  const res = await attempt(() => api('/api/outputs'));
  if (!res) return;
  const select = $('#channel');
  const ids = res.channels.map((c) => c.id);
  if (!ids.includes(channel)) ids.push(channel);
  select.replaceChildren(...ids.map((id) => el('option', { value: id, text: `${id}`, selected: id === channel })));
  const mine = res.channels.find((c) => c.id === channel);
  if (!mine) return showError('NO_CHANNEL', `channel ${channel} does not exist on the server; pick another one`);
  monitors.setGraphicsUrl(mine.graphics);
  $('#sources .obs-link').href = mine.obs;
  $('#sources .graphics-link').href = mine.graphics;
}

$('#channel').addEventListener('change', (e) => location.assign(`/dashboard?channel=${encodeURIComponent(e.target.value)}`));

$('#logout').addEventListener('click', async () => {
  // Plain fetch: the answer may be a redirect to the login page rather than JSON.
  try {
    const res = await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (!res.ok && res.status !== 401) throw new Error(`the server answered HTTP ${res.status}`);
    location.assign('/login');
  } catch (err) {
    showError('LOGOUT_FAILED', `could not log out: ${err.message}`);
  }
});

$('#csv-input').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  let results;
  try {
    results = await importCsv(await file.text());
  } catch (err) {
    return showError('CSV_INVALID', `${file.name}: ${err.message}`);
  }
  const bad = results.filter((r) => !r.ok);
  for (const r of bad) showError('CSV_ROW', `${file.name} ${r.message}`);
  const created = results.filter((r) => r.action === 'created').length;
  const updated = results.filter((r) => r.action === 'updated').length;
  showNote(`${file.name}: ${created} added, ${updated} updated${bad.length ? `, ${bad.length} refused` : ''}`);
  roster.refresh();
});

window.facecastDashboard = {
  channel,
  get connected() {
    return link.connected;
  },
  get state() {
    return state;
  },
  get tracks() {
    return tracks;
  },
  get players() {
    return roster.players;
  },
  trainingLog,
  get selectedCue() {
    return controls.selected?.id ?? null;
  },
};

link.start();
loadOutputs();
roster.refresh();
training.load();
asRun.load();
