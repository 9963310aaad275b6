// The demo's pictures must not depend on the ffmpeg build: the frames ffmpeg hands its encoder are compared
// between the system ffmpeg and the bundled 4.1 (x264 differs between them, so the encoded bytes may not).
import { describe, expect, it } from 'vitest';
import { bundledFfmpeg, runTool, systemFfmpeg, type FfmpegTools } from '../lib/ffmpeg.js';
import { ffmpegCapabilities } from '../lib/ffmpeg-caps.js';
import { encodeArgs, feedFrames } from './generate.js';
import { planDemo, type DemoConfig } from './plan.js';

const config: DemoConfig = {
  seed: 7,
  videos: 2,
  minSeconds: 8,
  maxSeconds: 8,
  timeScale: 0.6,
  gapScale: 0.6,
  profiles: [
    { width: 320, height: 180, fps: 30, ext: 'mp4', rotate: false, vfr: false },
    { width: 256, height: 144, fps: 30, ext: 'MOV', rotate: true, vfr: true },
  ],
};

/** The frames ffmpeg hands the encoder, one md5 per frame with its timestamp (framemd5 without the header). */
async function encoderInput(tools: FfmpegTools): Promise<string[]> {
  const caps = await ffmpegCapabilities({ tools });
  const hashes: string[] = [];
  for (const v of planDemo(config)) {
    const { stdout } = await runTool(tools.ffmpeg, encodeArgs(v, caps, '-', 'framemd5'), { feed: (stdin) => feedFrames(v.scene, stdin) });
    hashes.push(
      ...stdout
        .toString()
        .split('\n')
        .filter((l) => l && !l.startsWith('#')),
    );
  }
  return hashes;
}

const system = systemFfmpeg();
const bundled = bundledFfmpeg();

describe('demo pictures', () => {
  it.skipIf(!system || !bundled)(
    'are the same frames, timestamps included, whichever ffmpeg build renders them (skipped unless a system ffmpeg and the bundled one are both here)',
    async () => {
      const [fromSystem, fromBundled] = await Promise.all([encoderInput(system!), encoderInput({ ...bundled!, source: 'npm' })]);
      expect(fromSystem.length).toBeGreaterThan(300);
      expect(fromBundled).toEqual(fromSystem);
    },
  );
});
