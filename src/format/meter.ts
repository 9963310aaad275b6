// The measure of one task's progress (done, skipped, total, rate) and its line-per-step rendering for pipes
// and CI logs. The terminal board (board.ts) draws the same meters in place; progress.ts picks one of them.
import { formatBytes } from './printer.js';

export interface Progress {
  /** Adds `n` units of work done. */
  tick(n?: number): void;
  /** Adds `n` units that needed no work (cache hits, skipped items): they count as done, not toward the rate. */
  skip(n?: number): void;
  /** Sets the absolute amount of work done (not counting skipped units). */
  update(done: number): void;
  /** Changes the total when it becomes known late. */
  setTotal(total: number): void;
  done(message?: string): void;
}

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
  /** Terminal width (TTY only; lines are cut to fit). */
  columns?: number | undefined;
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock in ms (tests). */
  now?: () => number;
}

export const silentProgress: Progress = { tick() {}, skip() {}, update() {}, setTotal() {}, done() {} };

export function formatAmount(n: number, unit: string): string {
  if (unit === 'B') return formatBytes(n);
  const text = Number.isInteger(n) || n >= 10 ? String(Math.round(n)) : n.toFixed(1);
  return `${text}${unit ? ' ' + unit : ''}`;
}

/** The counts of one task and how they read. */
export class Meter {
  worked = 0;
  skipped = 0;
  readonly started: number;

  constructor(
    readonly label: string,
    public total: number,
    readonly unit: string,
    private readonly now: () => number,
  ) {
    this.started = now();
  }

  get done(): number {
    return this.worked + this.skipped;
  }

  fraction(): number {
    return this.total > 0 ? Math.min(1, this.done / this.total) : 0;
  }

  /** Units of real work per second; undefined until there is some (no rate from cache hits alone). */
  rate(): number | undefined {
    const secs = (this.now() - this.started) / 1000;
    return this.worked > 0 && secs >= 0.2 ? this.worked / secs : undefined;
  }

  private cached(): string {
    if (this.skipped <= 0) return '';
    if (this.worked === 0) return ' (all cached)';
    return ` (${this.unit === 'B' ? formatBytes(this.skipped) : formatAmount(this.skipped, '')} cached)`;
  }

  /** "temporal model  50% 3/6 videos (2 videos cached) 1.5 videos/s" (the label left out with `bare`). */
  text(bare = false): string {
    const rate = this.rate();
    const amount =
      this.total > 0
        ? this.unit === 'B'
          ? `${formatBytes(this.done)}/${formatBytes(this.total)}`
          : `${formatAmount(this.done, '')}/${formatAmount(this.total, this.unit)}`
        : formatAmount(this.done, this.unit);
    const pct = this.total > 0 ? `${(this.fraction() * 100).toFixed(0).padStart(3)}% ` : '';
    return `${bare ? '' : this.label + ' '}${pct}${amount}${this.cached()}${rate !== undefined ? ` ${formatAmount(rate, this.unit)}/s` : ''}`;
  }

  /** "train v2: best epoch 8 (50 epochs in 12.3 s, 4.1 epochs/s)"; without the label with `bare`. */
  summary(message?: string, bare = false): string {
    const secs = (this.now() - this.started) / 1000;
    const rate = this.rate();
    const stats = `${formatAmount(this.done, this.unit)}${this.cached()} in ${secs.toFixed(1)} s${rate !== undefined ? `, ${formatAmount(rate, this.unit)}/s` : ''}`;
    const head = bare ? '' : `${this.label}: `;
    return message ? `${head}${message} (${stats})` : `${head}${stats}`;
  }
}

/** Pipes and CI: a line at each quarter, at most one a second, and a summary line at the end. */
export function lineProgress(meter: Meter, write: (text: string) => void, now: () => number, minGapMs = 1000): Progress {
  let lastQuarter = 0;
  let lastLine = meter.started;
  let finished = false;
  const maybeLine = (): void => {
    const quarter = Math.floor(meter.fraction() * 4);
    if (quarter <= lastQuarter || quarter >= 4) return;
    const t = now();
    if (t - lastLine < minGapMs) return;
    lastQuarter = quarter;
    lastLine = t;
    write(meter.text() + '\n');
  };
  return {
    tick(n = 1) {
      meter.worked += n;
      maybeLine();
    },
    skip(n = 1) {
      meter.skipped += n;
      maybeLine();
    },
    update(d) {
      meter.worked = d;
      maybeLine();
    },
    setTotal(t) {
      meter.total = t;
    },
    done(message) {
      if (finished) return;
      finished = true;
      write(meter.summary(message) + '\n');
    },
  };
}
