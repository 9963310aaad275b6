// Progress on stderr. In a terminal a bar is a line of the live board (board.ts), redrawn in place; in a
// pipe or CI log it prints a line at each quarter, at most one a second, and a summary when done. Work
// served from a cache is counted apart (skip): it moves the bar but not the rate, so a run that starts with
// cache hits does not report thousands of windows a second. RALLYCUT_PROGRESS=0 silences bars (tests).
import { Board, useColor } from './board.js';
import { lineProgress, Meter, silentProgress, type Progress, type ProgressSink } from './meter.js';

export { formatAmount, lineProgress, Meter, silentProgress, type Progress, type ProgressSink } from './meter.js';

/** Bars without a sink of their own go to this board while it is set (repro's board, so they never collide). */
let routed: Board | undefined;

export function routeProgress(board: Board | undefined): void {
  routed = board;
}

export function createProgress(label: string, total: number, unit = '', sink?: ProgressSink): Progress {
  const env = sink?.env ?? process.env;
  if (env.RALLYCUT_PROGRESS === '0') return silentProgress;
  if (!sink && routed) return routed.bar(label, label, total, unit);
  const out: ProgressSink = sink ?? { write: (t) => process.stderr.write(t), isTTY: Boolean(process.stderr.isTTY), columns: process.stderr.columns };
  const now = out.now ?? Date.now;
  if (out.isTTY) {
    // A board of its own: one live line, collapsed to its summary when done.
    const board = new Board({ write: out.write, columns: out.columns, color: useColor(env), now });
    const bar = board.bar(label, label, total, unit);
    return { ...bar, done: (m) => (bar.done(m), board.close()) };
  }
  return lineProgress(new Meter(label, total, unit, now), out.write, now);
}
