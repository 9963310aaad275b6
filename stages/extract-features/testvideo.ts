// Test inputs made with ffmpeg alone: a video whose frame number is burned into its pixels, and a
// solid-colour video, both lossless so decoded pixels are exact.
import { findFfmpeg, runTool } from '../lib/ffmpeg.js';

export const FRAME_BITS = 10;

/** Frame n shows its number as 10 vertical stripes, most significant first: white = 1, black = 0. */
export async function makeFrameNumberVideo(path: string, frames: number, fps: number): Promise<void> {
  const { ffmpeg } = findFfmpeg();
  const bit = `floor(X*${FRAME_BITS}/W)`;
  const lum = `255*mod(floor(N/pow(2\\,${FRAME_BITS - 1}-${bit}))\\,2)`;
  await runTool(ffmpeg, [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=black:s=160x32:r=${fps}`,
    '-vf',
    `format=gray,geq=lum='${lum}',format=rgb24`,
    '-frames:v',
    String(frames),
    '-c:v',
    'libx264rgb',
    '-qp',
    '0',
    '-g',
    '30',
    path,
  ]);
}

/** Reads the burned-in frame number back from a 224×224 rgb24 frame. */
export function readFrameNumber(rgb: Uint8Array, size = 224): number {
  let n = 0;
  const y = Math.floor(size / 2);
  for (let b = 0; b < FRAME_BITS; b++) {
    const x = Math.floor(((b + 0.5) * size) / FRAME_BITS);
    n = n * 2 + (rgb[(y * size + x) * 3]! > 127 ? 1 : 0);
  }
  return n;
}

export async function makeSolidVideo(path: string, rgbHex: string, frames: number, fps = 30): Promise<void> {
  const { ffmpeg } = findFfmpeg();
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(rgbHex.slice(i, i + 2), 16));
  // geq in RGB: the color source itself is YUV and would round the colour.
  await runTool(ffmpeg, [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `color=black:s=64x48:r=${fps}`,
    '-vf',
    `format=rgb24,geq=r=${r}:g=${g}:b=${b}`,
    '-frames:v',
    String(frames),
    '-c:v',
    'libx264rgb',
    '-qp',
    '0',
    path,
  ]);
}
