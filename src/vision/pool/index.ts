// The vision worker pool: models run in worker threads, the main thread only queues frames.
export { VisionPool, defaultPoolSize } from './pool.ts';
export type {
  AnalyseResult,
  EmbedResult,
  ImageOptions,
  ImageResult,
  PhotoOptions,
  PoolFaceResult,
  PoolFrame,
  PoolStats,
  PoolTimings,
  Submission,
  SubmitOptions,
  VisionPoolOptions,
  WorkerStats,
} from './api.ts';
export { PoolError, isPoolError, type PoolErrorCode } from './errors.ts';
export type { SourcePolicy } from './queue.ts';
export * from './messages.ts';
