// `vars` and the interpolation context, ported from DVC's tests/func/parsing (named in each case).
import { describe, expect, it } from 'vitest';
import { load, loadErrors, where, writeProject } from './test-project.js';

describe('a vars file listed more than once (DVC Context.merge_from)', () => {
  it('is read once when listed whole twice (test_vars_import: "allow specifying complete filepath multiple times")', async () => {
    const root = writeProject({
      'params/other.yaml': 'bar: 1\n',
      'pipeline.yaml': 'vars: [params/other.yaml, params/other.yaml]\nstages:\n  a:\n    cmd: echo ${bar}\n',
    });
    const p = await load(root);
    expect(p.stages.get('a')?.action).toEqual({ kind: 'cmd', commands: ['echo 1'] });
  });

  it('merges disjoint keys of one file, and refuses a key loaded twice or the file whole after a part', async () => {
    const files = { 'params/other.yaml': 'foo: 1\nbar: 2\n' };
    const ok = writeProject({
      ...files,
      'pipeline.yaml': 'vars: [params/other.yaml:foo, params/other.yaml:bar]\nstages:\n  a:\n    cmd: echo ${foo} ${bar}\n',
    });
    expect((await load(ok)).stages.get('a')?.action).toEqual({ kind: 'cmd', commands: ['echo 1 2'] });
    const bad = writeProject({
      ...files,
      'pipeline.yaml': 'vars:\n  - params/other.yaml:foo\n  - params/other.yaml:foo,bar\n  - params/other.yaml\nstages:\n  a:\n    cmd: echo\n',
    });
    expect((await loadErrors(bad)).map(where)).toEqual([
      "pipeline.yaml:3:5 cannot load vars 'params/other.yaml:foo,bar': key 'foo' of it is already loaded",
      "pipeline.yaml:4:5 cannot load vars 'params/other.yaml': some of its keys are already loaded",
    ]);
  });
});

describe('a broken params or vars file', () => {
  const uses = Array.from({ length: 5 }, (_, i) => `  s${i}:\n    cmd: echo \${train.lr}\n`).join('');
  it('reports only its own syntax error, not one "is not defined" per use', async () => {
    const root = writeProject({ 'params/default.yaml': 'train:\n  lr: [0.1\n', 'pipeline.yaml': `stages:\n${uses}` });
    const errors = await loadErrors(root);
    expect(errors).toHaveLength(1);
    expect(where(errors[0]!)).toMatch(/^params\/default\.yaml:\d+:\d+ YAML syntax error/);
  });

  it('the same for a vars file that is missing', async () => {
    const root = writeProject({ 'pipeline.yaml': `vars: [params/gone.yaml]\nstages:\n${uses}` });
    expect((await loadErrors(root)).map(where)).toEqual(["pipeline.yaml:1:8 vars file 'params/gone.yaml' does not exist"]);
  });
});

describe('a var named item or key under foreach/matrix (DVC test_foreach_overwriting_item_in_vars)', () => {
  it('warns that the generated value overwrites it, at the foreach', async () => {
    const root = writeProject({
      'pipeline.yaml': 'vars:\n  - item: 10\nstages:\n  build:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n',
    });
    const p = await load(root);
    expect(p.stages.get('build@a')?.action).toEqual({ kind: 'cmd', commands: ['echo a'] });
    expect(p.warnings?.map(where)).toEqual(["pipeline.yaml:5:5 item is already specified, will be overwritten for stages generated from 'build'"]);
    expect(p.warnings?.[0]?.severity).toBe('warning');
  });

  it('names both for a matrix, and stays quiet when nothing is shadowed', async () => {
    const root = writeProject({
      'params/default.yaml': 'key: k\nitem: i\n',
      'pipeline.yaml':
        'stages:\n  grid:\n    matrix: {x: [1, 2]}\n    do:\n      cmd: echo ${key}\n  list:\n    foreach: [1]\n    do:\n      cmd: echo ${key}\n',
    });
    const p = await load(root);
    expect(p.warnings?.map(where)).toEqual([
      "pipeline.yaml:3:5 key and item are already specified, will be overwritten for stages generated from 'grid'",
      "pipeline.yaml:7:5 item is already specified, will be overwritten for stages generated from 'list'",
    ]);
    // A foreach over a list sets no key: ${key} still reads the var.
    expect(p.stages.get('list@1')?.action).toEqual({ kind: 'cmd', commands: ['echo k'] });
    const quiet = writeProject({ 'pipeline.yaml': 'stages:\n  list:\n    foreach: [1]\n    do:\n      cmd: echo ${item}\n' });
    expect((await load(quiet)).warnings).toBeUndefined();
  });
});

describe('stage-level vars (DVC test_stage_level_vars / vars in a foreach do)', () => {
  it('add values for that stage only, files relative to its wdir, and their params are recorded as the stage uses them', async () => {
    const root = writeProject({
      'params/default.yaml': 'lr: 0.1\n',
      'sub/local.yaml': 'size: 8\n',
      'pipeline.yaml': `stages:
  a:
    wdir: sub
    vars: [local.yaml, {tag: x}]
    cmd: echo \${size} \${tag} \${lr}
  b:
    cmd: echo \${lr}
  each:
    foreach: [1, 2]
    do:
      vars: [{scale: 3}]
      cmd: echo \${item} \${scale}
`,
    });
    const p = await load(root);
    expect(p.stages.get('a')?.action).toEqual({ kind: 'cmd', commands: ['echo 8 x 0.1'] });
    expect(p.stages.get('a')?.interpolatedParams).toEqual([
      { file: 'params/default.yaml', keys: ['lr'] },
      { file: 'sub/local.yaml', keys: ['size'] },
    ]);
    expect(p.stages.get('each@2')?.action).toEqual({ kind: 'cmd', commands: ['echo 2 3'] });
    const other = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    vars: [{tag: x}]\n    cmd: echo\n  b:\n    cmd: echo ${tag}\n' });
    expect((await loadErrors(other)).map(where)).toEqual(["pipeline.yaml:6:15 'tag' is not defined (in '${tag}')"]);
  });

  it('cannot redefine a top-level var, and cannot use ${...} themselves', async () => {
    const root = writeProject({
      'pipeline.yaml': 'vars: [{tag: x}]\nstages:\n  a:\n    vars: [{tag: y}, {n: "${tag}"}]\n    cmd: echo ${tag}\n',
    });
    expect((await loadErrors(root)).map(where)).toEqual([
      "pipeline.yaml:4:12 var 'tag' is already defined by vars[0]",
      "pipeline.yaml:4:27 vars cannot use ${...} ('${tag}'); write the value itself",
    ]);
  });
});
