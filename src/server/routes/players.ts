// /api/players: the roster over HTTP. Each write is one roster call, which runs in one database
// transaction, so a refused request (bad field, unknown id) changes nothing.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { playerCreateSchema, playerPatchRequestSchema, statsPatchRequestSchema, type ApiPlayer } from '../apiSchemas.ts';
import { slugify } from '../../roster/schema.ts';
import { actorOf, mustGetPlayer, parseBody as body, requireJson } from './common.ts';
import { enrolPhotosRoute } from './enrol.ts';
import { importPlayersRoute } from './playersImport.ts';

/** The player with its face counts, as listings show it. */
function summary(ctx: AppContext, id: string): ApiPlayer {
  return ctx.roster.listPlayers().find((p) => p.id === id) ?? mustGetPlayer(ctx, id);
}

export function playersRouter(ctx: AppContext): Router {
  const r = Router();
  const { roster, events } = ctx;

  r.get('/', (_req, res) => {
    res.json({ players: roster.listPlayers() });
  });

  r.post('/', (req, res) => {
    requireJson(req);
    const input = body(playerCreateSchema, req, 'player');
    const id = input.id ?? slugify(input.name);
    if (!id) throw new HttpError(400, 'INVALID', 'invalid player: id: cannot be made from this name; give an id like "amy-farrah-fowler"', { fields: ['id'] });
    if (roster.getPlayer(id)) {
      throw new HttpError(409, 'CONFLICT', `player '${id}' already exists; change it with PATCH /api/players/${id}`);
    }
    const { player } = roster.upsertPlayer({ ...input, id }, actorOf(req));
    events.emit('player', { type: 'created', id, player });
    res.status(201).location(`/api/players/${id}`).json({ player: summary(ctx, id) });
  });

  r.post('/import', ...importPlayersRoute(ctx));

  r.get('/:id', (req, res) => {
    res.json({ player: summary(ctx, req.params.id) });
  });

  r.patch('/:id', (req, res) => {
    requireJson(req);
    const patch = body(playerPatchRequestSchema, req, `change to player '${req.params.id}'`);
    const player = roster.updatePlayer(req.params.id, patch, actorOf(req));
    events.emit('player', { type: 'updated', id: player.id, player });
    res.json({ player: summary(ctx, player.id) });
  });

  r.delete('/:id', (req, res) => {
    const { removedFaces } = roster.removePlayer(req.params.id, actorOf(req));
    events.emit('player', { type: 'removed', id: req.params.id, player: null });
    res.json({ removed: req.params.id, removedFaces, hint: 'POST /api/train so the model forgets this player' });
  });

  r.get('/:id/photo', (req, res) => {
    const photo = roster.getPlayerPhoto(req.params.id);
    if (!photo) throw new HttpError(404, 'NO_PHOTO', `player '${req.params.id}' has no photo yet; enrol one with POST /api/players/${req.params.id}/photos`);
    // Thumbnails change on re-enrolment: let caches keep them but always revalidate.
    res.set('Cache-Control', 'no-cache').type(photo.mime).send(photo.data);
  });

  r.post('/:id/photos', enrolPhotosRoute(ctx));

  r.patch('/:id/stats', (req, res) => {
    requireJson(req);
    const stats = body(statsPatchRequestSchema, req, `stats for player '${req.params.id}'`);
    const player = roster.patchStats(req.params.id, stats, actorOf(req));
    events.emit('player', { type: 'stats', id: player.id, player });
    res.json({ player: summary(ctx, player.id) });
  });

  return r;
}
