// The overlay WebSocket over real sockets: authentication (401 before 404), the hello → state
// greeting, validation of every client message without ever closing the connection, role rules,
// broadcast to many clients, and heartbeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { MAX_CLIENT_MESSAGE_BYTES } from '../src/shared/protocol.ts';
import { API_TOKEN, OUTPUT_KEY, emptyState, lowerThird, startOverlayTestServer, tag, type OverlayTestServer } from './helpers/overlayTestServer.ts';
import { WsClient, upgradeStatus as upgradeStatusAt } from './helpers/wsClient.ts';

let server: OverlayTestServer;
let wsBase: string;

beforeAll(async () => {
  server = await startOverlayTestServer({ states: [emptyState('1'), emptyState('2')] });
  wsBase = server.url.replace('http', 'ws');
});
afterAll(async () => server?.close());

type Client = WsClient;
const Client = { open: (query: string, headers: Record<string, string> = {}) => WsClient.open(`${wsBase}/ws?${query}`, headers) };

/** The HTTP status the server answered an upgrade with. */
function upgradeStatus(query: string, headers: Record<string, string> = {}, path = '/ws'): Promise<number> {
  return upgradeStatusAt(`${wsBase}${path}?${query}`, headers);
}

describe('overlay hub: connecting', () => {
  it('refuses missing or wrong credentials with 401, unknown channels with 404, bad roles with 400', async () => {
    expect(await upgradeStatus('role=graphics&channel=1')).toBe(401);
    expect(await upgradeStatus('role=graphics&channel=1&key=nope')).toBe(401);
    expect(await upgradeStatus(`role=graphics&channel=1&key=${API_TOKEN}`)).toBe(401); // the API token is not the output key
    expect(await upgradeStatus('role=operator&channel=1')).toBe(401);
    expect(await upgradeStatus(`role=operator&channel=1&token=${OUTPUT_KEY}`)).toBe(401);
    expect(await upgradeStatus('role=operator&channel=1', { authorization: 'Bearer wrong' })).toBe(401);
    // Credentials come first: without them nobody learns which channels exist.
    expect(await upgradeStatus('role=graphics&channel=9')).toBe(401);
    expect(await upgradeStatus(`role=graphics&channel=9&key=${OUTPUT_KEY}`)).toBe(404);
    expect(await upgradeStatus(`role=viewer&key=${OUTPUT_KEY}`)).toBe(400);
    expect(await upgradeStatus(`role=graphics&key=${OUTPUT_KEY}`)).toBe(101); // channel defaults to 1
    expect(await upgradeStatus('role=operator&channel=2', { authorization: `Bearer ${API_TOKEN}` })).toBe(101);
    expect(await upgradeStatus(`role=operator&channel=2&token=${API_TOKEN}`)).toBe(101);
    expect(await upgradeStatus(`role=graphics&key=${OUTPUT_KEY}`, {}, '/elsewhere')).toBe(404);
  });

  it('greets with hello and then the full state, also on every reconnect', async () => {
    server.setState({ ...emptyState('1'), mode: 'auto', onAir: { lowerThird: lowerThird('g1') } });
    const a = await Client.open(`role=graphics&channel=1&key=${OUTPUT_KEY}`);
    await a.next('state');
    expect(a.messages.map((m) => m.type).slice(0, 2)).toEqual(['hello', 'state']);
    expect(a.messages[0]).toMatchObject({ type: 'hello', channel: '1', role: 'graphics' });
    a.close();
    // The state changes while nobody is connected; the reconnecting page gets the new one first.
    server.setState({ ...emptyState('1'), mode: 'assisted', onAir: { lowerThird: lowerThird('g2') } });
    const b = await Client.open(`role=graphics&channel=1&key=${OUTPUT_KEY}`);
    const first = await b.next('state');
    expect(b.messages[1]).toBe(first);
    expect(first.state.mode).toBe('assisted');
    expect(first.state.onAir.lowerThird?.id).toBe('g2');
    b.close();
    server.setState(emptyState('1'));
  });

  it('counts connections per role and channel', async () => {
    const g = await Client.open(`role=graphics&channel=2&key=${OUTPUT_KEY}`);
    const o = await Client.open(`role=operator&channel=2&token=${API_TOKEN}`);
    await Promise.all([g.next('state'), o.next('state')]);
    expect(server.hub.counts().byChannel['2']).toEqual({ graphics: 1, operator: 1 });
    g.close();
    o.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(server.hub.counts().byChannel['2']).toBeUndefined();
  });
});

describe('overlay hub: client messages', () => {
  it('answers malformed JSON, unknown types, invalid fields and oversized messages with an error, and keeps the connection', async () => {
    const c = await Client.open(`role=operator&channel=1&token=${API_TOKEN}`);
    await c.next('state');
    let from = c.send('{not json');
    expect(await c.next('error', from)).toMatchObject({ code: 'INVALID_JSON' });
    await c.ping();
    from = c.send({ type: 'launch' });
    const unknown = await c.next('error', from);
    expect(unknown.code).toBe('UNKNOWN_TYPE');
    expect(unknown.message).toContain('take');
    await c.ping();
    from = c.send({ type: 'mode', mode: 'turbo' });
    expect(await c.next('error', from)).toMatchObject({ code: 'INVALID' });
    from = c.send({ type: 'cue', playerId: 'x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 100) });
    const big = await c.next('error', from);
    expect(big.code).toBe('TOO_LARGE');
    expect(big.message).toContain(String(MAX_CLIENT_MESSAGE_BYTES));
    await c.ping();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.close();
  });

  it('lets graphics pages only ping: operator commands are FORBIDDEN and never reach the channel', async () => {
    const ch = server.channels.get('1')!;
    const before = ch.handled.length;
    const g = await Client.open(`role=graphics&channel=1&key=${OUTPUT_KEY}`);
    await g.next('state');
    const from = g.send({ type: 'take', playerId: 'p7' });
    expect(await g.next('error', from)).toMatchObject({ code: 'FORBIDDEN' });
    expect(ch.handled.length).toBe(before);
    await g.ping();
    g.close();
  });

  it("passes operator commands to the channel with who sent them, and turns a coded error into an error reply", async () => {
    const ch = server.channels.get('1')!;
    const o = await Client.open(`role=operator&channel=1&name=jo`, { authorization: `Bearer ${API_TOKEN}` });
    await o.next('state');
    o.send({ type: 'take', playerId: 'p7', card: 'stats' });
    await o.ping(); // messages are handled in order: the take is done once the pong is back
    expect(ch.handled.at(-1)).toEqual({ msg: { type: 'take', playerId: 'p7', card: 'stats' }, by: 'operator:jo' });
    const from = o.send({ type: 'take', playerId: 'boom' });
    const err = await o.next('error', from);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect(err.message).toContain('enrol');
    await o.ping();
    o.close();
  });
});

describe('overlay hub: broadcasting', () => {
  it('delivers a state broadcast to 50 clients at once, and tags only to their channel', async () => {
    const clients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => Client.open(i % 5 === 0 ? `role=operator&channel=1&token=${API_TOKEN}` : `role=graphics&channel=1&key=${OUTPUT_KEY}`)),
    );
    const other = await Client.open(`role=graphics&channel=2&key=${OUTPUT_KEY}`);
    await Promise.all([...clients, other].map((c) => c.next('state')));
    expect(server.hub.counts().byChannel['1']).toEqual({ graphics: 40, operator: 10 });
    server.setState({ ...emptyState('1'), onAir: { lowerThird: lowerThird('broadcast-1') } });
    const got = await Promise.all(clients.map((c) => c.next('state', 2, (m) => m.state.onAir.lowerThird?.id === 'broadcast-1')));
    expect(got).toHaveLength(50);
    server.pushTags('1', [tag(3, [100, 200, 80, 80])]);
    await Promise.all(clients.map((c) => c.next('tags')));
    await other.ping();
    expect(other.messages.some((m) => m.type === 'tags' || (m.type === 'state' && m.state.channel !== '2'))).toBe(false);
    for (const c of [...clients, other]) c.close();
    server.setState(emptyState('1'));
  });

  it('drops a client that stops answering heartbeat pings', async () => {
    const quick = await startOverlayTestServer({ heartbeatMs: 100 });
    try {
      const base = quick.url.replace('http', 'ws');
      const deaf = new WebSocket(`${base}/ws?role=graphics&key=${OUTPUT_KEY}`, { autoPong: false });
      const alive = new WebSocket(`${base}/ws?role=graphics&key=${OUTPUT_KEY}`);
      const closed = new Promise<void>((resolve) => deaf.once('close', () => resolve()));
      await Promise.all([deaf, alive].map((ws) => new Promise((r) => ws.once('open', r))));
      await closed;
      await new Promise((r) => setTimeout(r, 300));
      expect(alive.readyState).toBe(WebSocket.OPEN);
      expect(quick.hub.counts().graphics).toBe(1);
      alive.close();
    } finally {
      await quick.close();
    }
  });

  it('closes every client on close()', async () => {
    const s = await startOverlayTestServer();
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws?role=graphics&key=${OUTPUT_KEY}`);
    await new Promise((r) => ws.once('open', r));
    const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    await s.close();
    expect(await code).toBe(1001);
  });
});
