// `rallycut dag`: the stage graph as a listing (default), Graphviz dot, Mermaid, or JSON.
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { configError } from '../../diagnostics.js';
import { buildGraph, type PipelineGraph } from '../../graph/build.js';
import type { HandlerRegistry } from '../../handler-contract.js';
import { loadPipeline } from '../../pipeline/load.js';
import type { Stage } from '../../pipeline/types.js';
import { requireProjectRoot } from '../../project.js';
import { stableJson } from '../../format/printer.js';

export function dagCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['dag'],
    summary: 'Show the stage graph (listing, --dot, --mermaid or --json)',
    description: 'With TARGETs, shows those stages and everything upstream of them (with --downstream: everything after them).',
    positionals: [{ name: 'target', description: 'Stage names, foreach base names or out paths', variadic: true, complete: 'stage' }],
    options: [
      { name: 'dot', type: 'boolean', description: 'Print Graphviz dot' },
      { name: 'mermaid', type: 'boolean', description: 'Print a Mermaid flowchart' },
      { name: 'json', type: 'boolean', description: 'Print stages and edges as JSON' },
      { name: 'downstream', type: 'boolean', description: 'Show the stages after the targets instead of before' },
      { name: 'outs', short: 'o', type: 'boolean', description: "List each stage's outs in the listing" },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const formats = ['dot', 'mermaid', 'json'].filter((f) => optBool(args, f));
      if (formats.length > 1) throw configError(`choose one of --dot, --mermaid and --json (got ${formats.map((f) => `--${f}`).join(', ')})`);
      const root = requireProjectRoot(io.cwd);
      const graph = buildGraph(await loadPipeline(root, registry, { checkDeps: false }));
      const targets = graph.resolveTargets(args.positionals);
      const names = targets.length === 0 ? graph.order() : optBool(args, 'downstream') ? graph.downstream(targets) : graph.upstream(targets);
      const format = formats[0] ?? 'text';
      io.out(
        format === 'dot'
          ? toDot(graph, names)
          : format === 'mermaid'
            ? toMermaid(graph, names)
            : format === 'json'
              ? toJson(graph, names)
              : toText(graph, names, optBool(args, 'outs')),
      );
    },
  };
}

function edgesAmong(graph: PipelineGraph, names: readonly string[]): [string, string][] {
  const shown = new Set(names);
  return names.flatMap((n) =>
    graph
      .depsOf(n)
      .filter((d) => shown.has(d))
      .map((d): [string, string] => [d, n]),
  );
}

function tags(stage: Stage): string[] {
  const t: string[] = [];
  if (stage.frozen) t.push('frozen');
  if (stage.alwaysChanged) t.push('always');
  if (stage.executor.name !== 'local') t.push(stage.executor.name);
  return t;
}

export function toText(graph: PipelineGraph, names: readonly string[], withOuts = false): string {
  if (names.length === 0) return 'no stages\n';
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const lines: string[] = [];
  for (const n of names) {
    const stage = graph.pipeline.stages.get(n)!;
    const after = graph.depsOf(n);
    const t = tags(stage);
    lines.push(`${n.padEnd(width)}${after.length ? `<- ${after.join(', ')}` : '(no upstream stage)'}${t.length ? `  [${t.join(', ')}]` : ''}`.trimEnd());
    if (withOuts) for (const o of stage.outs) lines.push(`${' '.repeat(4)}${o.kind === 'out' ? '' : `${o.kind}: `}${o.path}${o.cache ? '' : ' (not cached)'}`);
  }
  return lines.join('\n') + '\n';
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function toDot(graph: PipelineGraph, names: readonly string[]): string {
  const lines = ['digraph pipeline {', '  rankdir=TB;', '  node [shape=box];'];
  for (const n of names) {
    const t = tags(graph.pipeline.stages.get(n)!);
    lines.push(`  ${quote(n)}${t.length ? ` [style=dashed, xlabel=${quote(t.join(','))}]` : ''};`);
  }
  for (const [a, b] of edgesAmong(graph, names)) lines.push(`  ${quote(a)} -> ${quote(b)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

export function toMermaid(graph: PipelineGraph, names: readonly string[]): string {
  const id = new Map(names.map((n, i) => [n, `s${i}`]));
  const lines = ['flowchart TD'];
  for (const n of names) lines.push(`  ${id.get(n)}["${n.replace(/"/g, '#quot;')}"]`);
  for (const [a, b] of edgesAmong(graph, names)) lines.push(`  ${id.get(a)} --> ${id.get(b)}`);
  return lines.join('\n') + '\n';
}

export function toJson(graph: PipelineGraph, names: readonly string[]): string {
  const stages = names.map((n) => {
    const s = graph.pipeline.stages.get(n)!;
    return {
      name: n,
      action: s.action.kind === 'cmd' ? { cmd: s.action.commands } : { handler: s.action.handler },
      deps: s.deps,
      outs: s.outs.map((o) => ({ path: o.path, kind: o.kind, cache: o.cache, persist: o.persist })),
      upstream: graph.depsOf(n),
      frozen: s.frozen,
      always_changed: s.alwaysChanged,
      executor: s.executor.name,
    };
  });
  // stableJson sorts object keys; the stages array keeps topological order.
  return stableJson({ stages, edges: edgesAmong(graph, names).map(([from, to]) => ({ from, to })) });
}
