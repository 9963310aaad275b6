// Two `rallycut repro` processes in one project: the second waits for the first instead of failing,
// both succeed, and every stage runs exactly once.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
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

describe('concurrent repro after a crash', () => {
  it("six repros against a dead process's lock: the stale lock is taken over once, the stage runs once per round", async () => {
    rig = new Rig();
    await rig.write({
      'pipeline.yaml': `stages:
  work:
    cmd: '${cmd('work', 'sleep 0.3 && cp in.txt out.txt')}'
    deps: [in.txt]
    outs: [out.txt]
`,
    });
    const deadPid = await new Promise<number>((r) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => r(child.pid!));
    });
    for (let round = 0; round < 6; round++) {
      await rig.write({ 'in.txt': `round ${round}\n`, '.cache/repro.lock': JSON.stringify({ pid: deadPid, started: 'then', host: hostname() }) });
      const results = await Promise.all(Array.from({ length: 6 }, () => rig.spawn(['repro'])));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      expect(results.filter((r) => r.stderr.includes('taking over a stale repro lock')).length, `round ${round}`).toBe(1);
      expect(await rig.invocations(), `round ${round}`).toEqual(['work']);
      expect(rig.read('out.txt')).toBe(`round ${round}\n`);
      expect(readdirSync(join(rig.dir, '.cache')).filter((n) => n.startsWith('repro.lock'))).toEqual([]);
    }
  });
});
