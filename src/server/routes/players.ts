// /api/players: the roster over HTTP. Each write is one roster call, which runs in one database
// transaction, so a refused request (bad field, unknown id) changes nothing.
import express, { Router } from 'express';
import { parseRosterCsv } from '../../roster/rosterFile.ts';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { playerCreateSchema, playerPatchRequestSchema, statsPatchRequestSchema, type ApiPlayer } from '../apiSchemas.ts';
import { slugify } from '../../roster/schema.ts';
import { actorOf, mustGetPlayer, parseBody as body, requireJson } from './common.ts';
import { enrolPhotosRoute } from './enrol.ts';

/** A roster of a few thousand players with stats fits well below this. */
const CSV_LIMIT_BYTES = 1024 * 1024;

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

  // POST /api/players/import: a roster.csv body (the format of `facecast roster import`). New ids
  // are created; for known ones the given fields are changed and the stats merged. Each row is its
  // own change and gets its own report: 200 all applied, 207 some refused, 422 none.
  r.post('/import', express.text({ type: ['text/csv', 'text/plain'], limit: CSV_LIMIT_BYTES }), (req, res) => {
    if (typeof req.body !== 'string') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the CSV as the body with Content-Type: text/csv');
    let rows;
    try {
      rows = parseRosterCsv(req.body);
    } catch (err) {
      throw new HttpError(400, 'INVALID_CSV', (err as Error).message);
    }
    const reports = rows.map(({ line, player, error }) => {
      const at = `line ${line}${player.id ? ` (${player.id})` : ''}`;
      if (error) return { line, id: player.id, status: 'refused' as const, message: `${at}: ${error}` };
      try {
        const { id, stats, ...fields } = player;
        if (roster.getPlayer(id)) {
          const { name, number, team, teamColor, position } = fields;
          const patch = Object.fromEntries(Object.entries({ name, number, team, teamColor, position }).filter(([, v]) => v !== undefined && v !== ''));
          let updated = Object.keys(patch).length ? roster.updatePlayer(id, patch, actorOf(req)) : mustGetPlayer(ctx, id);
          if (stats && Object.keys(stats).length) updated = roster.patchStats(id, stats, actorOf(req));
          events.emit('player', { type: 'updated', id, player: updated });
          return { line, id, status: 'updated' as const, message: `${at}: updated` };
        }
        const { player: created } = roster.upsertPlayer(player, actorOf(req));
        events.emit('player', { type: 'created', id, player: created });
        return { line, id, status: 'created' as const, message: `${at}: added` };
      } catch (err) {
        return { line, id: player.id, status: 'refused' as const, message: `${at}: ${(err as Error).message}` };
      }
    });
    const refused = reports.filter((r) => r.status === 'refused').length;
    if (reports.length > 0 && refused === reports.length) {
      throw new HttpError(422, 'NOTHING_IMPORTED', `no row could be imported: ${reports[0]!.message}${reports.length > 1 ? ` (and ${reports.length - 1} more)` : ''}`, { reports });
    }
    res.status(refused === 0 ? 200 : 207).json({ reports });
  });

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
