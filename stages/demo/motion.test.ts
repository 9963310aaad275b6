// The demo videos must move, and more during rallies than between them: with ffmpeg 4.1 the old sendcmd →
// drawbox graph silently drew a still court, and every model trained on it failed. Decoded from the
// encoded file made by the ffmpeg in use (CI runs this with the system ffmpeg and with the bundled one).
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg, runTool } from '../lib/ffmpeg.js';
import { generateDemo } from './generate.js';
import type { DemoConfig } from './plan.js';
import { CANVAS_W } from './scene.js';

const config: DemoConfig = {
  seed: 7,
  videos: 1,
  minSeconds: 40,
  maxSeconds: 40,
  timeScale: 0.6,
  gapScale: 0.6,
  profiles: [{ width: 320, height: 180, fps: 30, ext: 'mp4', rotate: false, vfr: false }],
};

let work: string;
beforeAll(async () => {
  work = await fs.mkdtemp(join(tmpdir(), 'rallycut-demo-motion-'));
});
afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('demo videos', () => {
  it('move more during rallies than between them, in the encoded video (the ffmpeg in use)', async () => {
    const dataset = await generateDemo({ dir: join(work, 'demo'), config, jobs: 2 });
    const v = dataset.videos[0]!;
    expect(v.rallies.length).toBeGreaterThanOrEqual(1);
    // The near half of the court, inside its lines wherever the camera shake puts them: sand, sensor noise,
    // the two near players and the ball. Static edges (net, lines, dunes) moving with the shake stay outside.
    const k = v.width / CANVAS_W;
    const [x, y, w, h] = [110, 165, 280, 85].map((c) => 2 * Math.round((c * k) / 2)) as [number, number, number, number];
    const { stdout } = await runTool(findFfmpeg().ffmpeg, [
      '-v',
      'error',
      '-i',
      join(work, 'demo', v.path),
      '-vf',
      `crop=${w}:${h}:${x}:${y},format=gray`,
      '-f',
      'rawvideo',
      '-',
    ]);
    const frames = stdout.length / (w * h);
    expect(frames).toBe(Math.round((v.duration_ms / 1000) * v.fps));
    const inRally = (n: number): boolean => v.rallies.some((r) => (n / v.fps) * 1000 >= r.start_ms && (n / v.fps) * 1000 < r.end_ms);
    // Per pair of frames on the same side of a rally boundary: the mean absolute difference, and the share of
    // pixels that changed by more than the sensor noise can change them.
    const sums = { rally: { diff: 0, moved: 0, pairs: 0 }, gap: { diff: 0, moved: 0, pairs: 0 } };
    for (let n = 1; n < frames; n++) {
      if (inRally(n) !== inRally(n - 1)) continue;
      const bucket = inRally(n) ? sums.rally : sums.gap;
      for (let i = 0; i < w * h; i++) {
        const d = Math.abs(stdout[n * w * h + i]! - stdout[(n - 1) * w * h + i]!);
        bucket.diff += d / (w * h);
        if (d > 24) bucket.moved += 1 / (w * h);
      }
      bucket.pairs += 1;
    }
    const mean = (b: { diff: number; moved: number; pairs: number }): string =>
      `difference ${(b.diff / b.pairs).toFixed(3)}, moved ${((100 * b.moved) / b.pairs).toFixed(3)}%`;
    const text = `rallies: ${mean(sums.rally)}; gaps: ${mean(sums.gap)}`;
    expect(sums.rally.pairs).toBeGreaterThan(200);
    expect(sums.gap.pairs).toBeGreaterThan(200);
    expect(sums.rally.diff / sums.rally.pairs, text).toBeGreaterThan((1.5 * sums.gap.diff) / sums.gap.pairs);
    expect(sums.rally.moved / sums.rally.pairs, text).toBeGreaterThan((1.8 * sums.gap.moved) / sums.gap.pairs);
    expect(sums.rally.moved / sums.rally.pairs, text).toBeGreaterThan(0.002);
  });
});
