// The dashboard's WebSocket: /ws?role=operator&channel=N, authenticated by the session cookie the
// browser sends with the upgrade. Reconnection (backoff, stale-link detection) is the graphics
// page's Connection, shared rather than copied. Commands sent while the link is down are refused
// with a message instead of vanishing: an operator must know a take did not go out.
import { Connection } from '/web/graphics/connection.js';
import { api } from './api.js';
import { showError } from './notify.js';

export class OperatorLink {
  /** onMessage(msg); onStatus({state: 'connecting'|'connected'|'reconnecting', attempt}). */
  constructor(channel, { onMessage, onStatus }) {
    this.channel = channel;
    this.onStatus = onStatus;
    this.synced = false;
    this.failures = 0;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws?role=operator&channel=${encodeURIComponent(channel)}`;
    this.conn = new Connection({
      url,
      onMessage: (msg) => {
        if (msg.type === 'state') {
          this.synced = true;
          this.failures = 0;
          this.conn.healthy();
          this.report();
        }
        onMessage(msg);
      },
      onOpen: () => this.report(),
      onClose: () => {
        this.synced = false;
        this.failures++;
        this.report();
        // A browser cannot read why an upgrade was refused; after a few failures ask the API,
        // which answers 401 (and sends us to the login) when the session has ended.
        if (this.failures === 3) api('/api/outputs').catch(() => undefined);
      },
    });
  }

  get connected() {
    return this.conn.connected && this.synced;
  }

  report() {
    const state = this.connected ? 'connected' : this.conn.connected ? 'connecting' : this.failures > 0 ? 'reconnecting' : 'connecting';
    this.onStatus?.({ state, attempt: this.conn.attempt });
  }

  start() {
    this.report();
    this.conn.start();
  }

  /** Sends a command; false (and a message on screen) when there is no live link. */
  send(msg) {
    if (!this.connected) {
      showError('NOT_CONNECTED', `"${msg.type}" was not sent: no connection to the server (reconnecting…)`);
      return false;
    }
    this.conn.send(msg);
    return true;
  }
}
