// What extract-features reads: the prepare stage's training_data/proxies.json, or plain video files
// named on the command line (probed with ffprobe, hashed whole).
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { configError } from '../../src/handler.js';
import { probeVideo } from '../lib/media/probe.js';

export interface VideoInput {
  video_id: string;
  filename: string;
  content_hash: string;
  /** Absolute path of the file to decode (the proxy when there is one). */
  path: string;
  /** sha256 of that file, when known up front (prepare records it). */
  sha256: string | null;
  fps: number;
  total_frames: number;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

type Json = Record<string, unknown>;

const pick = (o: Json, ...keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined && v !== null);

/**
 * Reads proxies.json. Accepts `{videos:[…]}` or a bare array; each entry needs video_id, content_hash,
 * the proxy path (absolute, or relative to the cache folder or the project root), fps and a frame count.
 */
export async function readProxies(file: string, root: string, cacheDir: string): Promise<VideoInput[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw configError(`cannot read ${file}: ${(err as Error).message}`, { file, notes: ["run 'rallycut train prepare' first, or name video files instead"] });
  }
  const list = Array.isArray(raw) ? raw : Array.isArray((raw as Json)?.videos) ? ((raw as Json).videos as unknown[]) : null;
  if (!list) throw configError(`${file}: expected an object with a 'videos' array`, { file });
  const out: VideoInput[] = [];
  for (const [i, item] of list.entries()) {
    const e = (item ?? {}) as Json;
    const where = `${file}: videos[${i}]`;
    const content_hash = pick(e, 'content_hash');
    const proxy = pick(e, 'proxy_path', 'proxy', 'path');
    const fps = Number(pick(e, 'fps', 'proxy_fps'));
    const frames = Number(pick(e, 'frames', 'total_frames', 'frame_count', 'proxy_frames'));
    if (typeof content_hash !== 'string' || !content_hash) throw configError(`${where} has no content_hash`, { file });
    if (typeof proxy !== 'string' || !proxy) throw configError(`${where} has no proxy path`, { file, subject: content_hash });
    if (!(fps > 0) || !(frames > 0))
      throw configError(`${where} needs fps > 0 and a frame count (got fps ${fps}, frames ${frames})`, { file, subject: content_hash });
    const candidates = isAbsolute(proxy) ? [proxy] : [join(cacheDir, proxy), resolve(root, proxy)];
    let path = candidates[0]!;
    for (const c of candidates) {
      try {
        await fs.access(c);
        path = c;
        break;
      } catch {
        // try the next base folder
      }
    }
    const sha = pick(e, 'proxy_sha256', 'sha256');
    out.push({
      video_id: String(pick(e, 'video_id') ?? content_hash),
      filename: String(pick(e, 'filename') ?? basename(proxy)),
      content_hash,
      path,
      sha256: typeof sha === 'string' ? sha : null,
      fps,
      total_frames: Math.floor(frames),
    });
  }
  return out;
}

/** Plain files: probe fps/frames, hash the bytes; content_hash is the full-file sha256. */
export async function inputsFromFiles(
  files: readonly string[],
  cwd: string,
  signal?: AbortSignal,
): Promise<{ inputs: VideoInput[]; errors: { file: string; error: unknown }[] }> {
  const inputs: VideoInput[] = [];
  const errors: { file: string; error: unknown }[] = [];
  for (const f of files) {
    const path = resolve(cwd, f);
    try {
      const [probe, sha] = await Promise.all([probeVideo(path, { countFrames: true, ...(signal ? { signal } : {}) }), sha256OfFile(path)]);
      inputs.push({
        video_id: basename(path),
        filename: basename(path),
        content_hash: sha,
        path,
        sha256: sha,
        fps: probe.avg_fps || probe.fps,
        total_frames: probe.frames,
      });
    } catch (error) {
      errors.push({ file: path, error });
    }
  }
  return { inputs, errors };
}
