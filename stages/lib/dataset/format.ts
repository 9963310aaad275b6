// Reading, validating and writing manifest.json and ground_truth.json (the seed's formats, plus our
// per-video `sha256` and `size_bytes`). Validation reports every problem at once, each naming the file and
// the item. Writing is deterministic: fixed key order, videos by id, rallies by time, trailing newline.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RallycutError, type Diagnostic } from '../../../src/handler.js';
import type { GroundTruth, GroundTruthVideo, Manifest, ManifestVideo, RallySpan } from '../contracts.js';
import { HEX64 } from './hashing.js';
import { GROUND_TRUTH_FILE, MANIFEST_FILE } from './layout.js';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** A plain file name: no folders, no '..', nothing that could escape videos/. */
export function filenameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name === '') return 'filename must be a non-empty string';
  if (name.includes('/') || name.includes('\\') || name === '.' || name === '..' || name.startsWith('..') || name.includes('\0')) {
    return `filename '${name}' must be a plain file name (no '/', '\\' or '..')`;
  }
  return null;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RallycutError({ kind: 'config', message: `not valid JSON: ${(err as Error).message}`, file });
  }
}

function fail(file: string, problems: { subject?: string; message: string }[]): never {
  const list: Diagnostic[] = problems.map((p) => ({ kind: 'config', message: p.message, file, ...(p.subject ? { subject: p.subject } : {}) }));
  throw new RallycutError(list);
}

export function parseManifest(text: string, file: string): Manifest {
  const data = parseJson(text, file);
  const problems: { subject?: string; message: string }[] = [];
  if (!isObj(data)) fail(file, [{ message: 'a manifest must be a JSON object' }]);
  if (typeof data.name !== 'string') problems.push({ message: "'name' must be a string" });
  if (!Array.isArray(data.videos)) fail(file, [...problems, { message: "'videos' must be an array" }]);
  const seen = new Map<string, number>();
  (data.videos as unknown[]).forEach((v, i) => {
    const label = isObj(v) && typeof v.filename === 'string' ? `videos[${i}] ${v.filename}` : `videos[${i}]`;
    const add = (message: string): void => void problems.push({ subject: label, message });
    if (!isObj(v)) return add('each video must be an object');
    const fp = filenameProblem(v.filename);
    if (fp) add(fp);
    if (typeof v.video_id !== 'string' || v.video_id === '') add('video_id must be a non-empty string');
    else if (seen.has(v.video_id)) add(`duplicate video_id '${v.video_id}' (also videos[${seen.get(v.video_id)}])`);
    else seen.set(v.video_id, i);
    if (typeof v.content_hash !== 'string' || !HEX64.test(v.content_hash)) add(`content_hash '${String(v.content_hash)}' is not 64 lowercase hex characters`);
    if (v.sha256 !== undefined && (typeof v.sha256 !== 'string' || !HEX64.test(v.sha256)))
      add(`sha256 '${String(v.sha256)}' is not 64 lowercase hex characters`);
    if (v.duration_ms !== undefined && v.duration_ms !== null && !(isInt(v.duration_ms) && v.duration_ms >= 0))
      add('duration_ms must be a non-negative integer');
    if (v.rally_count !== undefined && !(isInt(v.rally_count) && v.rally_count >= 0)) add('rally_count must be a non-negative integer');
    if (v.size_bytes !== undefined && !(isInt(v.size_bytes) && v.size_bytes >= 0)) add('size_bytes must be a non-negative integer');
  });
  if (problems.length) fail(file, problems);
  return data as unknown as Manifest;
}

export function parseGroundTruth(text: string, file: string): GroundTruth {
  const data = parseJson(text, file);
  if (!Array.isArray(data)) fail(file, [{ message: 'ground truth must be a JSON array of videos' }]);
  const problems: { subject?: string; message: string }[] = [];
  const seen = new Map<string, number>();
  data.forEach((v: unknown, i) => {
    const label = isObj(v) && typeof v.filename === 'string' ? `[${i}] ${v.filename}` : `[${i}]`;
    const add = (message: string): void => void problems.push({ subject: label, message });
    if (!isObj(v)) return add('each entry must be an object');
    if (typeof v.video_id !== 'string' || v.video_id === '') add('video_id must be a non-empty string');
    else if (seen.has(v.video_id)) add(`duplicate video_id '${v.video_id}' (also entry [${seen.get(v.video_id)}])`);
    else seen.set(v.video_id, i);
    const fp = filenameProblem(v.filename);
    if (fp) add(fp);
    if (!Array.isArray(v.rallies)) return add('rallies must be an array');
    v.rallies.forEach((r: unknown, j) => {
      if (!isObj(r) || !isInt(r.start_ms) || !isInt(r.end_ms) || r.start_ms < 0) return add(`rally ${j}: start_ms and end_ms must be non-negative integers`);
      if (r.end_ms <= r.start_ms) add(`rally ${j}: end_ms ${r.end_ms} ≤ start_ms ${r.start_ms}`);
    });
  });
  if (problems.length) fail(file, problems);
  return data as GroundTruth;
}

/** Every ground-truth video must be in the manifest (restore needs its content_hash). */
export function crossCheck(manifest: Manifest, gt: GroundTruth, gtFile: string): void {
  const ids = new Set(manifest.videos.map((v) => v.video_id));
  const orphans = gt.filter((v) => !ids.has(v.video_id));
  if (orphans.length)
    fail(
      gtFile,
      orphans.map((v) => ({ subject: v.filename, message: `video_id '${v.video_id}' is not in the manifest` })),
    );
}

export interface DatasetFiles {
  dir: string;
  manifest: Manifest;
  groundTruth: GroundTruth;
  manifestText: string;
  groundTruthText: string;
}

/** Reads and validates a dataset folder; `label` is how files are named in messages (e.g. a relative path). */
export async function readDataset(dir: string, label = dir): Promise<DatasetFiles> {
  const mFile = join(label, MANIFEST_FILE);
  const gFile = join(label, GROUND_TRUTH_FILE);
  const read = async (name: string, shown: string): Promise<string> => {
    try {
      return await fs.readFile(join(dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new RallycutError({
          kind: 'config',
          message: 'no such file',
          file: shown,
          notes: ["create the dataset with 'rallycut train export-dataset' or 'rallycut train pull'"],
        });
      }
      throw err;
    }
  };
  const manifestText = await read(MANIFEST_FILE, mFile);
  const groundTruthText = await read(GROUND_TRUTH_FILE, gFile);
  const manifest = parseManifest(manifestText, mFile);
  const groundTruth = parseGroundTruth(groundTruthText, gFile);
  crossCheck(manifest, groundTruth, gFile);
  return { dir, manifest, groundTruth, manifestText, groundTruthText };
}

const byId = (a: { video_id: string }, b: { video_id: string }): number => (a.video_id < b.video_id ? -1 : a.video_id > b.video_id ? 1 : 0);
const byTime = (a: RallySpan, b: RallySpan): number => a.start_ms - b.start_ms || a.end_ms - b.end_ms;

/** Known keys first in the seed's order, then any others sorted. */
function ordered(obj: Json, first: readonly string[]): Json {
  const out: Json = {};
  for (const k of first) if (obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj).sort()) if (!first.includes(k) && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

const VIDEO_KEYS = ['filename', 'video_id', 'content_hash', 'duration_ms', 'rally_count', 'sha256', 'size_bytes'];

export function formatManifest(m: Manifest): string {
  const videos = [...m.videos].sort(byId).map((v) => ordered(v as unknown as Json, VIDEO_KEYS));
  const stats = ordered(m.stats as unknown as Json, ['total_videos', 'total_rallies', 'total_duration_min']);
  return JSON.stringify(ordered({ ...(m as unknown as Json), videos, stats }, ['name', 'description', 'created', 'videos', 'stats']), null, 2) + '\n';
}

export function formatGroundTruth(gt: GroundTruth): string {
  const videos: GroundTruthVideo[] = [...gt].sort(byId).map((v) => ({
    video_id: v.video_id,
    filename: v.filename,
    rallies: [...v.rallies].sort(byTime).map((r) => ({ start_ms: r.start_ms, end_ms: r.end_ms })),
  }));
  return JSON.stringify(videos, null, 2) + '\n';
}

export function manifestStats(videos: readonly Pick<ManifestVideo, 'duration_ms' | 'rally_count'>[]): Manifest['stats'] {
  const totalMs = videos.reduce((a, v) => a + (v.duration_ms ?? 0), 0);
  return {
    total_videos: videos.length,
    total_rallies: videos.reduce((a, v) => a + v.rally_count, 0),
    total_duration_min: Math.round((totalMs / 60000) * 10) / 10,
  };
}
