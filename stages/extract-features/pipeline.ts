// One video through the classifier: decode (ffmpeg process) → normalise into batch buffers (this thread)
// → inference (worker thread). While batch k is being inferred, batch k+1 is being filled, so decoding
// and inference overlap; at most one batch is in flight, which bounds memory to a few batch buffers.
import type { Classifier } from '../lib/model/session.js';
import { softmaxRows } from '../lib/model/session.js';
import { windowCount } from '../lib/features/windows.js';
import { WINDOW_FLOATS, frameSlots, normalisationTable, writeFrame } from './batcher.js';
import type { FfmpegCapabilities } from '../lib/ffmpeg-caps.js';
import { decodeFrames, planDecode } from './decode.js';

export interface WindowOutputs {
  /** N×3 softmax probabilities. */
  probs: Float32Array;
  /** N×D features, or null. */
  features: Float32Array | null;
  numWindows: number;
}

export interface PipelineOptions {
  batch: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of windows it finished. */
  onWindows?(n: number): void;
  ffmpegThreads?: number;
  /** Of the ffmpeg in use, checked for DECODE_FEATURES (default: asked here). */
  caps?: FfmpegCapabilities;
}

export async function runVideo(file: string, totalFrames: number, stride: number, model: Classifier, opts: PipelineOptions): Promise<WindowOutputs> {
  const n = windowCount(totalFrames, stride);
  const batchSize = Math.max(1, Math.floor(opts.batch));
  const capacity = model.batchCapacity(batchSize);
  const numBatches = Math.ceil(n / batchSize);
  const lut = normalisationTable(model.spec.mean, model.spec.std);
  const slots = frameSlots(totalFrames, stride);
  const logits = new Float32Array(n * 3);
  let features: Float32Array | null = null;

  const pool: ArrayBuffer[] = [];
  const open = new Map<number, { data: Float32Array; filled: number; size: number }>();
  const take = (): Float32Array => new Float32Array(pool.pop() ?? new ArrayBuffer(capacity * WINDOW_FLOATS * 4));
  let inflight: Promise<void> | null = null;
  let failed: { error: unknown } | null = null;

  const infer = async (b: number, data: Float32Array, size: number): Promise<void> => {
    const out = await model.run(data, size);
    pool.push(out.buffer);
    logits.set(out.logits, b * batchSize * 3);
    if (out.features) {
      const dim = out.features.length / size;
      features ??= new Float32Array(n * dim);
      features.set(out.features, b * batchSize * dim);
    }
    opts.onWindows?.(size);
  };

  const dispatch = async (b: number): Promise<void> => {
    const batch = open.get(b)!;
    open.delete(b);
    if (inflight) await inflight;
    if (failed) throw failed.error;
    // The catch keeps a failing batch from becoming an unhandled rejection while the next one fills.
    inflight = infer(b, batch.data, batch.size).catch((error: unknown) => {
      failed ??= { error };
    });
  };

  for await (const frame of decodeFrames(file, planDecode(totalFrames, stride), {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.ffmpegThreads ? { threads: opts.ffmpegThreads } : {}),
    ...(opts.caps ? { caps: opts.caps } : {}),
  })) {
    for (const { window, slot } of slots.get(frame.index) ?? []) {
      const b = Math.floor(window / batchSize);
      let batch = open.get(b);
      if (!batch) {
        const size = Math.min(batchSize, n - b * batchSize);
        batch = { data: take(), filled: 0, size };
        open.set(b, batch);
      }
      writeFrame(frame.rgb, lut, batch.data, ((window - b * batchSize) * 16 + slot) * (WINDOW_FLOATS / 16));
      if (++batch.filled === batch.size * 16) await dispatch(b);
    }
  }
  if (inflight) await inflight;
  if (failed) throw (failed as { error: unknown }).error;
  if (open.size > 0 || numBatches === 0) throw new Error(`internal: ${open.size} batches left incomplete`);
  return { probs: softmaxRows(logits), features, numWindows: n };
}
