// Behaviours that match DVC's own tests (named in each case), end to end on temp projects.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLock, serializeLock } from '../../src/lock/text.js';
import { Rig } from '../rig.js';

let rig: Rig;
beforeEach(() => {
  rig = new Rig();
});
afterEach(async () => rig.cleanup());

describe('multi-line cmd (DVC test_repro_list_of_commands_raise_and_stops_after_failure)', () => {
  for (const [form, cmdYaml] of [
    ['a `cmd: |` block', 'cmd: |\n      echo foo > foo\n      failed_command\n      echo bar > bar'],
    ['a cmd list', 'cmd:\n      - echo foo > foo\n      - failed_command\n      - echo bar > bar'],
  ] as const) {
    it(`${form} stops at the first failing line, names it, and records nothing`, async () => {
      await rig.write({ 'pipeline.yaml': `stages:\n  multi:\n    ${cmdYaml}\n    outs: [bar]\n` });
      const res = await rig.run(['repro']);
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain('failed_command');
      expect(rig.read('foo')).toBe('foo\n');
      expect(rig.exists('bar')).toBe(false);
      expect(rig.exists('pipeline.lock') ? rig.read('pipeline.lock') : '').not.toContain('multi');
    });
  }

  it('a line ending in a backslash continues on the next line', async () => {
    await rig.write({
      'pipeline.yaml': 'stages:\n  cont:\n    cmd: |\n      echo one \\\n        two > out.txt\n\n      echo three >> out.txt\n    outs: [out.txt]\n',
    });
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    expect(rig.read('out.txt')).toBe('one two\nthree\n');
  });
});

describe('a frozen stage with a deleted out', () => {
  const cmd = Rig.stageCmd;
  const pipeline = (frozen: boolean): string => `stages:
  make:
    cmd: '${cmd('make', 'cp in.txt made.txt')}'
    deps: [in.txt]
    outs: [made.txt]
    frozen: ${frozen}
  use:
    cmd: '${cmd('use', 'cp made.txt used.txt')}'
    deps: [made.txt]
    outs: [used.txt]
`;
  beforeEach(async () => {
    await rig.write({ 'pipeline.yaml': pipeline(false), 'in.txt': 'x\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    await rig.write({ 'pipeline.yaml': pipeline(true) });
    await rig.remove('made.txt');
    await rig.invocations();
  });

  it('is restored from the cache during repro (the stage still does not run)', async () => {
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    expect(rig.read('made.txt')).toBe('x\n');
    expect(await rig.invocations()).toEqual([]);
  });

  it('names the frozen producer when the cache lacks the object', async () => {
    await rig.remove('.cache/objects');
    const res = await rig.run(['repro']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("frozen stage 'make'");
    expect(res.stderr).not.toContain('no stage produced it');
  });
});

describe('an unknown command', () => {
  it('is an error (exit 2) naming it with a did-you-mean, with or without --help', async () => {
    for (const args of [['reprod'], ['reprod', '--help'], ['statu', '-h']]) {
      const res = await rig.run(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stdout).not.toContain('Commands:');
      expect(res.stderr).toContain(`unknown command '${args[0]}'`);
      expect(res.stderr).toContain(`did you mean '${args[0] === 'statu' ? 'status' : 'repro'}'?`);
    }
  });

  it('a group still lists its commands with --help', async () => {
    const res = await rig.run(['exp', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('exp run');
  });
});

describe('a mapping in cmd (DVC test_cmd_dict, default parsing config)', () => {
  it('reaches the command as the words DVC gives it: --key value, --flag for true, lists as nargs, dotted nested keys', async () => {
    await rig.write({
      'params/default.yaml': `opts:\n  foo: foo\n  bar: 2\n  string: spaced string\n  bool: true\n  bool-false: false\n  list: [1, 2, foo, quoted string]\n  nested: {foo: foo}\n  evil: $(touch pwned)\n`,
      'pipeline.yaml': "stages:\n  args:\n    cmd: printf '%s\\n' ${opts} > args.txt\n    outs: [args.txt]\n",
    });
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    expect(rig.read('args.txt').split('\n').filter(Boolean)).toEqual([
      '--foo',
      'foo',
      '--bar',
      '2',
      '--string',
      'spaced string',
      '--bool',
      '--list',
      '1',
      '2',
      'foo',
      'quoted string',
      '--nested.foo',
      'foo',
      '--evil',
      '$(touch pwned)',
    ]);
    expect(rig.exists('pwned')).toBe(false);
  });
});

describe('params diff lists every params file the pipeline reads (DVC params diff: tracked params and vars)', () => {
  it('a tracked file at the project root and a vars file, changed since HEAD, are listed as status names them', async () => {
    await rig.write({
      'other_params.yaml': 'xyz: 1\n',
      'config/vars.yaml': 'size: 8\n',
      'pipeline.yaml': 'vars: [config/vars.yaml]\nstages:\n  a:\n    cmd: echo ${size} > a.txt\n    params: [{other_params.yaml: [xyz]}]\n    outs: [a.txt]\n',
    });
    const git = (...args: string[]): void =>
      void execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: rig.dir, stdio: 'ignore' });
    expect((await rig.run(['repro'])).code).toBe(0);
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-q', '-m', 'init');
    await rig.write({ 'other_params.yaml': 'xyz: 2\n', 'config/vars.yaml': 'size: 16\n' });
    const status = await rig.run(['status']);
    expect(status.stdout).toContain('param other_params.yaml:xyz changed');
    const diff = await rig.run(['params', 'diff', '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    expect((JSON.parse(diff.stdout) as { params: { key: string; a: unknown; b: unknown }[] }).params).toEqual([
      expect.objectContaining({ key: 'config/vars.yaml:size', a: 8, b: 16 }),
      expect.objectContaining({ key: 'other_params.yaml:xyz', a: 1, b: 2 }),
    ]);
  });
});

describe('uncached outs and the run-cache (DVC stage/cache.py: _can_hash, _uncached_outs; test_uncached_outs_are_cached)', () => {
  const cmd = Rig.stageCmd;
  it('a reverted input restores cache: false metrics, plots and outs from the run-cache, and the lock comes back byte-identical', async () => {
    await rig.write({
      'in.txt': 'one\n',
      'pipeline.yaml': `stages:
  eval:
    cmd: '${cmd('eval', 'cp in.txt model.txt && wc -c < in.txt > m.json && cat in.txt > p.csv && cat in.txt in.txt > u.txt')}'
    deps: [in.txt]
    outs: [model.txt, u.txt: { cache: false }]
    metrics: [m.json: { cache: false }]
    plots: [p.csv: { cache: false }]
`,
    });
    expect((await rig.run(['repro'])).code).toBe(0);
    const lock = rig.read('pipeline.lock');
    const metric = rig.read('m.json');
    expect(lock).toContain('cache: false');
    await rig.write({ 'in.txt': 'two two\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    expect(rig.read('m.json')).not.toBe(metric);
    await rig.invocations();

    await rig.write({ 'in.txt': 'one\n' });
    const back = await rig.run(['repro']);
    expect(back.code, back.stderr).toBe(0);
    expect(await rig.invocations()).toEqual([]);
    expect(back.stderr).toContain('[eval] restored from run-cache');
    expect(rig.read('m.json')).toBe(metric);
    expect(rig.read('p.csv')).toBe('one\n');
    expect(rig.read('u.txt')).toBe('one\none\n');
    expect(rig.read('pipeline.lock')).toBe(lock);
  });

  it('a persist out still keeps the stage out of the run-cache', async () => {
    await rig.write({
      'in.txt': 'one\n',
      'pipeline.yaml': `stages:\n  log:\n    cmd: '${cmd('log', 'cat in.txt >> log.txt')}'\n    deps: [in.txt]\n    outs: [log.txt: { persist: true }]\n`,
    });
    expect((await rig.run(['repro'])).code).toBe(0);
    await rig.write({ 'in.txt': 'two\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    await rig.write({ 'in.txt': 'one\n' });
    await rig.invocations();
    expect((await rig.run(['repro'])).code).toBe(0);
    expect(await rig.invocations()).toEqual(['log']);
  });
});

describe('params a ${...} uses are recorded in the lock (DVC tracks the values ${} reads from params files)', () => {
  const cmd = Rig.stageCmd;
  const pipeline = `vars: [config/size.yaml]
stages:
  train:
    cmd: '${cmd('train', 'echo')} \${train.lr} \${size} \${inline} > out.txt'
    deps: [in.txt]
    outs: [out.txt]
  gen:
    foreach: [a]
    do:
      cmd: '${cmd('gen', 'echo')} \${item} \${train.epochs} > gen-\${item}.txt'
      deps: [in.txt]
      outs: [gen-\${item}.txt]
`;
  const files = {
    'in.txt': 'x\n',
    'params/default.yaml': 'train:\n  lr: 0.1\n  epochs: 3\n',
    'config/size.yaml': 'size: 8\n',
    'pipeline.yaml': pipeline.replace('vars: [config/size.yaml]', 'vars:\n  - config/size.yaml\n  - inline: 1'),
  };

  it('lists them under params (not inline vars, not item), and status names the one that changed', async () => {
    await rig.write(files);
    const res = await rig.run(['repro']);
    expect(res.code, res.stderr).toBe(0);
    const lock = rig.read('pipeline.lock');
    expect(lock).toMatch(/train:\n[\s\S]*params:\n\s+config\/size\.yaml:\n\s+size: 8\n\s+params\/default\.yaml:\n\s+train\.lr: 0\.1\n/);
    expect(lock).toMatch(/gen@a:\n[\s\S]*params:\n\s+params\/default\.yaml:\n\s+train\.epochs: 3\n/);
    expect(lock).not.toContain('inline');
    expect(lock).not.toMatch(/\bitem\b/);

    await rig.write({ 'params/default.yaml': 'train:\n  lr: 0.2\n  epochs: 3\n' });
    const status = await rig.run(['status']);
    expect(status.stdout).toBe('train: would run\n    param params/default.yaml:train.lr changed (0.1 → 0.2)\ngen@a: up to date\n');
    // Same inputs, same lock: back to 0.1, the run-cache restores it byte for byte.
    expect((await rig.run(['repro'])).code).toBe(0);
    await rig.write({ 'params/default.yaml': 'train:\n  lr: 0.1\n  epochs: 3\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    expect(rig.read('pipeline.lock')).toBe(lock);
  });

  it('a lock written before they were recorded does not make the stage run', async () => {
    await rig.write(files);
    expect((await rig.run(['repro'])).code).toBe(0);
    const lock = parseLock(rig.read('pipeline.lock'));
    for (const entry of Object.values(lock.stages)) entry.params = {};
    const old = serializeLock(lock);
    expect(old.match(/params: \{\}/g)).toHaveLength(2);
    await rig.write({ 'pipeline.lock': old });
    const status = await rig.run(['status']);
    expect(status.stdout, old).toContain('Everything is up to date');
  });
});
