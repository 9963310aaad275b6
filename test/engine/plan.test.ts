// Planning rules on hand-built stages: DVC's "when does a stage run", without touching the filesystem.
import { describe, expect, it } from 'vitest';
import { buildFingerprint, runCacheKey } from '../../src/fingerprint.js';
import { decide, plan, selectStages, type OutState, type PlanGraph, type StageState } from '../../src/graph/plan.js';
import type { LockEntry } from '../../src/lock/types.js';
import type { OutSpec, Stage } from '../../src/pipeline/types.js';

function stage(name: string, over: Partial<Stage> = {}): Stage {
  return {
    name,
    action: { kind: 'cmd', commands: [`make ${name}`] },
    wdir: '.',
    deps: [`in/${name}`],
    params: [],
    outs: [{ path: `out/${name}`, kind: 'out', cache: true, persist: false }],
    frozen: false,
    alwaysChanged: false,
    executor: { name: 'local', options: {} },
    source: { file: 'pipeline.yaml', start: { line: 1, column: 1 }, end: { line: 1, column: 2 } },
    ...over,
  };
}

const h = (path: string, sha256: string) => ({ path, sha256, size: 1, isDir: false });

interface Setup {
  deps?: Record<string, string | null>;
  params?: Record<string, Record<string, unknown>>;
  outs?: Record<string, string | null>;
  objects?: boolean;
  runCacheHit?: boolean;
  stamp?: string | null;
  versions?: Record<string, string>;
}

/** A state whose lock entry matches `recorded`, measured as `now`. */
function state(s: Stage, recorded: Setup | undefined, now: Setup = recorded ?? {}): StageState {
  const fp = (x: Setup) =>
    buildFingerprint({
      stage: s,
      depHashes: s.deps.map((d) => {
        const sha = x.deps?.[d] === undefined ? 'dep-v1' : x.deps[d];
        return sha === null ? null : h(d, sha);
      }),
      params: x.params ?? {},
      versions: x.versions,
      stamp: x.stamp,
    });
  const outSha = (x: Setup, o: OutSpec) => (x.outs?.[o.path] === undefined ? 'out-v1' : x.outs[o.path]!);
  const locked: LockEntry | undefined = recorded
    ? { ...fp(recorded).entry, outs: s.outs.map((o) => ({ path: o.path, sha256: outSha(recorded, o) ?? 'x', size: 1 })) }
    : undefined;
  const outs: OutState[] = s.outs.map((o) => {
    const sha = outSha(now, o);
    return { spec: o, current: sha === null ? null : { sha256: sha }, objectPresent: now.objects ?? true };
  });
  return { stage: s, fingerprint: fp(now), locked, outs, runCacheHit: now.runCacheHit ?? false };
}

describe('decide', () => {
  it('skips a stage whose lock entry matches', () => {
    expect(decide(state(stage('a'), {}))).toEqual({ decision: 'skip', reasons: [] });
  });

  it('runs a stage never recorded', () => {
    const d = decide(state(stage('a'), undefined));
    expect(d.decision).toBe('run');
    expect(d.reasons).toContain('not in pipeline.lock yet');
  });

  it('runs on a changed dep and names it', () => {
    const d = decide(state(stage('a'), {}, { deps: { 'in/a': 'dep-v2' } }));
    expect(d).toEqual({ decision: 'run', reasons: ["dep 'in/a' changed"], runCacheMayAnswer: true });
  });

  it('runs when the cmd changed', () => {
    const s = stage('a');
    const st = state(s, {});
    const changed = { ...st, stage: { ...s, action: { kind: 'cmd' as const, commands: ['other'] } } };
    const fp = buildFingerprint({ stage: changed.stage, depHashes: [h('in/a', 'dep-v1')], params: {} });
    expect(decide({ ...changed, fingerprint: fp }).reasons).toEqual(['cmd changed']);
  });

  it('runs on a tracked param change, names file, key and both values', () => {
    const s = stage('a', { params: [{ file: 'params/default.yaml', keys: ['train.lr'] }] });
    const d = decide(state(s, { params: { 'params/default.yaml': { 'train.lr': 0.1 } } }, { params: { 'params/default.yaml': { 'train.lr': 0.2 } } }));
    expect(d).toEqual({ decision: 'run', reasons: ['param params/default.yaml:train.lr changed (0.1 → 0.2)'], runCacheMayAnswer: true });
  });

  it('runs on a tool version change and on a stamp change', () => {
    const s = stage('a');
    expect(decide(state(s, { versions: { ffmpeg: '5.1' } }, { versions: { ffmpeg: '6.0' } })).reasons).toEqual(['tool ffmpeg 5.1 → 6.0']);
    expect(decide(state(s, { stamp: 'rows:10' }, { stamp: 'rows:11' })).reasons).toEqual(['external state changed (stamp)']);
  });

  it('names a changed tool by its version, not the whole banner the lock keeps', () => {
    const bundled = 'ffmpeg version N-47683-g0e8eb07980-static https://example.invalid/ffmpeg/  Copyright (c) 2000-2018 the FFmpeg developers';
    const system = 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers';
    const st = state(stage('a'), { versions: { ffmpeg: bundled } }, { versions: { ffmpeg: system } });
    expect(decide(st).reasons).toEqual(['tool ffmpeg N-47683-g0e8eb07980-static → 5.1.9-0+deb12u1']);
    const described = { ...st, describeVersion: (_tool: string, v: string) => (v === bundled ? '4.1.0 (bundled)' : undefined) };
    expect(decide(described).reasons).toEqual(['tool ffmpeg 4.1.0 (bundled) → 5.1.9-0+deb12u1']);
    const odd = state(stage('a'), { versions: { tool: 'a build string without the usual version word, long enough to cut' } }, { versions: {} });
    expect(decide(odd).reasons).toEqual(['tool tool a build string without the usual versio… → none']);
  });

  it('always runs when the stamp is null (external state unknown)', () => {
    expect(decide(state(stage('a'), { stamp: null })).decision).toBe('run');
  });

  it('restores a missing out from the cache when nothing else changed', () => {
    const d = decide(state(stage('a'), {}, { outs: { 'out/a': null } }));
    expect(d).toEqual({ decision: 'restore-outs', reasons: ["out 'out/a' is missing"] });
  });

  it('runs when a missing out has no object to restore', () => {
    expect(decide(state(stage('a'), {}, { outs: { 'out/a': null }, objects: false })).decision).toBe('run');
  });

  it('runs when a cache: false out was modified (the cache has no copy; the run-cache may, as in DVC)', () => {
    const s = stage('a', { outs: [{ path: 'm.json', kind: 'metric', cache: false, persist: false }] });
    const d = decide(state(s, {}, { outs: { 'm.json': 'edited' } }));
    expect(d).toEqual({ decision: 'run', reasons: ["out 'm.json' is modified"], runCacheMayAnswer: true });
  });

  it('frozen never runs, even when changed or forced', () => {
    const s = stage('a', { frozen: true });
    expect(decide(state(s, {}, { deps: { 'in/a': 'new' } }), { forced: true }).decision).toBe('frozen');
  });

  it('always_changed and dep-less stages always run; forced runs', () => {
    expect(decide(state(stage('a', { alwaysChanged: true }), {})).reasons).toEqual(['always_changed']);
    expect(decide(state(stage('a', { deps: [] }), {})).reasons).toEqual(['has no deps (always runs)']);
    expect(decide(state(stage('a'), {}), { forced: true }).reasons).toEqual(['forced']);
  });

  it('a stage with only params is not dep-less', () => {
    const s = stage('a', { deps: [], params: [{ file: 'p.yaml', keys: ['k'] }] });
    expect(decide(state(s, { params: { 'p.yaml': { k: 1 } } })).decision).toBe('skip');
  });

  it('uses the run-cache for a changed stage with a hit, unless disabled or forced', () => {
    const st = state(stage('a'), {}, { deps: { 'in/a': 'dep-v0' }, runCacheHit: true });
    expect(decide(st).decision).toBe('run-cache');
    expect(decide(st, { runCache: false }).decision).toBe('run');
    expect(decide(st, { forced: true }).decision).toBe('run');
  });

  it('says when a run record could answer a stage measured without looking one up (repro then looks)', () => {
    const st = state(stage('a'), {}, { deps: { 'in/a': 'dep-v0' } });
    expect(decide(st)).toMatchObject({ decision: 'run', runCacheMayAnswer: true });
    expect(decide(st, { runCache: false }).runCacheMayAnswer).toBeUndefined();
    expect(decide(st, { forced: true }).runCacheMayAnswer).toBeUndefined();
    expect(decide(st, { upstreamRunning: ['up'] }).runCacheMayAnswer).toBeUndefined();
    expect(decide(state(stage('a'), {})).runCacheMayAnswer).toBeUndefined(); // skip: nothing to answer
  });

  it('run-cache keys ignore out hashes and dep sizes but not dep contents', () => {
    const s = stage('a');
    const a = buildFingerprint({ stage: s, depHashes: [h('in/a', 'x')], params: {} });
    const b = buildFingerprint({ stage: s, depHashes: [{ ...h('in/a', 'x'), size: 99 }], params: {} });
    const c = buildFingerprint({ stage: s, depHashes: [h('in/a', 'y')], params: {} });
    expect(runCacheKey(a.entry)).toBe(runCacheKey(b.entry));
    expect(runCacheKey(a.entry)).not.toBe(runCacheKey(c.entry));
  });
});

describe('selection and the static plan', () => {
  // a → b → c, and d independent
  const edges: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], d: [] };
  const closure = (names: readonly string[], next: (n: string) => string[]) => {
    const seen = new Set<string>();
    const walk = (n: string): void => next(n).forEach((m) => !seen.has(m) && (seen.add(m), walk(m)));
    names.forEach(walk);
    return seen;
  };
  const graph: PlanGraph = {
    order: () => ['a', 'b', 'c', 'd'],
    upstream: (names) => closure(names, (n) => edges[n] ?? []),
    downstream: (names) => closure(names, (n) => Object.keys(edges).filter((k) => edges[k]!.includes(n))),
  };

  it('targets bring their upstream; -s only the targets; --downstream what follows', () => {
    expect(selectStages(graph, { targets: [] })).toEqual(['a', 'b', 'c', 'd']);
    expect(selectStages(graph, { targets: ['c'] })).toEqual(['a', 'b', 'c']);
    expect(selectStages(graph, { targets: ['c'], single: true })).toEqual(['c']);
    expect(selectStages(graph, { targets: ['b'], downstream: true })).toEqual(['b', 'c']);
    expect(() => selectStages(graph, { targets: ['nope'] })).toThrow("unknown stage 'nope'");
  });

  it('marks stages downstream of a run as running, naming the upstream', () => {
    const states = new Map<string, StageState>([
      ['a', state(stage('a'), {}, { deps: { 'in/a': 'v2' } })],
      ['b', state(stage('b'), {})],
      ['c', state(stage('c'), {})],
      ['d', state(stage('d'), {})],
    ]);
    const items = plan(['a', 'b', 'c', 'd'], states, (n) => edges[n] ?? []);
    expect(items.map((i) => [i.stage, i.decision])).toEqual([
      ['a', 'run'],
      ['b', 'run'],
      ['c', 'run'],
      ['d', 'skip'],
    ]);
    expect(items[1]!.reasons).toEqual(["upstream 'a' will run"]);
  });
});
