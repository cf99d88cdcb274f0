// Photo upload with a line per file: progress while it is sent, then what the server made of it
// (enrolled, already there, no face, several faces, not an image), with a preview of the faces
// when the photo showed more than one (which was taken). Each file is its own request,
// so one bad file never costs the others and every file gets its own progress and answer.
import { ApiError, uploadFile } from './api.js';
import { el } from './dom.js';
import { showError } from './notify.js';
import { facePreview } from './uploadFaces.js';

const STATUS_TEXT = {
  enrolled: 'enrolled',
  unchanged: 'already enrolled',
  'no-face': 'no face found',
  'several-faces': 'several faces',
  unreadable: 'not an image',
};

export class PhotoUpload {
  constructor(playerId) {
    this.playerId = playerId;
    this.input = el('input', { type: 'file', multiple: true, accept: 'image/*', class: 'photo-input', 'aria-label': 'photos to enrol' });
    this.input.addEventListener('change', () => {
      const files = [...this.input.files];
      this.input.value = '';
      this.upload(files);
    });
    this.list = el('ul', { class: 'upload-list' });
    this.root = el(
      'div',
      { class: 'photo-upload' },
      el('h4', { text: 'Photos' }),
      el('label', { class: 'btn small file' }, 'Upload photos…', this.input),
      el('p', { class: 'hint', text: 'the player as the main face (others clearly smaller are ignored); each file is checked on its own' }),
      this.list,
    );
  }

  async upload(files) {
    const items = files.map((f) => this.item(f));
    // One at a time: the server enrols them one by one anyway, and a steady trickle keeps the
    // link free for the live feeds.
    for (const it of items) await this.send(it);
  }

  item(file) {
    const bar = el('progress', { max: 1, value: 0 });
    const status = el('span', { class: 'upload-status', text: 'waiting' });
    const li = el('li', { class: 'upload', data: { file: file.name, state: 'waiting' } }, el('span', { class: 'upload-name', text: file.name }), bar, status);
    this.list.prepend(li);
    return { file, li, bar, status };
  }

  set(it, state, text) {
    it.li.dataset.state = state;
    it.status.textContent = text;
  }

  async send(it) {
    this.set(it, 'sending', 'sending 0 %');
    const path = `/api/players/${encodeURIComponent(this.playerId)}/photos`;
    try {
      const { body } = await uploadFile(path, 'photos', it.file, (p) => {
        it.bar.value = p;
        this.set(it, p < 1 ? 'sending' : 'analysing', p < 1 ? `sending ${Math.round(p * 100)} %` : 'analysing…');
      });
      this.report(it, body.reports?.[0]);
    } catch (err) {
      it.bar.value = 1;
      // 422 "none enrolled" carries the per-file report: show its reason, not the batch summary.
      const report = err instanceof ApiError ? err.details?.reports?.[0] : undefined;
      if (report) return this.report(it, report);
      this.set(it, 'error', err.message);
      showError(err);
    }
  }

  report(it, r) {
    if (!r) return this.set(it, 'error', 'the server sent no report for this file');
    const ok = r.status === 'enrolled' || r.status === 'unchanged';
    // The server's message starts with the file name, which the line already shows.
    const detail = r.message.startsWith(`${r.file}: `) ? r.message.slice(r.file.length + 2) : r.message;
    const label = STATUS_TEXT[r.status] ?? r.status;
    this.set(it, ok ? 'ok' : 'error', detail.toLowerCase().startsWith(label) ? detail : `${label}: ${detail}`);
    it.li.dataset.status = r.status;
    if (r.ignored?.length) it.li.dataset.ignored = String(r.ignored.length);
    facePreview(it.file, r).then((canvas) => canvas && it.li.append(canvas));
  }
}
