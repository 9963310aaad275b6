// Decoding exactly the frames the windows use. ffmpeg's select filter keeps frame n when
// n mod stride < 16 and n < last window end, before scaling, so only those frames are scaled to
// 224×224 (squashed, no crop) and converted to RGB; they stream out as rawvideo rgb24 on stdout.
// No temp files; memory is bounded by the pipe and one frame of reassembly.
import { spawn } from 'node:child_process';
import { failure } from '../../src/handler.js';
import { findFfmpeg } from '../lib/ffmpeg.js';
import { fpsModeArgs, requireFfmpeg, type FfmpegCapabilities, type FfmpegFeature } from '../lib/ffmpeg-caps.js';
import { WINDOW_FRAMES, neededFrames, windowStarts } from '../lib/features/windows.js';

export const INPUT_SIZE = 224;
export const FRAME_BYTES = INPUT_SIZE * INPUT_SIZE * 3;

export interface DecodePlan {
  totalFrames: number;
  stride: number;
  /** Frame numbers ffmpeg must output, ascending. */
  frames: number[];
}

export function planDecode(totalFrames: number, stride: number): DecodePlan {
  return { totalFrames, stride, frames: neededFrames(totalFrames, stride) };
}

/** The select expression for a plan: every frame a window covers, nothing past the last window. */
export function selectExpression(totalFrames: number, stride: number): string {
  const starts = windowStarts(totalFrames, stride);
  const end = (starts[starts.length - 1] ?? 0) + WINDOW_FRAMES;
  return stride >= WINDOW_FRAMES ? `lt(mod(n\\,${stride})\\,${WINDOW_FRAMES})*lt(n\\,${end})` : `lt(n\\,${end})`;
}

/** What decoding needs of ffmpeg: frame-exact select, scaling, and the pixel format conversion. */
export const DECODE_FEATURES: readonly FfmpegFeature[] = [{ selectByFrameNumber: true }, { filter: 'select' }, { filter: 'scale' }, { filter: 'format' }];

export function ffmpegDecodeArgs(file: string, plan: DecodePlan, caps: FfmpegCapabilities, threads?: number): string[] {
  return [
    '-nostdin',
    '-v',
    'error',
    ...(threads ? ['-threads', String(threads)] : []),
    '-i',
    file,
    '-an',
    '-sn',
    '-vf',
    `select='${selectExpression(plan.totalFrames, plan.stride)}',scale=${INPUT_SIZE}:${INPUT_SIZE}:flags=bilinear,format=rgb24`,
    ...fpsModeArgs(caps, 'passthrough'),
    '-frames:v',
    String(plan.frames.length),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
}

export interface DecodedFrame {
  /** Frame number in the source. */
  index: number;
  /** 224×224×3 RGB bytes; valid until the next frame is requested. */
  rgb: Uint8Array;
}

/**
 * Yields the planned frames in order. Fails (naming the file) when ffmpeg errors or delivers fewer
 * frames than planned; a video shorter than one window yields what it has and the caller repeats the last.
 */
export async function* decodeFrames(
  file: string,
  plan: DecodePlan,
  opts: { signal?: AbortSignal; threads?: number; caps?: FfmpegCapabilities } = {},
): AsyncGenerator<DecodedFrame> {
  const { ffmpeg } = findFfmpeg();
  const caps = opts.caps ?? (await requireFfmpeg('extract-features', DECODE_FEATURES));
  const child = spawn(ffmpeg, ffmpegDecodeArgs(file, plan, caps, opts.threads), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-8000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', (e) => {
      stderr += String(e);
      resolve(-1);
    });
  });
  const frame = new Uint8Array(FRAME_BYTES);
  let filled = 0;
  let count = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(FRAME_BYTES - filled, chunk.length - off);
        frame.set(chunk.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled === FRAME_BYTES) {
          filled = 0;
          const index = plan.frames[count++];
          if (index === undefined) break;
          yield { index, rgb: frame };
        }
      }
    }
    const code = await exited;
    const expected = Math.min(plan.frames.length, plan.totalFrames);
    if (code !== 0 || count < expected) {
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      throw failure(`cannot decode ${file}: ${code !== 0 ? `ffmpeg exit ${code}` : `got ${count} of ${expected} frames`}${tail ? `: ${tail}` : ''}`, { file });
    }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
