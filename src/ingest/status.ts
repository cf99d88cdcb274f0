// Status bookkeeping shared by the sources: the current status plus a set of listeners.
import type { SourceStatus, StatusListener } from './types.ts';

export class StatusHub {
  private current: SourceStatus = { state: 'idle' };
  private readonly listeners = new Set<StatusListener>();

  get status(): SourceStatus {
    return this.current;
  }

  on(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(status: SourceStatus): void {
    this.current = status;
    for (const listener of [...this.listeners]) {
      // A throwing listener must not break frame delivery or the reconnect loop.
      try {
        listener(status);
      } catch {
        /* ignored on purpose */
      }
    }
  }
}
