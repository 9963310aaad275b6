import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../report/printer.js';
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
    expect(p.stages.get('export')!.action).toEqual({ kind: 'handler', handler: 'export-dataset', with: { name: 'set-demo', tags: ['small', 'big'], limit: 10 } });
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
    expect([...p.stages.keys()]).toEqual(['fit@small', 'fit@big', 'per@tiny', 'per@base', 'grid@small-0.1', 'grid@small-0.01', 'grid@big-0.1', 'grid@big-0.01', 'rows@0', 'rows@1']);
    expect(p.stages.get('fit@big')!.outs[0]!.path).toBe('out/big.bin');
    expect(p.stages.get('per@base')!.action).toEqual({ kind: 'cmd', commands: ['train --dim 64 --name base'] });
    expect(p.stages.get('grid@big-0.01')!.outs[0]!.path).toBe('grid/big-0.01');
    expect(p.stages.get('rows@1')!.action).toEqual({ kind: 'cmd', commands: ['echo 2'] });
    expect(p.stages.get('grid@small-0.1')!.source.start).toEqual({ line: 13, column: 3 });
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

describe('loadPipeline: diagnostics with exact positions', () => {
  it('reports a YAML syntax error at its line and column', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: [echo\n    deps: x\n' });
    const [d, ...rest] = await loadErrors(root);
    expect(rest).toEqual([]);
    expect(where(d!)).toMatch(/^pipeline\.yaml:4:\d+ YAML syntax error/);
  });

  it('reports unknown fields and wrong types, collecting all of them', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: echo
    dep: [x]
    outs: data
  b:
    cmd: echo
    frozen: "yes"
    executor: cloud
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:4:5 unknown field 'dep' in stage 'a'",
      "pipeline.yaml:5:11 'outs' of stage 'a' must be a list, got string \"data\"",
      "pipeline.yaml:8:13 'frozen' of stage 'b' must be a boolean, got string \"yes\"",
      `pipeline.yaml:9:15 'executor' of stage 'b' must be one of "local", "modal", got "cloud"`,
    ]);
    expect(errors[0]!.notes?.[0]).toContain('allowed here: cmd, handler, with');
  });

  it('rejects a stage with both cmd and handler, or neither, and a bad stage name', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  both:
    cmd: echo
    handler: evaluate
  neither:
    deps: []
  bad@name:
    cmd: echo
`,
    });
    expect((await loadErrors(root)).map(where)).toEqual([
      "pipeline.yaml:2:3 stage 'both' has both cmd and handler; give exactly one",
      "pipeline.yaml:5:3 stage 'neither' needs a cmd or a handler",
      "pipeline.yaml:7:3 invalid stage name 'bad@name'",
    ]);
  });

  it('names an unknown handler and lists the known ones', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  ev:\n    handler: evaluat\n' });
    const [d] = await loadErrors(root);
    expect(where(d!)).toBe("pipeline.yaml:3:14 unknown handler 'evaluat'");
    expect(d!.notes).toEqual(["did you mean 'evaluate'?", 'known handlers: evaluate, export-dataset']);
  });

  it("validates a handler's with: block against its schema, pointing inside the block", async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  ex:
    handler: export-dataset
    with:
      limit: many
      colour: red
  ex2:
    handler: export-dataset
`,
    });
    expect((await loadErrors(root)).map(where)).toEqual([
      "pipeline.yaml:4:5 handler 'export-dataset': 'with' of stage 'ex' is missing the required field 'name'",
      "pipeline.yaml:5:14 handler 'export-dataset': 'with.limit' of stage 'ex' must be an integer, got string \"many\"",
      "pipeline.yaml:6:7 handler 'export-dataset': unknown field 'colour' in 'with' of stage 'ex'",
      "pipeline.yaml:7:3 handler 'export-dataset': 'with' of stage 'ex2' is missing the required field 'name'",
    ]);
  });

  it('points at an unknown param key and says which params file lacks it', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'params/other.yaml': 'seed: 1\n',
      'pipeline.yaml': `stages:
  a:
    cmd: echo
    params: [train.lr, train.lrr, {params/other.yaml: [seed, sed]}, {params/none.yaml: [k]}]
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:4:24 unknown param 'train.lrr' (not in params/default.yaml)",
      "pipeline.yaml:4:62 unknown param 'sed' (not in params/other.yaml)",
      "pipeline.yaml:4:70 params file 'params/none.yaml' does not exist",
    ]);
    expect(errors[0]!.notes).toEqual(["params/default.yaml has no key 'train.lrr'", "did you mean 'train.lr'?"]);
  });

  it('points at the exact ${} naming a missing var, inside the string', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': `stages:
  a:
    cmd: python x.py --lr \${train.lr} --bs \${train.batch}
    deps: ["data/\${nope}.csv"]
    outs:
      - out/\${dataset.nam}: {cache: false}
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:3:44 'train.batch' is not defined (in '${train.batch}')",
      "pipeline.yaml:4:18 'nope' is not defined (in '${nope}')",
      "pipeline.yaml:6:9 'dataset.nam' is not defined (in '${dataset.nam}')",
    ]);
    expect(errors[0]!.end).toEqual({ line: 3, column: 58 });
    expect(errors[2]!.notes?.[0]).toBe("did you mean 'dataset.name'?");
  });

  it('rejects paths that escape the project', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: echo
    deps: [../outside.txt, /etc/passwd]
    outs: [sub/../../x]
  b:
    cmd: echo
    wdir: ..
`,
    });
    expect((await loadErrors(root)).map(where)).toEqual([
      "pipeline.yaml:4:12 dep '../outside.txt' escapes the project (resolves to '../outside.txt')",
      "pipeline.yaml:4:28 dep '/etc/passwd' is an absolute path; paths must stay inside the project",
      "pipeline.yaml:5:12 out 'sub/../../x' escapes the project (resolves to '../x')",
      "pipeline.yaml:8:11 wdir '..' escapes the project (resolves to '..')",
    ]);
  });

  it('rejects two stages with the same out, and an out inside another out', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: a
    outs: [data, model.bin]
  b:
    cmd: b
    outs: [model.bin]
  c:
    cmd: c
    outs: [data/sub/file.txt]
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:7:12 'model.bin' is an out of both 'a' and 'b'",
      "pipeline.yaml:10:12 out 'data/sub/file.txt' of 'c' lies inside out 'data' of 'a'",
    ]);
    expect(errors[0]!.notes?.[0]).toBe('first declared at pipeline.yaml:4:18');
  });

  it('rejects a dep that no stage produces and that is not on disk', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: a
    outs: [data/clean.csv]
  b:
    cmd: b
    deps: [data/clean.cvs, data/raw.csv]
  frozen:
    cmd: c
    frozen: true
    deps: [absent/for/now]
`,
    });
    mkdirSync(join(root, 'data'));
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:7:12 dep 'data/clean.cvs' of stage 'b' does not exist and no stage produces it",
      "pipeline.yaml:7:28 dep 'data/raw.csv' of stage 'b' does not exist and no stage produces it",
    ]);
    expect(errors[0]!.notes).toEqual(["did you mean 'data/clean.csv' (an out of 'a')?"]);
    await expect(load(root, { checkDeps: false })).resolves.toBeDefined();
  });

  it('names the whole cycle path and points at the dep closing it', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: a
    deps: [c.out]
    outs: [a.out]
  b:
    cmd: b
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: c
    deps: [b.out]
    outs: [c.out]
`,
    });
    const [d, ...rest] = await loadErrors(root);
    expect(rest).toEqual([]);
    expect(where(d!)).toBe('pipeline.yaml:4:12 dependency cycle: a -> b -> c -> a');
    expect(d!.subject).toBe('a');
  });

  it('rejects redefining a var and a foreach over a scalar', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml': `vars:
  - train: {lr: 1}
stages:
  a:
    foreach: \${train.epochs}
    do:
      cmd: echo
`,
    });
    expect((await loadErrors(root)).map(where)).toEqual([
      "pipeline.yaml:2:5 var 'train.lr' is already defined by params/default.yaml",
      'pipeline.yaml:5:14 foreach must be a list or a mapping, got a number',
    ]);
  });

  it('rejects an override of a key the params file lacks', async () => {
    const root = writeProject({ 'params/default.yaml': PARAMS, 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo\n' });
    const [d] = await loadErrors(root, { paramOverrides: [{ file: 'params/default.yaml', key: 'train.momentum', value: 0.9 }] });
    expect(where(d!)).toBe("params/default.yaml:1:1 cannot override 'train.momentum': params/default.yaml has no key 'train.momentum'");
  });

  it('prints each diagnostic with a code frame', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    handler: nope\n' });
    const text = formatDiagnostics(await loadErrors(root), { root });
    expect(text).toContain("pipeline.yaml:3:14: error: [a] unknown handler 'nope'");
    expect(text).toContain('> 3 |     handler: nope\n    |              ^^^^');
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
    expect(ex.outs.map((o) => [o.path, o.cache])).toEqual([['data/demo.json', true], ['out/demo', false]]);
    expect(ex.ranges?.outs[1]?.start).toEqual({ line: 5, column: 40 });
  });

  it('rejects modal options on a local executor', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    executor: {name: local, gpu: T4}\n' });
    expect((await loadErrors(root)).map(where)).toEqual(["pipeline.yaml:4:29 executor option 'gpu' only applies to executor 'modal'"]);
  });
});
