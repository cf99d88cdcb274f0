// The training worker thread: trains the roster classifier off the main thread, so the live
// pipeline keeps analysing frames while an operator's correction is learnt. It opens the roster
// database itself, trains on it as it is now, writes the model file (atomically) and reports;
// the main thread then reloads the recognizer from that file.
import { parentPort, workerData } from 'node:worker_threads';
import { openRoster } from '../roster/roster.ts';
import { trainRoster } from './service.ts';
import { saveModel } from './store.ts';
import { trainWorkerInitSchema, type TrainWorkerReply } from './trainWorkerMessages.ts';

/** Progress is posted at most this often: the solver reports thousands of steps. */
const PROGRESS_EVERY_MS = 100;

function post(msg: TrainWorkerReply): void {
  parentPort!.postMessage(msg);
}

function main(): void {
  const started = performance.now();
  const init = trainWorkerInitSchema.parse(workerData);
  const roster = openRoster(init.dataDir);
  try {
    let last = 0;
    const { model } = trainRoster(roster, init.vision, { augmented: init.augmented, ...(init.openSet ? { openSet: init.openSet } : {}) }, (done, total, note) => {
      const now = performance.now();
      if (now - last < PROGRESS_EVERY_MS && done < total) return;
      last = now;
      post({ type: 'progress', done, total, note });
    });
    const path = saveModel(init.dataDir, model);
    post({ type: 'done', path, trainedAt: model.trainedAt, ms: Math.round(performance.now() - started) });
  } finally {
    roster.close();
  }
}

try {
  main();
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
}
