// POST /api/train and GET /api/model. Training reads the roster as it is now, writes the model
// file atomically and swaps the live recognizer; a second request while one runs gets a 409
// rather than queueing a duplicate.
import { Router } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { trainRequestSchema, type ModelInfo } from '../apiSchemas.ts';
import { parseBody } from './common.ts';
import { ensureBuiltinNegatives, trainRoster } from '../../recognition/service.ts';
import { saveModel, type StoredModel } from '../../recognition/store.ts';

/** Everything about a model except its weights and enrolled embeddings (which can be megabytes). */
export function modelInfo(model: StoredModel, stale: boolean): ModelInfo {
  const { trainedAt, rosterHash, players, vision, augmented, negatives, classifier } = model;
  const a = classifier.adapter;
  const adapter = a ? { adapter: { used: a.used, reason: a.reason, cv: a.cv, training: a.training } } : {};
  return { trainedAt, rosterHash, stale, players, vision, augmented, negatives, classes: classifier.classes.length, thresholds: classifier.thresholds, metrics: classifier.metrics, ...adapter };
}

async function train(ctx: AppContext, augmented: boolean, adapt: boolean) {
  const started = performance.now();
  const { roster, config, log } = ctx;
  // Checked before the built-in negatives are added, so a refused request writes nothing.
  if (roster.counts().faces === 0) {
    throw new HttpError(422, 'NO_FACES', 'no enrolled faces to train on: add players (POST /api/players) and enrol photos (POST /api/players/:id/photos) first');
  }
  let negativesAdded = 0;
  if (config.recognition.builtinNegatives) negativesAdded = await ctx.useEngine((engine) => ensureBuiltinNegatives(engine, roster));
  const vision = { embedder: ctx.engine.embedder.name, detector: config.vision.detector, alignment: config.vision.alignment };
  // trainRoster is synchronous CPU work (seconds for a large roster, tens of seconds with adapt); it
  // blocks this process meanwhile. adapt trains with tfjs on the engine's backend, so it waits its turn.
  const { model } = adapt ? await ctx.useEngine(async () => trainRoster(roster, vision, { augmented, adapt })) : trainRoster(roster, vision, { augmented });
  saveModel(config.dataDir, model);
  // Loaded back from the file just written, so the live model is exactly the stored one.
  const stale = ctx.reloadRecognizer()?.isStale() ?? false;
  log.info({ players: Object.keys(model.players).length, cvAccuracy: model.classifier.metrics.cvAccuracy }, 'model trained');
  return { model: modelInfo(model, stale), ms: Math.round(performance.now() - started), negativesAdded };
}

export function trainRouter(ctx: AppContext): Router {
  const r = Router();

  r.post('/train', async (req, res) => {
    const { augmented = true, adapt = false } = req.is('application/json') ? parseBody(trainRequestSchema, req, 'training request') : {};
    if (ctx.training) throw new HttpError(409, 'TRAINING_RUNNING', 'a training is already running; wait for it to finish (GET /api/model shows the result)');
    ctx.training = true;
    try {
      res.json(await train(ctx, augmented, adapt));
    } finally {
      ctx.training = false;
    }
  });

  r.get('/model', (_req, res) => {
    const recognizer = ctx.recognizer;
    if (!recognizer) throw new HttpError(404, 'NO_MODEL', 'no model trained yet: enrol photos, then train first with POST /api/train');
    res.json({ model: modelInfo(recognizer.model, recognizer.isStale()) });
  });

  return r;
}
