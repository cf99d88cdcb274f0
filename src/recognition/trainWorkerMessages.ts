// What the main thread and the training worker say to each other (validated on arrival, like
// every message that crosses a thread).
import { z } from 'zod';

export const trainWorkerInitSchema = z.object({
  dataDir: z.string().min(1).describe('the worker opens <dataDir>/facecast.db itself (WAL lets it read while the server writes)'),
  vision: z.object({ embedder: z.string(), detector: z.string(), alignment: z.string() }),
  augmented: z.boolean(),
  openSet: z.object({ falseAcceptRate: z.number(), fittedGatesMinPhotos: z.number().int() }).optional().describe('config recognition.openSet'),
});
export type TrainWorkerInit = z.infer<typeof trainWorkerInitSchema>;

export const trainWorkerReplySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), done: z.number(), total: z.number(), note: z.string() }),
  z.object({ type: z.literal('done'), path: z.string().describe('the model file written'), trainedAt: z.string(), ms: z.number() }),
  z.object({ type: z.literal('failed'), message: z.string() }),
]);
export type TrainWorkerReply = z.infer<typeof trainWorkerReplySchema>;
