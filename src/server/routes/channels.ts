// Channels and what goes on air, over HTTP (the same commands the dashboard sends over the
// WebSocket, for scripts, stats feeds and control surfaces such as a Stream Deck):
//   GET    /api/channels                       {channels: ChannelInfo[]}
//   GET    /api/channels/:id                   {channel}
//   PUT    /api/channels/:id/source            {url, loop?, realtime?} → attach (unlisted protocols and
//                                              what the source policy refuses: 400 INPUT_REFUSED)
//   DELETE /api/channels/:id/source            detach
//   POST   /api/channels/:id/take              {playerId? | cueId?, card?}
//   POST   /api/channels/:id/clear             {layer?}
//   POST   /api/channels/:id/cue               {playerId}
//   PUT    /api/channels/:id/mode              {mode}
//   PUT    /api/channels/:id/name-tags         {on}
//   POST   /api/channels/:id/take-next         take the oldest cue (409 NOTHING_CUED)
//   POST   /api/channels/:id/tracks/:trackId/relabel  {playerId: string | null} → the track's faces
//          go to that player (null: the negatives), the model retrains in the background
//          → {relabel: {channel, trackId, playerId, added, training}}
//   GET    /api/as-run?channel=&limit=&format=csv
//   GET    /api/timing                         per channel: graphics delay and the video delay to set
//   GET    /api/outputs                        per channel: the graphics page URL (with its key) and the OBS drag
//                                              link, on server.publicUrl (else the listening address)
import { Router, type Request } from 'express';
import { z } from 'zod';
import { InputRefusedError } from '../../ingest/index.ts';
import { OverlayError } from '../../overlay/controller.ts';
import { clientMessageSchema, type ClientMessage } from '../../shared/protocol.ts';
import type { ChannelManager } from '../channels.ts';
import { HttpError } from '../errors.ts';
import { graphicsUrl, obsDragLink } from '../graphicsRoutes.ts';
import { API_ACTOR, parseBody, requireJson } from './common.ts';

const attachSchema = z.strictObject({
  url: z.string().min(1).max(4096).describe('file path, rtmp://, srt://, udp://, rtp://, http(s)://….m3u8 or a capture device'),
  loop: z.boolean().optional().describe('files only: start again at the end'),
  realtime: z.boolean().optional().describe('files only: play at the native frame rate (default true)'),
});

const asRunQuerySchema = z.strictObject({
  channel: z.string().max(32).optional(),
  limit: z.coerce.number().int().min(1).max(100_000).optional(),
  format: z.enum(['json', 'csv']).optional(),
});

/** Who the as-run log names: a dashboard session, the API, or the caller's own label (X-Facecast-Operator). */
function actor(req: Request): string {
  const session = req.res?.locals.actor as string | undefined;
  if (session) return session;
  const who = req.get('x-facecast-operator');
  return who && /^[\w .@-]{1,40}$/.test(who) ? `api:${who}` : API_ACTOR;
}

const relabelSchema = z.strictObject({
  playerId: z.string().min(1).max(100).nullable().describe('the player this track is; null: not a player (its faces become negatives)'),
});

/** An overlay command as the WebSocket would carry it, validated by the same schema. */
function command(type: ClientMessage['type'], body: unknown): ClientMessage {
  const r = clientMessageSchema.safeParse({ ...(typeof body === 'object' && body ? body : {}), type });
  if (!r.success) throw new HttpError(400, 'INVALID_REQUEST', `invalid ${type} request: ${r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  return r.data;
}

function overlayCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof OverlayError) throw new HttpError(err.status ?? 409, err.code, err.message);
    throw err;
  }
}

export function channelsRouter(channels: ChannelManager, opts: { outputKey: string; publicUrl: () => string }): Router {
  const r = Router();
  const mustGet = (id: string) => {
    const c = channels.get(id);
    if (!c) throw new HttpError(404, 'NO_CHANNEL', `no channel "${id}": attach a source with PUT /api/channels/${id}/source, or GET /api/channels`);
    return c;
  };

  r.get('/channels', (_req, res) => {
    res.json({ channels: channels.list() });
  });

  r.get('/channels/:id', (req, res) => {
    res.json({ channel: mustGet(req.params.id).info() });
  });

  r.put('/channels/:id/source', async (req, res) => {
    requireJson(req);
    const body = parseBody(attachSchema, req, 'source');
    try {
      res.json({ channel: await channels.attachChecked(req.params.id, body.url, body) });
    } catch (err) {
      if (err instanceof InputRefusedError) throw new HttpError(400, 'INPUT_REFUSED', err.message);
      throw err;
    }
  });

  r.delete('/channels/:id/source', async (req, res) => {
    res.json({ channel: await channels.detach(req.params.id) });
  });

  for (const [path, type] of [
    ['take', 'take'],
    ['clear', 'clear'],
    ['cue', 'cue'],
  ] as const) {
    r.post(`/channels/:id/${path}`, (req, res) => {
      const c = mustGet(req.params.id);
      const msg = command(type, req.is('application/json') ? req.body : {});
      overlayCall(() => c.handle(msg, actor(req)));
      res.json({ state: c.state() });
    });
  }

  r.post('/channels/:id/take-next', (req, res) => {
    const c = mustGet(req.params.id);
    overlayCall(() => c.handle({ type: 'takeNext' }, actor(req)));
    res.json({ state: c.state() });
  });

  r.post('/channels/:id/tracks/:trackId/relabel', (req, res) => {
    requireJson(req);
    const trackId = Number(req.params.trackId);
    if (!Number.isSafeInteger(trackId) || trackId < 0) throw new HttpError(400, 'INVALID_REQUEST', `track id "${req.params.trackId.slice(0, 20)}" is not a number; use the trackId of an "on screen now" row`);
    const body = parseBody(relabelSchema, req, 'relabel');
    res.json({ relabel: channels.relabel(req.params.id, trackId, body.playerId, actor(req)) });
  });

  for (const [path, type] of [
    ['mode', 'mode'],
    ['name-tags', 'nameTags'],
  ] as const) {
    r.put(`/channels/:id/${path}`, (req, res) => {
      requireJson(req);
      const c = mustGet(req.params.id);
      const msg = command(type, req.body);
      overlayCall(() => c.handle(msg, actor(req)));
      res.json({ state: c.state() });
    });
  }

  r.get('/as-run', (req, res) => {
    const q = asRunQuerySchema.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'INVALID_REQUEST', `invalid query: ${q.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const rows = channels.asRunLog.list({ channel: q.data.channel, limit: q.data.limit ?? 1000 });
    if (q.data.format === 'csv') {
      res.type('text/csv; charset=utf-8').attachment('as-run.csv').send(channels.asRunLog.toCsv(rows));
      return;
    }
    res.json({ entries: rows });
  });

  // The output key is for output pages; operators (token or session) may read it to set them up.
  // The base is configured (server.publicUrl), never the request's Host header: a forged Host
  // would otherwise send the key to another site.
  r.get('/outputs', (_req, res) => {
    const base = opts.publicUrl();
    res.json({ channels: channels.list().map((c) => ({ id: c.id, graphics: graphicsUrl(base, opts.outputKey, c.id), obs: obsDragLink(base, opts.outputKey, c.id) })) });
  });

  r.get('/timing', (_req, res) => {
    res.json({ channels: channels.list().map((c) => ({ id: c.id, ...c.timing })) });
  });

  return r;
}
