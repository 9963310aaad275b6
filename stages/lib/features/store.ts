// The feature store: per-video window arrays under <cacheDir>/features/, keyed by
// (content_hash, sha256 of the decoded file, stride, model sha256). Each entry is two files written atomically:
//   <key>.f32   little-endian float32: N×3 class probabilities, then N×D features (D may be 0)
//   <key>.json  FeatureRecord metadata, including the .f32 byte length and sha256
// Readers verify length and hash, so a truncated or corrupted array is detected, never used silently.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failure, stableJson, writeFileAtomic } from '../../../src/handler.js';
import type { ClassLabel, FeatureIndex, FeatureIndexVideo, VideoWindows } from '../contracts.js';
import { CLASS_LABELS } from '../contracts.js';
import { BASE_STRIDE, toVideoWindows } from './windows.js';

/** Bump when preprocessing or the array layout changes: old cache entries then stop matching. */
export const FEATURE_FORMAT = 1;

export interface FeatureRecord {
  format: number;
  key: string;
  content_hash: string;
  /** sha256 of the file that was decoded (proxy or source). */
  source_sha256: string;
  fps: number;
  total_frames: number;
  stride: number;
  base_stride: number;
  num_windows: number;
  labels: readonly ClassLabel[];
  model: { variant: string; sha256: string; feature_dim: number | null };
  data: { bytes: number; sha256: string };
}

export interface VideoFeatures {
  /** N×3, row-major, label order no_play, play, service. */
  probs: Float32Array;
  /** N×dim, row-major; null when the model exports no features. */
  features: Float32Array | null;
  dim: number;
  windows: VideoWindows;
  record: FeatureRecord;
}

export function featuresDir(cacheDir: string): string {
  return join(cacheDir, 'features');
}

export function featurePaths(cacheDir: string, key: string): { data: string; meta: string } {
  return { data: join(featuresDir(cacheDir), `${key}.f32`), meta: join(featuresDir(cacheDir), `${key}.json`) };
}

/**
 * One entry per (video, decoded file, stride, model). The decoded file is part of the key because one video
 * is decoded from different files: `cut` reads the original (up to 40 fps), the pipeline reads prepare's
 * proxy. Keyed by the video alone, each evicted the other's entry.
 */
export function featureKey(parts: { content_hash: string; decoded_sha256: string; stride: number; model_sha256: string }): string {
  const text = stableJson({
    format: FEATURE_FORMAT,
    content_hash: parts.content_hash,
    decoded: parts.decoded_sha256,
    stride: parts.stride,
    model: parts.model_sha256,
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 40);
}

function toBytes(arr: Float32Array): Buffer {
  // Float32Array is host-endian; every platform Node ships on is little-endian, checked here once.
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw failure('big-endian hosts are not supported by the feature store');
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

export interface WriteFeaturesInput {
  key: string;
  content_hash: string;
  source_sha256: string;
  fps: number;
  total_frames: number;
  stride: number;
  model: { variant: string; sha256: string };
  probs: Float32Array;
  features: Float32Array | null;
}

export async function writeVideoFeatures(cacheDir: string, input: WriteFeaturesInput): Promise<FeatureRecord> {
  const n = input.probs.length / CLASS_LABELS.length;
  if (!Number.isInteger(n)) throw failure(`probability array length ${input.probs.length} is not a multiple of ${CLASS_LABELS.length}`);
  const dim = input.features ? input.features.length / n : 0;
  if (!Number.isInteger(dim)) throw failure(`feature array length ${input.features?.length} is not a multiple of ${n} windows`);
  const data = Buffer.concat([toBytes(input.probs), ...(input.features ? [toBytes(input.features)] : [])]);
  const record: FeatureRecord = {
    format: FEATURE_FORMAT,
    key: input.key,
    content_hash: input.content_hash,
    source_sha256: input.source_sha256,
    fps: input.fps,
    total_frames: input.total_frames,
    stride: input.stride,
    base_stride: BASE_STRIDE,
    num_windows: n,
    labels: CLASS_LABELS,
    model: { variant: input.model.variant, sha256: input.model.sha256, feature_dim: input.features ? dim : null },
    data: { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') },
  };
  const paths = featurePaths(cacheDir, input.key);
  // Array first, metadata last: the metadata file's presence means "complete".
  await writeFileAtomic(paths.data, data, 'features.write');
  await writeFileAtomic(paths.meta, stableJson(record), 'features.write');
  return record;
}

export type FeatureLookup = { status: 'hit'; value: VideoFeatures } | { status: 'missing' } | { status: 'corrupt'; reason: string };

/** Reads and verifies a cache entry. Never throws for a bad entry: it reports it, so callers can recompute. */
export async function lookupVideoFeatures(cacheDir: string, key: string): Promise<FeatureLookup> {
  const paths = featurePaths(cacheDir, key);
  let metaText: string;
  try {
    metaText = await fs.readFile(paths.meta, 'utf8');
  } catch {
    return { status: 'missing' };
  }
  let record: FeatureRecord;
  try {
    record = JSON.parse(metaText) as FeatureRecord;
  } catch {
    return { status: 'corrupt', reason: `${paths.meta} is not valid JSON` };
  }
  if (record.format !== FEATURE_FORMAT || record.key !== key)
    return { status: 'corrupt', reason: `${paths.meta} has format ${record.format}, key ${record.key}` };
  let data: Buffer;
  try {
    data = await fs.readFile(paths.data);
  } catch {
    return { status: 'corrupt', reason: `${paths.data} is missing` };
  }
  const dim = record.model.feature_dim ?? 0;
  const expected = 4 * record.num_windows * (CLASS_LABELS.length + dim);
  if (data.length !== expected || data.length !== record.data.bytes) {
    return { status: 'corrupt', reason: `${paths.data} has ${data.length} bytes, expected ${expected}` };
  }
  const sha = createHash('sha256').update(data).digest('hex');
  if (sha !== record.data.sha256) return { status: 'corrupt', reason: `${paths.data} sha256 ${sha.slice(0, 12)}… does not match its metadata` };
  // Copy into an aligned buffer: Buffer pool slices may not be 4-byte aligned.
  const all = new Float32Array(new Uint8Array(data).buffer);
  const np = record.num_windows * CLASS_LABELS.length;
  const probs = all.slice(0, np);
  const features = dim > 0 ? all.slice(np) : null;
  const windows = toVideoWindows(probs, { fps: record.fps, stride: record.stride, total_frames: record.total_frames, base_stride: record.base_stride });
  return { status: 'hit', value: { probs, features, dim, windows, record } };
}

/** Loads one video's arrays named by a features/index.json entry; fails clearly when missing or corrupt. */
export async function loadVideoFeatures(cacheDir: string, entry: FeatureIndexVideo): Promise<VideoFeatures> {
  const found = await lookupVideoFeatures(cacheDir, entry.key);
  if (found.status === 'hit') return found.value;
  const why = found.status === 'missing' ? `no cached features at ${featurePaths(cacheDir, entry.key).meta}` : found.reason;
  throw failure(`features for ${entry.filename} are unavailable: ${why}`, {
    subject: entry.video_id,
    notes: ["run 'rallycut train extract-features' (add --force to recompute)"],
  });
}

/** Reads features/index.json with a clear error naming the file. */
export async function readFeatureIndex(path: string): Promise<FeatureIndex> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch {
    throw failure(`cannot read feature index ${path}`, { file: path, notes: ["run 'rallycut train extract-features' first"] });
  }
  try {
    const index = JSON.parse(text) as FeatureIndex;
    if (index.version !== 1 || !Array.isArray(index.videos)) throw new Error('bad shape');
    return index;
  } catch {
    throw failure(`${path} is not a version-1 feature index`, { file: path });
  }
}
