// Writing the cut video: the rally segments concatenated in order. Stream copy (no quality loss, fast)
// when every segment starts on a keyframe, since a copied segment can only begin at one; otherwise a
// re-encode with frame-exact trims. Output is written to a temp file and renamed into place.
import { promises as fs } from 'node:fs';
import { dirname, extname } from 'node:path';
import { failure, tempPathFor } from '../../src/handler.js';
import { findFfmpeg, runTool } from '../lib/ffmpeg.js';
import type { FfmpegFeature } from '../lib/ffmpeg-caps.js';

/** What cutting needs of ffmpeg (the re-encode path; a stream copy needs only the concat demuxer). */
export const CUT_FEATURES: readonly FfmpegFeature[] = [
  { filter: 'trim' },
  { filter: 'setpts' },
  { filter: 'concat' },
  { filter: 'atrim' },
  { filter: 'asetpts' },
  { encoder: 'libx264' },
  { encoder: 'aac' },
];

export interface CutSpan {
  startS: number;
  endS: number;
}

export interface RenderResult {
  mode: 'copy' | 'reencode';
  segments: number;
}

/** Keyframe timestamps (seconds) of the first video stream, from packet flags (no decoding). */
export async function keyframeTimes(file: string): Promise<number[]> {
  const { ffprobe } = findFfmpeg();
  const { stdout } = await runTool(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], {
    subject: file,
  });
  return stdout
    .toString()
    .split('\n')
    .map((l) => l.split(','))
    .filter((p) => p[1]?.includes('K'))
    .map((p) => Number(p[0]))
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
}

async function hasAudio(file: string): Promise<boolean> {
  const { ffprobe } = findFfmpeg();
  const { stdout } = await runTool(ffprobe, ['-v', 'error', '-select_streams', 'a', '-show_entries', 'stream=index', '-of', 'csv=p=0', file], {
    subject: file,
  });
  return stdout.toString().trim().length > 0;
}

/** True when every span starts within half a frame of a keyframe. */
export function copyAllowed(spans: readonly CutSpan[], keyframes: readonly number[], fps: number): boolean {
  const tol = 0.5 / fps;
  return spans.every((s) => keyframes.some((k) => Math.abs(k - s.startS) <= tol));
}

export async function renderCut(
  source: string,
  spans: readonly CutSpan[],
  output: string,
  fps: number,
  opts: { mode?: 'auto' | 'copy' | 'reencode'; signal?: AbortSignal } = {},
): Promise<RenderResult> {
  if (spans.length === 0) throw failure(`no rallies found in ${source}: nothing to cut`, { file: source });
  const { ffmpeg } = findFfmpeg();
  const wanted = opts.mode ?? 'auto';
  const mode = wanted === 'auto' ? (copyAllowed(spans, await keyframeTimes(source), fps) ? 'copy' : 'reencode') : wanted;
  await fs.mkdir(dirname(output), { recursive: true });
  const tmp = `${tempPathFor(output)}${extname(output) || '.mp4'}`;
  const run = (args: string[]): Promise<unknown> => runTool(ffmpeg, args, { subject: source, ...(opts.signal ? { signal: opts.signal } : {}) });
  try {
    if (mode === 'copy') {
      // The concat demuxer with in/out points: each segment is copied from its keyframe.
      const list = `${tmp}.txt`;
      const quoted = source.replace(/'/g, "'\\''");
      await fs.writeFile(list, spans.map((s) => `file '${quoted}'\ninpoint ${s.startS.toFixed(6)}\noutpoint ${s.endS.toFixed(6)}\n`).join(''));
      try {
        await run([
          '-nostdin',
          '-v',
          'error',
          '-y',
          '-f',
          'concat',
          '-safe',
          '0',
          '-i',
          list,
          '-map',
          '0',
          '-c',
          'copy',
          '-avoid_negative_ts',
          'make_zero',
          tmp,
        ]);
      } finally {
        await fs.rm(list, { force: true });
      }
    } else {
      const audio = await hasAudio(source);
      const parts: string[] = [];
      const labels: string[] = [];
      spans.forEach((s, i) => {
        const range = `start=${s.startS.toFixed(6)}:end=${s.endS.toFixed(6)}`;
        parts.push(`[0:v]trim=${range},setpts=PTS-STARTPTS[v${i}]`);
        labels.push(`[v${i}]`);
        if (audio) {
          parts.push(`[0:a]atrim=${range},asetpts=PTS-STARTPTS[a${i}]`);
          labels.push(`[a${i}]`);
        }
      });
      parts.push(`${labels.join('')}concat=n=${spans.length}:v=1:a=${audio ? 1 : 0}[v]${audio ? '[a]' : ''}`);
      await run([
        '-nostdin',
        '-v',
        'error',
        '-y',
        '-i',
        source,
        '-filter_complex',
        parts.join(';'),
        '-map',
        '[v]',
        ...(audio ? ['-map', '[a]', '-c:a', 'aac', '-b:a', '160k'] : []),
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '20',
        '-pix_fmt',
        'yuv420p',
        '-movflags',
        '+faststart',
        tmp,
      ]);
    }
    await fs.rename(tmp, output);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return { mode, segments: spans.length };
}
