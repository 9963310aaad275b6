// 480p proxies (DESIGN §1): scale=-2:480, 30 fps for sources above 40 fps and for variable-frame-rate
// sources (made constant), libx264 ultrafast crf 24 g 30, no audio. Rotation is applied by ffmpeg's
// autorotation, so the proxy is upright, 480 lines tall and carries no rotation flag.
//
// Proxies live in a content store shared by every dataset and experiment: <cacheDir>/proxies/<content_hash>.mp4
// with a sidecar <content_hash>.json saying which source bytes and settings made it. A proxy is reused only
// when the sidecar matches (same source sha256, same settings, same ffmpeg) and the file still has its
// recorded sha256.
import { mkdirSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { crashPoint, failure, stableJson, tempPathFor, writeFileAtomic } from '../../src/handler.js';
import { findFfmpeg } from '../lib/ffmpeg.js';
import { fpsModeArgs, type FfmpegCapabilities, type FfmpegFeature } from '../lib/ffmpeg-caps.js';
import { guessTiming, type TimingGuess } from '../lib/media/mp4-timing.js';
import { probeVideo, type VideoProbe } from '../lib/media/probe.js';
import { startEncode, type EncodeJob } from './encode.js';
import { proxySha256 } from './proxy-sha.js';

export const PROXY_HEIGHT = 480;
export const PROXY_FPS = 30;
/** Sources above this rate are brought down to PROXY_FPS. */
export const MAX_NATIVE_FPS = 40;
// One encoder thread: x264's output bytes depend on its thread count, and a proxy must be the same file on
// a 2-core CI runner and a 16-core workstation. Parallelism comes from encoding several videos at once (-j).
// -tune fastdecode and +faststart are the seed's: proxies are decoded many times, and read from the front.
const ENCODER = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'fastdecode', '-crf', '24', '-g', '30', '-threads', '1'];

/** What prepare needs of ffmpeg. */
export const PROXY_FEATURES: readonly FfmpegFeature[] = [{ filter: 'fps' }, { filter: 'scale' }, { encoder: 'libx264' }];

export interface ProxyInfo {
  /** Relative to cacheDir, posix. */
  proxy_path: string;
  proxy_sha256: string;
  source_sha256: string;
  fps: number;
  frames: number;
  width: number;
  height: number;
  duration_ms: number;
  /** Of the source. */
  rotation: number;
  vfr: boolean;
  source_fps: number;
}

interface Sidecar extends ProxyInfo {
  settings: string;
}

export function proxyRelPath(contentHash: string): string {
  return `proxies/${contentHash}.mp4`;
}

/** Output rate and filter chain for a source. */
export function proxyPlan(src: Pick<VideoProbe, 'fps' | 'avg_fps' | 'vfr'>): { fps: number | null; filters: string } {
  const resample = src.vfr || src.fps > MAX_NATIVE_FPS;
  return { fps: resample ? PROXY_FPS : null, filters: `${resample ? `fps=${PROXY_FPS},` : ''}scale=-2:${PROXY_HEIGHT}` };
}

/** What scale=-2:480 makes of a (displayed) size: the width rounded to the nearest even number, as ffmpeg does. */
export function proxySize(width: number, height: number): { width: number; height: number } {
  const halfWidth = Math.floor((PROXY_HEIGHT * width + height) / (2 * height)); // av_rescale rounds half up
  return { width: halfWidth * 2, height: PROXY_HEIGHT };
}

/** The ffmpeg arguments of a proxy, exactly what the benchmark compares against. */
export function proxyArgs(
  source: string,
  src: Pick<VideoProbe, 'fps' | 'avg_fps' | 'vfr'>,
  out: string,
  caps: FfmpegCapabilities,
  decoderThreads?: number,
): string[] {
  const plan = proxyPlan(src);
  return [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    ...(decoderThreads ? ['-threads', String(decoderThreads)] : []),
    '-i',
    source,
    '-map',
    '0:v:0',
    '-vf',
    plan.filters,
    ...(plan.fps ? fpsModeArgs(caps, 'cfr') : []),
    ...ENCODER,
    '-pix_fmt',
    'yuv420p',
    '-an',
    '-sn',
    '-dn',
    '-map_metadata',
    '-1',
    '-fflags',
    '+bitexact',
    '-flags:v',
    '+bitexact',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    out,
  ];
}

export interface ProxyRequest {
  source: string;
  /** How the user knows the video (its filename). */
  subject: string;
  content_hash: string;
  /** The source's sha256, or the check that yields it (it rejects when the bytes are not the expected ones);
   * a pending check runs alongside ffprobe and the speculative encode, and its failure stops them. */
  source_sha256: string | Promise<string>;
  cacheDir: string;
  /** Of the ffmpeg in use (requireFfmpeg with PROXY_FEATURES); its version is part of the proxy's settings. */
  caps: FfmpegCapabilities;
  signal?: AbortSignal;
  /** Decoder threads; set when several proxies are made at once so they share the cores instead of
   * oversubscribing them (the output bytes do not depend on it). Default: ffmpeg's choice. */
  decoderThreads?: number;
  /** Predicts ffprobe's frame timing so the encode can start before ffprobe answers; null: wait for it.
   * Default: the MP4/MOV sample table (guessTiming). A wrong prediction costs time, never bytes. */
  predict?(source: string): Promise<TimingGuess | null>;
  /** Seconds of the source encoded so far, and its duration. */
  onProgress?(seconds: number, total: number): void;
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

/** Whether two sources get the same ffmpeg arguments. */
function samePlan(a: Pick<VideoProbe, 'fps' | 'avg_fps' | 'vfr'>, b: Pick<VideoProbe, 'fps' | 'avg_fps' | 'vfr'>): boolean {
  const pa = proxyPlan(a);
  const pb = proxyPlan(b);
  return pa.fps === pb.fps && pa.filters === pb.filters;
}

/** Returns the cached proxy when it is valid, else makes it. `hit` says which. */
export async function ensureProxy(req: ProxyRequest): Promise<{ info: ProxyInfo; hit: boolean }> {
  const rel = proxyRelPath(req.content_hash);
  const target = join(req.cacheDir, rel);
  const sidecarPath = target.replace(/\.mp4$/, '.json');
  const settings = stableJson({ encoder: ENCODER, height: PROXY_HEIGHT, fps: PROXY_FPS, max_native_fps: MAX_NATIVE_FPS, ffmpeg: req.caps.version });
  const cached = await readSidecar(sidecarPath);
  if (cached && cached.settings === settings && cached.source_sha256 === (await req.source_sha256)) {
    const sha = await proxySha256(target, req.signal).catch(() => undefined);
    if (sha === cached.proxy_sha256) {
      const { settings: _s, ...info } = cached;
      return { info, hit: true };
    }
  }

  // A miss. ffprobe has the final word on the arguments but costs ~0.2 s of start-up, so it runs alongside
  // the encode: when the MP4 sample table predicts its answer (nearly always), ffmpeg starts at once with
  // those arguments; if ffprobe disagrees, that run is killed and restarted with the right ones. Either
  // way the arguments used are exactly proxyArgs(ffprobe's result), so the bytes do not change.
  const signal = req.signal;
  mkdirSync(join(req.cacheDir, 'proxies'), { recursive: true });
  const tmp = tempPathFor(target);
  const { ffmpeg } = findFfmpeg();
  let total = Infinity;
  const encode = (src: Pick<VideoProbe, 'fps' | 'avg_fps' | 'vfr'>): EncodeJob =>
    startEncode(ffmpeg, proxyArgs(req.source, src, tmp, req.caps, req.decoderThreads), req.subject, (s) => req.onProgress?.(Math.min(s, total), total), signal);
  // ffmpeg first: nothing else (ffprobe's spawn included) sits between here and its start.
  const guess = req.predict ? await req.predict(req.source) : guessTiming(req.source);
  let job: EncodeJob | undefined;
  if (guess) {
    total = guess.frames / guess.avg_fps;
    job = encode(guess);
  }
  // At low priority while ffmpeg runs: it fills the cores the encoder leaves idle instead of taking its.
  const probing = probeVideo(req.source, { subject: req.subject, ...(signal ? { signal } : {}), ...(job ? { niceness: 10 } : {}) });
  probing.catch(() => undefined); // awaited below, after the hash check
  try {
    // The source check first: a file that is not the expected one is reported as such, whatever ffprobe says.
    const [checked, probed] = await Promise.allSettled([Promise.resolve(req.source_sha256), probing]);
    if (checked.status === 'rejected') throw checked.reason;
    if (probed.status === 'rejected') throw probed.reason;
    const src = probed.value;
    total = src.duration_ms / 1000;
    if (!guess || !job || !samePlan(guess, src)) {
      await job?.stop();
      job = encode(src);
    }
    const frames = await job.done;
    if (frames <= 0) throw failure(`${req.subject}: ffmpeg wrote no frames (is the video truncated?)`, { subject: req.subject });
    // Size, rate and length follow from the source and the settings, so no second ffprobe is needed.
    const fps = proxyPlan(src).fps ?? src.fps;
    const info: ProxyInfo = {
      proxy_path: rel,
      proxy_sha256: await proxySha256(tmp, signal),
      source_sha256: checked.value,
      fps,
      frames,
      ...proxySize(src.width, src.height),
      duration_ms: Math.round((frames / fps) * 1000),
      rotation: src.rotation,
      vfr: src.vfr,
      source_fps: src.fps,
    };
    crashPoint('prepare.proxy-write');
    await fs.rename(tmp, target);
    await writeFileAtomic(sidecarPath, stableJson({ ...info, settings }), 'prepare.proxy-write');
    req.onProgress?.(total, total);
    return { info, hit: false };
  } finally {
    await job?.stop();
    await fs.rm(tmp, { force: true });
  }
}
