// Helpers for the dataset tests and benchmarks: a throwaway project folder, a DatasetContext over it, and
// generated stand-in video files whose hashes the tests record.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProgress } from '../../src/handler.js';
import type { DatasetContext } from '../../stages/lib/dataset/context.js';

export interface TestProject {
  root: string;
  cacheDir: string;
  logs: string[];
  ctx(env: Record<string, string | undefined>, signal?: AbortSignal): DatasetContext;
}

export function makeProject(prefix = 'rallycut-ds-'): TestProject {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const cacheDir = join(root, '.cache');
  const logs: string[] = [];
  return {
    root,
    cacheDir,
    logs,
    ctx: (env, signal) => ({
      root,
      cacheDir,
      env,
      jobs: 4,
      signal: signal ?? new AbortController().signal,
      log: (m: string) => void logs.push(m),
      progress: (label: string, total: number, unit?: string) => createProgress(label, total, unit),
    }),
  };
}

export const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** Writes `size` random bytes and returns the sha256 (which is also the app's content_hash at this size). */
export async function writeRandomVideo(path: string, size: number): Promise<string> {
  const data = randomBytes(size);
  await fs.mkdir(join(path, '..'), { recursive: true });
  await fs.writeFile(path, data);
  return sha256(data);
}

/** Deterministic small bytes standing in for a real video, derived from a seed string. */
export function standInBytes(seed: string, size = 2048): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Labelled videos for a fixture: random files of the given sizes in <root>/originals, ids v0, v1, … */
export async function makeOriginals(
  project: TestProject,
  sizes: readonly number[],
): Promise<{
  videosDir: string;
  videos: { id: string; filename: string; content_hash: string; duration_ms: number; rallies: { start_ms: number; end_ms: number }[] }[];
}> {
  const videosDir = join(project.root, 'originals');
  const videos = [];
  for (const [i, size] of sizes.entries()) {
    const filename = `clip${i}.mp4`;
    const content_hash = await writeRandomVideo(join(videosDir, filename), size);
    videos.push({ id: `v${i}`, filename, content_hash, duration_ms: 60_000 + i, rallies: [{ start_ms: 1000 * (i + 1), end_ms: 1000 * (i + 1) + 5000 }] });
  }
  return { videosDir, videos };
}
