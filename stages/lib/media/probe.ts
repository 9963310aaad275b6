// What ffprobe says about a video's first video stream: size as displayed (rotation applied), frame rates,
// whether timestamps are uneven (VFR), duration and frame count.
import { failure } from '../../../src/handler.js';
import { findFfmpeg, runTool } from '../ffmpeg.js';

export interface VideoProbe {
  codec: string;
  /** Size of the stored frames. */
  coded_width: number;
  coded_height: number;
  /** Rotation flag (0, 90, 180, 270) from the display matrix or the rotate tag; players apply it. */
  rotation: number;
  /** Size as displayed, after rotation. */
  width: number;
  height: number;
  /** r_frame_rate: the base rate timestamps are counted in. */
  fps: number;
  /** avg_frame_rate: frames / duration. Differs from fps for variable-frame-rate files. */
  avg_fps: number;
  vfr: boolean;
  duration_ms: number;
  /** Counted packets with `countFrames`; else from the container when it says; else duration × avg_fps. */
  frames: number;
}

interface RawStream {
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number | string }[];
}

function rate(text: string | undefined): number {
  if (!text) return 0;
  const [n, d] = text.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n)) return 0;
  if (d === undefined) return n;
  return d > 0 ? n / d : 0;
}

/** Relative difference above which the average rate no longer matches the base rate. */
const VFR_TOLERANCE = 0.01;

/** Whether the average rate strays from the base rate: the file's timestamps are uneven. */
export function isVariableRate(fps: number, avgFps: number): boolean {
  return fps > 0 && Math.abs(fps - avgFps) / fps > VFR_TOLERANCE;
}

/** Largest frame side accepted (8K UHD is 7680x4320). */
export const MAX_SIDE = 8192;

export function parseProbe(json: string, subject: string): VideoProbe {
  let data: { streams?: RawStream[]; format?: { duration?: string } };
  try {
    data = JSON.parse(json) as typeof data;
  } catch {
    throw failure(`${subject}: ffprobe output is not JSON`, { subject });
  }
  const s = data.streams?.[0];
  if (!s?.width || !s.height) throw failure(`${subject}: no video stream found (corrupt, truncated or not a video)`, { subject });
  if (s.width > MAX_SIDE || s.height > MAX_SIDE) {
    // A header claiming more than 8K would make every decoder allocate gigabytes per frame: refuse it.
    throw failure(`${subject}: video is ${s.width}x${s.height}, larger than ${MAX_SIDE} pixels on a side; not a camera recording (corrupt header?)`, {
      subject,
    });
  }
  const sideRotation = s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  const raw = Number(sideRotation ?? s.tags?.rotate ?? 0);
  // Normalised to 0/90/180/270 as ffprobe reports it (the sign convention differs between the display
  // matrix and the old tag, and across versions); only whether it is a quarter turn matters here: 90 and
  // 270 swap width and height. ffmpeg's autorotation applies the turn when decoding.
  const rotation = (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const fps = rate(s.r_frame_rate);
  const avg = rate(s.avg_frame_rate) || fps;
  const durationS = Number(s.duration ?? data.format?.duration ?? NaN);
  if (!Number.isFinite(durationS) || durationS <= 0) throw failure(`${subject}: ffprobe reports no duration (truncated file?)`, { subject });
  const nb = Number(s.nb_read_packets ?? s.nb_frames ?? NaN);
  return {
    codec: s.codec_name ?? 'unknown',
    coded_width: s.width,
    coded_height: s.height,
    rotation,
    width: swap ? s.height : s.width,
    height: swap ? s.width : s.height,
    fps,
    avg_fps: avg,
    vfr: isVariableRate(fps, avg),
    duration_ms: Math.round(durationS * 1000),
    frames: Number.isFinite(nb) && nb > 0 ? nb : Math.round(durationS * avg),
  };
}

/**
 * `countFrames` reads every packet (no decoding) for an exact frame count, as frame-exact windows need.
 * `niceness` lowers ffprobe's priority, for a probe that runs beside an encode it must not slow down.
 */
export async function probeVideo(
  path: string,
  opts: { subject?: string; signal?: AbortSignal; countFrames?: boolean; niceness?: number } = {},
): Promise<VideoProbe> {
  const subject = opts.subject ?? path;
  const { ffprobe } = findFfmpeg();
  const args = [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    ...(opts.countFrames ? ['-count_packets'] : []),
    '-show_entries',
    `stream=codec_name,width,height,r_frame_rate,avg_frame_rate,duration,nb_frames${opts.countFrames ? ',nb_read_packets' : ''}:stream_tags=rotate:stream_side_data=rotation:format=duration`,
    '-of',
    'json',
    path,
  ];
  const { stdout } = await runTool(ffprobe, args, {
    subject,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.niceness ? { niceness: opts.niceness } : {}),
  });
  return parseProbe(stdout.toString('utf8'), subject);
}
