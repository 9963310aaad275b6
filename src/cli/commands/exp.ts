// `rallycut exp ...`: params-file experiments (run, queue, show, diff, apply, remove).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { HandlerRegistry } from '../../handler-contract.js';
import { configError, failure } from '../../diagnostics.js';
import { writeFileAtomic } from '../../fsutil.js';
import { applyOverrides } from '../../params/params.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { formatMarkdownTable, formatTable } from '../../format/printer.js';
import { expandSweeps, parseSweeps } from '../../exp/overrides.js';
import { readAll, readRecord, recordPath, workspacesDir, type ExpRecord } from '../../exp/records.js';
import { queueExperiments, runExperiment, runQueue } from '../../exp/run.js';
import { loadPipeline } from '../../pipeline/load.js';
import { fromRecord, resolveSnapshot, snapshotAt, trackedFiles, type Snapshot } from '../../exp/snapshot.js';
import { buildExpTable, diffSnapshots, toCsv } from '../../exp/table.js';
import { chooseColumns, headlineLabels, omittedNote, parsePattern } from '../../exp/columns.js';
import { removeWorkspace } from '../../exp/workspace.js';
import { optBool, optNumber, optString, optStrings, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { formatDiff } from './metrics.js';
import { EXECUTOR_OPTION } from '../../exec/command-line.js';
import { executors } from '../../exec/executors.js';
import { checkPlacementStages, isEmptyPlacement, parsePlacement } from '../../exec/placement.js';
import { withBoard } from './repro.js';

function jobsOf(args: ParsedArgs): number {
  const j = optNumber(args, 'jobs') ?? 1;
  if (!Number.isInteger(j) || j < 1) throw configError(`-j/--jobs must be a whole number ≥ 1, got ${j}`, { subject: '--jobs' });
  return j;
}

function summary(recs: readonly ExpRecord[]): string {
  return recs.map((r) => `${r.name}: ${r.status}${r.error ? ` (${r.error})` : ''}`).join('\n') + '\n';
}

async function runAll(root: string, cacheDir: string, jobs: number, io: CommandIO, names?: readonly string[]): Promise<void> {
  const queued = names ?? (await readAll(cacheDir)).filter((r) => r.status === 'queued').map((r) => r.name);
  if (!queued.length) {
    io.err('no queued experiments\n');
    return;
  }
  io.err(`running ${queued.length} experiment(s), ${Math.min(jobs, queued.length)} at a time\n`);
  const recs = await runQueue(root, cacheDir, queued, jobs, io);
  io.out(summary(recs));
  const failed = recs.filter((r) => r.status === 'failed');
  if (failed.length) throw failure(`${failed.length} of ${recs.length} experiment(s) failed: ${failed.map((r) => r.name).join(', ')}`);
}

export function expCommands(registry: HandlerRegistry): CommandSpec[] {
  const ctx = (io: CommandIO): { root: string; cacheDir: string } => {
    const root = requireProjectRoot(io.cwd);
    return { root, cacheDir: cacheDirFor(root, io.env) };
  };
  return [
    {
      path: ['exp', 'run'],
      summary: 'Run the pipeline with -S param overrides in an isolated workspace and record it as an experiment',
      description:
        "Each experiment runs in its own git worktree (or a copy outside git) under the cache folder, sharing the project's cache, so " +
        "unchanged stages are restored rather than rerun. Your checkout is never modified. A comma list (-S 'temporal.lr=1e-4,3e-4') sweeps: " +
        'the cross product of all lists is queued and run -j at a time.',
      options: [
        {
          name: 'set-param',
          short: 'S',
          type: 'strings',
          description: 'Override a param: [params/file.yaml:]key=value (value list for a sweep)',
          placeholder: 'SPEC',
        },
        { name: 'name', short: 'n', type: 'string', description: 'Experiment name (sweeps get NAME-1, NAME-2, …)' },
        { name: 'queue', type: 'boolean', description: 'Only record the experiment(s) as queued; run them later with --run-all' },
        { name: 'run-all', type: 'boolean', description: 'Run every queued experiment' },
        { name: 'jobs', short: 'j', type: 'number', description: 'Experiments to run at once, each in its own process', default: 1 },
        {
          ...EXECUTOR_OPTION,
          description:
            'Run stages on another executor, e.g. modal (every stage it can run) or STAGE=modal (repeatable); params, locks and exp show are as for a local run',
        },
      ],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const jobs = jobsOf(args);
        const parsed = parsePlacement(optStrings(args, 'executor'), Object.keys(executors));
        const placement = isEmptyPlacement(parsed) ? undefined : parsed;
        if (optBool(args, 'run-all')) {
          if (placement)
            throw configError('--executor applies when experiments are queued (exp run --queue --executor …), not to --run-all', { subject: '--executor' });
          return runAll(root, cacheDir, jobs, io);
        }
        const sweeps = await parseSweeps(root, optStrings(args, 'set-param'));
        const sets = expandSweeps(sweeps);
        const name = optString(args, 'name');
        if (name)
          for (const n of sets.length > 1 ? sets.map((_, i) => `${name}-${i + 1}`) : [name]) {
            if (
              await fs.stat(recordPath(cacheDir, n)).then(
                () => true,
                () => false,
              )
            )
              throw configError(`experiment '${n}' already exists`, { subject: n, notes: ["pick another -n, or 'rallycut exp remove' it first"] });
          }
        // A broken pipeline.yaml (or an override that breaks it) fails now, not later when the queue runs.
        for (const set of sets) {
          const pipeline = await loadPipeline(root, registry, { paramOverrides: set, checkDeps: false, cacheDir });
          if (placement) checkPlacementStages(placement, pipeline.stages.keys());
        }
        const recs = await queueExperiments(root, cacheDir, sets, name, placement);
        if (optBool(args, 'queue')) {
          io.out(recs.map((r) => `queued ${r.name}`).join('\n') + '\n');
          return;
        }
        if (recs.length > 1)
          return runAll(
            root,
            cacheDir,
            jobs,
            io,
            recs.map((r) => r.name),
          );
        const rec = await withBoard(io, (live) => runExperiment(root, cacheDir, registry, recs[0]!.name, live));
        io.out(summary([rec]));
        if (rec.status === 'failed') throw failure(`experiment '${rec.name}' failed: ${rec.error ?? 'unknown error'}`, { subject: rec.name });
      },
    },
    {
      path: ['exp', 'queue', 'start'],
      summary: 'Run the queued experiments, -j at a time (same as exp run --run-all)',
      options: [{ name: 'jobs', short: 'j', type: 'number', description: 'Experiments to run at once, each in its own process', default: 1 }],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        await runAll(root, cacheDir, jobsOf(args), io);
      },
    },
    {
      path: ['exp', 'exec'],
      summary: 'Run one recorded experiment in this process (used by the queue runner)',
      positionals: [{ name: 'name', description: 'Experiment name', required: true, complete: 'experiment' }],
      options: [],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const rec = await runExperiment(root, cacheDir, registry, args.positionals[0]!, io);
        if (rec.status === 'failed') throw failure(`experiment '${rec.name}' failed: ${rec.error ?? 'unknown error'}`, { subject: rec.name });
      },
    },
    {
      path: ['exp', 'show'],
      summary: 'One row per experiment (plus the workspace and HEAD): the params that vary and the headline metrics',
      description:
        'By default the table shows the params whose values differ between rows and the metrics that pipeline.yaml names as ' +
        'headline (`headline:` on a metrics file; every metric when none is named), and in a terminal it leaves out the columns ' +
        'that do not fit, saying which. --json and --csv hold every metric; --drop, --keep and --only-changed apply to them too.',
      options: [
        { name: 'json', type: 'boolean', description: 'Print JSON (every metric)' },
        { name: 'csv', type: 'boolean', description: 'Print CSV (every metric)' },
        { name: 'md', type: 'boolean', description: 'Print a Markdown table (not fitted to the terminal)' },
        { name: 'all', short: 'a', type: 'boolean', description: 'Every column: all metrics and params, changed or not' },
        { name: 'keep', type: 'string', description: 'Also show the columns whose name or label matches REGEX (even if --drop matches)', placeholder: 'REGEX' },
        { name: 'drop', type: 'string', description: 'Leave out the columns whose name or label matches REGEX', placeholder: 'REGEX' },
        { name: 'only-changed', type: 'boolean', description: 'Only params and metrics whose values differ between rows' },
        {
          name: 'sort-by',
          type: 'string',
          description: 'Sort experiments by a metric (file:key, key or headline label), best (largest) first',
          placeholder: 'METRIC',
        },
        { name: 'ascending', type: 'boolean', description: 'With --sort-by: smallest first (for losses and errors)' },
      ],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const [files, recs] = await Promise.all([trackedFiles(root, registry), readAll(cacheDir)]);
        const [ws, head] = await Promise.all([snapshotAt(root, files), snapshotAt(root, files, 'HEAD')]);
        const snaps: Snapshot[] = [ws!, ...(head ? [head] : []), ...recs.map(fromRecord)];
        const sortBy = optString(args, 'sort-by');
        const usage = (message: string): Error => configError(message);
        const keep = parsePattern('keep', optString(args, 'keep'), usage);
        const drop = parsePattern('drop', optString(args, 'drop'), usage);
        const formats = ['json', 'csv', 'md'].filter((f) => optBool(args, f));
        if (formats.length > 1) throw configError(`--${formats.join(' and --')} cannot be combined; pick one output format`);
        const table = buildExpTable(snaps, { ...(sortBy ? { sortBy } : {}), ascending: optBool(args, 'ascending'), labels: headlineLabels(files.headline) });
        const machine = optBool(args, 'json') || optBool(args, 'csv');
        const choice = {
          all: optBool(args, 'all'),
          onlyChanged: optBool(args, 'only-changed'),
          headline: files.headline,
          ...(keep ? { keep } : {}),
          ...(drop ? { drop } : {}),
        };
        if (machine) {
          const shown = chooseColumns(table, { ...choice, everything: true });
          if (optBool(args, 'csv')) return io.out(toCsv(shown.ids, shown.rows));
          const rows = shown.rows.map((r) => Object.fromEntries(shown.ids.map((h, i) => [h, r[i] ?? null])));
          const kinds = new Map(table.columns.map((c) => [c.id, c.kind]));
          const params = shown.ids.filter((id) => kinds.get(id) === 'param');
          const metrics = shown.ids.filter((id) => kinds.get(id) === 'metric');
          return io.out(JSON.stringify({ params, metrics, rows }, null, 2) + '\n');
        }
        const md = optBool(args, 'md');
        const width = md ? undefined : io.columns;
        const shown = chooseColumns(table, { ...choice, ...(width ? { width } : {}) });
        io.out(md ? formatMarkdownTable(shown.headers, shown.rows) : formatTable(shown.headers, shown.rows));
        io.err(omittedNote(shown, width));
      },
    },
    {
      path: ['exp', 'diff'],
      summary: 'Params and metrics that differ between two experiments (or workspace / a git revision)',
      positionals: [
        { name: 'a', description: 'Experiment, "workspace" or a git revision', required: true, complete: 'experiment' },
        { name: 'b', description: 'Experiment, "workspace" or a git revision (default: workspace)', complete: 'experiment' },
      ],
      options: [{ name: 'json', type: 'boolean', description: 'Print JSON' }],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const [an, bn = 'workspace'] = args.positionals;
        const a = await resolveSnapshot(root, cacheDir, registry, an!);
        const b = await resolveSnapshot(root, cacheDir, registry, bn);
        const params = diffSnapshots(a, b, 'params');
        const metrics = diffSnapshots(a, b, 'metrics');
        if (optBool(args, 'json')) io.out(JSON.stringify({ a: an, b: bn, params, metrics }, null, 2) + '\n');
        else io.out(`Params\n${formatDiff(params, an!, bn)}\nMetrics\n${formatDiff(metrics, an!, bn)}`);
      },
    },
    {
      path: ['exp', 'apply'],
      summary: "Write an experiment's param overrides into the params files (comments and layout kept)",
      positionals: [{ name: 'name', description: 'Experiment name', required: true, complete: 'experiment' }],
      options: [],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const rec = await readRecord(cacheDir, args.positionals[0]!);
        const texts = await applyOverrides(root, rec.overrides);
        for (const t of texts) await writeFileAtomic(join(root, t.file), t.text);
        io.out(`applied ${rec.name}: ${rec.overrides.map((o) => `${o.file}:${o.key}=${JSON.stringify(o.value)}`).join(', ') || 'no overrides'}\n`);
        io.err("run 'rallycut repro' to bring the outputs in line (stages already run by the experiment come from the cache)\n");
      },
    },
    {
      path: ['exp', 'remove'],
      summary: 'Delete experiments: their records and workspaces',
      positionals: [{ name: 'name', description: 'Experiment names', required: true, variadic: true, complete: 'experiment' }],
      options: [],
      async run(args, io) {
        const { root, cacheDir } = ctx(io);
        const recs = await Promise.all(args.positionals.map((n) => readRecord(cacheDir, n)));
        for (const rec of recs) {
          await removeWorkspace(root, rec.workspace ?? join(workspacesDir(cacheDir), rec.name));
          await fs.rm(recordPath(cacheDir, rec.name), { force: true });
          io.out(`removed ${rec.name}\n`);
        }
      },
    },
  ];
}
