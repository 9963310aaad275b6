// Frame rate and frame count of a video, for inputs that do not come with a proxies.json entry.
// count_packets reads the container only (no decoding), which is fast even for long videos.
import { failure } from '../../src/handler.js';
import { findFfmpeg, runTool } from '../lib/ffmpeg.js';

export interface VideoProbe {
  fps: number;
  totalFrames: number;
  width: number;
  height: number;
}

function parseRate(rate: string | undefined): number {
  const [num, den] = (rate ?? '').split('/').map(Number);
  if (!num || !Number.isFinite(num)) return 0;
  return den ? num / den : num;
}

export async function probeVideo(file: string, signal?: AbortSignal): Promise<VideoProbe> {
  const { ffprobe } = findFfmpeg();
  const args = ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=avg_frame_rate,r_frame_rate,nb_read_packets,width,height', '-of', 'json', file];
  const { stdout } = await runTool(ffprobe, args, { ...(signal ? { signal } : {}), subject: file });
  let stream: Record<string, string | number | undefined> | undefined;
  try {
    stream = (JSON.parse(stdout.toString()) as { streams?: Record<string, string | number | undefined>[] }).streams?.[0];
  } catch {
    stream = undefined;
  }
  if (!stream) throw failure(`${file}: no video stream found`, { file });
  const fps = parseRate(String(stream.avg_frame_rate ?? '')) || parseRate(String(stream.r_frame_rate ?? ''));
  const totalFrames = Number(stream.nb_read_packets);
  if (!(fps > 0) || !(totalFrames > 0)) throw failure(`${file}: cannot read frame rate / frame count (fps ${fps}, frames ${stream.nb_read_packets})`, { file });
  return { fps, totalFrames, width: Number(stream.width), height: Number(stream.height) };
}
