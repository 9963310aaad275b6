// Stage `temporal` (pipeline handler) and `rallycut train temporal` (CLI): trains the learned
// post-processor (v1 LearnedSmoothing, v2 ConvCRF, v3 BiLSTM-CRF) on extracted window features.
import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import {
  cacheDirFor,
  configError,
  createProgress,
  defineHandler,
  findProjectRoot,
  formatTable,
  optBool,
  optNumber,
  optString,
  type CommandSpec,
  type StageModule,
} from '../../src/handler.js';
import { featurePaths, readFeatureIndex } from '../lib/features/index.js';
import { MODEL_VERSIONS, type ModelVersion } from './models.js';
import { runTemporal, type TemporalOptions, type TemporalReport } from './run.js';
import { trainingCurves } from './report-source.js';

export interface TemporalParams {
  model?: ModelVersion;
  epochs?: number;
  lr?: number;
  weight_decay?: number;
  patience?: number;
  hidden_dim?: number;
  dropout?: number;
  seed?: number;
  cv?: 'none' | 'loo';
  features?: string;
  ground_truth?: string;
  dataset?: string;
  out?: string;
  metrics?: string;
  iou?: number;
}

export const DEFAULTS = { model: 'v2', epochs: 50, lr: 1e-4, weight_decay: 0.01, patience: 10, hidden_dim: 128, dropout: 0.4, seed: 42, cv: 'none', features: 'features/index.json', out: 'weights/temporal', metrics: 'metrics/temporal.json', iou: 0.5 } as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model: { type: 'string', enum: [...MODEL_VERSIONS] },
    epochs: { type: 'integer', minimum: 1 },
    lr: { type: 'number', exclusiveMinimum: 0 },
    weight_decay: { type: 'number', minimum: 0 },
    patience: { type: 'integer', minimum: 1 },
    hidden_dim: { type: 'integer', minimum: 2 },
    dropout: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    seed: { type: 'integer' },
    cv: { type: 'string', enum: ['none', 'loo'] },
    features: { type: 'string' },
    ground_truth: { type: 'string' },
    dataset: { type: 'string' },
    out: { type: 'string' },
    metrics: { type: 'string' },
    iou: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  },
} as const;

/** With no explicit ground truth: the dataset's, or the only one under training_datasets/. */
async function groundTruthPath(root: string, p: TemporalParams): Promise<string> {
  if (p.ground_truth) return isAbsolute(p.ground_truth) ? p.ground_truth : resolve(root, p.ground_truth);
  if (p.dataset) return join(root, 'training_datasets', p.dataset, 'ground_truth.json');
  const dir = join(root, 'training_datasets');
  const names = (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const found: string[] = [];
  for (const n of names) if (await fs.stat(join(dir, n, 'ground_truth.json')).then(() => true, () => false)) found.push(n);
  if (found.length === 1) return join(dir, found[0]!, 'ground_truth.json');
  throw configError(found.length ? `several datasets have ground truth (${found.join(', ')}): pick one with --dataset or --ground-truth` : `no training_datasets/*/ground_truth.json: pass --ground-truth PATH`, { subject: 'temporal' });
}

export async function resolveOptions(root: string, p: TemporalParams): Promise<TemporalOptions> {
  const abs = (path: string): string => (isAbsolute(path) ? path : resolve(root, path));
  const version = p.model ?? DEFAULTS.model;
  if (!MODEL_VERSIONS.includes(version)) throw configError(`unknown temporal model '${String(version)}' (expected ${MODEL_VERSIONS.join('|')})`, { subject: '--model' });
  const cv = p.cv ?? DEFAULTS.cv;
  if (cv !== 'none' && cv !== 'loo') throw configError(`--cv expects 'loo', got '${String(cv)}'`, { subject: '--cv' });
  return {
    version,
    epochs: p.epochs ?? DEFAULTS.epochs,
    lr: p.lr ?? DEFAULTS.lr,
    weightDecay: p.weight_decay ?? DEFAULTS.weight_decay,
    patience: p.patience ?? DEFAULTS.patience,
    hiddenDim: p.hidden_dim ?? DEFAULTS.hidden_dim,
    dropout: p.dropout ?? DEFAULTS.dropout,
    seed: p.seed ?? DEFAULTS.seed,
    cv,
    featuresPath: abs(p.features ?? DEFAULTS.features),
    groundTruthPath: await groundTruthPath(root, p),
    outDir: abs(p.out ?? DEFAULTS.out),
    metricsPath: abs(p.metrics ?? DEFAULTS.metrics),
    iou: p.iou ?? DEFAULTS.iou,
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
  if (r.cv) text += '\n' + formatTable(['fold', 'video', 'window F1', 'segment F1', 'best epoch'], r.cv.folds.map((f) => [String(f.fold + 1), f.video_id, f.windows.f1.toFixed(3), f.segment_f1.toFixed(3), String(f.best_epoch)]));
  return text;
}

const handler = defineHandler<TemporalParams>({
  name: 'temporal',
  summary: 'Train the temporal rally model (v1/v2/v3) on extracted window features',
  schema,
  // On a remote executor: the feature arrays the index names travel with it (they live in the cache's store).
  async remoteIO(ctx, p) {
    const index = await readFeatureIndex(resolve(ctx.root, p.features ?? DEFAULTS.features));
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
  description: 'v1 LearnedSmoothing (logistic + learned smoothing), v2 ConvCRF, v3 BiLSTM-CRF. Writes OUT/model.json + OUT/weights.f32 and metrics/temporal.json.',
  options: [
    { name: 'model', type: 'string', description: 'architecture (v1|v2|v3)', placeholder: 'V', default: DEFAULTS.model },
    { name: 'epochs', type: 'number', description: 'maximum epochs', default: DEFAULTS.epochs },
    { name: 'lr', type: 'number', description: 'AdamW learning rate (cosine schedule)', default: DEFAULTS.lr },
    { name: 'patience', type: 'number', description: 'early-stopping patience in epochs', default: DEFAULTS.patience },
    { name: 'hidden-dim', type: 'number', description: 'projection width of v2/v3', default: DEFAULTS.hidden_dim },
    { name: 'dropout', type: 'number', description: 'dropout (v1: on the smoothed logits; v2/v3: after the projection and between layers)', default: DEFAULTS.dropout },
    { name: 'seed', type: 'number', description: 'seed for init, split, augmentation and dropout', default: DEFAULTS.seed },
    { name: 'cv', type: 'string', description: "cross-validation: 'loo' (leave one video out) before the final fit", placeholder: 'loo' },
    { name: 'features', type: 'string', description: 'feature index', placeholder: 'PATH', default: DEFAULTS.features },
    { name: 'ground-truth', type: 'string', description: 'ground_truth.json (default: the only training_datasets/*/ground_truth.json)', placeholder: 'PATH' },
    { name: 'dataset', type: 'string', description: 'dataset name under training_datasets/', placeholder: 'NAME', complete: 'dataset' },
    { name: 'out', type: 'string', description: 'checkpoint folder', placeholder: 'DIR', default: DEFAULTS.out },
    { name: 'metrics', type: 'string', description: 'metrics file', placeholder: 'PATH', default: DEFAULTS.metrics },
    { name: 'jobs', short: 'j', type: 'number', description: 'worker threads for --cv folds', default: 2 },
    { name: 'json', type: 'boolean', description: 'print the report as JSON' },
  ],
  async run(args, io) {
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const cv = optString(args, 'cv');
    const p: TemporalParams = {
      model: optString(args, 'model') as ModelVersion,
      epochs: optNumber(args, 'epochs'),
      lr: optNumber(args, 'lr'),
      patience: optNumber(args, 'patience'),
      hidden_dim: optNumber(args, 'hidden-dim'),
      dropout: optNumber(args, 'dropout'),
      seed: optNumber(args, 'seed'),
      cv: cv === undefined ? 'none' : (cv as 'loo'),
      features: optString(args, 'features'),
      ground_truth: optString(args, 'ground-truth'),
      dataset: optString(args, 'dataset'),
      out: optString(args, 'out'),
      metrics: optString(args, 'metrics'),
    };
    for (const k of ['epochs', 'patience', 'hidden_dim'] as const) {
      const v = p[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw configError(`--${k.replace('_', '-')} must be a positive integer, got ${v}`, { subject: `--${k.replace('_', '-')}` });
    }
    if (p.dropout !== undefined && (p.dropout < 0 || p.dropout >= 1)) throw configError(`--dropout must be in [0, 1), got ${p.dropout}`, { subject: '--dropout' });
    const opts = await resolveOptions(root, p);
    const cacheDir = cacheDirFor(root, io.env);
    const report = await runTemporal(
      { cacheDir, jobs: Math.max(1, optNumber(args, 'jobs') ?? 2), log: (l) => io.err(l + '\n'), progress: (l, t, u) => createProgress(l, t, u) },
      opts,
    );
    io.out(optBool(args, 'json') ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  },
};

const module: StageModule = { handlers: [handler], commands: [command], reportSources: [trainingCurves] };
export default module;
