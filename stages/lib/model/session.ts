// Loading a classifier: model.json + model.onnx → a validated onnxruntime-node session. The ONNX
// signature is checked against the contract up front, so a wrong export fails with the file and the
// expected shape instead of a cryptic runtime error halfway through a dataset.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type * as ort from 'onnxruntime-node';
import { configError, failure } from '../../../src/handler.js';
import type { ModelLocation, ModelSpec } from './registry.js';
import { readModelSpec } from './registry.js';
import { SessionWorker } from './worker.js';
import { importOnnxRuntime } from './onnxruntime.js';
import { cudaUnavailable, devicesToTry, providerOptions, type Device, type DeviceChoice } from './device.js';

export interface ClassifierOutput {
  /** n×3 logits. */
  logits: Float32Array;
  /** n×dim features, or null when the model exports none. */
  features: Float32Array | null;
  /** The batch buffer, handed back for reuse (the one passed in is detached when a worker ran it). */
  buffer: ArrayBuffer;
}

export interface Classifier {
  readonly location: ModelLocation;
  readonly spec: ModelSpec;
  /** sha256 of model.onnx: part of the feature cache key. */
  readonly sha256: string;
  readonly featureDim: number | null;
  /** A fixed batch size when the export has no dynamic batch axis. */
  readonly fixedBatch: number | null;
  /** Floats in one window: 16·3·224·224. */
  readonly windowSize: number;
  /** Where inference runs (not part of any cache key: see device.ts). */
  readonly device: Device;
  /**
   * Runs the first n windows of `batch` ([n,16,3,224,224] float32). Ownership of batch.buffer passes to
   * the classifier; use the returned buffer afterwards. With a fixed-batch export the buffer must hold
   * fixedBatch windows (see batchCapacity).
   */
  run(batch: Float32Array, n: number): Promise<ClassifierOutput>;
  /** Windows a batch buffer must hold for a requested batch size. */
  batchCapacity(requested: number): number;
  release(): Promise<void>;
}

const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(',')}]`;

type Meta = ort.InferenceSession.ValueMetadata;

function tensorMeta(list: readonly Meta[], name: string): Extract<Meta, { isTensor: true }> | undefined {
  const m = list.find((x) => x.name === name);
  return m?.isTensor ? m : undefined;
}

/** Checks the session signature against model.json; throws a config error naming the file. */
export function checkSignature(
  onnxPath: string,
  spec: ModelSpec,
  inputs: readonly Meta[],
  outputs: readonly Meta[],
): { fixedBatch: number | null; featureDim: number | null } {
  const s = spec.input_size;
  const expected = `[B,${spec.window},3,${s},${s}]`;
  const input = tensorMeta(inputs, spec.input_name);
  if (!input) {
    throw configError(
      `${onnxPath}: no tensor input named '${spec.input_name}' (inputs: ${inputs.map((i) => i.name).join(', ') || 'none'}); expected '${spec.input_name}' float32 ${expected}`,
      { file: onnxPath },
    );
  }
  const shape = input.shape;
  const dimsOk = shape.length === 5 && [spec.window, 3, s, s].every((d, i) => shape[i + 1] === d);
  if (!dimsOk || input.type !== 'float32') {
    throw configError(`${onnxPath}: input '${spec.input_name}' is ${input.type} ${fmt(shape)}, expected float32 ${expected}`, {
      file: onnxPath,
      notes: ['export VideoMAE with pixel_values of shape (batch, 16, 3, 224, 224) and a dynamic batch axis'],
    });
  }
  const fixedBatch = typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : null;
  const logits = tensorMeta(outputs, spec.logits_output);
  if (logits?.shape.length !== 2 || logits.shape[1] !== 3) {
    throw configError(`${onnxPath}: output '${spec.logits_output}' is ${logits ? fmt(logits.shape) : 'missing'}, expected [B,3] (no_play, play, service)`, {
      file: onnxPath,
    });
  }
  let featureDim: number | null = null;
  if (spec.features_output) {
    const feats = tensorMeta(outputs, spec.features_output);
    if (feats?.shape.length !== 2) {
      throw configError(`${onnxPath}: output '${spec.features_output}' is ${feats ? fmt(feats.shape) : 'missing'}, expected [B,${spec.feature_dim ?? 'D'}]`, {
        file: onnxPath,
      });
    }
    const d = feats.shape[1];
    if (typeof d === 'number' && spec.feature_dim !== null && d !== spec.feature_dim) {
      throw configError(`${onnxPath}: output '${spec.features_output}' has ${d} features, but model.json says feature_dim ${spec.feature_dim}`, {
        file: onnxPath,
      });
    }
    featureDim = typeof d === 'number' ? d : spec.feature_dim;
  }
  return { fixedBatch, featureDim };
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(path))
    .digest('hex');
}

export interface LoadOptions {
  /** onnxruntime intra-op threads (default: onnxruntime's own choice). */
  threads?: number;
  /** Run inference in a worker thread so the caller's thread keeps decoding (default true). */
  worker?: boolean;
  /** cpu (default), cuda (an error when unavailable) or auto (cuda when it loads, else cpu). */
  device?: DeviceChoice;
  /** Told when 'auto' falls back to the CPU, and why. */
  log?(message: string): void;
}

type SessionOptions = ort.InferenceSession.SessionOptions;

/** A session on the first device of the choice that loads (see device.ts for the order and the errors). */
async function createSession(
  InferenceSession: typeof ort.InferenceSession,
  bytes: Uint8Array,
  base: SessionOptions,
  onnxPath: string,
  opts: LoadOptions,
): Promise<{ session: ort.InferenceSession; device: Device }> {
  const tries = devicesToTry(opts.device ?? 'cpu');
  for (const device of tries) {
    try {
      return { session: await InferenceSession.create(bytes, { ...base, ...providerOptions(device) }), device };
    } catch (err) {
      const message = (err as Error).message;
      if (device === 'cuda' && tries.length === 1) throw cudaUnavailable(message);
      if (device !== 'cuda') throw configError(`${onnxPath}: onnxruntime cannot load it: ${message}`, { file: onnxPath });
      opts.log?.(`inference device auto: the CUDA execution provider did not load (${message.split('\n')[0]}); using the CPU`);
    }
  }
  throw failure('internal: no inference device was tried');
}

export async function loadClassifier(location: ModelLocation, opts: LoadOptions = {}): Promise<Classifier> {
  const spec = await readModelSpec(location.json);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(location.onnx);
  } catch {
    throw configError(`model weights not found: ${location.onnx}`, {
      file: location.onnx,
      notes: ["run 'rallycut model build-baseline' or export VideoMAE as the README describes"],
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const base = {
    graphOptimizationLevel: 'all' as const,
    executionMode: 'sequential' as const,
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  const { InferenceSession, Tensor } = await importOnnxRuntime(); // loaded only when a model runs
  const { session, device } = await createSession(InferenceSession, bytes, base, location.onnx, opts);
  const options = { ...base, ...providerOptions(device) };
  let signature: { fixedBatch: number | null; featureDim: number | null };
  try {
    signature = checkSignature(location.onnx, spec, session.inputMetadata, session.outputMetadata);
  } catch (err) {
    await session.release();
    throw err;
  }
  const { fixedBatch, featureDim } = signature;
  const windowSize = spec.window * 3 * spec.input_size * spec.input_size;
  const outputNames = [spec.logits_output, ...(spec.features_output ? [spec.features_output] : [])];
  let worker: SessionWorker | null = null;
  if (opts.worker !== false) {
    await session.release();
    worker = await SessionWorker.start(bytes, options);
  }

  async function execute(batch: Float32Array, n: number): Promise<{ outs: (Float32Array | null)[]; buffer: ArrayBuffer }> {
    const shape = [n, spec.window, 3, spec.input_size, spec.input_size];
    if (worker) {
      const r = await worker.run(spec.input_name, batch.buffer as ArrayBuffer, n * windowSize, shape, outputNames);
      return { outs: r.outputs, buffer: r.buffer };
    }
    const result = await session.run({ [spec.input_name]: new Tensor('float32', batch.subarray(0, n * windowSize), shape) }, outputNames);
    const outs = outputNames.map((name) => {
      const d = result[name]?.data;
      return d instanceof Float32Array ? new Float32Array(d) : null;
    });
    return { outs, buffer: batch.buffer as ArrayBuffer };
  }

  return {
    location,
    spec,
    sha256,
    featureDim,
    fixedBatch,
    windowSize,
    device,
    batchCapacity: (requested) => fixedBatch ?? requested,
    async run(batch, n) {
      if (batch.byteOffset !== 0) throw failure('batch buffers must start at offset 0');
      const runN = fixedBatch ?? n;
      if (batch.length < runN * windowSize) throw failure(`batch buffer holds ${batch.length} floats, ${runN} windows need ${runN * windowSize}`);
      // A fixed-batch export: pad a partial batch with copies of its last window and drop their outputs.
      for (let i = n; i < runN; i++) batch.copyWithin(i * windowSize, (n - 1) * windowSize, n * windowSize);
      const { outs, buffer } = await execute(batch, runN);
      const logits = outs[0];
      if (!logits || logits.length !== runN * 3)
        throw failure(`${location.onnx}: '${spec.logits_output}' returned ${logits?.length ?? 0} values for ${runN} windows, expected ${runN * 3}`);
      let features: Float32Array | null = null;
      if (spec.features_output) {
        const f = outs[1];
        if (!f || f.length % runN !== 0) throw failure(`${location.onnx}: '${spec.features_output}' returned a malformed array`);
        features = f.slice(0, n * (f.length / runN));
      }
      return { logits: logits.slice(0, n * 3), features, buffer };
    },
    async release() {
      if (worker) await worker.close();
      else await session.release();
    },
  };
}

/** Softmax per row of an n×3 logits array. */
export function softmaxRows(logits: Float32Array, classes = 3): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[r * classes + c] = Math.exp(logits[r * classes + c]! - max);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}
