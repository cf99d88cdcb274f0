// A small real server for the graphics page and hub tests: Express + the graphics router + the
// overlay hub on a real port, with in-memory fake channels whose state the test sets. No vision,
// no roster: what the page and the hub do is tested on its own (the real pipeline is wired and
// tested by the integration tests).
import express from 'express';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { graphicsRouter } from '../../src/server/graphicsRoutes.ts';
import { OverlayHub, type OverlayChannel } from '../../src/server/overlayHub.ts';
import { silentLogger } from '../../src/shared/log.ts';
import type { ChannelState, ClientMessage, Graphic, NameTag, PlayerCard } from '../../src/shared/protocol.ts';

export const OUTPUT_KEY = 'output-key-for-tests-0123';
export const API_TOKEN = 'api-token-for-tests-4567';

export function emptyState(channel = '1'): ChannelState {
  return { channel, mode: 'manual', onAir: { lowerThird: null }, cued: [], nameTags: true, source: { url: null, state: 'idle', detail: null } };
}

export function player(over: Partial<PlayerCard> = {}): PlayerCard {
  return {
    id: 'p7',
    name: 'Alex Morgan',
    number: 7,
    team: 'Harbour City FC',
    teamColor: '#c8102e',
    position: 'Forward',
    stats: [
      { label: 'Goals', value: '12' },
      { label: 'Assists', value: '5' },
    ],
    ...over,
  };
}

export function lowerThird(id: string, p: PlayerCard = player(), over: Partial<Graphic> = {}): Graphic {
  return { id, layer: 'lowerThird', template: 'lower-third', card: 'intro', player: p, trackId: null, confidence: null, pts: null, takenBy: 'api', takenAt: Date.now(), ...over };
}

export function tag(trackId: number, box: [number, number, number, number], over: Partial<NameTag> = {}): NameTag {
  return { trackId, playerId: `p${trackId}`, name: 'Alex Morgan', number: 7, teamColor: '#c8102e', box, confidence: 0.9, ...over };
}

/** A channel whose state the test sets; operator commands are recorded, and `take` of player "boom" throws a coded error. */
export class FakeChannel implements OverlayChannel {
  readonly handled: { msg: ClientMessage; by: string }[] = [];
  constructor(public current: ChannelState) {}
  state(): ChannelState {
    return this.current;
  }
  handle(msg: ClientMessage, by: string): void {
    this.handled.push({ msg, by });
    if (msg.type === 'take' && msg.playerId === 'boom') throw Object.assign(new Error('no player "boom"; enrol the player first'), { code: 'NOT_FOUND' });
  }
}

export interface OverlayTestServer {
  url: string;
  port: number;
  http: Server;
  hub: OverlayHub;
  channels: Map<string, FakeChannel>;
  /** Sets a channel's state and broadcasts it, as the real controller does. */
  setState(state: ChannelState): void;
  pushTags(channel: string, tags: NameTag[]): void;
  close(): Promise<void>;
}

export async function startOverlayTestServer(opts: { port?: number; states?: ChannelState[]; heartbeatMs?: number } = {}): Promise<OverlayTestServer> {
  const channels = new Map<string, FakeChannel>();
  for (const s of opts.states ?? [emptyState('1')]) channels.set(s.channel, new FakeChannel(s));
  const app = express();
  app.use(graphicsRouter({ outputKey: OUTPUT_KEY }));
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'not found' } }));
  const http = createServer(app);
  const hub = new OverlayHub({ outputKey: OUTPUT_KEY, apiToken: API_TOKEN, channel: (id) => channels.get(id), log: silentLogger, heartbeatMs: opts.heartbeatMs });
  hub.attach(http);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    http,
    hub,
    channels,
    setState(state) {
      const ch = channels.get(state.channel);
      if (!ch) throw new Error(`no fake channel ${state.channel}`);
      ch.current = state;
      hub.broadcastState(state);
    },
    pushTags(channel, tags) {
      const now = Date.now();
      hub.broadcastTags({ type: 'tags', channel, pts: now / 1000, frameWallMs: now, sentAt: now, tags });
    },
    async close() {
      // The hub first: upgraded sockets are not the http server's to close.
      await hub.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
