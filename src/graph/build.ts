// The stage DAG: an edge producer → consumer wherever a dep is (or lies inside, or contains) another
// stage's out. Duplicate and nested outs and cycles are config errors that point at the offending line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alg, Graph } from '@dagrejs/graphlib';
import { configError, RallycutError, type Diagnostic } from '../diagnostics.js';
import { suggest } from '../pipeline/interpolate.js';
import type { OutSpec, Pipeline, SourceRange, Stage } from '../pipeline/types.js';
import { isWithin } from '../paths/policy.js';

export interface PipelineGraph {
  readonly pipeline: Pipeline;
  /** Every stage, producers before consumers; ties keep file order. */
  order(): string[];
  /** The named stages and everything they depend on, transitively, in topological order. */
  upstream(names: readonly string[]): string[];
  /** The named stages and everything that depends on them, transitively, in topological order. */
  downstream(names: readonly string[]): string[];
  /** The stage whose out is `path` or a folder containing it. */
  producerOf(path: string): string | undefined;
  /** Names of the stages this stage depends on directly, in file order. */
  depsOf(name: string): string[];
  /** Names of the stages depending directly on this stage, in file order. */
  dependentsOf(name: string): string[];
  /**
   * CLI targets → stage names: a stage name, a foreach/matrix base name (all its NAME@items), or the path
   * of an out (its producer). Unknown targets are config errors.
   */
  resolveTargets(targets: readonly string[]): string[];
}

interface OutEntry {
  stage: Stage;
  out: OutSpec;
  range: SourceRange | undefined;
}

interface Edge {
  from: string;
  to: string;
  dep: string;
  depIndex: number;
}

export { isWithin };

function ancestors(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = parts.length - 1; i > 0; i--) out.push(parts.slice(0, i).join('/'));
  return out;
}

function at(range: SourceRange | undefined, fallback: SourceRange): Pick<Diagnostic, 'file' | 'start' | 'end'> {
  const r = range ?? fallback;
  return { file: r.file, start: r.start, end: r.end };
}

/** Index of outs by path, with duplicate/overlap diagnostics. */
function indexOuts(pipeline: Pipeline, problems: Diagnostic[]): Map<string, OutEntry> {
  const byPath = new Map<string, OutEntry>();
  for (const stage of pipeline.stages.values()) {
    stage.outs.forEach((out, i) => {
      const range = stage.ranges?.outs[i];
      const prior = byPath.get(out.path);
      if (prior) {
        const msg =
          prior.stage.name === stage.name
            ? `'${out.path}' is declared twice in stage '${stage.name}'`
            : `'${out.path}' is an out of both '${prior.stage.name}' and '${stage.name}'`;
        problems.push({
          kind: 'config',
          message: msg,
          subject: stage.name,
          ...at(range, stage.source),
          notes: [`first declared at ${where(prior.range ?? prior.stage.source)}`, 'every path has exactly one producing stage'],
        });
        return;
      }
      byPath.set(out.path, { stage, out, range });
    });
  }
  for (const entry of byPath.values()) {
    for (const folder of ancestors(entry.out.path)) {
      const outer = byPath.get(folder);
      if (!outer) continue;
      problems.push({
        kind: 'config',
        message: `out '${entry.out.path}' of '${entry.stage.name}' lies inside out '${outer.out.path}' of '${outer.stage.name}'`,
        subject: entry.stage.name,
        ...at(entry.range, entry.stage.source),
        notes: [
          `'${outer.out.path}' is declared at ${where(outer.range ?? outer.stage.source)}`,
          'outs may not overlap: one stage owns a folder and everything in it',
        ],
      });
      break;
    }
  }
  return byPath;
}

function where(r: SourceRange): string {
  return `${r.file}:${r.start.line}:${r.start.column}`;
}

function producerIn(byPath: ReadonlyMap<string, OutEntry>, path: string): OutEntry | undefined {
  return (
    byPath.get(path) ??
    ancestors(path)
      .map((a) => byPath.get(a))
      .find((e) => e !== undefined)
  );
}

function collectEdges(pipeline: Pipeline, byPath: ReadonlyMap<string, OutEntry>): Edge[] {
  const edges: Edge[] = [];
  const outs = [...byPath.values()];
  for (const stage of pipeline.stages.values()) {
    stage.deps.forEach((dep, depIndex) => {
      const producers = new Set<string>();
      const exact = producerIn(byPath, dep);
      if (exact) producers.add(exact.stage.name);
      // A folder dep that contains another stage's outs depends on those stages too.
      for (const e of outs) if (isWithin(e.out.path, dep)) producers.add(e.stage.name);
      for (const from of producers) edges.push({ from, to: stage.name, dep, depIndex });
    });
  }
  return edges;
}

/** Duplicate outs, overlapping outs and cycles; empty when the graph is sound. */
export function graphDiagnostics(pipeline: Pipeline): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const byPath = indexOuts(pipeline, problems);
  const edges = collectEdges(pipeline, byPath);
  const cycle = findCycle(pipeline, edges);
  if (cycle) problems.push(cycleDiagnostic(pipeline, cycle));
  return problems;
}

/** Deps that no stage produces and that are absent on disk (frozen stages are skipped: they never run). */
export function missingDepDiagnostics(pipeline: Pipeline): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const byPath = indexOuts(pipeline, []);
  const outs = [...byPath.values()];
  for (const stage of pipeline.stages.values()) {
    if (stage.frozen) continue;
    stage.deps.forEach((dep, i) => {
      if (producerIn(byPath, dep) || outs.some((e) => isWithin(e.out.path, dep))) return;
      if (existsSync(join(pipeline.root, dep))) return;
      const names = [...byPath.keys()];
      const close = suggest(dep, names);
      problems.push({
        kind: 'config',
        message: `dep '${dep}' of stage '${stage.name}' does not exist and no stage produces it`,
        subject: stage.name,
        ...at(stage.ranges?.deps[i], stage.source),
        notes: close ? [`did you mean '${close}' (an out of '${byPath.get(close)!.stage.name}')?`] : [],
      });
    });
  }
  return problems;
}

function findCycle(pipeline: Pipeline, edges: readonly Edge[]): Edge[] | undefined {
  const out = new Map<string, Edge[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e]);
  const state = new Map<string, 'open' | 'done'>();
  const stack: Edge[] = [];
  const visit = (name: string): Edge[] | undefined => {
    state.set(name, 'open');
    for (const e of out.get(name) ?? []) {
      const s = state.get(e.to);
      if (s === 'open') {
        const startIdx = stack.findIndex((x) => x.from === e.to);
        return [...(startIdx >= 0 ? stack.slice(startIdx) : []), e];
      }
      if (s === undefined) {
        stack.push(e);
        const found = visit(e.to);
        if (found) return found;
        stack.pop();
      }
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of pipeline.stages.keys()) {
    if (state.has(name)) continue;
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}

/** Where `item` goes in the sorted `list` (after equal items). */
function sortedIndex<T>(list: readonly T[], item: T, compare: (a: T, b: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compare(list[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cycleDiagnostic(pipeline: Pipeline, cycle: readonly Edge[]): Diagnostic {
  // Start the path at the stage that comes first in the file, so the message is stable.
  const names = [...pipeline.stages.keys()];
  let first = 0;
  cycle.forEach((e, i) => {
    if (names.indexOf(e.from) < names.indexOf(cycle[first]!.from)) first = i;
  });
  const path = [...cycle.slice(first), ...cycle.slice(0, first)];
  const text = [...path.map((e) => e.from), path[0]!.from].join(' -> ');
  const closing = path[path.length - 1]!;
  const consumer = pipeline.stages.get(closing.to)!;
  if (path.length === 1) {
    // A stage's own out as its dep: the pre-run delete would remove its input. Say so, not "a -> a".
    return {
      kind: 'config',
      message: `dep '${closing.dep}' is (or overlaps) an out of the same stage; running it would delete its own input`,
      subject: consumer.name,
      ...at(consumer.ranges?.deps[closing.depIndex], consumer.source),
      notes: ['a stage may not read what it writes: give the out another name'],
    };
  }
  return {
    kind: 'config',
    message: `dependency cycle: ${text}`,
    subject: consumer.name,
    ...at(consumer.ranges?.deps[closing.depIndex], consumer.source),
    notes: path.map((e) => `'${e.to}' depends on '${e.dep}', produced by '${e.from}'`),
  };
}

export function buildGraph(pipeline: Pipeline): PipelineGraph {
  const problems = graphDiagnostics(pipeline);
  if (problems.length) throw new RallycutError(problems);
  const byPath = indexOuts(pipeline, []);
  const edges = collectEdges(pipeline, byPath);
  const names = [...pipeline.stages.keys()];
  const fileIndex = new Map(names.map((n, i) => [n, i]));
  const g = new Graph({ directed: true });
  for (const n of names) g.setNode(n);
  for (const e of edges) g.setEdge(e.from, e.to);
  try {
    alg.topsort(g);
  } catch (err) {
    // graphDiagnostics already reports cycles with their path; this is a second line of defence.
    if (err instanceof alg.CycleException) throw configError('dependency cycle in the pipeline');
    throw err;
  }
  const byFile = (a: string, b: string): number => fileIndex.get(a)! - fileIndex.get(b)!;
  const preds = (n: string): string[] => [...new Set(g.predecessors(n) ?? [])].sort(byFile);
  const succs = (n: string): string[] => [...new Set(g.successors(n) ?? [])].sort(byFile);

  // Kahn's algorithm, always taking the ready stage that comes first in the file.
  const order: string[] = [];
  const indegree = new Map(names.map((n) => [n, preds(n).length]));
  const ready = names.filter((n) => indegree.get(n) === 0); // in file order, and kept so
  while (ready.length) {
    const n = ready.shift()!;
    order.push(n);
    for (const s of succs(n)) {
      const d = indegree.get(s)! - 1;
      indegree.set(s, d);
      if (d === 0) ready.splice(sortedIndex(ready, s, byFile), 0, s); // not a re-sort per step: O(n²) at 5,000 stages
    }
  }
  const position = new Map(order.map((n, i) => [n, i]));
  const closure = (start: readonly string[], next: (n: string) => string[]): string[] => {
    for (const n of start) if (!pipeline.stages.has(n)) throw unknownStage(pipeline, n);
    const seen = new Set<string>(start);
    const queue = [...start];
    while (queue.length) for (const m of next(queue.pop()!)) if (!seen.has(m)) seen.add(m), queue.push(m);
    return [...seen].sort((a, b) => position.get(a)! - position.get(b)!);
  };

  return {
    pipeline,
    order: () => [...order],
    upstream: (targets) => closure(targets, preds),
    downstream: (targets) => closure(targets, succs),
    producerOf: (path) => producerIn(byPath, path.replace(/\/+$/, ''))?.stage.name,
    depsOf: (name) => {
      if (!pipeline.stages.has(name)) throw unknownStage(pipeline, name);
      return preds(name);
    },
    dependentsOf: (name) => {
      if (!pipeline.stages.has(name)) throw unknownStage(pipeline, name);
      return succs(name);
    },
    resolveTargets: (targets) => {
      const out: string[] = [];
      const problems: Diagnostic[] = [];
      for (const t of targets) {
        const found = resolveTarget(pipeline, byPath, t);
        if (found.length) out.push(...found.filter((n) => !out.includes(n)));
        else problems.push(...unknownStage(pipeline, t).diagnostics);
      }
      if (problems.length) throw new RallycutError(problems);
      return out;
    },
  };
}

function resolveTarget(pipeline: Pipeline, byPath: ReadonlyMap<string, OutEntry>, target: string): string[] {
  if (pipeline.stages.has(target)) return [target];
  const generated = [...pipeline.stages.keys()].filter((n) => n.startsWith(`${target}@`));
  if (generated.length) return generated;
  const path = target.replace(/^\.\//, '').replace(/\/+$/, '');
  const producer = producerIn(byPath, path);
  return producer ? [producer.stage.name] : [];
}

function unknownStage(pipeline: Pipeline, name: string): RallycutError {
  const names = [...pipeline.stages.keys()];
  const close = suggest(name, names);
  const notes = close ? [`did you mean '${close}'?`] : [];
  notes.push(`stages: ${names.join(', ') || '(none)'}`);
  return configError(`unknown stage or out '${name}'`, { subject: name, notes });
}
