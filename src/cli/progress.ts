// A progress bar on stderr for long work; silent when stderr is not a terminal unless forced, so
// logs and CI output are not flooded with carriage returns.
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly started = performance.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly enabled = Boolean(process.stderr.isTTY),
  ) {}

  tick(n = 1, note = ''): void {
    this.update(this.done + n, note);
  }

  /** Sets how much is done (for callbacks that report absolute counts). */
  update(done: number, note = ''): void {
    this.done = done;
    const now = performance.now();
    if (!this.enabled || (now - this.lastDraw < 100 && this.done < this.total)) return;
    this.lastDraw = now;
    const frac = this.total ? this.done / this.total : 1;
    const width = 28;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const elapsed = (now - this.started) / 1000;
    const eta = frac > 0 ? elapsed / frac - elapsed : 0;
    process.stderr.write(`\r${this.label} ${bar} ${this.done}/${this.total} ${(frac * 100).toFixed(0)}% eta ${eta.toFixed(0)}s ${note}`.padEnd(100));
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
