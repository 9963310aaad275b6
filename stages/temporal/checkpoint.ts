// Checkpoint format (weights/temporal/): model.json (metadata, stable key order) + weights.f32 (all
// parameters and BatchNorm buffers, float32 little-endian, in the layout model.json lists). Loading
// reads the version from model.json and rebuilds that architecture, so callers never name it.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failure, stableJson, writeFileAtomic } from '../../src/handler.js';
import { ParamSet, type ParamEntry } from '../lib/nn/params.js';
import type { EpochMetrics } from './train.js';
import { declareParams, MODEL_NAMES, MODEL_VERSIONS, type Architecture } from './models.js';
import { exportOnnx, ONNX_FILE, ONNX_INPUT } from './onnx.js';
import type { ModelCore } from './predict.js';

export const CHECKPOINT_FORMAT = 'rallycut-temporal/1';
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.f32';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: Architecture['version'];
  name: string;
  architecture: Architecture;
  hyperparameters: Record<string, number | string>;
  feature: { source: 'features' | 'probs'; dim: number; mean: number[]; std: number[] };
  base_stride: number;
  window_frames: number;
  training: {
    data_sha256: string;
    train_videos: string[];
    val_videos: string[];
    pos_weight: number;
    best_epoch: number;
    best_val_f1: number;
    epochs_run: number;
  };
  metrics: EpochMetrics[];
  params: ParamEntry[];
  weights: { file: string; bytes: number; sha256: string };
  /** The exported network (normalisation + v1 logits or v2/v3 emissions), run with onnxruntime-node. */
  onnx?: { file: string; input: string; output: string; sha256: string };
}

export interface LoadedModel extends ModelCore {
  meta: CheckpointMeta;
  dir: string;
}

function weightBytes(values: Float32Array): Buffer {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw failure('big-endian hosts cannot write float32 little-endian checkpoints');
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

export async function saveCheckpoint(
  dir: string,
  model: ModelCore,
  meta: Omit<CheckpointMeta, 'format' | 'params' | 'weights' | 'version' | 'name' | 'architecture' | 'feature' | 'onnx'> & {
    featureSource: 'features' | 'probs';
  },
): Promise<CheckpointMeta> {
  const bytes = weightBytes(model.params.values);
  const onnxBytes = exportOnnx(model);
  const { featureSource, ...rest } = meta;
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: model.arch.version,
    name: MODEL_NAMES[model.arch.version],
    architecture: model.arch,
    feature: { source: featureSource, dim: model.arch.featureDim, mean: Array.from(model.norm.mean), std: Array.from(model.norm.std) },
    ...rest,
    params: model.params.entries.map((e) => ({ ...e, shape: [...e.shape] })),
    weights: { file: WEIGHTS_FILE, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    onnx: {
      file: ONNX_FILE,
      input: ONNX_INPUT,
      output: model.arch.version === 'v1' ? 'rally_logit' : 'emissions',
      sha256: createHash('sha256').update(onnxBytes).digest('hex'),
    },
  };
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, ONNX_FILE), onnxBytes, 'checkpoint.write');
  await writeFileAtomic(join(dir, WEIGHTS_FILE), bytes, 'checkpoint.write');
  await writeFileAtomic(join(dir, MODEL_FILE), stableJson(full), 'checkpoint.write');
  return full;
}

/** Loads weights/temporal (or any checkpoint folder); the architecture comes from model.json. */
export async function loadTemporalModel(dir: string): Promise<LoadedModel> {
  const metaPath = join(dir, MODEL_FILE);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await fs.readFile(metaPath, 'utf8')) as CheckpointMeta;
  } catch (err) {
    throw failure(`cannot read temporal checkpoint ${metaPath}: ${(err as Error).message}`, {
      file: metaPath,
      notes: ["train one with 'rallycut train temporal'"],
    });
  }
  if (meta.format !== CHECKPOINT_FORMAT || !MODEL_VERSIONS.includes(meta.version)) {
    throw failure(`${metaPath} is not a ${CHECKPOINT_FORMAT} checkpoint (format ${String(meta.format)}, version ${String(meta.version)})`, { file: metaPath });
  }
  // checkpoints from before stacked LSTMs have one layer
  meta.architecture = { ...meta.architecture, lstmLayers: meta.architecture.lstmLayers ?? 1 };
  const layout = declareParams(meta.architecture).layout();
  const same = layout.length === meta.params.length && layout.every((e, i) => stableJson(e) === stableJson(meta.params[i]));
  if (!same) throw failure(`${metaPath}: parameter layout does not match architecture ${meta.version}`, { file: metaPath });
  const weightsPath = join(dir, meta.weights.file);
  let buf: Buffer;
  try {
    buf = await fs.readFile(weightsPath);
  } catch {
    throw failure(`temporal checkpoint weights ${weightsPath} are missing`, { file: weightsPath });
  }
  const sha = createHash('sha256').update(buf).digest('hex');
  if (buf.length !== meta.weights.bytes || sha !== meta.weights.sha256) {
    throw failure(`${weightsPath} does not match model.json (${buf.length} bytes, sha256 ${sha.slice(0, 12)}…)`, { file: weightsPath });
  }
  const values = new Float32Array(new Uint8Array(buf).buffer);
  const params = new ParamSet(layout, values);
  const norm = { mean: Float32Array.from(meta.feature.mean), std: Float32Array.from(meta.feature.std) };
  return { arch: meta.architecture, params, norm, meta, dir };
}
