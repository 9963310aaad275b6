// The live board of a terminal (as Nx or cargo draw it): one line per running task, stacked and redrawn
// in place below the log; a finished task collapses into one summary line in the log. Log text written
// while the board is up goes above it. Colour unless NO_COLOR is set (https://no-color.org).
import { lineProgress, Meter, type Progress } from './meter.js';

export interface BoardOptions {
  write(text: string): void;
  /** Terminal width: a line longer than this would wrap and break the redraw, so lines are cut. */
  columns?: number | undefined;
  color: boolean;
  now?: () => number;
  /** Fewest ms between two redraws caused by progress (default 80). */
  intervalMs?: number;
}

interface Task {
  title: string;
  started: number;
  meter?: Meter;
  /** Created by a bar alone: goes away with it. */
  transient: boolean;
  /** The summary of the task's last finished bar, for its collapsed line. */
  last?: string;
}

export type TaskEnd = 'ok' | 'failed';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** NO_COLOR set to anything but the empty string turns colour off. */
export function useColor(env: Readonly<Record<string, string | undefined>>): boolean {
  return !env.NO_COLOR;
}

export class Board {
  private readonly tasks = new Map<string, Task>();
  private drawn = 0;
  private lastDraw = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private partial = '';
  private frame = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: BoardOptions) {
    this.now = opts.now ?? Date.now;
  }

  private paint(code: string, text: string): string {
    return this.opts.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** Cut to the terminal width (measured without colour codes; a cut line loses its colour). */
  private fit(line: string): string {
    const max = (this.opts.columns ?? 0) - 1;
    const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
    return max > 10 && plain.length > max ? plain.slice(0, max - 1) + '…' : line;
  }

  /** Text for the log: whole lines go above the board at once; a partial line waits for its end. */
  log(text: string): void {
    if (this.closed) return this.opts.write(text);
    this.partial += text;
    const cut = this.partial.lastIndexOf('\n');
    if (cut < 0) return;
    const lines = this.partial.slice(0, cut + 1);
    this.partial = this.partial.slice(cut + 1);
    this.redraw(lines);
  }

  /** A running task's line (a stage): spinner, title, its bar if it has one, elapsed time. */
  begin(key: string, title: string): void {
    this.tasks.set(key, { title, started: this.now(), transient: false });
    this.redraw();
  }

  /** Collapses a running task into one line of the log: mark, summary, time, what its last bar did. */
  end(key: string, how: TaskEnd, summary: string): void {
    const task = this.tasks.get(key);
    if (!task || task.transient) return;
    this.tasks.delete(key);
    const secs = this.paint('2', `${((this.now() - task.started) / 1000).toFixed(1)} s`);
    const last = task.last ? ` ${this.paint('2', '·')} ${task.last}` : '';
    this.redraw(`${how === 'ok' ? this.paint('32', '✓') : this.paint('31', '✗')} ${summary} ${secs}${last}\n`);
  }

  /** A progress bar shown in task `key`'s line (a line of its own if no such task is running). */
  bar(key: string, label: string, total: number, unit: string): Progress {
    if (this.closed) return lineProgress(new Meter(label, total, unit, this.now), this.opts.write, this.now);
    let task = this.tasks.get(key);
    if (!task) {
      task = { title: label, started: this.now(), transient: true };
      this.tasks.set(key, task);
    }
    const meter = new Meter(label, total, unit, this.now);
    task.meter = meter;
    const owner = task;
    let finished = false;
    const changed = (): void => this.schedule();
    return {
      tick: (n = 1) => ((meter.worked += n), changed()),
      skip: (n = 1) => ((meter.skipped += n), changed()),
      update: (d) => ((meter.worked = d), changed()),
      setTotal: (t) => ((meter.total = t), changed()),
      done: (message) => {
        if (finished) return;
        finished = true;
        if (owner.meter === meter) delete owner.meter;
        if (owner.transient) {
          if (this.tasks.get(key) === owner) this.tasks.delete(key);
          return this.redraw(`${this.paint('32', '✓')} ${meter.summary(message)}\n`);
        }
        // A stage's bar: its summary goes into the stage's collapsed line; an earlier one into the log.
        const earlier = owner.last;
        owner.last = meter.summary(message, label === key);
        this.redraw(earlier ? `  [${key}] ${earlier}\n` : '');
      },
    };
  }

  /** Erases the board and stops redrawing; later text goes straight out. */
  close(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.tasks.clear();
    this.redraw(this.partial);
    this.partial = '';
    this.closed = true;
  }

  private schedule(): void {
    if (this.closed) return;
    const wait = (this.opts.intervalMs ?? 80) - (this.now() - this.lastDraw);
    if (wait <= 0) return this.redraw();
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.redraw();
      }, wait);
      this.timer.unref();
    }
  }

  /** Erases the drawn lines, writes `above` (log text), draws the tasks again. One write, so no flicker. */
  private redraw(above = ''): void {
    if (this.closed) {
      if (above) this.opts.write(above);
      return;
    }
    this.lastDraw = this.now();
    this.frame = (this.frame + 1) % SPINNER.length;
    let out = this.drawn ? `\x1b[${this.drawn}F\x1b[J` : '';
    out += above;
    const lines = [...this.tasks.entries()].map(([, t]) => this.line(t));
    for (const l of lines) out += `\x1b[2K${l}\n`;
    this.drawn = lines.length;
    if (out) this.opts.write(out);
    // While tasks run the spinner and clock move even without progress.
    if (lines.length && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.redraw();
      }, 250);
      this.timer.unref();
    }
  }

  private line(t: Task): string {
    const secs = Math.floor((this.now() - t.started) / 1000);
    const elapsed = this.paint('2', secs >= 60 ? `${Math.floor(secs / 60)}m${String(secs % 60).padStart(2, '0')}s` : `${secs}s`);
    const bar = t.meter ? this.barText(t.meter) : '';
    return this.fit(`${this.paint('36', SPINNER[this.frame]!)} ${t.transient ? '' : t.title + ' '}${bar}${bar ? ' ' : ''}${elapsed}`);
  }

  private barText(m: Meter): string {
    const width = 20;
    const filled = Math.round(m.fraction() * width);
    const gauge = m.total > 0 ? `${this.paint('36', '━'.repeat(filled))}${this.paint('2', '─'.repeat(width - filled))} ` : '';
    return `${m.label} ${gauge}${m.text(true)}`;
  }
}
