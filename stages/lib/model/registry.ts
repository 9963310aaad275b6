// The model registry: weights/videomae/<variant>/{model.onnx, model.json}. model.json is the contract
// between whoever produced the ONNX file (our baseline generator, or a user's torch.onnx.export of
// VideoMAE) and extract-features: labels, input name, normalisation, output names, window length.
import { existsSync, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError, installedPath } from '../../../src/handler.js';
import { CLASS_LABELS } from '../contracts.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
export const MODEL_JSON = 'model.json';
export const MODEL_ONNX = 'model.onnx';
export const DEFAULT_WEIGHTS_DIR = 'weights/videomae';
export const DEFAULT_VARIANT = 'indoor';
export const KNOWN_VARIANTS = ['indoor', 'beach'] as const;

export interface ModelSpec {
  format: 1;
  name: string;
  /** 'baseline' for the generated motion model, 'videomae' for an exported VideoMAE. */
  kind: string;
  description: string;
  labels: string[];
  input_name: string;
  window: number;
  input_size: number;
  mean: number[];
  std: number[];
  logits_output: string;
  features_output: string | null;
  feature_dim: number | null;
}

export interface ModelLocation {
  variant: string;
  dir: string;
  onnx: string;
  json: string;
}

/** weights/videomae of the installed tool, when it ships one. */
export function bundledWeightsDir(): string | undefined {
  const candidate = installedPath(DEFAULT_WEIGHTS_DIR);
  return existsSync(candidate) ? candidate : undefined;
}

/**
 * `--model` is a variant name (looked up under the weights folder from params, `model.weights_dir`) or a
 * folder path holding model.onnx + model.json.
 */
export function locateModel(root: string, model: string, weightsDir = DEFAULT_WEIGHTS_DIR): ModelLocation {
  const isPath = model.includes('/') || model.includes('\\') || model.startsWith('.');
  let dir = isPath ? resolve(root, model) : resolve(root, weightsDir, model);
  // Outside a project (e.g. `rallycut cut` on any video), fall back to the weights shipped with the tool.
  if (!isPath && !existsSync(join(dir, MODEL_JSON))) {
    const bundled = bundledWeightsDir();
    if (bundled && existsSync(join(bundled, model, MODEL_JSON))) dir = join(bundled, model);
  }
  const variant = isPath ? (dir.split(/[\\/]/).pop() ?? model) : model;
  return { variant, dir, onnx: join(dir, MODEL_ONNX), json: join(dir, MODEL_JSON) };
}

function isNumberArray(v: unknown, len: number): v is number[] {
  return Array.isArray(v) && v.length === len && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Reads and checks model.json; every problem names the file and the key. */
export async function readModelSpec(path: string): Promise<ModelSpec> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    throw configError(`model description not found: ${path}`, {
      file: path,
      notes: ["run 'rallycut model build-baseline' to create the baseline weights, or export VideoMAE as the README describes"],
    });
  }
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw configError(`${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
  const bad = (key: string, want: string): never => {
    throw configError(`${path}: '${key}' must be ${want}, got ${JSON.stringify(raw[key])}`, { file: path, subject: key });
  };
  if (raw.format !== 1) bad('format', '1');
  for (const key of ['name', 'kind', 'input_name', 'logits_output'] as const) if (typeof raw[key] !== 'string' || !raw[key]) bad(key, 'a non-empty string');
  if (!Array.isArray(raw.labels) || raw.labels.join(',') !== CLASS_LABELS.join(',')) bad('labels', JSON.stringify(CLASS_LABELS));
  if (raw.window !== 16) bad('window', '16 (VideoMAE window length)');
  if (raw.input_size !== 224) bad('input_size', '224');
  if (!isNumberArray(raw.mean, 3)) bad('mean', 'three numbers (RGB)');
  if (!isNumberArray(raw.std, 3) || (raw.std as number[]).some((s) => s <= 0)) bad('std', 'three positive numbers (RGB)');
  if (raw.features_output !== null && raw.features_output !== undefined && typeof raw.features_output !== 'string') bad('features_output', 'a string or null');
  const dim = raw.feature_dim;
  if (dim !== null && dim !== undefined && !(typeof dim === 'number' && Number.isInteger(dim) && dim > 0)) bad('feature_dim', 'a positive integer or null');
  return {
    format: 1,
    name: raw.name as string,
    kind: raw.kind as string,
    description: typeof raw.description === 'string' ? raw.description : '',
    labels: raw.labels as string[],
    input_name: raw.input_name as string,
    window: 16,
    input_size: 224,
    mean: raw.mean as number[],
    std: raw.std as number[],
    logits_output: raw.logits_output as string,
    features_output: (raw.features_output as string | null | undefined) ?? null,
    feature_dim: (dim as number | null | undefined) ?? null,
  };
}

/** The model.json for a VideoMAE export (what the README tells users to write). */
export function videoMaeSpec(featureDim: number | null = 768): ModelSpec {
  return {
    format: 1,
    name: 'videomae-base',
    kind: 'videomae',
    description: 'HF VideoMAE fine-tuned on rally windows, exported with torch.onnx.export (opset 17, dynamic batch).',
    labels: [...CLASS_LABELS],
    input_name: 'pixel_values',
    window: 16,
    input_size: 224,
    mean: [...IMAGENET_MEAN],
    std: [...IMAGENET_STD],
    logits_output: 'logits',
    features_output: featureDim ? 'features' : null,
    feature_dim: featureDim,
  };
}
