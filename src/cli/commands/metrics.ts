// `rallycut metrics show|diff` and `rallycut params diff`: the checkout against HEAD (or pipeline.lock's
// param values outside git), or any two of: an experiment, "workspace", "lock", a git revision.
import type { HandlerRegistry } from '../../handler-contract.js';
import { readLock } from '../../lock/lock.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { formatTable, type Cell } from '../../format/printer.js';
import { resolveSnapshot, snapshotAt, trackedFiles, type Snapshot } from '../../exp/snapshot.js';
import { diffSnapshots, type DiffRow } from '../../exp/table.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

export function formatDiff(rows: readonly DiffRow[], a: string, b: string): string {
  if (!rows.length) return 'no differences\n';
  return formatTable(
    ['Key', a, b, 'Change'],
    rows.map((r) => [r.key, r.a, r.b, r.change] as Cell[]),
  );
}

/** The param values pipeline.lock recorded for its stages (file → key → value). */
async function lockSnapshot(root: string): Promise<Snapshot> {
  const lock = await readLock(root);
  const params: Record<string, Record<string, unknown>> = {};
  for (const entry of Object.values(lock.stages)) for (const [file, values] of Object.entries(entry.params)) Object.assign((params[file] ??= {}), values);
  return { name: 'lock', kind: 'head', params, metrics: {} };
}

async function pick(root: string, registry: HandlerRegistry, io: CommandIO, name: string): Promise<Snapshot> {
  if (name === 'lock') return lockSnapshot(root);
  return resolveSnapshot(root, cacheDirFor(root, io.env), registry, name);
}

/** Defaults: A = HEAD (or the lock outside git), B = workspace. */
async function pair(args: ParsedArgs, io: CommandIO, registry: HandlerRegistry, what: 'params' | 'metrics'): Promise<[string, string]> {
  const root = requireProjectRoot(io.cwd);
  const [a, b] = args.positionals;
  if (a) return [a, b ?? 'workspace'];
  const head = await snapshotAt(root, { params: [], metrics: [] }, 'HEAD');
  return [head ? 'HEAD' : what === 'params' ? 'lock' : 'workspace', 'workspace'];
}

function diffCommand(registry: HandlerRegistry, what: 'params' | 'metrics'): CommandSpec {
  return {
    path: [what, 'diff'],
    summary: `Compare ${what}: the workspace against HEAD by default, or between experiments / revisions by name`,
    positionals: [
      { name: 'a', description: `Experiment, git revision, "workspace"${what === 'params' ? ' or "lock"' : ''} (default: HEAD)`, complete: 'experiment' },
      { name: 'b', description: 'The same kinds (default: workspace)', complete: 'experiment' },
    ],
    options: [
      { name: 'all', type: 'boolean', description: 'Also list unchanged keys' },
      { name: 'json', type: 'boolean', description: 'Print JSON' },
    ],
    async run(args, io) {
      const root = requireProjectRoot(io.cwd);
      const [an, bn] = await pair(args, io, registry, what);
      const rows = diffSnapshots(await pick(root, registry, io, an), await pick(root, registry, io, bn), what, optBool(args, 'all'));
      if (optBool(args, 'json')) io.out(JSON.stringify({ a: an, b: bn, [what]: rows }, null, 2) + '\n');
      else io.out(formatDiff(rows, an, bn));
    },
  };
}

export function metricsCommands(registry: HandlerRegistry): CommandSpec[] {
  return [
    {
      path: ['metrics', 'show'],
      summary: "The metrics files declared in pipeline.yaml, as they are in the workspace (or an experiment's)",
      positionals: [{ name: 'name', description: 'Experiment or git revision (default: workspace)', complete: 'experiment' }],
      options: [{ name: 'json', type: 'boolean', description: 'Print JSON: file → dotted key → value' }],
      async run(args, io) {
        const root = requireProjectRoot(io.cwd);
        const snap = args.positionals[0] ? await pick(root, registry, io, args.positionals[0]) : await snapshotAt(root, await trackedFiles(root, registry));
        const metrics = snap?.metrics ?? {};
        if (optBool(args, 'json')) io.out(JSON.stringify(metrics, null, 2) + '\n');
        else if (!Object.keys(metrics).length) io.out("no metrics yet (run 'rallycut repro')\n");
        else
          io.out(
            formatTable(
              ['Path', 'Metric', 'Value'],
              Object.keys(metrics)
                .sort()
                .flatMap((f) => Object.entries(metrics[f]!).map(([k, v]) => [f, k, v] as Cell[])),
            ),
          );
      },
    },
    diffCommand(registry, 'metrics'),
    diffCommand(registry, 'params'),
  ];
}
