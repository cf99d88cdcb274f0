// What several commands open the same way: the roster in the data dir and its trained model.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { openRoster, type Roster } from '../roster/roster.ts';
import { Recognizer } from '../recognition/service.ts';
import { modelPath } from '../recognition/store.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function openDataRoster(config: Config): Roster {
  return openRoster(config.dataDir);
}

/**
 * The roster model when one was trained in the data dir, else null (faces then go unnamed).
 * A model older than the roster is still used, with a warning to retrain.
 */
export function openRecognizer(config: Config, log: Logger): Recognizer | null {
  if (!existsSync(modelPath(config.dataDir)) || !existsSync(join(config.dataDir, 'facecast.db'))) return null;
  const roster = openDataRoster(config);
  const recognizer = Recognizer.load(config.dataDir, roster);
  if (recognizer?.isStale()) log.warn('the roster changed since the model was trained: run `facecast train`');
  const mismatch = recognizer?.visionMismatch(config.vision);
  if (mismatch) log.warn(mismatch);
  return recognizer;
}
