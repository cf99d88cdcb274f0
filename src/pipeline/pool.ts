// The vision worker pools as the configuration describes them: the live one shared by `facecast
// analyze`, `facecast serve` (one pool for every channel) and the benchmarks, and serve's request pool.
import { availableParallelism } from 'node:os';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { defaultPoolSize, VisionPool } from '../vision/pool/index.ts';

export async function createPool(config: Config, log: Logger): Promise<VisionPool> {
  const p = config.vision.pool;
  return VisionPool.create(config.vision, {
    size: p.workers || defaultPoolSize(availableParallelism()),
    maxQueue: p.maxQueue,
    keepFrames: p.keepFrames,
    detectMaxSide: p.detectMaxSide,
    jobTimeoutMs: p.jobTimeoutMs,
    log,
  });
}

/**
 * The workers of `facecast serve`'s HTTP requests (recognize, verify, photo enrolment): apart from
 * the live pool, so an upload never takes a channel's worker, with a bounded queue of images.
 */
export async function createRequestPool(config: Config, log: Logger): Promise<VisionPool> {
  const r = config.vision.requests;
  return VisionPool.create(config.vision, { size: r.workers, maxRequests: r.maxQueue, jobTimeoutMs: r.jobTimeoutMs, keepFrames: 0, log });
}
