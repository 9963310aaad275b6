// Progress bars on stderr. On a TTY the bar redraws in place; otherwise a line is printed every 25%,
// so CI logs stay readable. RALLYCUT_PROGRESS=0 silences bars (tests).
import { formatBytes } from './printer.js';

export interface Progress {
  /** Adds `n` units of work done. */
  tick(n?: number): void;
  /** Sets the absolute amount done. */
  update(done: number): void;
  /** Changes the total when it becomes known late. */
  setTotal(total: number): void;
  done(message?: string): void;
}

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

const silentProgress: Progress = { tick() {}, update() {}, setTotal() {}, done() {} };

function formatAmount(n: number, unit: string): string {
  if (unit === 'B') return formatBytes(n);
  const text = Number.isInteger(n) || n >= 10 ? String(Math.round(n)) : n.toFixed(1);
  return `${text}${unit ? ' ' + unit : ''}`;
}

export function createProgress(
  label: string,
  total: number,
  unit = '',
  sink: ProgressSink = { write: (t) => process.stderr.write(t), isTTY: Boolean(process.stderr.isTTY) },
): Progress {
  if (process.env.RALLYCUT_PROGRESS === '0') return silentProgress;
  const started = Date.now();
  let doneAmount = 0;
  let lastQuarter = -1;
  let lastDraw = 0;
  let finished = false;
  const draw = (force: boolean): void => {
    const now = Date.now();
    const secs = Math.max(1e-3, (now - started) / 1000);
    const rate = doneAmount / secs;
    const frac = total > 0 ? Math.min(1, doneAmount / total) : 0;
    const text = `${label} ${total > 0 ? `${(frac * 100).toFixed(0).padStart(3)}% ` : ''}${formatAmount(doneAmount, unit)}${
      total > 0 ? '/' + formatAmount(total, unit) : ''
    } (${formatAmount(rate, unit)}/s)`;
    if (sink.isTTY) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      const width = 24;
      const filled = Math.round(frac * width);
      sink.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
    } else {
      const quarter = Math.floor(frac * 4);
      if (force || quarter > lastQuarter) {
        lastQuarter = quarter;
        sink.write(text + '\n');
      }
    }
  };
  return {
    tick(n = 1) {
      doneAmount += n;
      draw(false);
    },
    update(d) {
      doneAmount = d;
      draw(false);
    },
    setTotal(t) {
      total = t;
    },
    done(message) {
      if (finished) return;
      finished = true;
      if (sink.isTTY) sink.write(`\r\x1b[K${message ?? `${label} done (${formatAmount(doneAmount, unit)})`}\n`);
      else if (message) sink.write(message + '\n');
    },
  };
}
