// POST /api/players/:id/photos: enrolment over HTTP. The whole upload is read (and size-checked)
// before anything is written; then each photo is judged on its own, so one bad file in a batch
// does not cost the good ones. Status: 200 every photo enrolled (or already was), 207 some were
// refused (see each report), 422 none could be used (nothing written).
import type { RequestHandler } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { readImages } from '../upload.ts';
import { enrolPhotos, type PhotoEmbedder } from '../../roster/enroll.ts';
import { isPoolError, type VisionPool } from '../../vision/pool/index.ts';
import type { EmbeddingSetup } from '../../vision/setup.ts';
import type { EnrolResponse } from '../apiSchemas.ts';
import { actorOf, mustGetPlayer } from './common.ts';

export const MAX_PHOTOS_PER_REQUEST = 64;

/**
 * Enrolment's model work in the request pool. The first photo may be refused (busy: 503, nothing
 * written); later ones belong to a request already taken, and a worker lost or timed out on one of
 * them becomes that photo's report, so the photos before it stay enrolled and reported.
 */
function poolPhotoEmbedder(pool: VisionPool, setup: EmbeddingSetup): PhotoEmbedder {
  let admitted = false;
  return {
    setup,
    async embedPhoto(photo, opts) {
      const first = !admitted;
      admitted = true;
      try {
        return await pool.embedPhoto(photo, { ...opts, admitted: !first });
      } catch (err) {
        if (first || !isPoolError(err) || err.code === 'closed') throw err;
        return { ok: false, status: 'unreadable', message: `${photo.name}: ${err.message}` };
      }
    },
  };
}

export function enrolPhotosRoute(ctx: AppContext): RequestHandler {
  return async (req, res) => {
    const id = String(req.params.id);
    // Checked before reading the body: an unknown player should not cost an upload.
    mustGetPlayer(ctx, id);
    const files = await readImages(req, { maxBytes: ctx.config.server.maxUploadBytes, maxFiles: MAX_PHOTOS_PER_REQUEST });
    if (files.length === 0) {
      throw new HttpError(400, 'NO_FILES', 'no photos in the request: send them as multipart/form-data file fields (e.g. -F photos=@a.jpg -F photos=@b.jpg)');
    }
    const photos = files.map((f) => ({ name: f.name, bytes: f.bytes }));
    const { augment, views } = ctx.config.enrolment;
    const pool = await ctx.requestPool();
    // The player may have been removed while the upload was arriving.
    mustGetPlayer(ctx, id);
    const reports = await enrolPhotos(poolPhotoEmbedder(pool, ctx.engine.setup), ctx.roster, id, photos, { augment, views, actor: actorOf(req) });
    const count = (...s: string[]) => reports.filter((r) => s.includes(r.status)).length;
    const enrolled = count('enrolled');
    const unchanged = count('unchanged');
    const refused = reports.length - enrolled - unchanged;
    if (enrolled > 0) ctx.events.emit('player', { type: 'enrolled', id, player: ctx.roster.getPlayer(id) });
    if (refused === reports.length) {
      throw new HttpError(422, 'NO_PHOTO_ENROLLED', `none of the ${reports.length} photo(s) could be enrolled: ${reports.map((r) => r.message).join('; ')}`, { reports });
    }
    const out: EnrolResponse = {
      player: id,
      enrolled,
      unchanged,
      refused,
      reports,
      hint: enrolled > 0 ? 'POST /api/train to update the model with the new photos' : 'nothing new to train on',
    };
    res.status(refused > 0 ? 207 : 200).json(out);
  };
}
