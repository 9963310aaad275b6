import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames, planDecode } from './decode.js';
import { probeVideo } from '../lib/media/probe.js';
import { makeFrameNumberVideo, readFrameNumber } from './testvideo.js';
import { strideFor, windowStarts } from '../lib/features/windows.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-decode-'));
});

async function decodedNumbers(file: string, total: number, stride: number): Promise<{ planned: number[]; burned: number[] }> {
  const plan = planDecode(total, stride);
  const burned: number[] = [];
  const planned: number[] = [];
  for await (const f of decodeFrames(file, plan)) {
    planned.push(f.index);
    burned.push(readFrameNumber(f.rgb));
  }
  return { planned, burned };
}

describe('frame sampling', () => {
  it('decodes exactly the documented window frames at 30 fps', async () => {
    const file = join(dir, 'n30.mkv');
    await makeFrameNumberVideo(file, 300, 30);
    const probe = await probeVideo(file, { countFrames: true });
    expect(probe).toMatchObject({ fps: 30, frames: 300 });
    const stride = strideFor(30);
    const { planned, burned } = await decodedNumbers(file, 300, stride);
    const expected = windowStarts(300, stride).flatMap((s) => Array.from({ length: 16 }, (_, k) => s + k));
    expect(expected.length).toBe(6 * 16); // (300-16)//48 + 1 = 6 windows
    expect(burned).toEqual(expected);
    expect(planned).toEqual(expected);
  });

  it('scales stride with fps (60 fps → 96) and handles clips shorter than a window', async () => {
    const file = join(dir, 'n60.mkv');
    await makeFrameNumberVideo(file, 250, 60);
    const { burned } = await decodedNumbers(file, 250, strideFor(60));
    expect(burned).toEqual([
      ...Array.from({ length: 16 }, (_, k) => k),
      ...Array.from({ length: 16 }, (_, k) => 96 + k),
      ...Array.from({ length: 16 }, (_, k) => 192 + k),
    ]);
    const short = join(dir, 'short.mkv');
    await makeFrameNumberVideo(short, 10, 30);
    expect((await decodedNumbers(short, 10, 48)).burned).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names the file when it cannot be decoded', async () => {
    const bogus = join(dir, 'missing.mp4');
    await expect(decodedNumbers(bogus, 100, 48)).rejects.toThrow(/cannot decode .*missing\.mp4/);
  });
});
