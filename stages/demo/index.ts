// `rallycut demo init` and `rallycut demo run`: a synthetic labelled dataset, so that a fresh clone can run
// the whole pipeline without real footage.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import {
  configError,
  failure,
  installedPath,
  optBool,
  optNumber,
  optString,
  type CommandIO,
  type CommandSpec,
  type OptionSpec,
  type ParsedArgs,
  type StageModule,
} from '../../src/handler.js';
import { contextFromIO, type DatasetContext } from '../lib/dataset/context.js';
import { contentCachePath } from '../lib/dataset/layout.js';
import { generateDemo, isUpToDate, type DemoDataset } from './generate.js';
import { loadDemoLabels, type LoadSummary } from './load.js';
import { formatTotalsTable, formatVideoTable, type EvaluateReport } from '../evaluate/report.js';
import { DEFAULT_CONFIG, type DemoConfig } from './plan.js';

const initOptions: OptionSpec[] = [
  { name: 'videos', type: 'number', description: 'How many videos', default: DEFAULT_CONFIG.videos },
  { name: 'seed', type: 'number', description: 'Seed: the same seed gives the same videos and labels', default: DEFAULT_CONFIG.seed },
  { name: 'min-seconds', type: 'number', description: 'Shortest video length', default: DEFAULT_CONFIG.minSeconds },
  { name: 'max-seconds', type: 'number', description: 'Longest video length', default: DEFAULT_CONFIG.maxSeconds },
  { name: 'dir', type: 'string', description: 'Where the videos and demo.json go (default: <cache>/demo)', placeholder: 'DIR' },
  { name: 'jobs', short: 'j', type: 'number', description: 'Videos encoded at once (default: the core count)' },
  { name: 'force', short: 'f', type: 'boolean', description: 'Generate again even if the same seed was generated already' },
  { name: 'json', type: 'boolean', description: 'Print the result as JSON on stdout' },
];

function wholeNumber(args: ParsedArgs, name: string, min: number): number | undefined {
  const v = optNumber(args, name);
  if (v !== undefined && (!Number.isInteger(v) || v < min)) throw configError(`--${name} must be a whole number ≥ ${min}, got ${v}`, { subject: `--${name}` });
  return v;
}

function configFrom(args: ParsedArgs): DemoConfig {
  const minSeconds = optNumber(args, 'min-seconds') ?? DEFAULT_CONFIG.minSeconds;
  const maxSeconds = optNumber(args, 'max-seconds') ?? DEFAULT_CONFIG.maxSeconds;
  if (!(minSeconds >= 5) || !(maxSeconds >= minSeconds)) {
    throw configError(`video lengths need 5 ≤ --min-seconds ≤ --max-seconds, got ${minSeconds} and ${maxSeconds}`, { subject: '--min-seconds' });
  }
  return {
    ...DEFAULT_CONFIG,
    seed: wholeNumber(args, 'seed', 0) ?? DEFAULT_CONFIG.seed,
    videos: wholeNumber(args, 'videos', 1) ?? DEFAULT_CONFIG.videos,
    minSeconds,
    maxSeconds,
  };
}

export interface InitResult {
  dir: string;
  generated: boolean;
  seconds: number;
  dataset: DemoDataset;
  labels: LoadSummary;
}

/**
 * Generates (unless already there for this config and ffmpeg), links each video into the content cache
 * (<cache>/videos/<content_hash>, where export-dataset looks), and loads the labels into the database.
 */
export async function demoInit(ctx: DatasetContext, config: DemoConfig, opts: { dir?: string; jobs?: number; force?: boolean } = {}): Promise<InitResult> {
  const dir = opts.dir ? resolve(ctx.root, opts.dir) : join(ctx.cacheDir, 'demo');
  const started = Date.now();
  let dataset = opts.force ? undefined : await isUpToDate(dir, config);
  const generated = !dataset;
  if (!dataset) {
    const progress = ctx.progress('demo init', config.videos, 'videos');
    dataset = await generateDemo({
      dir,
      config,
      jobs: opts.jobs ?? availableParallelism(),
      cacheDir: ctx.cacheDir,
      log: ctx.log,
      progress,
      signal: ctx.signal,
    });
    progress.done();
  }
  for (const v of dataset.videos) {
    const cached = contentCachePath(ctx.cacheDir, v.content_hash);
    if (existsSync(cached)) continue;
    await fs.mkdir(dirname(cached), { recursive: true });
    await fs.link(join(dir, v.path), cached).catch(async () => fs.copyFile(join(dir, v.path), cached));
  }
  const labels = await loadDemoLabels(dataset, { cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log });
  return { dir, generated, seconds: (Date.now() - started) / 1000, dataset, labels };
}

function describe(result: InitResult, root: string): string {
  const rallies = result.dataset.videos.reduce((n, v) => n + v.rallies.length, 0);
  const minutes = result.dataset.videos.reduce((n, v) => n + v.duration_ms, 0) / 60_000;
  const lines = [
    `${result.generated ? 'Generated' : 'Already generated'} ${result.dataset.videos.length} demo videos (${minutes.toFixed(1)} min, ${rallies} rallies, seed ${result.dataset.config.seed}) in ${relative(root, result.dir) || '.'}${result.generated ? ` in ${result.seconds.toFixed(1)} s` : ''}`,
    ...result.dataset.videos.map(
      (v) =>
        `  ${v.filename.padEnd(14)} ${v.width}x${v.height} ${v.fps} fps${v.rotation ? ` rotated ${v.rotation}°` : ''}${v.vfr ? ' VFR' : ''}  ${(v.duration_ms / 1000).toFixed(1)} s  ${v.rallies.length} rallies`,
    ),
    `Labels in ${result.labels.database}: ${result.labels.inserted_videos} videos added, ${result.labels.reused_videos} already there, ${result.labels.new_rallies} rallies added` +
      (result.labels.removed_videos.length ? `; ${result.labels.removed_videos.length} videos of an earlier demo removed` : ''),
  ];
  return lines.join('\n') + '\n';
}

const initCommand: CommandSpec = {
  path: ['demo', 'init'],
  summary: 'Generate the synthetic demo dataset and load its labels into the database',
  description:
    'Draws rally/gap timelines from the real distributions with a seeded PRNG and renders beach-volleyball-like videos ' +
    'with ffmpeg (mixed sizes, frame rates, containers, one rotated, one variable-frame-rate). The videos are linked into ' +
    'the content cache, where export-dataset finds them, and the labels go into the labels database (DATABASE_URL, else ' +
    'the embedded one in <cache>/db) as DETECTED videos with ground-truth rallies. Nothing is regenerated for a seed that ' +
    'is already there.',
  options: initOptions,
  async run(args, io) {
    const ctx = contextFromIO(io);
    const jobs = wholeNumber(args, 'jobs', 1);
    const dir = optString(args, 'dir');
    const result = await demoInit(ctx, configFrom(args), { ...(dir ? { dir } : {}), ...(jobs ? { jobs } : {}), force: optBool(args, 'force') });
    if (optBool(args, 'json')) io.out(JSON.stringify({ ok: true, ...result }, null, 2) + '\n');
    else io.out(describe(result, ctx.root));
  },
};

const DEMO_EPOCH = String(Date.UTC(2026, 0, 1) / 1000);

function runRepro(io: CommandIO, root: string, extra: readonly string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    // A fixed SOURCE_DATE_EPOCH makes the demo's manifest (and so pipeline.lock) byte-identical run to run.
    const env = { SOURCE_DATE_EPOCH: DEMO_EPOCH, ...io.env };
    // A terminal's stderr is handed down, so repro draws its live board there (a pipe would get line-per-step bars).
    const stderr = io.errTTY ? 'inherit' : 'pipe';
    const child = spawn(process.execPath, [installedPath('bin', 'rallycut'), 'repro', ...extra], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', stderr],
      signal: io.signal,
    });
    child.stdout?.on('data', (b: Buffer) => io.out(b.toString()));
    child.stderr?.on('data', (b: Buffer) => io.err(b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise(code ?? 1));
  });
}

const runCommand: CommandSpec = {
  path: ['demo', 'run'],
  summary: 'demo init, then rallycut repro: the whole pipeline on the demo dataset',
  options: initOptions.filter((o) => o.name !== 'json'),
  async run(args, io) {
    const ctx = contextFromIO(io);
    if (!existsSync(join(ctx.root, 'pipeline.yaml'))) throw configError(`demo run: no pipeline.yaml in ${ctx.root}; run it from the project folder`);
    const jobs = wholeNumber(args, 'jobs', 1);
    const dir = optString(args, 'dir');
    const result = await demoInit(ctx, configFrom(args), { ...(dir ? { dir } : {}), ...(jobs ? { jobs } : {}), force: optBool(args, 'force') });
    io.err(describe(result, ctx.root));
    const code = await runRepro(io, ctx.root, jobs ? ['-j', String(jobs)] : []);
    if (code !== 0) throw failure(`demo run: rallycut repro failed (exit ${code}); see its messages above`);
    io.out(await evaluationSummary(ctx.root));
  },
};

/** The end of `demo run`: the evaluation tables of the pipeline's evaluate stages, temporal model first. */
async function evaluationSummary(root: string): Promise<string> {
  const parts: string[] = [];
  for (const [file, title] of [
    ['metrics/evaluate.json', 'Evaluation: temporal model'],
    ['metrics/evaluate-heuristics.json', 'Evaluation: heuristics only (baseline to beat)'],
  ] as const) {
    let report: EvaluateReport;
    try {
      report = JSON.parse(await fs.readFile(join(root, file), 'utf8')) as EvaluateReport;
    } catch {
      continue; // a pipeline without that stage
    }
    parts.push(`\n${title} (${file})\n`);
    if (file === 'metrics/evaluate.json') parts.push(formatVideoTable(report), '\n');
    parts.push(formatTotalsTable(report));
  }
  return parts.join('');
}

const module: StageModule = { commands: [initCommand, runCommand] };
export default module;
