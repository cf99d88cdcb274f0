// POST /api/train, GET /api/training and GET /api/model. Training reads the roster as it is now,
// writes the model file atomically and swaps the live recognizer; a second request while one runs
// gets a 409 rather than queueing a duplicate. The classifier trains in a worker thread (the
// context's BackgroundTrainer), so live channels keep running; only `adapt`, which trains with
// tfjs on the engine's backend, still runs in this process.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { trainRequestSchema, type ModelInfo } from '../apiSchemas.ts';
import { parseBody } from './common.ts';
import { ensureBuiltinNegatives, trainRoster } from '../../recognition/service.ts';
import { saveModel, type StoredModel } from '../../recognition/store.ts';
import { refuseOtherSetup, type TrainOutcome } from '../trainer.ts';

/** Everything about a model except its weights and enrolled embeddings (which can be megabytes). */
export function modelInfo(model: StoredModel, stale: boolean): ModelInfo {
  const { trainedAt, rosterHash, players, vision, augmented, negatives, classifier } = model;
  const a = classifier.adapter;
  const adapter = a ? { adapter: { used: a.used, reason: a.reason, cv: a.cv, training: a.training } } : {};
  return { trainedAt, rosterHash, stale, players, vision, augmented, negatives, classes: classifier.classes.length, thresholds: classifier.thresholds, metrics: classifier.metrics, ...adapter };
}

/** The triplet-head path: tfjs on the engine's backend, so in-process and in the engine's queue. */
async function trainAdapted(ctx: AppContext, augmented: boolean): Promise<TrainOutcome> {
  const started = performance.now();
  const { roster, config, log } = ctx;
  // Checked before the built-in negatives are added, so a refused request writes nothing.
  if (roster.counts().faces === 0) {
    throw new HttpError(422, 'NO_FACES', 'no enrolled faces to train on: add players (POST /api/players) and enrol photos (POST /api/players/:id/photos) first');
  }
  const vision = ctx.engine.setup;
  refuseOtherSetup(roster, vision);
  let negativesAdded = 0;
  if (config.recognition.builtinNegatives) negativesAdded = await ctx.useEngine((engine) => ensureBuiltinNegatives(engine, roster));
  // trainRoster is synchronous CPU work (seconds for a large roster, tens of seconds with adapt); it
  // blocks this process meanwhile. adapt trains with tfjs on the engine's backend, so it waits its turn.
  const { model } = await ctx.useEngine(async () => trainRoster(roster, vision, { augmented, adapt: true, openSet: config.recognition.openSet }));
  saveModel(config.dataDir, model);
  // Loaded back from the file just written, so the live model is exactly the stored one.
  const stale = ctx.reloadRecognizer()?.isStale() ?? false;
  log.info({ players: Object.keys(model.players).length, cvAccuracy: model.classifier.metrics.cvAccuracy }, 'model trained');
  return { model, stale, ms: Math.round(performance.now() - started), negativesAdded };
}

export function trainRouter(ctx: AppContext): Router {
  const r = Router();

  r.post('/train', async (req, res) => {
    const { augmented = true, adapt = false } = req.is('application/json') ? parseBody(trainRequestSchema, req, 'training request') : {};
    const { trainer } = ctx;
    const outcome = await trainer.run('api', adapt ? () => trainAdapted(ctx, augmented) : (progress) => trainer.workerJob(augmented, progress));
    res.json({ model: modelInfo(outcome.model, outcome.stale), ms: outcome.ms, negativesAdded: outcome.negativesAdded });
  });

  r.get('/training', (_req, res) => {
    res.json({ training: ctx.trainer.status() });
  });

  r.get('/model', (_req, res) => {
    const recognizer = ctx.recognizer;
    if (!recognizer) throw new HttpError(404, 'NO_MODEL', 'no model trained yet: enrol photos, then train first with POST /api/train');
    res.json({ model: modelInfo(recognizer.model, recognizer.isStale()) });
  });

  return r;
}
