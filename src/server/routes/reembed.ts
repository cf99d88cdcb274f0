// POST /api/roster/reembed: after a change of vision.detector or vision.alignment, embed the
// roster's stored photos again with the running setup and retrain, as one job of the background
// trainer: it shows on the dashboard like a training, never overlaps one (409 while one runs),
// and live channels keep running meanwhile. Photos that cannot be re-embedded (not stored, or no
// single face found now) make it a 409 that lists them, unless the request says dropStale.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { reembedRequestSchema } from '../apiSchemas.ts';
import { actorOf, parseBody } from './common.ts';
import { modelInfo } from './train.ts';
import { reembedRoster, type ReembedResult } from '../../roster/reembed.ts';

export function reembedRouter(ctx: AppContext): Router {
  const r = Router();

  r.post('/roster/reembed', async (req, res) => {
    const { dropStale = false } = req.is('application/json') ? parseBody(reembedRequestSchema, req, 're-embedding request') : {};
    const actor = actorOf(req);
    const { augment, views } = ctx.config.enrolment;
    let result: ReembedResult | undefined;
    const outcome = await ctx.trainer.run('reembed', async (progress) => {
      progress(0, 're-embedding the stored photos');
      // The shared engine is held for the whole pass: recognize/enrol requests wait, channels do not.
      result = await ctx.useEngine((engine) =>
        reembedRoster(engine, ctx.roster, { augment, views, actor, dropStale }, (done, total, note) => progress(total > 0 ? (0.5 * done) / total : null, `re-embedding ${note}`)),
      );
      const left = result.reports.filter((x) => x.status !== 'reembedded' && x.status !== 'dropped');
      if (left.length) {
        throw new HttpError(
          409,
          'EMBEDDING_SETUP',
          `${left.length} photo(s) could not be re-embedded with ${result.setup} (the others were): ${left.map((x) => x.message).join('; ')}; ` +
            `POST again with {"dropStale": true} to drop them`,
          { reports: result.reports },
        );
      }
      return ctx.trainer.workerJob(true, (fraction, message) => progress(fraction === null ? null : 0.5 + fraction / 2, message));
    });
    res.json({ reembed: result, model: modelInfo(outcome.model, outcome.stale), ms: outcome.ms });
  });

  return r;
}
