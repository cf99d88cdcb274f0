// A WebSocket client for tests of the overlay protocol: validates every server message against
// the protocol schema, records them in order, and waits for the next one of a kind.
import WebSocket from 'ws';
import { serverMessageSchema, type ServerMessage } from '../../src/shared/protocol.ts';

export class WsClient {
  readonly messages: ServerMessage[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(serverMessageSchema.parse(JSON.parse(String(data))));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Connects to url (ws://host/ws?…) and resolves once the socket is open. */
  static async open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const ws = new WebSocket(url, { headers });
    const c = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return c;
  }

  /** Waits until a message of this type matching `pred` arrives after index `from`; returns it. */
  async next<T extends ServerMessage['type']>(type: T, from = 0, pred: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true, ms = 5000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.messages.slice(from).find((x): x is Extract<ServerMessage, { type: T }> => x.type === type && pred(x as Extract<ServerMessage, { type: T }>));
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`no ${type} message within ${ms} ms; got ${JSON.stringify(this.messages.slice(from).map((x) => x.type))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Sends a message (raw text as is); returns the index from which replies will be recorded. */
  send(data: string | object): number {
    const before = this.messages.length;
    this.ws.send(typeof data === 'string' ? data : JSON.stringify(data));
    return before;
  }

  async ping(): Promise<void> {
    const t = Math.random();
    const from = this.send({ type: 'ping', t });
    await this.next('pong', from, (m) => m.t === t);
  }

  close(): void {
    this.ws.close();
  }
}

/** The HTTP status a server answers a WebSocket upgrade to `url` with (101 when it accepts). */
export function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
  });
}
