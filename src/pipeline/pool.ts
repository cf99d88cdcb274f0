// The vision worker pool as the configuration describes it, shared by `facecast analyze`,
// `facecast serve` (one pool for every channel) and the benchmarks.
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
    log,
  });
}
