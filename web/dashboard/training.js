// Retraining: the button, its progress (from the server's `training` messages, which also report
// retrains started by relabelling), and the model's standing (trained when, stale or not).
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
    this.button.addEventListener('click', () => this.retrain());
    this.state = null;
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
    const res = await attempt(() => api('/api/train', { method: 'POST', json: {} }));
    if (!res) {
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
    this.bar.hidden = t.state !== 'running';
    if (t.progress === null || t.progress === undefined) this.bar.removeAttribute('value');
    else this.bar.value = t.progress;
    const pctText = t.state === 'running' && t.progress !== null && t.progress !== undefined ? ` ${Math.round(t.progress * 100)} %` : '';
    const what = t.state === 'running' ? 'training' : t.state === 'idle' ? '' : t.state;
    setText(this.text, what ? `${what}${pctText}${t.message ? `: ${t.message}` : ''}` : '');
    if (quiet || was === t.state) return;
    if (t.state === 'done') {
      showNote(`retrain done${t.message ? `: ${t.message}` : ''}`);
      this.loadModel();
    } else if (t.state === 'failed') showError('TRAINING_FAILED', t.message || 'the retrain failed');
  }
}
