// `demo init`: renders the planned videos (render.ts draws the frames, ffmpeg scales and encodes them;
// parallel; the same frames with any ffmpeg, the same bytes for one build) and records them with their
// ground truth in <dir>/demo.json.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { failure, stableJson, tempPathFor, writeFileAtomic, type Progress } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import type { Writable } from 'node:stream';
import { findFfmpeg, runTool, toolVersion } from '../lib/ffmpeg.js';
import { fpsModeArgs, requireFfmpeg, type FfmpegCapabilities, type FfmpegFeature } from '../lib/ffmpeg-caps.js';
import { appContentHash, sha256File } from '../lib/dataset/hashing.js';
import { forEachLimit } from '../../src/handler.js';
import { errorText, videosFailed } from '../lib/dataset/context.js';
import { probeVideo } from '../lib/media/probe.js';
import { planDemo, type DemoConfig, type PlannedVideo } from './plan.js';
import type { Scene } from './scene.js';

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
  generator: number;
  config: DemoConfig;
  ffmpeg: string;
  videos: DemoVideo[];
}

/** Bumped when the same config and ffmpeg would give other pictures, so an older demo is generated again. */
export const GENERATOR_VERSION = 2;

/** What the demo needs of ffmpeg (demo init fails naming a missing one, rather than making wrong videos). */
export const DEMO_FEATURES: readonly FfmpegFeature[] = [{ filter: 'select' }, { filter: 'scale' }, { filter: 'transpose' }, { encoder: 'libx264' }];

/**
 * ffmpeg reads the raw canvas frames on stdin, drops the VFR pattern, scales (nearest neighbour: no
 * interpolation that could round differently between builds), turns, and encodes: fast, and the same bytes
 * for the same input and build.
 */
export function encodeArgs(v: PlannedVideo, caps: FfmpegCapabilities, out: string, format = v.profile.ext === 'MOV' ? 'mov' : 'mp4'): string[] {
  const s = v.scene;
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    '-s',
    `${s.canvasWidth}x${s.canvasHeight}`,
    '-framerate',
    String(s.fps),
    '-i',
    'pipe:0',
    '-vf',
    s.filters,
    '-pix_fmt',
    'yuv420p',
    ...(format === 'framemd5' ? [] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '32', '-g', String(v.profile.fps * 2), '-threads', '1']),
    '-an',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
    ...(v.profile.vfr ? fpsModeArgs(caps, 'vfr') : []),
    '-f',
    format,
    out,
  ];
}

/** Writes every frame of the scene to ffmpeg's stdin, waiting when the pipe is full; stops if the pipe breaks. */
export async function feedFrames(scene: Scene, stdin: Writable, signal?: AbortSignal): Promise<void> {
  let previous: Buffer | undefined;
  for (let n = 0; n < scene.frames; n++) {
    if (signal?.aborted || stdin.destroyed) return;
    let frame = previous;
    if (!frame || !scene.dropped(n)) {
      frame = Buffer.allocUnsafe(scene.frameBytes); // the pipe may still hold the previous one
      scene.render(n, frame);
    }
    previous = frame;
    if (!stdin.write(frame)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          stdin.off('drain', done).off('close', done).off('error', done);
          resolve();
        };
        stdin.on('drain', done).on('close', done).on('error', done);
      });
    }
  }
}

/**
 * Tags the stored-portrait video with a quarter-turn display matrix by a stream copy (encoders drop the tag).
 * Builds with -display_rotation (6.1+) take that, whose sign convention is checked rather than assumed: the
 * result must probe as rotation 90, the value autorotation undoes. Older ones take the `rotate` tag.
 */
async function addRotation(
  ffmpeg: string,
  caps: FfmpegCapabilities,
  src: string,
  out: string,
  container: string,
  subject: string,
  signal?: AbortSignal,
): Promise<void> {
  const tail = ['-c', 'copy', '-map_metadata', '-1', '-fflags', '+bitexact', '-f', container, out];
  const base = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];
  const attempts = caps.options.includes('-display_rotation')
    ? [
        [...base, '-display_rotation', '-90', '-i', src, ...tail],
        [...base, '-display_rotation', '90', '-i', src, ...tail],
      ]
    : [[...base, '-i', src, '-metadata:s:v:0', 'rotate=90', ...tail]];
  for (const args of attempts) {
    await runTool(ffmpeg, args, { subject, ...(signal ? { signal } : {}) });
    if ((await probeVideo(out, { subject })).rotation === 90) return;
  }
  throw failure(`${subject}: could not give the video a 90° rotation flag with this ffmpeg`, { subject });
}

async function encodeOne(v: PlannedVideo, dir: string, caps: FfmpegCapabilities, signal?: AbortSignal): Promise<DemoVideo> {
  const { ffmpeg } = findFfmpeg();
  const rel = join('videos', v.filename);
  const target = join(dir, rel);
  const container = v.profile.ext === 'MOV' ? 'mov' : 'mp4';
  const tmp = tempPathFor(target);
  const tmp2 = `${tmp}.rot`;
  try {
    await fs.mkdir(join(dir, 'videos'), { recursive: true });
    await runTool(ffmpeg, encodeArgs(v, caps, tmp), {
      subject: v.filename,
      feed: (stdin) => feedFrames(v.scene, stdin, signal),
      ...(signal ? { signal } : {}),
    });
    if (v.profile.rotate) {
      await addRotation(ffmpeg, caps, tmp, tmp2, container, v.filename, signal);
      await fs.rename(tmp2, tmp);
    }
    await fs.rename(tmp, target);
  } finally {
    await fs.rm(tmp, { force: true });
    await fs.rm(tmp2, { force: true });
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
  if (!existing || existing.generator !== GENERATOR_VERSION || stableJson(existing.config) !== stableJson(config)) return undefined;
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
  /** Where ffmpeg's probed capabilities are remembered (the project cache). */
  cacheDir?: string;
  log?: (message: string) => void;
  progress?: Progress;
  signal?: AbortSignal;
}

export async function generateDemo(opts: GenerateOptions): Promise<DemoDataset> {
  const planned = planDemo(opts.config);
  const caps = await requireFfmpeg('demo init', DEMO_FEATURES, {
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  // Longest encodes first, so the pool does not end on one long straggler.
  const cost = (v: PlannedVideo): number => v.duration_ms * v.profile.width * v.profile.height * v.profile.fps;
  const order = [...planned].sort((a, b) => cost(b) - cost(a));
  const done: DemoVideo[] = [];
  const failed = await forEachLimit(
    order,
    opts.jobs,
    async (v) => {
      done.push(await encodeOne(v, opts.dir, caps, opts.signal));
      opts.progress?.tick(1);
    },
    opts.signal,
  );
  if (opts.signal?.aborted) throw failure('demo init: interrupted; run it again to finish');
  if (failed.length) {
    throw videosFailed(
      'demo init',
      failed.map((f) => ({ video: f.item.filename, message: errorText(f.error) })),
    );
  }
  const videos = done.sort((a, b) => a.filename.localeCompare(b.filename));
  const dataset: DemoDataset = { version: 1, generator: GENERATOR_VERSION, config: opts.config, ffmpeg: caps.version, videos };
  await writeFileAtomic(join(opts.dir, DEMO_FILE), stableJson(dataset) + '\n');
  return dataset;
}
