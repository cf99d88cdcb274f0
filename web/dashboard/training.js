// Retraining: the button, its progress (from the server's `training` messages, which also report
// retrains started by relabelling), and the model's standing (trained when, stale or not). When
// the server refuses to train because the roster holds embeddings of another vision setup, a
// "Re-embed roster" button appears: it embeds the stored photos again and retrains
// (POST /api/roster/reembed); if some cannot be, it offers to drop them.
import { api } from './api.js';
import { clock, setText } from './dom.js';
import { attempt, showError, showNote } from './notify.js';

export class Training {
  constructor(root) {
    this.root = root;
    this.button = root.querySelector('[data-action="retrain"]');
    this.bar = root.querySelector('progress');
    this.text = root.querySelector('.training-text');
    this.model = root.querySelector('.model-status');
    this.reembedButton = root.querySelector('[data-action="reembed"]');
    this.button.addEventListener('click', () => this.retrain());
    this.reembedButton.addEventListener('click', () => this.reembed());
    this.state = null;
  }

  /** Shows the re-embed button; `drop` turns it into the second step (drop what cannot be re-embedded). */
  offerReembed(drop = false) {
    this.reembedButton.hidden = false;
    this.reembedButton.dataset.drop = String(drop);
    this.reembedButton.textContent = drop ? 'Drop what cannot be re-embedded' : 'Re-embed roster';
  }

  async reembed() {
    const dropStale = this.reembedButton.dataset.drop === 'true';
    this.update({ state: 'running', progress: null, message: 're-embedding…' }, { quiet: true });
    try {
      const res = await api('/api/roster/reembed', { method: 'POST', json: { dropStale } });
      this.reembedButton.hidden = true;
      if (this.state !== 'done') this.update({ state: 'done', progress: 1, message: `re-embedded and trained in ${(res.ms / 1000).toFixed(1)} s` });
    } catch (err) {
      showError(err);
      // Some photos could not be re-embedded (the others were): the next click drops them.
      if (err.code === 'EMBEDDING_SETUP') this.offerReembed(true);
      await this.load();
    }
  }

  async load() {
    // What is running now (a retrain started before this page opened), then the model.
    const t = await attempt(() => api('/api/training'));
    const current = t?.training ?? t;
    if (current?.state) this.update(current, { quiet: true });
    await this.loadModel();
  }

  async loadModel() {
    try {
      const { model } = await api('/api/model');
      this.model.dataset.stale = String(model.stale);
      setText(this.model, `model: ${Object.keys(model.players).length} players, trained ${clock(model.trainedAt)}${model.stale ? ' · roster changed since: retrain' : ''}`);
    } catch (err) {
      if (err.code === 'NO_MODEL') {
        this.model.dataset.stale = 'true';
        setText(this.model, 'no model yet: enrol photos, then retrain');
      } else showError(err);
    }
  }

  async retrain() {
    this.update({ state: 'running', progress: null, message: 'starting…' }, { quiet: true });
    let res;
    try {
      res = await api('/api/train', { method: 'POST', json: {} });
    } catch (err) {
      showError(err);
      if (err.code === 'EMBEDDING_SETUP') this.offerReembed();
      // Refused (e.g. one is already running): show the server's view again.
      await this.load();
      return;
    }
    // Servers that train in the background answer at once; progress then comes as `training`.
    if (res.model && this.state !== 'done') this.update({ state: 'done', progress: 1, message: `trained in ${(res.ms / 1000).toFixed(1)} s` });
  }

  /** A `training` message (or the same shape from GET /api/training). */
  update(t, { quiet = false } = {}) {
    const was = this.state;
    this.state = t.state;
    this.root.dataset.training = t.state;
    this.button.disabled = t.state === 'running';
    this.reembedButton.disabled = t.state === 'running';
    this.bar.hidden = t.state !== 'running';
    if (t.progress === null || t.progress === undefined) this.bar.removeAttribute('value');
    else this.bar.value = t.progress;
    const pctText = t.state === 'running' && t.progress !== null && t.progress !== undefined ? ` ${Math.round(t.progress * 100)} %` : '';
    const what = t.state === 'running' ? 'training' : t.state === 'idle' ? '' : t.state;
    setText(this.text, what ? `${what}${pctText}${t.message ? `: ${t.message}` : ''}` : '');
    if (quiet || was === t.state) return;
    if (t.state === 'done') {
      this.reembedButton.hidden = true;
      showNote(`retrain done${t.message ? `: ${t.message}` : ''}`);
      this.loadModel();
    } else if (t.state === 'failed') showError('TRAINING_FAILED', t.message || 'the retrain failed');
  }
}
