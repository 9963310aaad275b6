import { describe, expect, it } from 'vitest';
import { writeProject } from '../../pipeline/test-project.js';
import type { CommandIO } from '../command.js';
import { main } from '../main.js';

function captureIO(cwd: string): CommandIO & { stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    cwd,
    env: { ...process.env, RALLYCUT_PROGRESS: '0' },
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    isTTY: false,
    signal: new AbortController().signal,
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

const PIPELINE = `stages:
  train:
    cmd: train
    deps: [features]
    outs: [model.bin]
  features:
    cmd: extract
    deps: [videos]
    outs: [features]
  evaluate:
    cmd: eval
    deps: [model.bin, features]
    metrics: [metrics.json]
    frozen: true
`;

describe('rallycut dag', () => {
  it('exits 2 and prints pipeline.yaml:LINE:COL with a code frame for a broken file', async () => {
    const root = writeProject({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo\n    outs: [x]\n    depz: [y]\n' });
    const io = captureIO(root);
    expect(await main(['dag'], io)).toBe(2);
    expect(io.stderr()).toContain("pipeline.yaml:5:5: error: unknown field 'depz' in stage 'a'");
    expect(io.stderr()).toContain('> 5 |     depz: [y]');
  });

  it('lists stages in topological order, with their upstream stages', async () => {
    const root = writeProject({ 'pipeline.yaml': PIPELINE });
    const io = captureIO(root);
    expect(await main(['dag'], io)).toBe(0);
    expect(io.stdout()).toBe(['features  (no upstream stage)', 'train     <- features', 'evaluate  <- train, features  [frozen]', ''].join('\n'));
  });

  it('prints dot, mermaid and JSON, limited to a target and its upstream', async () => {
    const root = writeProject({ 'pipeline.yaml': PIPELINE });
    let io = captureIO(root);
    expect(await main(['dag', 'train', '--dot'], io)).toBe(0);
    expect(io.stdout()).toBe('digraph pipeline {\n  rankdir=TB;\n  node [shape=box];\n  "features";\n  "train";\n  "features" -> "train";\n}\n');
    io = captureIO(root);
    expect(await main(['dag', '--mermaid'], io)).toBe(0);
    expect(io.stdout()).toContain('flowchart TD\n  s0["features"]\n  s1["train"]\n  s2["evaluate"]\n  s0 --> s1\n  s1 --> s2\n  s0 --> s2\n');
    io = captureIO(root);
    expect(await main(['dag', 'features', '--downstream', '--json'], io)).toBe(0);
    const json = JSON.parse(io.stdout()) as { stages: { name: string; upstream: string[] }[]; edges: unknown[] };
    expect(json.stages.map((s) => [s.name, s.upstream])).toEqual([
      ['features', []],
      ['train', ['features']],
      ['evaluate', ['train', 'features']],
    ]);
    expect(json.edges).toHaveLength(3);
  });

  it('rejects two output formats and unknown targets', async () => {
    const root = writeProject({ 'pipeline.yaml': PIPELINE });
    let io = captureIO(root);
    expect(await main(['dag', '--dot', '--json'], io)).toBe(2);
    io = captureIO(root);
    expect(await main(['dag', 'trian'], io)).toBe(2);
    expect(io.stderr()).toContain("unknown stage or out 'trian'");
    expect(io.stderr()).toContain("did you mean 'train'?");
  });
});
