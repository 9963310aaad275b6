import { describe, expect, it } from 'vitest';
import { RallycutError } from '../diagnostics.js';
import type { OutSpec, Pipeline, Stage } from '../pipeline/types.js';
import { load, writeProject } from '../pipeline/test-project.js';
import { buildGraph, graphDiagnostics } from './build.js';

// A diamond with a side branch, written out of topological order to test file-order tie breaking:
//   raw → clean → {features, stats} → report ; lonely has no edges
const DIAMOND = `stages:
  report:
    cmd: r
    deps: [features/index.json, stats.json]
    outs: [report.html]
  lonely:
    cmd: l
  clean:
    cmd: c
    deps: [raw.csv]
    outs: [clean]
  stats:
    cmd: s
    deps: [clean/part-0.csv]
    outs: [stats.json]
  features:
    cmd: f
    deps: [clean]
    outs: [features]
`;

async function diamond() {
  const root = writeProject({ 'raw.csv': 'x', 'pipeline.yaml': DIAMOND });
  return buildGraph(await load(root));
}

describe('buildGraph', () => {
  it('orders producers before consumers, breaking ties by file order', async () => {
    const g = await diamond();
    expect(g.order()).toEqual(['lonely', 'clean', 'stats', 'features', 'report']);
  });

  it('answers upstream and downstream closures in topological order', async () => {
    const g = await diamond();
    expect(g.upstream(['report'])).toEqual(['clean', 'stats', 'features', 'report']);
    expect(g.upstream(['stats'])).toEqual(['clean', 'stats']);
    expect(g.downstream(['stats'])).toEqual(['stats', 'report']);
    expect(g.downstream(['clean'])).toEqual(['clean', 'stats', 'features', 'report']);
    expect(g.downstream(['lonely'])).toEqual(['lonely']);
    expect(() => g.upstream(['reprot'])).toThrow(/unknown stage or out 'reprot'/);
  });

  it('finds the producer of a path, including a file inside an out folder', async () => {
    const g = await diamond();
    expect(g.producerOf('clean')).toBe('clean');
    expect(g.producerOf('clean/part-0.csv')).toBe('clean');
    expect(g.producerOf('features/index.json')).toBe('features');
    expect(g.producerOf('raw.csv')).toBeUndefined();
    expect(g.producerOf('cleaner')).toBeUndefined();
    expect(g.depsOf('report')).toEqual(['stats', 'features']);
    expect(g.dependentsOf('clean')).toEqual(['stats', 'features']);
  });

  it('links a folder dep to the stages whose outs lie inside it', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  a:
    cmd: a
    outs: [data/a.csv]
  b:
    cmd: b
    outs: [data/b.csv]
  all:
    cmd: all
    deps: [data]
`,
    });
    const g = buildGraph(await load(root));
    expect(g.depsOf('all')).toEqual(['a', 'b']);
  });

  it('resolves CLI targets: names, foreach base names and out paths', async () => {
    const root = writeProject({
      'pipeline.yaml': `stages:
  fit:
    foreach: [s, m]
    do:
      cmd: fit
      outs: ["model-\${item}.bin"]
  eval:
    cmd: e
    deps: [model-s.bin]
    outs: [metrics/]
`,
    });
    const g = buildGraph(await load(root));
    expect(g.resolveTargets(['fit'])).toEqual(['fit@s', 'fit@m']);
    expect(g.resolveTargets(['fit@m', 'metrics/eval.json', './model-s.bin'])).toEqual(['fit@m', 'eval', 'fit@s']);
    expect(() => g.resolveTargets(['evl'])).toThrow(RallycutError);
    try {
      g.resolveTargets(['evl']);
    } catch (err) {
      expect((err as RallycutError).diagnostics[0]!.notes).toEqual(["did you mean 'eval'?", 'stages: fit@s, fit@m, eval']);
    }
  });

  it('throws the cycle as a path, even for a pipeline built by hand', () => {
    const stage = (name: string, deps: string[], outs: string[]): Stage => ({
      name,
      action: { kind: 'cmd', commands: ['true'] },
      wdir: '.',
      deps,
      params: [],
      outs: outs.map((path): OutSpec => ({ path, kind: 'out', cache: true, persist: false })),
      frozen: false,
      alwaysChanged: false,
      executor: { name: 'local', options: {} },
      source: { file: 'pipeline.yaml', start: { line: 1, column: 1 }, end: { line: 1, column: 2 } },
    });
    const stages = [stage('x', [], ['x.out']), stage('b', ['c.out', 'x.out'], ['b.out']), stage('c', ['d.out'], ['c.out']), stage('d', ['b.out'], ['d.out'])];
    const pipeline: Pipeline = { root: '/tmp/none', file: 'pipeline.yaml', stages: new Map(stages.map((s) => [s.name, s])) };
    const [d] = graphDiagnostics(pipeline);
    expect(d!.message).toBe('dependency cycle: b -> d -> c -> b');
    expect(d!.notes).toEqual(["'d' depends on 'b.out', produced by 'b'", "'c' depends on 'd.out', produced by 'd'", "'b' depends on 'c.out', produced by 'c'"]);
    expect(() => buildGraph(pipeline)).toThrow(/dependency cycle: b -> d -> c -> b/);

    const self = stage('self', ['self.out/x'], ['self.out']);
    expect(graphDiagnostics({ ...pipeline, stages: new Map([['self', self]]) })[0]!.message).toBe(
      "dep 'self.out/x' is (or overlaps) an out of the same stage; running it would delete its own input",
    );
  });
});
