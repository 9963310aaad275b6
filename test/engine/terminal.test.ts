// repro as a user sees it in a real terminal (a pseudo-terminal through util-linux `script`): parallel
// stages stacked as live lines and collapsed into summary lines, in colour unless NO_COLOR; exp show fitted
// to the terminal's width. (Progress in a pipe: src/format/progress.test.ts.)
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';
import { replay } from '../kit/screen.js';

const REPO = join(import.meta.dirname, '..', '..');
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Two stages that wait for each other (each touches its flag, then polls for the other's): both must be
// running at once, so the board has two lines, whatever the machine's speed.
const PIPELINE = `stages:
  left:
    cmd: touch left.flag && while [ ! -f right.flag ]; do sleep 0.05; done && echo done > left.out
    deps: [in.txt]
    outs: [left.out]
  right:
    cmd: touch right.flag && while [ ! -f left.flag ]; do sleep 0.05; done && echo done > right.out
    deps: [in.txt]
    outs: [right.out]
`;

/** Runs the CLI on a pseudo-terminal 100 columns wide; resolves with everything it wrote there. */
function inTerminal(rig: Rig, args: string, env: Record<string, string> = {}): Promise<string> {
  const command = `stty cols 100 rows 40; exec node ${JSON.stringify(join(REPO, 'bin', 'rallycut'))} ${args}`;
  return new Promise((resolve, reject) => {
    const baseEnv = rig.env({ RALLYCUT_FROM_SOURCE: '1', ...env });
    delete baseEnv.RALLYCUT_PROGRESS; // the rig silences bars; a terminal user has them
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: rig.dir, env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-tty-');
  await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\n' });
});
afterEach(async () => rig.cleanup());

describe.skipIf(!hasScript)('repro in a terminal', () => {
  it('stacks the running stages as live lines and collapses each into a summary line', async () => {
    const raw = await inTerminal(rig, 'repro -j 2');
    const text0 = raw.replace(/\r\n/g, '\n');
    const screen = replay(text0, text0.split(/(?=\x1b\[\d+F)/)); // one chunk per redraw: the screen between redraws
    expect(screen.maxSpinners, raw).toBe(2);
    const text = screen.lines.join('\n');
    expect(text).toMatch(/^✓ left ran \d+\.\d s$/m);
    expect(text).toMatch(/^✓ right ran \d+\.\d s$/m);
    expect(text).toContain('Done: ran 2');
    expect(screen.lines.some((l) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/.test(l))).toBe(false); // nothing left of the board
    expect(raw).toMatch(/\x1b\[32m✓/); // colour in a terminal…
  }, 60_000);

  it('honours NO_COLOR', async () => {
    const raw = await inTerminal(rig, 'repro -j 2', { NO_COLOR: '1' });
    expect(raw).toContain('✓ left ran');
    expect(raw).not.toMatch(/\x1b\[[0-9;]*m/);
  }, 60_000);

  it('fits exp show to the terminal', async () => {
    execFileSync('git', ['init', '-q'], { cwd: rig.dir });
    const wide = Array.from({ length: 30 }, (_, i) => `"metric_number_${i}": ${i}`).join(', ');
    await rig.write({ 'm.json': `{${wide}}`, 'pipeline.yaml': PIPELINE + '    metrics: [m.json]\n' });
    const raw = await inTerminal(rig, 'exp show');
    const lines = raw.replace(/\r\n/g, '\n').trimEnd().split('\n');
    for (const l of lines.filter((x) => !x.startsWith('note:'))) expect(l.length).toBeLessThanOrEqual(100);
    expect(raw).toMatch(/note: \d+ columns hidden to fit 100 columns/);
  }, 60_000);
});
