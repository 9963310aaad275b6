// The sample-table reader must predict what ffprobe says about frame rates (prepare starts ffmpeg on its
// word), and must say "don't know" for anything that is not a readable MP4/MOV.
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg, runTool } from '../ffmpeg.js';
import { guessTiming, timingFromStts } from './mp4-timing.js';
import { probeVideo } from './probe.js';

let work: string;

const clips: { name: string; args: string[] }[] = [
  { name: 'cfr60.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=60:duration=1.5'] },
  { name: 'ntsc.MOV', args: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24000/1001:duration=1.5', '-f', 'mov'] },
  { name: 'faststart.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=1.5', '-movflags', '+faststart'] },
  // Every third frame dropped with the timestamps kept: uneven gaps, as a phone's variable frame rate.
  { name: 'vfr.mp4', args: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=2', '-vf', "select='not(eq(mod(n\\,3)\\,1))'", '-vsync', 'vfr'] },
  { name: 'other.mkv', args: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=1', '-f', 'matroska'] },
];

beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-mp4-timing-'));
  const { ffmpeg } = findFfmpeg();
  await Promise.all(
    clips.map((c) =>
      runTool(ffmpeg, [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        ...c.args,
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        join(work, c.name),
      ]),
    ),
  );
  const good = await fs.readFile(join(work, 'cfr60.mp4'));
  await fs.writeFile(join(work, 'truncated.mp4'), good.subarray(0, Math.floor(good.length / 2)));
  await fs.writeFile(join(work, 'garbage.mp4'), Buffer.from('not a video, just text '.repeat(200)));
  await fs.writeFile(join(work, 'empty.mp4'), Buffer.alloc(0));
});

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('guessTiming', () => {
  it.each(['cfr60.mp4', 'ntsc.MOV', 'faststart.mp4', 'vfr.mp4'])('agrees with ffprobe on %s', async (name) => {
    const path = join(work, name);
    const guess = guessTiming(path);
    const probe = await probeVideo(path);
    expect(guess).not.toBeNull();
    expect(guess!.fps).toBeCloseTo(probe.fps, 6);
    expect(guess!.avg_fps).toBeCloseTo(probe.avg_fps, 3);
    expect(guess!.vfr).toBe(probe.vfr);
    expect(guess!.frames).toBe(probe.frames);
  });

  it('sees the variable frame rate and the usual rates', async () => {
    expect(guessTiming(join(work, 'vfr.mp4'))!.vfr).toBe(true);
    expect(guessTiming(join(work, 'cfr60.mp4'))!).toMatchObject({ fps: 60, avg_fps: 60, vfr: false, frames: 90 });
    expect(guessTiming(join(work, 'ntsc.MOV'))!.fps).toBeCloseTo(24000 / 1001, 9);
  });

  it.each(['other.mkv', 'truncated.mp4', 'garbage.mp4', 'empty.mp4', 'missing.mp4'])('says it does not know for %s', async (name) => {
    expect(guessTiming(join(work, name))).toBeNull();
  });
});

describe('timingFromStts', () => {
  it('takes the dominant sample duration as the base rate and frames / duration as the average', () => {
    expect(timingFromStts(15360, [[300, 256]])).toEqual({ fps: 60, avg_fps: 60, vfr: false, frames: 300 });
    // A last frame with another duration, as muxers often write, is still constant rate.
    const tail = timingFromStts(30000, [
      [299, 1001],
      [1, 1000],
    ])!;
    expect(tail.fps).toBeCloseTo(29.97, 2);
    expect(tail.vfr).toBe(false);
    // Gaps of 1 and 2 frames alternating: the average is far from the base rate.
    expect(
      timingFromStts(90000, [
        [50, 3000],
        [50, 6000],
      ]),
    ).toMatchObject({ fps: 30, vfr: true, frames: 100 });
    expect(timingFromStts(0, [[10, 1]])).toBeNull();
    expect(timingFromStts(1000, [])).toBeNull();
  });
});
