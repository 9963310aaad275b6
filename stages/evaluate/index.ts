// `evaluate`: scores rally predictions against ground truth (seed-compatible greedy matching plus optimal
// matching, segmental F1 and edit score), as a pipeline handler and as `rallycut evaluate`.
import { resolve } from 'node:path';
import {
  cacheDirFor,
  configError,
  createProgress,
  defineParamsHandler,
  findProjectRoot,
  optBool,
  optStrings,
  paramOptions,
  paramsFromArgs,
  stableJson,
  type CommandSpec,
  type ParamValues,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { parseSetPairs } from '../lib/heuristics/index.js';
import { shownPath } from '../lib/jsonio/index.js';
import { formatTotalsTable, formatVideoTable, type EvaluateReport } from './report.js';
import { runEvaluation, type EvaluateOptions } from './run.js';
import { resolveDataset, resolveHeuristics, resolveIou, readProjectParams } from './settings.js';
import { defaultPaths, type PredictionSource } from './sources.js';
import { evaluationReports } from './report-source.js';

export const DEFAULT_OUTPUT = 'metrics/evaluate.json';
export const DEFAULT_PLOTS = 'plots/timelines';

const PARAMS = {
  source: { type: 'enum', values: ['heuristics', 'temporal'], default: 'heuristics', pipelineOnly: true, description: 'what to score' },
  model: { type: 'string', description: 'heuristics preset (indoor|beach); default from params model.variant', placeholder: 'NAME' },
  iou: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'IoU threshold for matching; default from params evaluate.iou (0.5)' },
  dataset: { type: 'string', description: 'dataset name under training_datasets/; default from params dataset.name', placeholder: 'NAME', complete: 'dataset' },
  temporal: {
    type: 'string',
    description: 'score a trained temporal model folder (the pipeline stage: with source: temporal, default weights/temporal)',
    placeholder: 'DIR',
  },
  heuristics: { type: 'boolean', default: false, cliOnly: true, description: 'score the heuristics (the default)' },
  predictions: { type: 'string', cliOnly: true, description: 'score a ground_truth.json-format file of predictions', placeholder: 'FILE' },
  features: { type: 'string', description: 'feature index to read (default features/index.json in the project)', placeholder: 'FILE' },
  ground_truth: {
    type: 'string',
    description: 'ground_truth.json to score against (default training_datasets/DATASET/ground_truth.json)',
    placeholder: 'FILE',
  },
  output: { type: 'string', description: `write the JSON report here (the pipeline stage: default ${DEFAULT_OUTPUT})`, placeholder: 'FILE' },
  plots: { type: 'string', description: `write per-video timeline SVGs into DIR (the pipeline stage: default ${DEFAULT_PLOTS})`, placeholder: 'DIR' },
} as const;

interface Choice {
  source: 'heuristics' | 'temporal' | 'file';
  model?: string;
  setPairs?: Record<string, number>;
  temporal?: string;
  predictions?: string;
  features?: string;
  groundTruth?: string;
  dataset?: string;
  iou?: number;
}

/**
 * The seed has two post-processings of window probabilities: its cutter's and the one its own `evaluate`
 * command runs (min_gap 5 s even for beach). Ours is the cutter's, what users get from `cut`; reports say so,
 * so figures are not compared with the seed's evaluate ones unawares (docs/fidelity.md).
 */
export const HEURISTICS_VARIANT = "the seed's cutter (VideoCutter._get_segments_from_results), not its evaluate command's apply_post_processing_custom";

/** Builds the source and report config from the user's choice and the tracked params. */
function plan(root: string, cwd: string, values: ParamValues, c: Choice): Pick<EvaluateOptions, 'source' | 'config' | 'groundTruth' | 'iou'> {
  const dataset = resolveDataset(values, c.dataset);
  const paths = defaultPaths(root, dataset);
  const gtPath = c.groundTruth ? resolve(cwd, c.groundTruth) : paths.groundTruth;
  const groundTruth = { path: gtPath, shown: shownPath(cwd, gtPath) };
  const iou = resolveIou(values, c.iou);
  const index = c.features ? resolve(cwd, c.features) : paths.index;
  let source: PredictionSource;
  let config: Record<string, unknown>;
  if (c.source === 'file') {
    const path = resolve(cwd, c.predictions!);
    source = { kind: 'file', path, shown: shownPath(cwd, path) };
    config = { predictions: source.shown, ground_truth: groundTruth.shown };
  } else if (c.source === 'temporal') {
    const modelDir = c.temporal ? resolve(cwd, c.temporal) : paths.temporal;
    source = { kind: 'temporal', index, modelDir };
    config = { temporal: shownPath(cwd, modelDir), dataset };
  } else {
    const h = resolveHeuristics(values, c.model, c.setPairs ?? {});
    source = { kind: 'heuristics', index, params: h.params };
    config = { model: h.model, heuristics: h.params, post_processing: HEURISTICS_VARIANT, dataset };
  }
  return { source, config, groundTruth, iou };
}

const handler = defineParamsHandler({
  name: 'evaluate',
  summary: 'Score heuristics or temporal-model rallies against the ground truth; write metrics and timelines',
  params: PARAMS,
  async run(ctx, p) {
    const choice: Choice = { source: p.source };
    for (const k of ['model', 'temporal', 'features', 'dataset', 'iou'] as const)
      if (p[k] !== undefined) (choice as unknown as Record<string, unknown>)[k] = p[k];
    if (p.ground_truth !== undefined) choice.groundTruth = p.ground_truth;
    const report = await runEvaluation({
      ...plan(ctx.root, ctx.root, ctx.params, choice),
      cacheDir: ctx.cacheDir,
      output: resolve(ctx.root, p.output ?? DEFAULT_OUTPUT),
      plotsDir: resolve(ctx.root, p.plots ?? DEFAULT_PLOTS),
      progress: (label, total) => ctx.progress(label, total, 'videos'),
      log: (m) => ctx.log(m),
    });
    const t = report.totals;
    const variant = report.source === 'heuristics' ? ` (post-processing: ${HEURISTICS_VARIANT})` : '';
    ctx.log(`${report.source}: F1 ${t.greedy.f1.toFixed(3)} (optimal ${t.optimal.f1.toFixed(3)}) over ${t.videos} videos, ${t.truth_count} rallies${variant}`);
  },
});

function formatReport(report: EvaluateReport): string {
  const variant = report.config.post_processing ? `post-processing: ${String(report.config.post_processing)}\n` : '';
  const header = `Evaluation (${report.source}${report.config.model ? `, ${String(report.config.model)}` : ''}, IoU ≥ ${report.iou})\n${variant}\n`;
  return `${header}${formatVideoTable(report)}\n${formatTotalsTable(report)}`;
}

const command: CommandSpec = {
  path: ['evaluate'],
  summary: 'Score rally predictions against ground truth (greedy and optimal matching, segmental F1, edit score)',
  description: [
    'Sources: the heuristics over features/index.json (default), a temporal model (--temporal DIR), or any',
    'ground_truth.json-format file (--predictions P.json). Truth: training_datasets/<dataset>/ground_truth.json or',
    '--ground-truth G.json. Defaults for dataset, model, iou and heuristics come from params/default.yaml.',
    'Writes the JSON report only with --output and timelines only with --plots (the pipeline stage writes both).',
  ].join('\n'),
  options: [
    ...paramOptions(PARAMS),
    { name: 'set', type: 'strings', description: 'override one heuristics parameter (repeatable)', placeholder: 'KEY=VALUE' },
    JSON_OPTION,
  ],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    if (p.predictions && (p.temporal || p.heuristics)) {
      throw configError('--predictions cannot be combined with --temporal or --heuristics', { subject: '--predictions' });
    }
    if (p.temporal && p.heuristics) throw configError('choose one of --temporal and --heuristics', { subject: '--temporal' });
    const root = findProjectRoot(io.cwd);
    const base = root ?? io.cwd;
    if (!root && !(p.predictions && p.ground_truth)) {
      throw configError('not inside a project (no pipeline.yaml found)', { notes: ['use --predictions P.json --ground-truth G.json to score files anywhere'] });
    }
    const values = await readProjectParams(root);
    const choice: Choice = { source: p.predictions ? 'file' : p.temporal ? 'temporal' : 'heuristics', setPairs: parseSetPairs(optStrings(args, 'set')) };
    if (p.model !== undefined) choice.model = p.model;
    if (p.temporal !== undefined) choice.temporal = p.temporal;
    if (p.predictions !== undefined) choice.predictions = p.predictions;
    if (p.ground_truth !== undefined) choice.groundTruth = p.ground_truth;
    if (p.dataset !== undefined) choice.dataset = p.dataset;
    if (p.features !== undefined) choice.features = resolve(io.cwd, p.features);
    if (p.iou !== undefined) choice.iou = p.iou;
    const report = await runEvaluation({
      ...plan(base, io.cwd, values, choice),
      cacheDir: cacheDirFor(base, io.env),
      ...(p.output ? { output: resolve(io.cwd, p.output) } : {}),
      ...(p.plots ? { plotsDir: resolve(io.cwd, p.plots) } : {}),
      progress: (label, total) =>
        createProgress(label, total, 'videos', { write: (t) => io.err(t), isTTY: Boolean(io.errTTY), columns: io.errColumns, env: io.env }),
      log: (m) => io.err(`evaluate: ${m}\n`),
    });
    io.out(optBool(args, 'json') ? stableJson({ ok: true, ...report }) : formatReport(report));
  },
};

const module: StageModule = { handlers: [handler], commands: [command], reportSources: [evaluationReports] };
export default module;
