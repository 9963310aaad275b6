// Progress as a user sees it: in a pipe, a line per quarter at most once a second and a summary; cache hits
// counted apart from the rate; in a terminal, a board of stacked task lines redrawn in place that collapse
// into summary lines, in colour unless NO_COLOR.
import { describe, expect, it } from 'vitest';
import { replay } from '../../test/kit/screen.js';
import { Board, useColor } from './board.js';
import { createProgress } from './progress.js';

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('progress in a pipe', () => {
  it('prints a line per quarter, at most one a second, and a summary with its label', () => {
    const c = clock();
    let out = '';
    const p = createProgress('[temporal] train', 100, 'epochs', { write: (t) => void (out += t), isTTY: false, env: {}, now: c.now });
    for (let i = 0; i < 100; i++) {
      c.advance(i < 60 ? 5 : 100); // the first 60 epochs in 0.3 s: one line at most, not 25%, 50%
      p.tick();
    }
    p.done('best epoch 8');
    const lines = out.trimEnd().split('\n');
    // 50% came within the first second (no line); the next lines wait a second each, one per quarter.
    expect(lines).toEqual([
      '[temporal] train  67% 67/100 epochs 67 epochs/s',
      '[temporal] train  77% 77/100 epochs 39 epochs/s',
      expect.stringMatching(/^\[temporal\] train: best epoch 8 \(100 epochs in 4\.3 s, 23 epochs\/s\)$/),
    ]);
  });

  it('counts cache hits apart: they move the bar, not the rate', () => {
    const c = clock();
    let out = '';
    const p = createProgress('extract-features', 8300, 'windows', { write: (t) => void (out += t), isTTY: false, env: {}, now: c.now });
    c.advance(1000);
    p.skip(8000); // cached videos, found in a moment
    c.advance(9000);
    p.tick(300); // 300 windows computed in 10 s
    p.done();
    expect(out).toBe('extract-features  96% 8000/8300 windows (all cached)\nextract-features: 8300 windows (8000 cached) in 10.0 s, 30 windows/s\n');
  });

  it('RALLYCUT_PROGRESS=0 is silent', () => {
    let out = '';
    const p = createProgress('x', 10, '', { write: (t) => void (out += t), isTTY: false, env: { RALLYCUT_PROGRESS: '0' } });
    p.tick(10);
    p.done('m');
    expect(out).toBe('');
  });
});

describe('the live board in a terminal', () => {
  it('stacks running tasks, redraws them in place and collapses each into a summary line', () => {
    const c = clock();
    const chunks: string[] = [];
    const board = new Board({ write: (t) => void chunks.push(t), columns: 80, color: false, now: c.now, intervalMs: 0 });
    board.log('[prepare] running (forced)\n');
    board.begin('prepare', 'prepare');
    board.begin('push', 'push');
    const bar = board.bar('prepare', 'prepare demo', 400, 's');
    for (let i = 0; i < 4; i++) {
      c.advance(1000);
      bar.tick(50);
    }
    board.log('[push] pushed 6 videos\n');
    board.end('push', 'ok', 'push ran');
    c.advance(1000);
    bar.skip(200);
    bar.done();
    board.end('prepare', 'ok', 'prepare ran');
    board.close();
    const screen = replay('', chunks);
    expect(screen.maxSpinners).toBe(2); // both tasks were on screen at once, one line each
    expect(screen.lines).toEqual([
      '[prepare] running (forced)',
      '[push] pushed 6 videos',
      '✓ push ran 4.0 s',
      '✓ prepare ran 5.0 s · prepare demo: 400 s (200 cached) in 5.0 s, 40 s/s',
    ]);
    // In place: the lines of the board were erased and drawn again, not appended.
    expect(chunks.join('')).toContain('\x1b[2F\x1b[J');
    // No colour codes without colour.
    expect(chunks.join('')).not.toMatch(/\x1b\[[0-9;]*m/);
  });

  it('cuts lines to the terminal width (a wrapped line would break the redraw)', () => {
    const chunks: string[] = [];
    const board = new Board({ write: (t) => void chunks.push(t), columns: 30, color: true, now: clock().now, intervalMs: 0 });
    board.begin('a-stage-with-a-very-long-name-indeed', 'a-stage-with-a-very-long-name-indeed');
    const screen = replay('', chunks);
    expect(screen.lines[0]!.length).toBeLessThanOrEqual(29);
    board.close();
  });

  it('colour follows NO_COLOR', () => {
    expect(useColor({})).toBe(true);
    expect(useColor({ NO_COLOR: '1' })).toBe(false);
    expect(useColor({ NO_COLOR: '' })).toBe(true); // the convention: set and not empty
    const chunks: string[] = [];
    const board = new Board({ write: (t) => void chunks.push(t), color: true, now: clock().now, intervalMs: 0 });
    board.begin('a', 'a');
    board.end('a', 'ok', 'a ran');
    board.close();
    expect(chunks.join('')).toMatch(/\x1b\[32m✓\x1b\[0m a ran/);
  });
});
