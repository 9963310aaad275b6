// Two `rallycut repro` processes in one project: the second waits for the first instead of failing,
// both succeed, and every stage runs exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;
let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('concurrent repro', () => {
  it('serializes: the second process waits, says so, and finds nothing left to do', async () => {
    rig = new Rig();
    await rig.write({
      'in.txt': 'x\n',
      'pipeline.yaml': `stages:
  slow:
    cmd: '${cmd('slow', 'sleep 2 && cp in.txt slow.txt')}'
    deps: [in.txt]
    outs: [slow.txt]
  next:
    cmd: '${cmd('next', 'cp slow.txt next.txt')}'
    deps: [slow.txt]
    outs: [next.txt]
`,
    });
    // Both start together; whichever takes the lock first runs, the other must wait for it.
    const [a, b] = await Promise.all([rig.spawn(['repro']), rig.spawn(['repro'])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [winner, waiter] = /waiting for another/.test(a.stderr) ? [b, a] : [a, b];
    expect(waiter.stderr).toMatch(/waiting for another rallycut process \(pid \d+/);
    expect(winner.stderr).not.toMatch(/waiting for another/);
    expect(winner.stdout).toContain('ran 2');
    expect(waiter.stdout).toContain('skipped 2');
    expect((await rig.invocations()).sort()).toEqual(['next', 'slow']);
  });
});
