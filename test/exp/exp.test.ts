// Experiments end to end on small cmd-stage pipelines in temp git repos: overrides, records, show, apply,
// sweeps run N at a time in separate processes, the user's checkout left alone, bad -S errors.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;

// prep copies a source file; train writes a metric from the learning rate and the prepared data.
const PIPELINE = `stages:
  prep:
    cmd: '${cmd('prep', 'mkdir -p data && sort -u src.txt > data/base.txt')}'
    deps: [src.txt]
    outs: [data/base.txt]
  train:
    cmd: '${cmd('train', 'mkdir -p metrics && printf "{\\"lr\\": %s, \\"lines\\": %s}" ${train.lr} $(wc -l < data/base.txt) > metrics/train.json')}'
    deps: [data/base.txt]
    params: [train]
    metrics:
      - metrics/train.json: { cache: false }
`;

const PARAMS = `# training settings
train:
  lr: 0.001 # learning rate
  epochs: 3
`;

export async function gitRepo(rig: Rig): Promise<void> {
  await rig.write({ 'pipeline.yaml': PIPELINE, 'params/default.yaml': PARAMS, 'src.txt': 'b\na\nb\n', '.gitignore': '.cache/\n/data/\ninvocations.log\n' });
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: rig.dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
}

/** sha256 over every file of the checkout except .git/ and the cache (what the user sees). */
function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      const rel = relative(dir, abs);
      if (rel === '.git' || rel === '.cache' || rel === 'invocations.log') continue;
      if (statSync(abs).isDirectory()) walk(abs);
      else h.update(rel).update('\0').update(readFileSync(abs)).update('\0');
    }
  };
  walk(dir);
  return h.digest('hex');
}

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-exp-');
  await gitRepo(rig);
});
afterEach(async () => rig.cleanup());

describe('exp run / show / apply', () => {
  it('two experiments with different -S show their params and metrics; the checkout is untouched', async () => {
    const base = await rig.run(['repro']);
    expect(base.code, base.stderr).toBe(0);
    await rig.invocations();
    const before = treeHash(rig.dir);

    const a = await rig.run(['exp', 'run', '-S', 'train.lr=0.01', '-n', 'fast']);
    expect(a.code, a.stderr).toBe(0);
    // prep is unchanged: restored from the shared cache, not rerun; only train ran.
    expect(await rig.invocations()).toEqual(['train']);
    const b = await rig.run(['exp', 'run', '-S', 'params/default.yaml:train.lr=0.0001', '-n', 'slow']);
    expect(b.code, b.stderr).toBe(0);
    expect(treeHash(rig.dir)).toBe(before);

    const show = await rig.run(['exp', 'show', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const table = JSON.parse(show.stdout) as { params: string[]; rows: Record<string, unknown>[] };
    expect(table.params).toEqual(['train.lr']); // epochs does not vary, so it is not shown
    const row = (n: string) => table.rows.find((r) => r.Experiment === n)!;
    expect(row('fast')['train.lr']).toBe(0.01);
    expect(row('fast')['metrics/train.json:lr']).toBe(0.01);
    expect(row('fast')['metrics/train.json:lines']).toBe(2);
    expect(row('slow')['metrics/train.json:lr']).toBe(0.0001);
    expect(row('workspace')['train.lr']).toBe(0.001);
    expect(row('HEAD (committed)')).toBeDefined();
    expect(row('fast').Status).toBe('success');

    const sorted = await rig.run(['exp', 'show', '--csv', '--sort-by', 'lr']);
    const lines = sorted.stdout.trim().split('\n');
    expect(lines[0]).toContain('train.lr');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['workspace', 'HEAD (committed)', 'fast', 'slow']);
    const asc = await rig.run(['exp', 'show', '--csv', '--sort-by', 'metrics/train.json:lr', '--ascending']);
    expect(
      asc.stdout
        .trim()
        .split('\n')
        .slice(3)
        .map((l) => l.split(',')[0]),
    ).toEqual(['slow', 'fast']);
    const bad = await rig.run(['exp', 'show', '--sort-by', 'accuracy']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--sort-by 'accuracy' names no metric/);

    const diff = await rig.run(['exp', 'diff', 'fast', 'slow', '--json']);
    const d = JSON.parse(diff.stdout) as { params: { key: string; a: unknown; b: unknown }[] };
    expect(d.params).toEqual([expect.objectContaining({ key: 'train.lr', a: 0.01, b: 0.0001 })]);

    const applied = await rig.run(['exp', 'apply', 'fast']);
    expect(applied.code, applied.stderr).toBe(0);
    const params = rig.read('params/default.yaml');
    expect(params).toContain('lr: 0.01 # learning rate');
    expect(params).toContain('# training settings');
    const pdiff = await rig.run(['params', 'diff', '--json']);
    expect(JSON.parse(pdiff.stdout).params).toEqual([expect.objectContaining({ key: 'train.lr', a: 0.001, b: 0.01 })]);

    const removed = await rig.run(['exp', 'remove', 'fast', 'slow']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(rig.exists('.cache/exp-workspaces/fast')).toBe(false);
    expect(execFileSync('git', ['worktree', 'list'], { cwd: rig.dir, encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
    const after = JSON.parse((await rig.run(['exp', 'show', '--json'])).stdout) as { rows: unknown[] };
    expect(after.rows).toHaveLength(2);
  }, 60_000);

  it('a sweep of three values runs three experiments, two at a time, in separate processes', async () => {
    const res = await rig.run(['exp', 'run', '-S', 'train.lr=0.1,0.2,0.3', '-n', 'sweep', '-j', '2']);
    expect(res.code, res.stderr).toBe(0);
    const recs = ['sweep-1', 'sweep-2', 'sweep-3'].map(
      (n) =>
        JSON.parse(rig.read(`.cache/exps/${n}.json`)) as { status: string; started: string; finished: string; metrics: Record<string, Record<string, number>> },
    );
    expect(recs.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    expect(recs.map((r) => r.metrics['metrics/train.json']!.lr)).toEqual([0.1, 0.2, 0.3]);
    // At most two ran at once: at every start, fewer than two others were in flight.
    const spans = recs.map((r) => [Date.parse(r.started), Date.parse(r.finished)] as const);
    for (const [s] of spans) expect(spans.filter(([s2, e2]) => s2 <= s && e2 > s).length).toBeLessThanOrEqual(2);
    // The third waited for a slot: it started after one of the first two finished.
    const byStart = [...spans].sort((x, y) => x[0] - y[0]);
    expect(byStart[2]![0]).toBeGreaterThanOrEqual(Math.min(byStart[0]![1], byStart[1]![1]));
  }, 90_000);

  it('--queue only records; --run-all runs the queue', async () => {
    const q = await rig.run(['exp', 'run', '--queue', '-S', 'train.epochs=5', '-n', 'later']);
    expect(q.code, q.stderr).toBe(0);
    expect(await rig.invocations()).toEqual([]);
    expect(JSON.parse(rig.read('.cache/exps/later.json')).status).toBe('queued');
  });

  it('--queue refuses a broken pipeline.yaml at once, naming its position, and records nothing', async () => {
    await rig.write({ 'pipeline.yaml': rig.read('pipeline.yaml') + '  broken:\n    cmd: [\n' });
    const q = await rig.run(['exp', 'run', '--queue', '-S', 'train.epochs=5', '-n', 'never']);
    expect(q.code).toBe(2);
    expect(q.stderr).toMatch(/pipeline\.yaml:\d+:\d+/);
    expect(rig.exists('.cache/exps/never.json')).toBe(false);
  });
});

describe('outside git', () => {
  it('the workspace is a copy of the project; metrics show/diff compare experiments by name', async () => {
    const plain = new Rig('rallycut-exp-nogit-');
    try {
      await plain.write({ 'pipeline.yaml': PIPELINE, 'params/default.yaml': PARAMS, 'src.txt': 'b\na\n' });
      expect((await plain.run(['exp', 'run', '-S', 'train.lr=0.5', '-n', 'a'])).code).toBe(0);
      const b = await plain.run(['exp', 'run', '-S', 'train.lr=0.25', '-n', 'b']);
      expect(b.code, b.stderr).toBe(0);
      expect(plain.exists('.cache/exp-workspaces/a/pipeline.yaml')).toBe(true);
      expect(plain.exists('.cache/exp-workspaces/a/.cache/exps')).toBe(false); // the cache is shared, not copied
      expect(plain.exists('params/default.yaml') && plain.read('params/default.yaml')).toBe(PARAMS);
      const rec = JSON.parse(plain.read('.cache/exps/a.json')) as { baseline?: string; lock: { stages: Record<string, unknown> } };
      expect(rec.baseline).toBeUndefined();
      expect(Object.keys(rec.lock.stages).sort()).toEqual(['prep', 'train']);

      const show = await plain.run(['metrics', 'show', 'a', '--json']);
      expect(JSON.parse(show.stdout)).toEqual({ 'metrics/train.json': { lr: 0.5, lines: 2 } });
      const diff = await plain.run(['metrics', 'diff', 'a', 'b', '--json']);
      expect(JSON.parse(diff.stdout).metrics).toEqual([{ key: 'metrics/train.json:lr', a: 0.5, b: 0.25, change: -0.25 }]);
      const text = await plain.run(['exp', 'show']);
      expect(text.stdout).toMatch(/^Experiment\s+Status/);
      expect(text.stdout).toMatch(/\ba\s+success\b.*0\.5/);
    } finally {
      await plain.cleanup();
    }
  }, 60_000);
});

describe('bad -S', () => {
  it.each([
    [['-S', 'train.momentum=0.9'], /unknown param 'train.momentum'.*params\/default.yaml has no key 'train.momentum'/],
    [['-S', 'train.lr=[0.1,'], /cannot parse the value '\[0.1,' of param 'train.lr'/],
    [['-S', 'train.lr=fast'], /param 'train.lr' in params\/default.yaml is a number/],
    [['-S', 'pipeline.yaml:stages=1'], /params file 'pipeline.yaml' in -S .* is outside params\//],
    [['-S', '../x.yaml:a=1'], /outside params\//],
    [['-S', 'params/none.yaml:a=1'], /params file 'params\/none.yaml' .* does not exist/],
  ])('%j is a config error naming the key or file', async (args, message) => {
    const res = await rig.run(['exp', 'run', ...args]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(message);
    expect(rig.exists('.cache/exps')).toBe(false);
  });
});
