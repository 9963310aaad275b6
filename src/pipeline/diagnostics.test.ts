import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../format/printer.js';
import { load, loadErrors, where, writeProject } from './test-project.js';

const PARAMS = `train:
  lr: 0.01
  epochs: 5
dataset:
  name: demo
  sizes: [small, big]
`;

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
      - out/\${dataset.nam}/\${dataset.name}: {cache: false}
`,
    });
    const errors = await loadErrors(root);
    expect(errors.map(where)).toEqual([
      "pipeline.yaml:3:44 'train.batch' is not defined (in '${train.batch}')",
      "pipeline.yaml:4:18 'nope' is not defined (in '${nope}')",
      "pipeline.yaml:6:13 'dataset.nam' is not defined (in '${dataset.nam}')",
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

  it('rejects ${...} inside inline vars (as DVC does), pointing at it', async () => {
    const root = writeProject({ 'pipeline.yaml': 'vars:\n  - foo: 1\n  - bar: {baz: "x-${foo}"}\nstages:\n  a:\n    cmd: echo ${bar.baz}\n' });
    expect((await loadErrors(root)).map(where)).toEqual(["pipeline.yaml:3:19 vars cannot use ${...} ('${foo}'); write the value itself"]);
  });

  it('resolves ${...} inside foreach and matrix data, as DVC does; an unknown name is positioned', async () => {
    const root = writeProject({
      'params/default.yaml': PARAMS,
      'pipeline.yaml':
        'stages:\n  a:\n    foreach: {model2: "${dataset.name}", m3: "${train.lr}"}\n    do: {cmd: "echo ${key}-${item}"}\n  g:\n    matrix: {n: ["${train.epochs}"]}\n    do: {cmd: "echo ${item.n}"}\n',
    });
    const p = await load(root);
    expect(p.stages.get('a@model2')!.action).toEqual({ kind: 'cmd', commands: ['echo model2-demo'] });
    expect(p.stages.get('a@m3')!.action).toEqual({ kind: 'cmd', commands: ['echo m3-0.01'] });
    expect(p.stages.get('g@5')!.action).toEqual({ kind: 'cmd', commands: ['echo 5'] });
    writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    foreach: [x, "${nope}"]\n    do: {cmd: "echo ${item}"}\n' }, root);
    expect((await loadErrors(root)).map(where)).toEqual(["pipeline.yaml:3:19 'nope' is not defined (in '${nope}')"]);
  });

  it('rejects an override of a key the params file lacks', async () => {
    const root = writeProject({ 'params/default.yaml': PARAMS, 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo\n' });
    const [d] = await loadErrors(root, { paramOverrides: [{ file: 'params/default.yaml', key: 'train.momentum', value: 0.9 }] });
    expect(where(d!)).toBe("params/default.yaml:1:1 cannot override 'train.momentum': params/default.yaml has no key 'train.momentum'");
    writeProject({ 'params/unused.yaml': 'a:\n  b: 1\n' }, root);
    const errors = await loadErrors(root, {
      paramOverrides: [
        { file: 'params/unused.yaml', key: 'a.c', value: 2 },
        { file: 'params/gone.yaml', key: 'x', value: 1 },
      ],
    });
    expect(errors.map((e) => e.message)).toEqual([
      "params file 'params/gone.yaml' named by a -S override does not exist",
      "cannot override 'a.c': params/unused.yaml has no key 'a.c'",
    ]);
    expect(errors[1]!.start).toEqual({ line: 1, column: 1 });
  });

  it('prints each diagnostic with a code frame', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    handler: nope\n' });
    const text = formatDiagnostics(await loadErrors(root), { root });
    expect(text).toContain("pipeline.yaml:3:14: error: [a] unknown handler 'nope'");
    expect(text).toContain('> 3 |     handler: nope\n    |              ^^^^');
  });
});

describe('loadPipeline: malformed input never escapes as a crash', () => {
  it.each([
    ['', "pipeline.yaml:1:1 the file is missing the required field 'stages'"],
    ['stages:\n  a:\n', "pipeline.yaml:2:5 stage 'a' must be a mapping, got null"],
    ['stages:\n  a:\n    <<: 3\n    cmd: x\n', 'pipeline.yaml:3:9 invalid YAML: Merge sources must be maps or map aliases'],
    ['stages:\n  a:\n    cmd: x\n    outs: [{a: {}, b: {}}]\n', "pipeline.yaml:4:12 'outs[0]' of stage 'a' must have a single key"],
    ['stages:\n  a:\n    cmd: []\n', "pipeline.yaml:3:5 'cmd' of stage 'a' must not be empty"],
    [
      'stages:\n  a:\n    cmd: x\n    metrics: [m.json: {cache: maybe}]\n',
      `pipeline.yaml:4:31 'metrics[0]."m.json".cache' of stage 'a' must be a boolean, got string "maybe"`,
    ],
    ['stages:\n  a:\n    cmd: echo ${HOME} ${x\n', "pipeline.yaml:3:23 unterminated '${' in 'echo ${HOME} ${x'"],
    ['stages:\n  a:\n    cmd: x\n    params: [${nope}]\n', "pipeline.yaml:4:14 'nope' is not defined (in '${nope}')"],
  ])('%j', async (text, expected) => {
    const errors = await loadErrors(writeProject({ 'params/default.yaml': 'HOME: /root\n', 'pipeline.yaml': text }));
    expect(errors.map(where)).toEqual([expected]);
  });
});

describe('headline metrics (exp show)', () => {
  it('reads headline keys and labels from a metrics file, and reports bad ones at their position', async () => {
    const good = writeProject({
      'pipeline.yaml': `stages:
  ev:
    cmd: echo
    metrics:
      - m.json: { cache: false, headline: [totals.f1, { held_out.f1: held-out F1 }] }
`,
    });
    const pipeline = await load(good);
    expect(pipeline.stages.get('ev')!.outs[0]!.headline).toEqual([{ key: 'totals.f1' }, { key: 'held_out.f1', label: 'held-out F1' }]);

    const bad = writeProject({
      'pipeline.yaml': `stages:
  ev:
    cmd: echo
    outs:
      - o.json: { headline: [x] }
`,
    });
    expect((await loadErrors(bad)).map(where)).toEqual(["pipeline.yaml:5:19 unknown field 'headline' in 'outs[0].\"o.json\"' of stage 'ev'"]);
    const bad2 = writeProject({
      'pipeline.yaml': `stages:
  ev:
    cmd: echo
    metrics:
      - m.json:
          headline:
            - totals.f1
            - totals..f1
            - totals.f1
            - a: F1
            - b: F1
            - { c: x, d: y }
`,
    });
    expect((await loadErrors(bad2)).map(where)).toEqual(["pipeline.yaml:12:15 'metrics[0].\"m.json\".headline[5]' of stage 'ev' must have a single key"]);
    const bad3 = writeProject({
      'pipeline.yaml': `stages:
  ev:
    cmd: echo
    metrics:
      - m.json:
          headline:
            - totals.f1
            - totals..f1
            - totals.f1
            - a: F1
            - b: F1
`,
    });
    expect((await loadErrors(bad3)).map(where)).toEqual([
      "pipeline.yaml:8:15 headline metric 'totals..f1' is not a dotted key",
      "pipeline.yaml:9:15 headline metric 'totals.f1' is listed twice",
      "pipeline.yaml:11:15 headline label 'F1' is used twice in this file",
    ]);
  });
});
