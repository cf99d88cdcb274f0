// Runs one training in a worker thread (trainWorker.ts) and resolves when the model file is
// written. Synchronous SVM training would otherwise stall the event loop for seconds: frames,
// WebSocket messages and API requests would all wait.
import { Worker } from 'node:worker_threads';
import { trainWorkerReplySchema, type TrainWorkerInit } from './trainWorkerMessages.ts';

const ENTRY = new URL('./trainWorkerBootstrap.js', import.meta.url);

export interface WorkerTrainResult {
  path: string;
  trainedAt: string;
  ms: number;
}

export function trainInWorker(init: TrainWorkerInit, onProgress?: (done: number, total: number, note: string) => void): Promise<WorkerTrainResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ENTRY, { workerData: init });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.on('message', (raw: unknown) => {
      const parsed = trainWorkerReplySchema.safeParse(raw);
      if (!parsed.success) return settle(() => reject(new Error('the training worker sent a malformed message')));
      const msg = parsed.data;
      if (msg.type === 'progress') onProgress?.(msg.done, msg.total, msg.note);
      else if (msg.type === 'done') settle(() => resolve({ path: msg.path, trainedAt: msg.trainedAt, ms: msg.ms }));
      else settle(() => reject(new Error(msg.message)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the training worker exited (code ${code}) before finishing`))));
  });
}
