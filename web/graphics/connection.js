// The page's WebSocket to /ws. Reconnects for ever with exponential backoff and jitter (so a
// restarted server is not hit by every page at the same instant), capped at a few seconds so a
// page is back on air quickly. The backoff only resets once the server has sent a state: a server
// that accepts and then drops the connection still gets backed off.
//
// An application-level ping every few seconds catches half-open connections (a server host that
// vanished without closing TCP): no message for staleMs → close and reconnect.

export class Connection {
  /**
   * url: ws(s)://…/ws?…; onMessage(msg), onOpen(), onClose(): callbacks.
   */
  constructor({ url, onMessage, onOpen, onClose, baseMs = 250, capMs = 5000, pingMs = 5000, staleMs = 15000 }) {
    Object.assign(this, { url, onMessage, onOpen, onClose, baseMs, capMs, pingMs, staleMs });
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.lastMessageAt = null;
    this.stopped = true;
  }

  get connected() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.ws?.close(1000, 'page closed');
  }

  /** The server sent a full state: this connection works, so the next drop starts the backoff anew. */
  healthy() {
    this.attempt = 0;
  }

  /** Reconnect now instead of waiting out the backoff (e.g. OBS just made the source visible). */
  reconnectNow() {
    if (this.stopped || this.connected || this.ws?.readyState === WebSocket.CONNECTING) return;
    clearTimeout(this.timer);
    this.open();
  }

  send(msg) {
    if (this.connected) this.ws.send(JSON.stringify(msg));
  }

  open() {
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      console.error(`facecast: cannot open ${this.url.replace(/key=[^&]*/, 'key=…')}: ${err.message}`);
      return this.retry();
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastMessageAt = Date.now();
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.keepAlive(ws), this.pingMs);
      this.onOpen?.();
    };
    ws.onmessage = (ev) => {
      this.lastMessageAt = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return console.warn('facecast: ignored a message that is not JSON');
      }
      this.onMessage?.(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.pinger);
      this.ws = null;
      this.onClose?.();
      this.retry();
    };
    // onclose always follows onerror; the error itself says nothing a browser lets us read.
    ws.onerror = () => {};
  }

  keepAlive(ws) {
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - this.lastMessageAt > this.staleMs) {
      console.warn('facecast: no message from the server for a while; reconnecting');
      ws.close(4000, 'stale');
      // Some browsers take long to report a close on a dead link: treat it as closed now.
      ws.onclose?.();
      return;
    }
    ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
  }

  retry() {
    if (this.stopped) return;
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 10);
    // "Equal jitter": at least half the step, so retries neither bunch up nor fire immediately.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), delay);
  }
}
