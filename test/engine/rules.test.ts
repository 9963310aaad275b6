// DVC's "when does a stage run" rules through the CLI: params, frozen, always_changed, dep-less stages,
// failures (stop vs keep going) and parallel stages.
import { availableParallelism, loadavg } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;
let rig: Rig;
afterEach(async () => rig?.cleanup());

async function repro(...args: string[]) {
  const res = await rig.run(['repro', ...args]);
  return { ...res, ran: (await rig.invocations()).sort() };
}

describe('params', () => {
  it('an untracked key change reruns nothing; a tracked one reruns its stage', async () => {
    rig = new Rig();
    await rig.write({
      'params/default.yaml': 'train:\n  lr: 0.1\n  epochs: 3\nother: 1\n',
      'pipeline.yaml': `stages:
  train:
    cmd: '${cmd('train', 'echo lr=${train.lr} > model.txt')}'
    params: [train.lr]
    outs: [model.txt]
  report:
    cmd: '${cmd('report', 'cp model.txt report.txt')}'
    deps: [model.txt]
    outs: [report.txt]
`,
    });
    expect((await repro()).ran).toEqual(['report', 'train']);
    await rig.write({ 'params/default.yaml': 'train:\n  lr: 0.1\n  epochs: 9\nother: 2\n' });
    expect((await repro()).ran).toEqual([]);
    await rig.write({ 'params/default.yaml': 'train:\n  lr: 0.2\n  epochs: 9\nother: 2\n' });
    const res = await repro();
    expect(res.ran).toEqual(['report', 'train']);
    expect(res.stderr).toContain('param params/default.yaml:train.lr changed');
    expect(rig.read('report.txt')).toBe('lr=0.2\n');
  });
});

describe('frozen, always_changed and dep-less stages', () => {
  it('frozen never runs; always_changed and dep-less stages run every time', async () => {
    rig = new Rig();
    await rig.write({
      'in.txt': 'x\n',
      'pipeline.yaml': `stages:
  cold:
    cmd: '${cmd('cold', 'cp in.txt cold.txt')}'
    deps: [in.txt]
    outs: [cold.txt]
    frozen: true
  always:
    cmd: '${cmd('always', 'cp in.txt always.txt')}'
    deps: [in.txt]
    outs: [always.txt]
    always_changed: true
  nodeps:
    cmd: '${cmd('nodeps', 'date +%N > stamp.txt')}'
    outs: [stamp.txt]
  steady:
    cmd: '${cmd('steady', 'cp in.txt steady.txt')}'
    deps: [in.txt]
    outs: [steady.txt]
`,
    });
    const first = await repro();
    expect(first.ran).toEqual(['always', 'nodeps', 'steady']);
    expect(rig.exists('cold.txt')).toBe(false);
    const second = await repro();
    expect(second.ran).toEqual(['always', 'nodeps']);
    expect(second.stdout).toContain('frozen 1');
    const status = await rig.run(['status']);
    expect(status.stdout).toContain('always_changed');
    expect(status.stdout).toContain('has no deps (always runs)');
    // Even forced, a frozen stage stays put.
    expect((await repro('cold', '-f')).ran).toEqual([]);
  });
});

describe('failures', () => {
  const PIPELINE = `stages:
  bad:
    cmd: '${cmd('bad', 'echo about to fail; exit 3')}'
    deps: [in.txt]
    outs: [bad.txt]
  after:
    cmd: '${cmd('after', 'cp bad.txt after.txt')}'
    deps: [bad.txt]
    outs: [after.txt]
  other:
    cmd: '${cmd('other', 'cp in.txt other.txt')}'
    deps: [in.txt]
    outs: [other.txt]
  lazy:
    cmd: '${cmd('lazy', 'touch lazy-wrong.txt')}'
    deps: [in.txt]
    outs: [lazy.txt]
`;

  it('stops starting stages after a failure and names the ones skipped (exit 1)', async () => {
    rig = new Rig();
    await rig.write({ 'in.txt': 'x\n', 'pipeline.yaml': PIPELINE });
    const res = await repro('-j', '1');
    expect(res.code).toBe(1);
    expect(res.ran).toEqual(['bad']);
    expect(res.stderr).toContain('[bad] about to fail');
    expect(res.stderr).toContain('command exited with code 3');
    expect(res.stdout).toContain("not run: after (upstream 'bad' failed)");
    expect(res.stdout).toContain("not run: other (stopped after 'bad' failed)");
    expect(res.stderr).toContain('not run: lazy');
  });

  it('-k keeps running independent branches; an out the stage did not produce is an error naming it', async () => {
    rig = new Rig();
    await rig.write({ 'in.txt': 'x\n', 'pipeline.yaml': PIPELINE });
    const res = await repro('-k', '-j', '1');
    expect(res.code).toBe(1);
    expect(res.ran).toEqual(['bad', 'lazy', 'other']);
    expect(rig.read('other.txt')).toBe('x\n');
    expect(res.stdout).toContain("not run: after (upstream 'bad' failed)");
    expect(res.stderr).toContain("did not produce 'lazy.txt'");
    // The successful stage was recorded: a second -k run only retries the failures.
    expect((await repro('-k')).ran).toEqual(['bad', 'lazy']);
  });
});

describe('parallel', () => {
  it('two independent 1-second stages with -j 2 finish in well under 2 s', async () => {
    rig = new Rig();
    // Each stage records when its command started and ended (ns), outside its outs.
    const timed = (n: string) => cmd(n, `date +%s%N > ${n}.t0 && sleep 1 && cp in.txt ${n}.txt && date +%s%N > ${n}.t1`);
    await rig.write({
      'in.txt': 'x\n',
      'pipeline.yaml': `stages:
  one:
    cmd: '${timed('one')}'
    deps: [in.txt]
    outs: [one.txt]
  two:
    cmd: '${timed('two')}'
    deps: [in.txt]
    outs: [two.txt]
`,
    });
    const started = Date.now();
    const res = await repro('-j', '2');
    const wall = (Date.now() - started) / 1000;
    expect(res.code, res.stderr).toBe(0);
    expect(res.ran).toEqual(['one', 'two']);
    const at = (f: string) => Number(BigInt(rig.read(f).trim()) / 1_000_000n) / 1000;
    const span = Math.max(at('one.t1'), at('two.t1')) - Math.min(at('one.t0'), at('two.t0'));
    // The stages overlapped: each started before the other ended.
    expect(at('two.t0')).toBeLessThan(at('one.t1'));
    expect(at('one.t0')).toBeLessThan(at('two.t1'));
    // Both stages, and the whole repro with engine overhead, took well under the 2 s a serial run needs.
    // Checked only on a machine that is not oversubscribed, where wall-clock time means something.
    if (loadavg()[0]! < availableParallelism()) {
      expect(span).toBeLessThan(1.5);
      expect(wall).toBeLessThan(1.9);
    }
  });
});
