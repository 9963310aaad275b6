// Runs a task once things are quiet: after `quietMs` without a further request, one run at a time, and again
// after a run during which another request came (what it read may be out of date).
export class Debounced {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly quietMs: number,
    /** Requests are ignored while this says no. */
    private readonly wanted: () => boolean = () => true,
  ) {}

  /** Runs the task after `delayMs` (the quiet time unless given) without another request. */
  request(delayMs = this.quietMs): void {
    if (this.closed || !this.wanted()) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), delayMs);
  }

  /** Runs the task now, or, when it is running, once more after that run; resolves when the current run ends. */
  async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.task();
    try {
      await this.running;
    } finally {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
