// `rallycut repro` end to end on real temp projects: what runs, what is skipped, what is restored, and why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;

// in.txt → a (dedupe lines) → b (upper-case) → c (byte count); d independent of them.
const PIPELINE = `stages:
  a:
    cmd: '${cmd('a', 'sort -u in.txt > a.txt')}'
    deps: [in.txt]
    outs: [a.txt]
  b:
    cmd: '${cmd('b', 'tr a-z A-Z < a.txt > b.txt')}'
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: '${cmd('c', 'wc -c < b.txt > c.txt')}'
    deps: [b.txt]
    outs: [c.txt]
  d:
    cmd: '${cmd('d', 'cp other.txt d.txt')}'
    deps: [other.txt]
    outs: [d.txt]
`;

let rig: Rig;
beforeEach(async () => {
  rig = new Rig();
  await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\ny\n', 'other.txt': 'other\n' });
});
afterEach(async () => rig.cleanup());

async function repro(...args: string[]) {
  const res = await rig.run(['repro', ...args]);
  return { ...res, ran: (await rig.invocations()).sort() };
}

describe('repro', () => {
  it('first run runs all; a no-op run runs none', async () => {
    const first = await repro();
    expect(first.code, first.stderr).toBe(0);
    expect(first.ran).toEqual(['a', 'b', 'c', 'd']);
    expect(rig.read('b.txt')).toBe('X\nY\n');
    expect(rig.read('pipeline.lock')).toContain('a.txt');
    expect(first.stdout).toContain('ran 4');
    const again = await repro();
    expect(again.code).toBe(0);
    expect(again.ran).toEqual([]);
    expect(again.stdout).toContain('skipped 4');
  });

  it('a changed dep reruns that stage and what follows; independent stages stay', async () => {
    await repro();
    await rig.write({ 'in.txt': 'x\ny\nz\n' });
    const res = await repro();
    expect(res.ran).toEqual(['a', 'b', 'c']);
    expect(rig.read('b.txt')).toBe('X\nY\nZ\n');
  });

  it('a downstream stage whose inputs come out byte-identical is skipped', async () => {
    await repro();
    await rig.write({ 'in.txt': 'y\nx\nx\n' }); // a changed input, but `sort -u` gives the same a.txt
    const res = await repro();
    expect(res.ran).toEqual(['a']);
    expect(res.stderr).toContain('[b] unchanged, skipped');
  });

  it('a deleted out is restored from the cache without running', async () => {
    await repro();
    await rig.remove('b.txt');
    const res = await repro();
    expect(res.ran).toEqual([]);
    expect(rig.read('b.txt')).toBe('X\nY\n');
    expect(res.stderr).toContain('[b] restored from cache');
    expect(res.stdout).toContain('restored 1');
  });

  it('a modified out and a deleted folder out are restored; a deleted cache: false metric comes back from the run-cache, or reruns its stage without it', async () => {
    await rig.write({
      'pipeline.yaml': `stages:
  split:
    cmd: '${cmd('split', 'mkdir -p parts/sub && cp in.txt parts/one.txt && cp in.txt parts/sub/two.txt && wc -l < in.txt > m.json')}'
    deps: [in.txt]
    outs: [parts]
    metrics: [m.json: { cache: false }]
`,
    });
    expect((await repro()).ran).toEqual(['split']);
    await rig.remove('parts');
    const restored = await repro();
    expect(restored.ran).toEqual([]);
    expect(rig.read('parts/sub/two.txt')).toBe('x\ny\n');
    await rig.write({ 'parts/one.txt': 'tampered\n' });
    expect((await repro()).ran).toEqual([]);
    expect(rig.read('parts/one.txt')).toBe('x\ny\n');
    await rig.remove('m.json');
    const back = await repro();
    expect(back.ran).toEqual([]);
    expect(back.stderr).toContain("[split] restored from run-cache, not run (out 'm.json' is missing)");
    expect(rig.read('m.json').trim()).toBe('2');
    await rig.remove('m.json');
    const rerun = await repro('--no-run-cache');
    expect(rerun.ran).toEqual(['split']);
    expect(rerun.stderr).toContain("out 'm.json' is missing");
  });

  it('a reverted change is restored from the run-cache without running; --no-run-cache runs it', async () => {
    await repro();
    await rig.write({ 'other.txt': 'changed\n' });
    expect((await repro()).ran).toEqual(['d']);
    await rig.write({ 'other.txt': 'other\n' });
    const back = await repro();
    expect(back.ran).toEqual([]);
    expect(back.stderr).toContain('[d] restored from run-cache');
    expect(rig.read('d.txt')).toBe('other\n');
    await rig.write({ 'other.txt': 'changed\n' });
    const noCache = await repro('--no-run-cache');
    expect(noCache.ran).toEqual(['d']);
  });

  it('a run-cache hit whose objects were dropped from the cache runs the stage instead', async () => {
    await repro();
    await rig.write({ 'other.txt': 'changed\n' });
    await repro();
    await rig.write({ 'other.txt': 'other\n' });
    await rig.remove('.cache/objects');
    const res = await repro();
    expect(res.code, res.stderr).toBe(0);
    expect(res.ran).toEqual(['d']);
    expect(rig.read('d.txt')).toBe('other\n');
  });

  it('targets bring their upstream; -s runs only the target; -f forces; --downstream follows', async () => {
    await repro();
    expect((await repro('b', '-f')).ran).toEqual(['a', 'b']); // as DVC: -f forces the upstream it brings too
    expect((await repro('b', '-f', '-s')).ran).toEqual(['b']);
    // Forced all the way down, though b.txt comes out byte-identical (DVC reruns them too).
    expect((await repro('b', '-f', '--downstream')).ran).toEqual(['b', 'c']);
    await rig.write({ 'in.txt': 'q\n' });
    expect((await repro('b', '-s')).ran).toEqual([]); // a is stale, but -s leaves it alone and a.txt is as before
    expect((await repro('a', '--downstream')).ran).toEqual(['a', 'b', 'c']);
    await rig.write({ 'in.txt': 'r\n' });
    expect((await repro('b')).ran).toEqual(['a', 'b']);
    const unknown = await rig.run(['repro', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown stage or out 'nope'");
  });

  it('--dry and status explain without running', async () => {
    await repro();
    await rig.write({ 'in.txt': 'new\n' });
    const dry = await repro('--dry');
    expect(dry.ran).toEqual([]);
    expect(dry.stdout).toContain('a: would run');
    expect(dry.stdout).toContain("dep 'in.txt' changed");
    expect(dry.stdout).toContain("upstream 'a' will run");
    const status = await rig.run(['status', '--json']);
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { upToDate: boolean; stages: { stage: string; decision: string; reasons: string[] }[] };
    expect(parsed.upToDate).toBe(false);
    expect(parsed.stages.find((s) => s.stage === 'a')).toEqual({ stage: 'a', decision: 'run', reasons: ["dep 'in.txt' changed"] });
    expect(parsed.stages.find((s) => s.stage === 'd')!.decision).toBe('skip');
    await repro();
    expect((await rig.run(['status'])).stdout).toContain('Everything is up to date');
  });

  it('--json prints a machine-readable result', async () => {
    const res = await repro('--json');
    const parsed = JSON.parse(res.stdout) as { ok: boolean; stages: { stage: string; outcome: string }[] };
    expect(parsed.ok).toBe(true);
    expect(parsed.stages.map((s) => [s.stage, s.outcome])).toEqual([
      ['a', 'ran'],
      ['b', 'ran'],
      ['c', 'ran'],
      ['d', 'ran'],
    ]);
  });
});
