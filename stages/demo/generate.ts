// `demo init`: encodes the planned videos with ffmpeg (parallel, deterministic bytes for one ffmpeg build)
// and records them with their ground truth in <dir>/demo.json.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failure, stableJson, tempPathFor, writeFileAtomic, type Progress } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import { findFfmpeg, runTool, toolVersion } from '../lib/ffmpeg.js';
import { appContentHash, sha256File } from '../lib/dataset/hashing.js';
import { forEachLimit } from '../../src/handler.js';
import { errorText, videosFailed } from '../lib/dataset/context.js';
import { probeVideo } from '../lib/media/probe.js';
import { planDemo, type DemoConfig, type PlannedVideo } from './plan.js';

export const DEMO_FILE = 'demo.json';

export interface DemoVideo {
  video_id: string;
  filename: string;
  /** Relative to the demo folder. */
  path: string;
  width: number;
  height: number;
  fps: number;
  rotation: number;
  vfr: boolean;
  duration_ms: number;
  size_bytes: number;
  sha256: string;
  /** The web app's dedup key, computed as the app would (with the planned lastModified). */
  content_hash: string;
  rallies: RallySpan[];
}

export interface DemoDataset {
  version: 1;
  config: DemoConfig;
  ffmpeg: string;
  videos: DemoVideo[];
}

function ffmpegMajorMinor(versionLine: string): number {
  const m = /version n?(\d+)\.(\d+)/.exec(versionLine);
  return m ? Number(m[1]) + Number(m[2]) / 100 : 0;
}

/** Encoder arguments shared by every demo video: fast, and the same bytes for the same input and build. */
function encodeArgs(v: PlannedVideo, version: number, commandsPath: string, out: string): string[] {
  const container = v.profile.ext === 'MOV' ? 'mov' : 'mp4';
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-filter_complex', v.scene.graph(commandsPath), '-map', '[out]',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '32', '-g', String(v.profile.fps * 2), '-threads', '1',
    '-an', '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact',
    ...(v.profile.vfr ? (version >= 5.1 ? ['-fps_mode', 'vfr'] : ['-vsync', 'vfr']) : []),
    '-f', container, out,
  ];
}

/**
 * Tags the stored-portrait video with a quarter-turn display matrix by a stream copy (encoders drop the tag).
 * ffmpeg < 6.1 takes the old `rotate` tag; later versions take -display_rotation, whose sign convention is
 * checked rather than assumed: the result must probe as rotation 90, the value autorotation undoes.
 */
async function addRotation(ffmpeg: string, version: number, src: string, out: string, container: string, subject: string, signal?: AbortSignal): Promise<void> {
  const tail = ['-c', 'copy', '-map_metadata', '-1', '-fflags', '+bitexact', '-f', container, out];
  const base = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  const attempts =
    version >= 6.01
      ? [[...base, '-display_rotation', '-90', '-i', src, ...tail], [...base, '-display_rotation', '90', '-i', src, ...tail]]
      : [[...base, '-i', src, '-metadata:s:v:0', 'rotate=90', ...tail]];
  for (const args of attempts) {
    await runTool(ffmpeg, args, { subject, ...(signal ? { signal } : {}) });
    if ((await probeVideo(out, { subject })).rotation === 90) return;
  }
  throw failure(`${subject}: could not give the video a 90° rotation flag with this ffmpeg`, { subject });
}

async function encodeOne(v: PlannedVideo, dir: string, version: number, signal?: AbortSignal): Promise<DemoVideo> {
  const { ffmpeg } = findFfmpeg();
  const rel = join('videos', v.filename);
  const target = join(dir, rel);
  const container = v.profile.ext === 'MOV' ? 'mov' : 'mp4';
  const tmp = tempPathFor(target);
  const tmp2 = `${tmp}.rot`;
  const cmds = `${tmp}.cmd`;
  try {
    await fs.mkdir(join(dir, 'videos'), { recursive: true });
    await fs.writeFile(cmds, v.scene.commands);
    await runTool(ffmpeg, encodeArgs(v, version, cmds, tmp), { subject: v.filename, ...(signal ? { signal } : {}) });
    if (v.profile.rotate) {
      await addRotation(ffmpeg, version, tmp, tmp2, container, v.filename, signal);
      await fs.rename(tmp2, tmp);
    }
    await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
    await fs.rm(tmp2, { force: true });
    await fs.rm(cmds, { force: true });
  }
  const { size } = await fs.stat(target);
  return {
    video_id: v.video_id,
    filename: v.filename,
    path: rel.split('\\').join('/'),
    width: v.profile.width,
    height: v.profile.height,
    fps: v.profile.fps,
    rotation: v.profile.rotate ? 90 : 0,
    vfr: v.profile.vfr,
    duration_ms: v.duration_ms,
    size_bytes: size,
    sha256: await sha256File(target),
    content_hash: await appContentHash(target, v.filename, v.last_modified),
    rallies: v.rallies,
  };
}

export async function readDemo(dir: string): Promise<DemoDataset | undefined> {
  try {
    return JSON.parse(await fs.readFile(join(dir, DEMO_FILE), 'utf8')) as DemoDataset;
  } catch {
    return undefined;
  }
}

/** True when demo.json was made with this config and ffmpeg and every video is still there, same size. */
export async function isUpToDate(dir: string, config: DemoConfig): Promise<DemoDataset | undefined> {
  const existing = await readDemo(dir);
  if (!existing || stableJson(existing.config) !== stableJson(config)) return undefined;
  if (existing.ffmpeg !== (await toolVersion(findFfmpeg().ffmpeg))) return undefined;
  for (const v of existing.videos) {
    const st = await fs.stat(join(dir, v.path)).catch(() => undefined);
    if (!st || st.size !== v.size_bytes) return undefined;
  }
  return existing;
}

export interface GenerateOptions {
  dir: string;
  config: DemoConfig;
  jobs: number;
  progress?: Progress;
  signal?: AbortSignal;
}

export async function generateDemo(opts: GenerateOptions): Promise<DemoDataset> {
  const planned = planDemo(opts.config);
  const versionLine = await toolVersion(findFfmpeg().ffmpeg);
  const version = ffmpegMajorMinor(versionLine);
  // Longest encodes first, so the pool does not end on one long straggler.
  const cost = (v: PlannedVideo): number => v.duration_ms * v.profile.width * v.profile.height * v.profile.fps;
  const order = [...planned].sort((a, b) => cost(b) - cost(a));
  const done: DemoVideo[] = [];
  const failed = await forEachLimit(
    order,
    opts.jobs,
    async (v) => {
      done.push(await encodeOne(v, opts.dir, version, opts.signal));
      opts.progress?.tick(1);
    },
    opts.signal,
  );
  if (opts.signal?.aborted) throw failure('demo init: interrupted; run it again to finish');
  if (failed.length) {
    throw videosFailed('demo init', failed.map((f) => ({ video: f.item.filename, message: errorText(f.error) })));
  }
  const videos = done.sort((a, b) => a.filename.localeCompare(b.filename));
  const dataset: DemoDataset = { version: 1, config: opts.config, ffmpeg: versionLine, videos };
  await writeFileAtomic(join(opts.dir, DEMO_FILE), stableJson(dataset) + '\n');
  return dataset;
}
