// The `repro` and `status` command lines: their options and what they ask of the engine. Declared here, below
// the CLI, because two readers parse them: the CLI (src/cli/commands/repro.ts, status.ts) and the project
// daemon (src/daemon/), which answers the same command lines without loading the CLI.
import { optBool, optNumber, optStrings, parseArgs, type OptionSpec, type ParsedArgs, type PositionalSpec } from '../args.js';
import { configError } from '../diagnostics.js';
import type { ReproOptions } from './reproduce.js';
import { executors } from './executors.js';
import { isEmptyPlacement, parsePlacement } from './placement.js';

const JSON_OPTION: OptionSpec = { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' };

export const REPRO_POSITIONALS: readonly PositionalSpec[] = [
  { name: 'target', description: 'Stages: NAME, NAME@item, a foreach/matrix group NAME, or the path of an out', variadic: true, complete: 'stage' },
];

/** `--executor`: where stages run this time (src/exec/placement.ts); `repro` and `exp run` take it. */
export const EXECUTOR_OPTION = {
  name: 'executor',
  type: 'strings',
  description:
    "Run stages on another executor this time: NAME (every stage it can run) or STAGE=NAME (repeatable); fingerprints and the lock keep pipeline.yaml's",
  placeholder: 'SPEC',
} as const satisfies OptionSpec;

export const REPRO_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'force',
    short: 'f',
    type: 'boolean',
    description: 'Run every selected stage (the targets and their upstream, or as -s/--downstream select) even if unchanged',
  },
  { name: 'single-item', short: 's', type: 'boolean', description: 'Only the targets, not their upstream' },
  { name: 'downstream', type: 'boolean', description: 'The targets and everything downstream of them' },
  { name: 'dry', type: 'boolean', description: 'Show what would run and why; run nothing' },
  { name: 'keep-going', short: 'k', type: 'boolean', description: 'After a failure, keep running the stages that do not depend on it' },
  { name: 'jobs', short: 'j', type: 'number', description: 'Stages to run at once (default: the core count)' },
  { name: 'run-cache', type: 'boolean', description: 'Restore earlier runs from the run-cache (--no-run-cache to always run)', default: true },
  EXECUTOR_OPTION,
  JSON_OPTION,
  {
    name: 'watch',
    short: 'w',
    type: 'boolean',
    description: 'Keep running: rerun the affected stages whenever a dep, pipeline.yaml or params/ changes (Ctrl-C stops)',
  },
  { name: 'debounce', type: 'number', description: 'With --watch: quiet time after the last change before rerunning, in ms', default: 150 },
];

export const STATUS_POSITIONALS: readonly PositionalSpec[] = [
  { name: 'target', description: 'Limit to these stages and their upstream', variadic: true, complete: 'stage' },
];

export const STATUS_OPTIONS: readonly OptionSpec[] = [JSON_OPTION];

export function reproOptions(args: ParsedArgs): ReproOptions {
  const jobs = optNumber(args, 'jobs');
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1))
    throw configError(`-j/--jobs must be a whole number ≥ 1, got ${jobs}`, { subject: '--jobs' });
  const placement = parsePlacement(optStrings(args, 'executor'), Object.keys(executors));
  return {
    ...(isEmptyPlacement(placement) ? {} : { placement }),
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

/** A `repro …` or `status …` command line (argv after `rallycut`), parsed as the CLI parses it. */
export type PlanCommandLine =
  | { readonly command: 'status'; readonly options: ReproOptions; readonly json: boolean }
  | { readonly command: 'repro'; readonly options: ReproOptions; readonly json: boolean; readonly watch: boolean };

/** Parses a `repro`/`status` command line; throws the CLI's config error for bad flags, undefined for other commands. */
export function parsePlanCommandLine(argv: readonly string[]): PlanCommandLine | undefined {
  const [command, ...rest] = argv;
  if (command === 'status') {
    const args = parseArgs(rest, STATUS_OPTIONS, STATUS_POSITIONALS);
    return { command, options: { targets: args.positionals }, json: optBool(args, 'json') };
  }
  if (command === 'repro') {
    const args = parseArgs(rest, REPRO_OPTIONS, REPRO_POSITIONALS);
    return { command, options: reproOptions(args), json: optBool(args, 'json'), watch: optBool(args, 'watch') };
  }
  return undefined;
}
