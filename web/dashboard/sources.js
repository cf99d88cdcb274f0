// Sources: what feeds this channel (a file, rtmp://, srt://, …), attach and detach, and its
// status as ffmpeg reports it: connecting, playing, reconnecting (with the attempt and reason),
// ended or error (its kind; ffmpeg's own text is in the server log). The other channels are listed from `health`.
import { el, setText } from './dom.js';

const STATE_TEXT = { idle: 'no source', connecting: 'connecting', playing: 'connected', reconnecting: 'reconnecting', ended: 'ended', error: 'error' };

export class Sources {
  constructor(root, { channel, send }) {
    this.root = root;
    this.channel = channel;
    this.send = send;
    this.badge = root.querySelector('.source-state');
    this.url = root.querySelector('.source-url');
    this.detail = root.querySelector('.source-detail');
    this.others = root.querySelector('.other-channels tbody');
    const form = root.querySelector('.attach');
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const url = form.elements.url.value.trim();
      if (!url) return form.elements.url.focus();
      const msg = { type: 'attach', url };
      if (form.elements.loop.checked) msg.loop = true;
      this.send(msg);
    });
    root.querySelector('[data-action="detach"]').addEventListener('click', () => this.send({ type: 'detach' }));
  }

  /** source: {url, state, detail} from the channel state. */
  setSource(source) {
    this.badge.dataset.state = source.state;
    setText(this.badge, STATE_TEXT[source.state] ?? source.state);
    setText(this.url, source.url ?? '—');
    setText(this.detail, source.detail ?? '');
    this.detail.hidden = !source.detail;
    this.root.querySelector('[data-action="detach"]').disabled = !source.url;
    document.querySelector('#header-source').dataset.state = source.state;
    setText(document.querySelector('#header-source'), `${STATE_TEXT[source.state] ?? source.state}${source.state === 'reconnecting' && source.detail ? ` (${source.detail.split(':')[0]})` : ''}`);
  }

  /** Every channel's source, from a health message. */
  setChannels(channels) {
    this.others.replaceChildren(
      ...channels.map((c) =>
        el(
          'tr',
          { class: c.id === this.channel ? 'current' : '', data: { channel: c.id } },
          el('td', {}, el('a', { href: `/dashboard?channel=${encodeURIComponent(c.id)}`, text: c.id })),
          el('td', {}, el('span', { class: 'source-state', data: { state: c.source.state }, text: STATE_TEXT[c.source.state] ?? c.source.state })),
          el('td', { class: 'wrap', text: c.source.url ?? '—' }),
          el('td', { class: 'wrap', text: c.source.detail ?? '' }),
        ),
      ),
    );
  }
}
