import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { load, loadErrors, where, writeProject } from './test-project.js';

const PARAMS = `train:
  lr: 0.01
  epochs: 5
  evil: "$(touch pwned); echo 'x'"
dataset:
  name: demo
  sizes: [small, big]
`;

describe('loadPipeline: resolving stages', () => {
  it('resolves cmd, params, outs, metrics, plots, wdir and executor', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'params/other.yaml': 'seed: 42\nnested: {a: 1, b: 2}\n',
      'src/prep.py': '',
      'pipeline.yaml': `stages:
  prep:
    cmd: python prep.py --lr \${train.lr} --name \${dataset.name}
    wdir: src
    deps: [prep.py]
    params: [train.lr, dataset, {params/other.yaml: [seed, nested.a]}, train.lr]
    outs:
      - ../data/prep
      - ../data/cache.json: {cache: false, persist: true}
    metrics: [../metrics/prep.json]
    plots: [../plots/]
    frozen: true
    always_changed: true
    executor: {name: modal, gpu: T4, timeout: 14400, memory: 16384}
`,
    });
    const pipeline = await load(root);
    const prep = pipeline.stages.get('prep')!;
    expect(prep.action).toEqual({ kind: 'cmd', commands: ['python prep.py --lr 0.01 --name demo'] });
    expect(prep.wdir).toBe('src');
    expect(prep.deps).toEqual(['src/prep.py']);
    expect(prep.params).toEqual([
      { file: 'params/default.yaml', keys: ['train.lr', 'dataset'] },
      { file: 'params/other.yaml', keys: ['seed', 'nested.a'] },
    ]);
    expect(prep.outs).toEqual([
      { path: 'data/prep', kind: 'out', cache: true, persist: false },
      { path: 'data/cache.json', kind: 'out', cache: false, persist: true },
      { path: 'metrics/prep.json', kind: 'metric', cache: true, persist: false },
      { path: 'plots', kind: 'plot', cache: true, persist: false },
    ]);
    expect(prep.frozen).toBe(true);
    expect(prep.alwaysChanged).toBe(true);
    expect(prep.executor).toEqual({ name: 'modal', options: { gpu: 'T4', timeout: 14400, memory: 16384 } });
    expect(prep.source).toMatchObject({ file: 'pipeline.yaml', start: { line: 2, column: 3 } });
    expect(prep.ranges?.outs[1]).toMatchObject({ start: { line: 9, column: 9 } });
  });

  it('shell-quotes interpolated values so a param can never run code', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': 'stages:\n  show:\n    cmd: printf "%s|" ${train.evil} ${train.lr}\n',
    });
    const cmd = (await load(root)).stages.get('show')!.action;
    expect(cmd).toEqual({ kind: 'cmd', commands: [`printf "%s|" '$(touch pwned); echo '\\''x'\\''' 0.01`] });
    if (cmd.kind !== 'cmd') throw new Error('expected cmd');
    const printed = execFileSync('/bin/sh', ['-c', cmd.commands[0]!], { cwd: root, encoding: 'utf8' });
    expect(printed).toBe(`$(touch pwned); echo 'x'|0.01|`);
    expect(existsSync(join(root, 'pwned'))).toBe(false);
  });

  it('keeps the type of a with: value that is exactly ${x}, interpolates text otherwise, and fills schema defaults', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': `stages:
  export:
    handler: export-dataset
    with: { name: "set-\${dataset.name}", tags: "\${dataset.sizes}" }
  export2:
    handler: export-dataset
    with:
      name: x
      limit: \${train.epochs}
`,
    });
    const p = await load(root);
    expect(p.stages.get('export')!.action).toEqual({
      kind: 'handler',
      handler: 'export-dataset',
      with: { name: 'set-demo', tags: ['small', 'big'], limit: 10 },
    });
    expect(p.stages.get('export2')!.action).toEqual({ kind: 'handler', handler: 'export-dataset', with: { name: 'x', limit: 5 } });
  });

  it('expands foreach over a list, a mapping and a ${var}, and matrix over axes, as NAME@item', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': `vars:
  - models: {tiny: {dim: 8}, base: {dim: 64}}
stages:
  fit:
    foreach: \${dataset.sizes}
    do:
      cmd: fit \${item}
      outs: ['out/\${item}.bin']
  per:
    foreach: \${models}
    do:
      cmd: train --dim \${item.dim} --name \${key}
  grid:
    matrix:
      size: \${dataset.sizes}
      lr: [0.1, 0.01]
    do:
      cmd: run \${item.size} \${item.lr}
      outs: ["grid/\${item.size}-\${item.lr}"]
  rows:
    foreach: [{a: 1}, {a: 2}]
    do:
      cmd: echo \${item.a}
`,
    });
    const p = await load(root);
    expect([...p.stages.keys()]).toEqual([
      'fit@small',
      'fit@big',
      'per@tiny',
      'per@base',
      'grid@small-0.1',
      'grid@small-0.01',
      'grid@big-0.1',
      'grid@big-0.01',
      'rows@0',
      'rows@1',
    ]);
    expect(p.stages.get('fit@big')!.outs[0]!.path).toBe('out/big.bin');
    expect(p.stages.get('per@base')!.action).toEqual({ kind: 'cmd', commands: ['train --dim 64 --name base'] });
    expect(p.stages.get('grid@big-0.01')!.outs[0]!.path).toBe('grid/big-0.01');
    expect(p.stages.get('rows@1')!.action).toEqual({ kind: 'cmd', commands: ['echo 2'] });
    expect(p.stages.get('grid@small-0.1')!.source.start).toEqual({ line: 13, column: 3 });
  });

  it('defines ${key} in matrix stages as the generated name suffix (DVC test_matrix_key_present)', async () => {
    const root = writeProject({
      'pipeline.yaml': 'stages:\n  build:\n    matrix: {os: [win], pyv: [3.7], dict: [{arg1: 1}], list: [[out1, out11]]}\n    do: {cmd: "echo ${key}"}\n',
    });
    const p = await load(root);
    expect(p.stages.get('build@win-3.7-dict0-list0')!.action).toEqual({ kind: 'cmd', commands: ['echo win-3.7-dict0-list0'] });
  });

  it('reads vars from inline maps and files, and applies -S overrides before interpolation', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'conf/extra.yaml': 'video: {fps: 30}\nunused: 1\n',
      'pipeline.yaml': `vars:
  - conf/extra.yaml:video
  - local: {x: 1}
stages:
  a:
    cmd: echo \${video.fps} \${local.x} \${train.lr}
    params: [train.lr]
`,
    });
    const p = await load(root, { paramOverrides: [{ file: 'params/default.yaml', key: 'train.lr', value: 0.5 }] });
    expect(p.stages.get('a')!.action).toEqual({ kind: 'cmd', commands: ['echo 30 1 0.5'] });
  });

  it('accepts a dep produced by a stage (also inside its out folder) or present on disk', async () => {
    const root = writeProject({
      'raw/input.csv': 'x',
      'pipeline.yaml': `stages:
  a:
    cmd: a
    deps: [raw/input.csv, raw]
    outs: [data]
  b:
    cmd: b
    deps: [data/part-1.csv]
`,
    });
    expect([...(await load(root)).stages.keys()]).toEqual(['a', 'b']);
  });
});

describe('loadPipeline: YAML conveniences', () => {
  it('accepts merge keys (<<) and x- anchors to share stage settings', async () => {
    const root = writeProject({
      'pipeline.yaml': `x-common: &common
  executor: {name: modal, gpu: T4}
stages:
  a:
    <<: *common
    cmd: train
`,
    });
    expect((await load(root)).stages.get('a')!.executor).toEqual({ name: 'modal', options: { gpu: 'T4' } });
    writeProject({ 'pipeline.yaml': `stages:\n  a: &a\n    cmd: train\n    executor: {name: modal, gpu: T4}\n  b:\n    <<: *a\n    cmd: test\n` }, root);
    const p = await load(root);
    expect(p.stages.get('b')!.executor).toEqual({ name: 'modal', options: { gpu: 'T4' } });
    expect(p.stages.get('b')!.action).toEqual({ kind: 'cmd', commands: ['test'] });
  });

  it('accepts ${...} unquoted inside flow collections, keeping positions exact', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': `stages:
  ex:
    handler: export-dataset
    with: { name: \${dataset.name}, tags: \${dataset.sizes} }
    outs: [data/\${dataset.name}.json, {out/\${dataset.name}: {cache: false}}]
  bad:
    cmd: echo
    deps: [data/\${dataset.nme}.json]
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual(["pipeline.yaml:8:17 'dataset.nme' is not defined (in '${dataset.nme}')"]);
    writeProject({ 'pipeline.yaml': (await import('node:fs')).readFileSync(join(root, 'pipeline.yaml'), 'utf8').replace('dataset.nme', 'dataset.name') }, root);
    const ex = (await load(root, { checkDeps: false })).stages.get('ex')!;
    expect(ex.action).toEqual({ kind: 'handler', handler: 'export-dataset', with: { name: 'demo', tags: ['small', 'big'], limit: 10 } });
    expect(ex.outs.map((o) => [o.path, o.cache])).toEqual([
      ['data/demo.json', true],
      ['out/demo', false],
    ]);
    expect(ex.ranges?.outs[1]?.start).toEqual({ line: 5, column: 40 });
  });

  it('reads an empty deps/params/outs/metrics/plots key as an empty list, as DVC does', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    deps:\n    params:\n    outs:\n    metrics:\n    plots:\n' });
    const a = (await load(root)).stages.get('a')!;
    expect([a.deps, a.params, a.outs]).toEqual([[], [], []]);
  });

  it('rejects modal options on a local executor', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    executor: {name: local, gpu: T4}\n' });
    expect((await loadErrors(root)).map(where)).toEqual(["pipeline.yaml:4:29 executor option 'gpu' only applies to executor 'modal'"]);
  });

  it("accepts DVC's free-form meta field on a stage and ignores it, ${...} included", async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    meta:\n      owner: ${nobody}\n      tags: [a, b]\n' });
    expect((await load(root)).stages.get('a')?.action).toEqual({ kind: 'cmd', commands: ['x'] });
  });
});
