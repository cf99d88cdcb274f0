// The graphics page: connects to /ws as a graphics client for ?channel= with ?key=, and shows
// what the server says is on air. It never shows stale graphics: when the connection drops,
// everything the server put up comes down, and after a reconnect nothing is drawn (tags
// included) until the server's fresh `state` has arrived.
//
// For tests and debugging, window.facecast exposes {state, connected, lastMessageAt, …}.
import { Connection } from './connection.js';
import { LowerThird, DEFAULT_TEMPLATE } from './lowerThird.js';
import { NameTags } from './nameTags.js';
import { installCasparApi } from './caspar.js';
import { watchObs } from './obs.js';
import { STAGE_HEIGHT, STAGE_WIDTH } from './placement.js';
import { loadTemplate } from './templates.js';

/** Tags older than this show faces where they were, not where they are: take them off. */
const TAGS_STALE_MS = 1500;

const params = new URLSearchParams(location.search);
const channel = params.get('channel') || '1';
const key = params.get('key');

const stage = document.getElementById('stage');
const tagsLayer = document.getElementById('layer-name-tags');
const lowerThird = new LowerThird(document.getElementById('layer-lower-third'));
const nameTags = new NameTags(tagsLayer);

let state = null;
/** True from (re)connect until the first state: nothing the server sends before it is drawn. */
let awaitingState = true;
/** The server's lower third as last applied (JSON), so unrelated state changes do not re-take it. */
let appliedLowerThird;
let lastTagsAt = 0;
let tagIntervalMs = 100;
let paused = false;

/** Scale the 1920×1080 stage to whatever size the browser source really is. */
function fitStage() {
  const s = Math.min(innerWidth / STAGE_WIDTH, innerHeight / STAGE_HEIGHT);
  stage.style.transform = Math.abs(s - 1) < 0.001 || !Number.isFinite(s) || s <= 0 ? '' : `scale(${s})`;
}

function applyLowerThird() {
  const g = state.onAir.lowerThird;
  const json = JSON.stringify(g);
  if (json === appliedLowerThird) return;
  appliedLowerThird = json;
  if (!g) return lowerThird.hide('server');
  lowerThird
    .show({ id: g.id, template: g.template || DEFAULT_TEMPLATE, card: g.card, player: g.player, source: 'server' })
    .catch((err) => console.error(`facecast: lower third failed: ${err.message}`));
}

function applyState(next) {
  state = next;
  stage.dataset.channel = next.channel;
  applyLowerThird();
  if (!next.nameTags) nameTags.clear();
}

function applyTags(msg) {
  const now = performance.now();
  // Glide for about one tag interval: shorter stutters, longer lags behind the face.
  if (lastTagsAt) tagIntervalMs = tagIntervalMs * 0.8 + Math.min(Math.max(now - lastTagsAt, 30), 300) * 0.2;
  lastTagsAt = now;
  tagsLayer.style.setProperty('--move-ms', `${Math.round(tagIntervalMs)}ms`);
  if (paused) {
    nameTags.latest = msg.tags;
    return;
  }
  nameTags.update(msg.tags);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'state':
      if (msg.state?.channel !== channel) return;
      awaitingState = false;
      conn.healthy();
      applyState(msg.state);
      break;
    case 'tags':
      if (awaitingState || msg.channel !== channel || !state?.nameTags) return;
      applyTags(msg);
      break;
    case 'error':
      console.warn(`facecast server: ${msg.code}: ${msg.message}`);
      break;
    default:
      break; // hello, pong: only keep the connection marked alive
  }
}

/** Server graphics come down at once when the link is lost or renewed: we no longer know they are right. */
function dropServerGraphics() {
  awaitingState = true;
  appliedLowerThird = undefined;
  state = null;
  lowerThird.hide('server');
  nameTags.clear({ cut: true });
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?role=graphics&channel=${encodeURIComponent(channel)}&key=${encodeURIComponent(key ?? '')}`;
const conn = new Connection({
  url: wsUrl,
  onMessage,
  onOpen: () => {
    dropServerGraphics();
    stage.dataset.connected = 'true';
  },
  onClose: () => {
    dropServerGraphics();
    stage.dataset.connected = 'false';
  },
});

function pause() {
  paused = true;
  stage.classList.add('fc-paused');
}

/** Back from hidden: jump to the current state with no half-played animation, then carry on. */
function resync() {
  paused = false;
  stage.classList.remove('fc-paused');
  lowerThird.flushOut();
  nameTags.flushOut();
  // Jump every entrance and glide to its end state (finished CSS animations keep their end state).
  for (const a of stage.getAnimations?.({ subtree: true }) ?? []) {
    try {
      a.finish();
    } catch {
      // an infinite animation cannot finish; it simply carries on
    }
  }
  if (performance.now() - lastTagsAt < TAGS_STALE_MS && state?.nameTags) nameTags.render(nameTags.latest);
  else nameTags.clear({ cut: true });
  conn.reconnectNow();
}

// Load the stock lower third now: the first take goes on air without a fetch, and CasparCG's
// play() works even if the server is down by then. A load cut short (the server went down
// while the page was starting) is retried with backoff until it succeeds, so CasparCG-only use
// recovers as soon as the server is reachable again.
let stockTemplateReady = false;
function preloadStockTemplate(retryMs = 1000) {
  loadTemplate(DEFAULT_TEMPLATE).then(
    () => {
      stockTemplateReady = true;
    },
    (err) => {
      if (retryMs === 1000) console.warn(`facecast: the stock template did not load (${err.message}); retrying`);
      setTimeout(() => preloadStockTemplate(Math.min(retryMs * 2, 15000)), retryMs);
    },
  );
}
preloadStockTemplate();
installCasparApi(window, lowerThird);
watchObs(window, { pause, resync });
addEventListener('resize', fitStage);
fitStage();

// Text is fitted with the fonts in use; a font that arrives later changes every width.
document.fonts?.addEventListener?.('loadingdone', () => {
  lowerThird.refit();
  nameTags.refit();
});
document.fonts?.ready.then(() => {
  lowerThird.refit();
  nameTags.refit();
});

setInterval(() => {
  if (nameTags.latest.length && performance.now() - lastTagsAt > TAGS_STALE_MS) nameTags.clear();
}, 250);

window.facecast = {
  channel,
  get state() {
    return state;
  },
  get connected() {
    return conn.connected && !awaitingState;
  },
  get lastMessageAt() {
    return conn.lastMessageAt;
  },
  /** The stock template is loaded: a take (server or CasparCG) needs no fetch from here on. */
  get templateReady() {
    return stockTemplateReady;
  },
  get onAir() {
    const c = lowerThird.cur;
    return c ? { id: c.id, source: c.source, card: c.card, name: c.player.name } : null;
  },
  pause,
  resync,
};

// Without a key (the page copied elsewhere for CasparCG-only use) there is nothing to connect to.
if (key) conn.start();
else console.warn('facecast: no ?key= in the URL; not connecting (CasparCG update/play/stop/next still work)');
