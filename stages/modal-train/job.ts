// The modal-train job: proxies + samples.json from prepare, train.py, optional base weights → HF files,
// model.onnx + model.json and training metrics. Shared by the pipeline handler and `rallycut train modal`.
import { promises as fs } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { configError, installedPath, type JobResources, type RemoteInput, type RemoteJob } from '../../src/handler.js';

export const DEFAULT_DATA = 'training_data';
export const DEFAULT_BASE_MODEL = 'weights/videomae-base';
/** The seed's starting point for a fresh fine-tune: its indoor game-state classifier, as HF files. When the
 * folder is absent train.py starts from the Kinetics-finetuned VideoMAE-base, as the seed does. */
export const GAME_STATE_MODEL = 'weights/videomae/game_state_classifier';
export const DEFAULT_METRICS = 'metrics/modal-train.json';
export const DEFAULT_EPOCHS = 25;
export const DEFAULT_BATCH_SIZE = 8;

/** The seed's Modal function: T4, 4 h, 16 GiB; the libraries train.py imports (pinned). The full Debian
 * image, not -slim: cv2 needs libglib, which -slim lacks. */
export const TRAIN_IMAGE = 'python:3.11';
export const TRAIN_RESOURCES: JobResources = {
  image: TRAIN_IMAGE,
  pip: [
    'torch==2.4.1',
    'transformers==4.44.2',
    'accelerate==0.34.2',
    'numpy==1.26.4',
    'opencv-python-headless==4.10.0.84',
    'onnx==1.16.2',
    'onnxruntime==1.19.2',
  ],
  gpu: 'T4',
  timeout: 4 * 3600,
  memory: 16384,
};

export interface TrainOptions {
  variant: string;
  epochs?: number;
  /** Default 5e-5, or 1e-5 with resumeFromModel (train.py decides). */
  lr?: number;
  batchSize?: number;
  /** Continue from the uploaded weights in baseModel instead of the pretrained VideoMAE. */
  resumeFromModel?: boolean;
  /** Delete the checkpoints on the volume before the first attempt. */
  fresh?: boolean;
  /** Reduced-size VideoMAE from random weights, for checks. */
  tiny?: boolean;
  maxSteps?: number;
  /** Folder with proxies.json + samples.json (project-relative). */
  data?: string;
  baseModel?: string;
  output?: string;
  metrics?: string;
  /** Training script; the bundled train.py unless set (tests use a stand-in). */
  script?: string;
}

/** The train.py this installation ships (stages/modal-train/, whether running from src/ or dist/). */
export function bundledScript(): string {
  return installedPath('stages', 'modal-train', 'train.py');
}

export function jobName(variant: string): string {
  return `modal-train-${variant}`;
}

interface ProxiesIndexLike {
  videos: { video_id: string; filename: string; proxy_path: string; proxy_sha256?: string }[];
}

async function readJson<T>(path: string, what: string): Promise<T> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as T;
  } catch (err) {
    throw configError(`${what} ${path} cannot be read: ${(err as Error).message}`, {
      file: path,
      notes: ["run 'rallycut train prepare' (or the prepare stage) first"],
    });
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

const posix = (p: string): string => p.split(sep).join('/');

/** The proxies named by proxies.json (from the proxy store under cacheDir). */
export async function proxyInputs(root: string, cacheDir: string, data: string): Promise<RemoteInput[]> {
  const index = await readJson<ProxiesIndexLike>(join(resolve(root, data), 'proxies.json'), 'proxy index');
  if (!Array.isArray(index.videos)) throw configError(`${data}/proxies.json has no 'videos' list`, { file: `${data}/proxies.json` });
  return index.videos.map((v) => ({
    local: join(cacheDir, v.proxy_path),
    path: `data/${v.proxy_path}`,
    ...(v.proxy_sha256 ? { sha256: v.proxy_sha256 } : {}),
  }));
}

export async function baseModelInputs(root: string, baseModel: string): Promise<RemoteInput[]> {
  const dir = resolve(root, baseModel);
  const files = await filesUnder(dir).catch(() => []);
  if (!files.some((f) => f.endsWith('config.json'))) {
    throw configError(`--resume-from-model needs HF VideoMAE files (config.json + weights) in ${baseModel}`, { file: baseModel, subject: 'base_model' });
  }
  return files.map((f) => ({ local: f, path: `base_model/${posix(relative(dir, f))}` }));
}

/** What comes back: the model folder (HF files + model.onnx + model.json) and the metrics file. */
export function trainOutputs(root: string, o: TrainOptions): RemoteJob['outputs'] {
  return [
    { path: 'output/model', local: resolve(root, o.output ?? `weights/videomae/${o.variant}`) },
    { path: 'output/metrics.json', local: resolve(root, o.metrics ?? DEFAULT_METRICS) },
  ];
}

export async function buildTrainJob(root: string, cacheDir: string, o: TrainOptions): Promise<RemoteJob> {
  const data = o.data ?? DEFAULT_DATA;
  const script = o.script ? resolve(root, o.script) : bundledScript();
  const inputs: RemoteInput[] = [
    { local: join(resolve(root, data), 'proxies.json'), path: 'data/proxies.json' },
    { local: join(resolve(root, data), 'samples.json'), path: 'data/samples.json' },
    { local: script, path: 'train.py' },
    ...(await proxyInputs(root, cacheDir, data)),
    ...(o.resumeFromModel ? await baseModelInputs(root, o.baseModel ?? DEFAULT_BASE_MODEL) : []),
  ];
  const gameState = o.resumeFromModel || o.tiny ? [] : await baseModelInputs(root, GAME_STATE_MODEL).catch(() => []);
  inputs.push(...gameState);
  const args = [
    'python3',
    'train.py',
    '--data-dir',
    'data',
    '--output-dir',
    'output',
    '--variant',
    o.variant,
    '--epochs',
    String(o.epochs ?? DEFAULT_EPOCHS),
    '--batch-size',
    String(o.batchSize ?? DEFAULT_BATCH_SIZE),
  ];
  if (o.lr !== undefined) args.push('--lr', String(o.lr));
  if (o.resumeFromModel) args.push('--resume-from-model', 'base_model');
  else if (gameState.length) args.push('--pretrained', 'base_model');
  if (o.tiny) args.push('--tiny');
  if (o.maxSteps !== undefined) args.push('--max-steps', String(o.maxSteps));
  return {
    name: jobName(o.variant),
    inputs,
    command: args.join(' '),
    env: { PYTHONUNBUFFERED: '1' },
    outputs: trainOutputs(root, o),
    resources: TRAIN_RESOURCES,
    // --fresh is done by the runner on the first attempt only: a retry must resume, never start over.
    ...(o.fresh ? { clean: ['output/checkpoints'] } : {}),
  };
}
