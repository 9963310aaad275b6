// `rallycut repro`: bring the pipeline's outputs up to date (DVC semantics, parallel, cached).
import type { HandlerRegistry } from '../../handler.js';
import { optBool, optNumber, type ParsedArgs } from '../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { configError, printedAsJson } from '../../diagnostics.js';
import { requireProjectRoot } from '../../project.js';
import { reproduce, resultError, type ReproOptions, type ReproResult } from '../../exec/reproduce.js';
import { formatPlan } from './status.js';
import { watchPipeline } from '../../exec/watch.js';
import { Board, useColor } from '../../report/board.js';
import { routeProgress } from '../../report/progress.js';

export function reproOptions(args: ParsedArgs): ReproOptions {
  const jobs = optNumber(args, 'jobs');
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw configError(`-j/--jobs must be a whole number ≥ 1, got ${jobs}`, { subject: '--jobs' });
  return {
    targets: [...args.positionals],
    force: optBool(args, 'force'),
    single: optBool(args, 'single-item'),
    downstream: optBool(args, 'downstream'),
    dry: optBool(args, 'dry'),
    keepGoing: optBool(args, 'keep-going'),
    ...(jobs !== undefined ? { jobs } : {}),
    runCache: args.options['run-cache'] !== false,
  };
}

export function formatSummary(result: ReproResult): string {
  const count = (o: string): number => result.stages.filter((s) => s.outcome === o).length;
  const parts = [
    `ran ${count('ran')}`,
    `skipped ${count('skipped')}`,
    `restored ${count('restored')}`,
    `run-cache ${count('run-cache')}`,
    ...(count('frozen') ? [`frozen ${count('frozen')}`] : []),
    `failed ${count('failed')}`,
    ...(result.notStarted.length ? [`not run ${result.notStarted.length}`] : []),
  ];
  const lines = [`${result.ok ? 'Done' : 'Failed'}: ${parts.join(', ')}`];
  for (const s of result.stages) if (s.outcome === 'failed') lines.push(`  failed: ${s.stage}`);
  for (const n of result.notStarted) lines.push(`  not run: ${n.stage} (${n.reason})`);
  return lines.join('\n') + '\n';
}

export function reproCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['repro'],
    summary: 'Run the stages whose inputs changed (all of them, or TARGETs and their upstream)',
    description:
      'A stage runs when its definition, a dep, a tracked param, a tool version or an external stamp changed, or an out is ' +
      'missing or modified. Missing outs with unchanged inputs are restored from the cache; a stage whose inputs match an ' +
      'earlier run is restored from the run-cache. Independent stages run in parallel.',
    positionals: [{ name: 'target', description: 'Stages: NAME, NAME@item, a foreach/matrix group NAME, or the path of an out', variadic: true }],
    options: [
      { name: 'force', short: 'f', type: 'boolean', description: 'Run every selected stage (the targets and their upstream, or as -s/--downstream select) even if unchanged' },
      { name: 'single-item', short: 's', type: 'boolean', description: 'Only the targets, not their upstream' },
      { name: 'downstream', type: 'boolean', description: 'The targets and everything downstream of them' },
      { name: 'dry', type: 'boolean', description: 'Show what would run and why; run nothing' },
      { name: 'keep-going', short: 'k', type: 'boolean', description: 'After a failure, keep running the stages that do not depend on it' },
      { name: 'jobs', short: 'j', type: 'number', description: 'Stages to run at once (default: the core count)' },
      { name: 'run-cache', type: 'boolean', description: 'Restore earlier runs from the run-cache (--no-run-cache to always run)', default: true },
      { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' },
      { name: 'watch', short: 'w', type: 'boolean', description: 'Keep running: rerun the affected stages whenever a dep, pipeline.yaml or params/ changes (Ctrl-C stops)' },
      { name: 'debounce', type: 'number', description: 'With --watch: quiet time after the last change before rerunning, in ms', default: 150 },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const opts = reproOptions(args);
      if (optBool(args, 'watch')) return watchPipeline(root, registry, { ...opts, debounceMs: optNumber(args, 'debounce') ?? 150 }, io);
      const json = optBool(args, 'json');
      const result = await withBoard(io, (io2) => reproduce(root, registry, opts, io2));
      const err = resultError(result);
      // --json prints the full result (ok, stages, errors) on success and failure alike; the thrown error
      // says so, and the CLI adds no second document. Diagnostics still go to stderr.
      io.out(reproOutput(result, json));
      if (err) throw json ? printedAsJson(err) : err;
    },
  };
}

/**
 * In a terminal (stderr), runs `fn` with the live board: one line per running stage, redrawn in place,
 * log lines above it. Elsewhere (a pipe, CI, RALLYCUT_PROGRESS=0) with `io` as it is: line-per-step bars.
 */
export async function withBoard<T>(io: CommandIO, fn: (io: CommandIO & { board?: Board }) => Promise<T>): Promise<T> {
  if (!io.errTTY || io.env.RALLYCUT_PROGRESS === '0') return fn(io);
  const board = new Board({ write: (t) => io.err(t), columns: io.errColumns, color: useColor(io.env) });
  routeProgress(board);
  try {
    return await fn({ ...io, err: (t) => board.log(t), board });
  } finally {
    routeProgress(undefined);
    board.close();
  }
}

/** What repro prints on stdout for a result (the daemon prints the same for the no-ops it answers). */
export function reproOutput(result: ReproResult, json: boolean): string {
  if (json) return JSON.stringify(result, null, 2) + '\n';
  return result.plan ? formatPlan(result.plan) : formatSummary(result);
}
