// The overlay WebSocket: one endpoint, /ws, for graphics pages (OBS, vMix, CasparCG) and operator
// dashboards. The server holds what is on air; a connection is a view of one channel. On connect
// a client gets `hello` and then the channel's full `state`, so a page that reconnects never keeps
// stale graphics. Afterwards every state change is broadcast, and `tags` at frame rate.
//
//   GET /ws?role=graphics&channel=1&key=<server.outputKey>
//   GET /ws?role=operator&channel=1&token=<api token>   (or `Authorization: Bearer <token>`,
//                                                        or the dashboard's session cookie)
//
// Operator clients also get the dashboard feeds (preview, tracks, health, training, roster) via
// broadcastOperator(); graphics pages never do.
//
// Credentials are checked before the channel, so a stranger cannot probe which channels exist:
// 401 first, then 404. Every incoming message is validated with clientMessageSchema; a bad one
// gets an `error` reply and the connection stays open (an operator's typo must not blank a page).
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  MAX_CLIENT_MESSAGE_BYTES,
  clientMessageSchema,
  type ChannelState,
  type ClientMessage,
  type ServerMessage,
} from '../shared/protocol.ts';
import type { Logger } from '../shared/log.ts';

/** What the hub needs from one channel's overlay controller. */
export interface OverlayChannel {
  state(): ChannelState;
  /** Applies an operator command; throw an Error with a `code` to answer the client with it. */
  handle(msg: ClientMessage, by: string): void;
}

export type Role = 'graphics' | 'operator';

export interface OverlayHubOptions {
  outputKey: string;
  apiToken: string;
  /** The channel a client of this role may see; undefined refuses the connection (404). */
  channel: (id: string, role: Role) => OverlayChannel | undefined;
  log: Logger;
  /** Most connections at once; more are refused with 503 (default 200). */
  maxClients?: number;
  /** How often clients are pinged; one that has not answered by the next ping is dropped. */
  heartbeatMs?: number;
  /** A dashboard login (session cookie from our own origin) admits an operator without the token. */
  isOperatorSession?: (req: IncomingMessage) => boolean;
}

export const WS_PATH = '/ws';
const HEARTBEAT_MS = 15_000;
/** A client this far behind is skipped for `tags`: it would only show old face positions late. */
const TAGS_SKIP_BUFFERED_BYTES = 64 * 1024;
/** Previews are ~50 kB each: a dashboard this far behind skips feeds until it has caught up. */
const FEED_SKIP_BUFFERED_BYTES = 512 * 1024;
/** A client this far behind cannot catch up; dropping it makes it reconnect and get the full state. */
const DROP_BUFFERED_BYTES = 8 * 1024 * 1024;
/**
 * ws closes the connection (1009) above maxPayload, so that limit is set well above the protocol's
 * own: messages between the two get a polite `error` and the connection survives, and only absurd
 * ones (memory abuse) cost the connection.
 */
const HARD_MAX_PAYLOAD = 1024 * 1024;
const KNOWN_TYPES: ReadonlySet<string> = new Set(clientMessageSchema.options.map((o) => o.shape.type.value));

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Hashing first gives equal-length buffers, so the comparison time says nothing about the secret. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

interface Client {
  ws: WebSocket;
  channel: string;
  role: Role;
  /** Who operator commands are attributed to: 'operator:<name>'. */
  by: string;
  alive: boolean;
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };
const DEFAULT_MAX_CLIENTS = 200;

/** Answers an upgrade request with a plain HTTP error; the browser sees a failed connection. */
function refuse(socket: Duplex, r: Refusal): void {
  const body = JSON.stringify({ error: { code: r.code, message: r.message } });
  const head = [
    `HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(r.status === 401 ? ['WWW-Authenticate: Bearer realm="facecast"'] : []),
    ...(r.status === 503 ? ['Retry-After: 5'] : []),
  ];
  // Destroyed once flushed: a refused client must not keep a half-open socket.
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

export class OverlayHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD });
  private readonly clients = new Set<Client>();
  private readonly keyDigest: Buffer;
  private readonly tokenDigest: Buffer;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly attached: { server: Server; listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void }[] = [];
  private closing: Promise<void> | null = null;
  /** Upgrades admitted whose handshake has not finished yet. */
  private pending = 0;
  private lastCapWarning = 0;

  constructor(private readonly opts: OverlayHubOptions) {
    // An empty secret would let an empty `?key=` in: the caller must resolve (or generate) both first.
    if (!opts.outputKey) throw new Error('OverlayHub needs a non-empty outputKey (server.outputKey / FACECAST_OUTPUT_KEY)');
    if (!opts.apiToken) throw new Error('OverlayHub needs a non-empty apiToken (server.apiToken / FACECAST_API_TOKEN)');
    this.keyDigest = digest(opts.outputKey);
    this.tokenDigest = digest(opts.apiToken);
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Handles upgrades to /ws on this server; other paths are left to other listeners (or refused if none). */
  attach(server: Server): void {
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(server, req, socket, head);
    server.on('upgrade', listener);
    this.attached.push({ server, listener });
  }

  broadcastState(state: ChannelState): void {
    // Serialised once for everyone; state is never skipped, however slow the client.
    const data = JSON.stringify({ type: 'state', state, serverTime: Date.now() } satisfies ServerMessage);
    for (const c of this.clients) {
      if (c.channel !== state.channel || c.ws.readyState !== WebSocket.OPEN) continue;
      if (c.ws.bufferedAmount > DROP_BUFFERED_BYTES) {
        this.opts.log.warn({ channel: c.channel, role: c.role, buffered: c.ws.bufferedAmount }, 'overlay client too far behind: dropped so it reconnects');
        c.ws.terminate();
        continue;
      }
      c.ws.send(data);
    }
  }

  broadcastTags(msg: Extract<ServerMessage, { type: 'tags' }>): void {
    const data = JSON.stringify(msg);
    for (const c of this.clients) {
      if (c.channel !== msg.channel || c.ws.readyState !== WebSocket.OPEN) continue;
      // Tags are superseded by the next frame's: a slow client skips frames instead of queueing them.
      if (c.ws.bufferedAmount > TAGS_SKIP_BUFFERED_BYTES) continue;
      c.ws.send(data);
    }
  }

  /**
   * Dashboard feeds to the operator clients of one channel (null: of every channel). Frequent
   * feeds (preview, tracks, health) are skipped for a client that is behind, since the next one
   * supersedes them; pass skippable: false for one-off news (training finished, roster changed).
   */
  broadcastOperator(channel: string | null, msg: ServerMessage, opts: { skippable?: boolean } = {}): void {
    let data: string | null = null;
    for (const c of this.clients) {
      if (c.role !== 'operator' || (channel !== null && c.channel !== channel) || c.ws.readyState !== WebSocket.OPEN) continue;
      if (opts.skippable !== false && c.ws.bufferedAmount > FEED_SKIP_BUFFERED_BYTES) continue;
      data ??= JSON.stringify(msg);
      c.ws.send(data);
    }
  }

  /** Whether any operator watches this channel (null: any channel); feeds are only built then. */
  hasOperators(channel: string | null): boolean {
    for (const c of this.clients) if (c.role === 'operator' && (channel === null || c.channel === channel)) return true;
    return false;
  }

  counts(): { graphics: number; operator: number; byChannel: Record<string, { graphics: number; operator: number }> } {
    const out = { graphics: 0, operator: 0, byChannel: {} as Record<string, { graphics: number; operator: number }> };
    for (const c of this.clients) {
      out[c.role]++;
      const ch = (out.byChannel[c.channel] ??= { graphics: 0, operator: 0 });
      ch[c.role]++;
    }
    return out;
  }

  /** Stops the heartbeat, detaches from the servers and closes every connection (1001, going away). */
  close(graceMs = 2_000): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.heartbeat);
      for (const { server, listener } of this.attached) server.off('upgrade', listener);
      this.attached.length = 0;
      const closed = [...this.clients].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.ws.readyState === WebSocket.CLOSED) return resolve();
            c.ws.once('close', () => resolve());
            c.ws.close(1001, 'server shutting down');
          }),
      );
      // A client that never answers the close handshake must not hold the shutdown.
      const timer = setTimeout(() => {
        for (const c of this.clients) c.ws.terminate();
      }, graceMs);
      await Promise.all(closed);
      clearTimeout(timer);
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    })();
    return this.closing;
  }

  private upgrade(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== WS_PATH) {
      // Another listener may serve this path; with none, the socket would hang, so answer here.
      if (server.listenerCount('upgrade') <= this.attached.filter((a) => a.server === server).length) {
        refuse(socket, { status: 404, code: 'NOT_FOUND', message: `no WebSocket endpoint at ${url.pathname}; connect to ${WS_PATH}` });
      }
      return;
    }
    socket.on('error', (err) => this.opts.log.debug({ err }, 'overlay upgrade socket error'));
    if (this.closing) return refuse(socket, { status: 404, code: 'NOT_FOUND', message: 'the overlay server is shutting down; reconnect shortly' });
    // Counted before the handshake too, so a burst of connects cannot overshoot the cap.
    if (this.clients.size + this.pending >= (this.opts.maxClients ?? DEFAULT_MAX_CLIENTS)) {
      // Once per 10 s at most: a flood of refused connects must not flood the log too.
      if (Date.now() - this.lastCapWarning > 10_000) {
        this.lastCapWarning = Date.now();
        this.opts.log.warn({ max: this.opts.maxClients ?? DEFAULT_MAX_CLIENTS }, 'overlay connections refused: too many WebSocket connections (server.maxWebSockets)');
      }
      return refuse(socket, { status: 503, code: 'TOO_MANY_CONNECTIONS', message: 'this server has as many page and dashboard connections as it takes (server.maxWebSockets); close unused pages or try again shortly' });
    }
    const admitted = this.admit(req, url);
    if ('status' in admitted) {
      this.opts.log.debug({ status: admitted.status, code: admitted.code }, 'overlay connection refused');
      return refuse(socket, admitted);
    }
    this.pending++;
    let counted = true;
    const settle = () => {
      if (counted) this.pending--;
      counted = false;
    };
    socket.once('close', settle);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      settle();
      this.connected(ws, admitted.client, admitted.channel);
    });
  }

  /** Checks role, credentials and channel, in that order. The URL (with its secrets) is never logged. */
  private admit(req: IncomingMessage, url: URL): { client: Omit<Client, 'ws'>; channel: OverlayChannel } | Refusal {
    const role = url.searchParams.get('role');
    let sessionOnly = false;
    if (role !== 'graphics' && role !== 'operator') {
      return { status: 400, code: 'BAD_ROLE', message: 'add role=graphics (output pages, with key=) or role=operator (dashboards, with token=) to the /ws URL' };
    }
    if (role === 'graphics') {
      const key = url.searchParams.get('key');
      if (!key || !timingSafeEqual(digest(key), this.keyDigest)) {
        return { status: 401, code: 'UNAUTHORIZED', message: `${key ? 'wrong' : 'missing'} output key: use key=<server.outputKey> (FACECAST_OUTPUT_KEY, or the one facecast serve printed)` };
      }
    } else {
      const header = req.headers.authorization;
      const bearer = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] : undefined;
      const token = bearer ?? url.searchParams.get('token');
      // A token, when given, decides alone; without one, a dashboard session may admit.
      if (token ? !timingSafeEqual(digest(token), this.tokenDigest) : !this.opts.isOperatorSession?.(req)) {
        return { status: 401, code: 'UNAUTHORIZED', message: `${token ? 'wrong' : 'missing'} API token: use token=<server.apiToken>, the header Authorization: Bearer <token>, or log in at /login` };
      }
      sessionOnly = !token;
    }
    const id = url.searchParams.get('channel') || '1';
    const channel = this.opts.channel(id, role);
    if (!channel) return { status: 404, code: 'NOT_FOUND', message: `no overlay channel "${id.slice(0, 40)}"; check channel= in the URL (output pages open the channels in server.channels, or one an operator has attached a source to)` };
    // A free-text name only labels the operator in takenBy and the audit; keep it short and plain.
    const name = (url.searchParams.get('name') ?? '').replace(/[^\p{L}\p{N} ._-]/gu, '').slice(0, 40) || (sessionOnly ? 'dashboard' : 'anonymous');
    return { client: { channel: id, role, by: `operator:${name}`, alive: true }, channel };
  }

  private connected(ws: WebSocket, info: Omit<Client, 'ws'>, channel: OverlayChannel): void {
    const client: Client = { ws, ...info };
    this.clients.add(client);
    this.opts.log.info({ channel: client.channel, role: client.role }, 'overlay client connected');
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => this.received(client, data, isBinary));
    ws.on('error', (err) => this.opts.log.debug({ err, channel: client.channel }, 'overlay socket error'));
    ws.on('close', () => {
      this.clients.delete(client);
      this.opts.log.info({ channel: client.channel, role: client.role }, 'overlay client disconnected');
    });
    this.send(client, { type: 'hello', channel: client.channel, role: client.role, serverTime: Date.now(), version: VERSION });
    try {
      this.send(client, { type: 'state', state: channel.state(), serverTime: Date.now() });
    } catch (err) {
      // Without its state the page would show nothing reliable: make it retry.
      this.opts.log.error({ err, channel: client.channel }, 'overlay channel state failed');
      ws.close(1011, 'channel state unavailable');
    }
  }

  private send(client: Client, msg: ServerMessage): void {
    if (client.ws.readyState === WebSocket.OPEN) client.ws.send(JSON.stringify(msg));
  }

  private error(client: Client, code: string, message: string): void {
    this.send(client, { type: 'error', code, message });
  }

  private received(client: Client, data: RawData, isBinary: boolean): void {
    client.alive = true;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (bytes.length > MAX_CLIENT_MESSAGE_BYTES) {
      return this.error(client, 'TOO_LARGE', `message of ${bytes.length} bytes is over the ${MAX_CLIENT_MESSAGE_BYTES}-byte limit; send one small JSON command per message`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.error(client, 'INVALID_JSON', `${isBinary ? 'binary message' : 'message'} is not JSON; send a text JSON object like {"type":"ping","t":0}`);
    }
    const type = (raw as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
      return this.error(client, 'UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type ?? null)?.slice(0, 40)}; use one of: ${[...KNOWN_TYPES].join(', ')}`);
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ');
      return this.error(client, 'INVALID', `invalid ${type} message: ${why}`);
    }
    const msg = parsed.data;
    if (msg.type === 'ping') return this.send(client, { type: 'pong', t: msg.t, serverTime: Date.now() });
    if (client.role !== 'operator') {
      return this.error(client, 'FORBIDDEN', `graphics pages may only send ping; "${msg.type}" needs an operator connection (role=operator with the API token)`);
    }
    this.dispatch(client, msg);
  }

  private dispatch(client: Client, msg: ClientMessage): void {
    const channel = this.opts.channel(client.channel, client.role);
    if (!channel) return this.error(client, 'NOT_FOUND', `channel "${client.channel}" no longer exists; reconnect to another channel`);
    const failed = (err: unknown) => {
      const code = (err as { code?: unknown })?.code;
      if (typeof code === 'string') return this.error(client, code, err instanceof Error ? err.message : String(err));
      this.opts.log.error({ err, channel: client.channel, type: msg.type }, 'overlay command failed');
      this.error(client, 'INTERNAL', `the ${msg.type} command failed on the server; see the server log`);
    };
    try {
      // handle() is synchronous by contract; a controller that returns a promise still gets its
      // rejection reported instead of becoming an unhandled rejection.
      const result: unknown = channel.handle(msg, client.by);
      if (result instanceof Promise) result.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Drops clients that did not answer the previous ping (half-open TCP, a frozen page). */
  private beat(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.opts.log.info({ channel: c.channel, role: c.role }, 'overlay client stopped answering pings: dropped');
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      if (c.ws.readyState === WebSocket.OPEN) c.ws.ping();
    }
  }
}
