// Exponential backoff with jitter for reconnecting live inputs.
import type { ReconnectConfig } from './config.ts';

/**
 * Delay before reconnect attempt `attempt` (1 = first retry): baseMs × factor^(attempt-1),
 * capped at maxMs, then spread by ±jitter so that many sources do not retry in lock-step.
 */
export function backoffDelay(attempt: number, cfg: ReconnectConfig, random: () => number = Math.random): number {
  const exponential = cfg.baseMs * Math.pow(cfg.factor, Math.max(0, attempt - 1));
  const capped = Math.min(cfg.maxMs, exponential);
  const spread = 1 + cfg.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(capped * spread));
}
