// Stage `temporal` (pipeline handler) and `rallycut train temporal` (CLI): trains the learned
// post-processor (v1 LearnedSmoothing, v2 ConvCRF, v3 BiLSTM-CRF) on extracted window features.
import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  cacheDirFor,
  configError,
  createProgress,
  defineParamsHandler,
  findProjectRoot,
  formatTable,
  optBool,
  paramOptions,
  paramsFromArgs,
  stableJson,
  type CommandSpec,
  type ParamsOf,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { featurePaths, readFeatureIndex } from '../lib/features/index.js';
import { MODEL_VERSIONS } from './models.js';
import { runTemporal, type TemporalOptions, type TemporalReport } from './run.js';
import { trainingCurves } from './report-source.js';

const PARAMS = {
  model: { type: 'enum', values: MODEL_VERSIONS, default: 'v2', description: 'architecture', placeholder: 'V' },
  epochs: { type: 'integer', minimum: 1, default: 50, description: 'maximum epochs' },
  lr: { type: 'number', exclusiveMinimum: 0, default: 1e-4, description: 'AdamW learning rate (cosine schedule)' },
  weight_decay: { type: 'number', minimum: 0, default: 0.01, description: 'AdamW weight decay' },
  patience: { type: 'integer', minimum: 1, default: 10, description: 'early-stopping patience in epochs' },
  hidden_dim: { type: 'integer', minimum: 2, default: 128, description: 'projection width of v2/v3' },
  dropout: {
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
    default: 0.4,
    description: 'dropout (v1: on the smoothed logits; v2/v3: after the projection and between layers)',
  },
  seed: { type: 'integer', default: 42, description: 'seed for init, split, augmentation and dropout' },
  cv: { type: 'enum', values: ['none', 'loo'], default: 'none', description: "cross-validation: 'loo' (leave one video out) before the final fit" },
  features: { type: 'string', default: 'features/index.json', description: 'feature index', placeholder: 'PATH' },
  ground_truth: {
    type: 'string',
    description: "ground_truth.json (default: the dataset's, or the only training_datasets/*/ground_truth.json)",
    placeholder: 'PATH',
  },
  dataset: { type: 'string', description: 'dataset name under training_datasets/', placeholder: 'NAME', complete: 'dataset' },
  out: { type: 'string', default: 'weights/temporal', flag: 'output', was: ['out'], description: 'checkpoint folder', placeholder: 'DIR' },
  metrics: { type: 'string', default: 'metrics/temporal.json', description: 'metrics file', placeholder: 'PATH' },
  iou: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'IoU threshold of the validation segment F1' },
  jobs: { type: 'integer', minimum: 1, default: 2, short: 'j', cliOnly: true, description: 'worker threads for --cv folds' },
} as const;

export type TemporalParams = ParamsOf<typeof PARAMS>;

/** With no explicit ground truth: the dataset's, or the only one under training_datasets/. */
async function groundTruthPath(root: string, p: TemporalParams): Promise<string> {
  if (p.ground_truth) return isAbsolute(p.ground_truth) ? p.ground_truth : resolve(root, p.ground_truth);
  if (p.dataset) return join(root, 'training_datasets', p.dataset, 'ground_truth.json');
  const dir = join(root, 'training_datasets');
  const names = (await fs.readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const found: string[] = [];
  for (const n of names)
    if (
      await fs.stat(join(dir, n, 'ground_truth.json')).then(
        () => true,
        () => false,
      )
    )
      found.push(n);
  if (found.length === 1) return join(dir, found[0]!, 'ground_truth.json');
  throw configError(
    found.length
      ? `several datasets have ground truth (${found.join(', ')}): pick one with --dataset or --ground-truth`
      : `no training_datasets/*/ground_truth.json: pass --ground-truth PATH`,
    { subject: 'temporal' },
  );
}

export async function resolveOptions(root: string, p: TemporalParams): Promise<TemporalOptions> {
  const abs = (path: string): string => (isAbsolute(path) ? path : resolve(root, path));
  return {
    version: p.model,
    epochs: p.epochs,
    lr: p.lr,
    weightDecay: p.weight_decay,
    patience: p.patience,
    hiddenDim: p.hidden_dim,
    dropout: p.dropout,
    seed: p.seed,
    cv: p.cv,
    featuresPath: abs(p.features),
    groundTruthPath: await groundTruthPath(root, p),
    outDir: abs(p.out),
    metricsPath: abs(p.metrics),
    iou: p.iou,
  };
}

export function formatReport(r: TemporalReport): string {
  const rows: string[][] = [
    ['model', `${r.model} ${r.name}`],
    ['input', `${r.feature_source} (D=${r.feature_dim})`],
    ['videos', `${r.videos.train.length} train / ${r.videos.val.length} val`],
    ['best epoch', `${r.best_epoch} of ${r.epochs.length}`],
  ];
  if (r.validation) {
    rows.push(['val window F1', r.validation.windows.f1.toFixed(3)]);
    rows.push(['val segment F1', `${r.validation.segments.greedy.f1.toFixed(3)} (greedy, IoU matched)`]);
  }
  if (r.cv) {
    rows.push(['LOO window F1', `${r.cv.pooled.windows.f1.toFixed(3)} pooled over ${r.cv.folds.length} folds`]);
    rows.push(['LOO segment F1', r.cv.pooled.segments.greedy.f1.toFixed(3)]);
  }
  rows.push(['checkpoint', r.checkpoint]);
  let text = formatTable(['', ''], rows);
  if (r.cv)
    text +=
      '\n' +
      formatTable(
        ['fold', 'video', 'window F1', 'segment F1', 'best epoch'],
        r.cv.folds.map((f) => [String(f.fold + 1), f.video_id, f.windows.f1.toFixed(3), f.segment_f1.toFixed(3), String(f.best_epoch)]),
      );
  return text;
}

const handler = defineParamsHandler({
  name: 'temporal',
  summary: 'Train the temporal rally model (v1/v2/v3) on extracted window features',
  params: PARAMS,
  // On a remote executor: the feature arrays the index names travel with it (they live in the cache's store).
  async remoteIO(ctx, p) {
    const index = await readFeatureIndex(resolve(ctx.root, p.features));
    return { inputs: index.videos.flatMap((v) => Object.values(featurePaths(ctx.cacheDir, v.key))), stores: [] };
  },
  async run(ctx, p) {
    const opts = await resolveOptions(ctx.root, p);
    await runTemporal({ cacheDir: ctx.cacheDir, jobs: Math.max(1, ctx.jobs), log: (l) => ctx.log(l), progress: (l, t, u) => ctx.progress(l, t, u) }, opts);
  },
});

const command: CommandSpec = {
  path: ['train', 'temporal'],
  summary: 'Train the temporal rally model on extracted features',
  description:
    'v1 LearnedSmoothing (logistic + learned smoothing), v2 ConvCRF, v3 BiLSTM-CRF. Writes OUTPUT/model.json + OUTPUT/weights.f32 (+ model.onnx) and the metrics file.',
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const p = paramsFromArgs(PARAMS, args);
    const opts = await resolveOptions(root, p);
    const cacheDir = cacheDirFor(root, io.env);
    const report = await runTemporal({ cacheDir, jobs: p.jobs, log: (l) => io.err(l + '\n'), progress: (l, t, u) => createProgress(l, t, u) }, opts);
    io.out(optBool(args, 'json') ? stableJson({ ok: true, ...report }) : formatReport(report));
  },
};

const module: StageModule = { handlers: [handler], commands: [command], reportSources: [trainingCurves] };
export default module;
