// End to end on generated demo matches: baseline weights + heuristics must find the rallies.
import { promises as fs } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandIO } from '../../src/handler.js';
import { main } from '../../src/cli/main.js';
import type { GroundTruth } from '../lib/contracts.js';
import { generateDemo, type DemoDataset } from '../demo/generate.js';
import { greedyMatch } from '../lib/metrics/matching.js';
import { probeVideo } from '../lib/media/probe.js';
import { detectRallies } from './detect.js';

const ROOT = resolve(__dirname, '../..');
let dir: string;
let demo: DemoDataset;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-cut-'));
  // A seed the baseline was not fitted on; small frames keep rendering fast, one 60 fps clip checks stride scaling.
  demo = await generateDemo({
    dir,
    config: {
      seed: 9091,
      videos: 2,
      minSeconds: 110,
      maxSeconds: 130,
      timeScale: 1,
      gapScale: 0.6,
      profiles: [
        { width: 480, height: 270, fps: 30, ext: 'mp4', rotate: false, vfr: false },
        { width: 480, height: 270, fps: 60, ext: 'mp4', rotate: false, vfr: false },
      ],
    },
    jobs: 2,
  });
});

function io(cwd: string): CommandIO & { stdout: string; stderr: string } {
  const o = { stdout: '', stderr: '' };
  return Object.assign(o, {
    cwd,
    env: { ...process.env, RALLYCUT_CACHE_DIR: join(dir, 'cache') },
    out: (t: string) => void (o.stdout += t),
    err: (t: string) => void (o.stderr += t),
    isTTY: false,
    signal: new AbortController().signal,
  });
}

describe('cut', () => {
  it('finds the demo rallies with F1 >= 0.8 at IoU 0.5 (baseline + heuristics)', async () => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const v of demo.videos) {
      const d = await detectRallies(join(dir, v.path), {
        root: ROOT,
        cacheDir: join(dir, 'cache'),
        model: 'beach',
        weightsDir: 'weights/videomae',
        baseStride: 48,
        batch: 8,
      });
      const m = greedyMatch(v.rallies, d.rallies, 0.5);
      tp += m.matches.length;
      fn += m.unmatched_truth.length;
      fp += m.unmatched_pred.length;
    }
    const precision = tp / Math.max(1, tp + fp);
    const recall = tp / Math.max(1, tp + fn);
    const f1 = (2 * precision * recall) / Math.max(1e-9, precision + recall);
    expect(tp + fn).toBeGreaterThanOrEqual(6);
    expect(f1, `tp ${tp} fp ${fp} fn ${fn}`).toBeGreaterThanOrEqual(0.8);
  });

  it('classifies a 60 fps source on its 30 fps proxy, as the seed does: 16-frame windows of 16/30 s every 1.6 s', async () => {
    const v = demo.videos.find((x) => x.fps === 60)!;
    const d = await detectRallies(join(dir, v.path), {
      root: ROOT,
      cacheDir: join(dir, 'cache'),
      model: 'beach',
      weightsDir: 'weights/videomae',
      baseStride: 48,
      batch: 8,
    });
    expect(d.sourceFps).toBe(60);
    expect(d.fps).toBe(30);
    expect(d.windows.stride).toBe(48);
    expect(d.windows.windows.length).toBe(Math.max(1, Math.floor((d.totalFrames - 16) / 48) + 1));
    expect(Math.abs(d.totalFrames / 30 - v.duration_ms / 1000)).toBeLessThan(0.1);
    const m = greedyMatch(v.rallies, d.rallies, 0.5);
    expect(m.matches.length, `${m.matches.length} of ${v.rallies.length} rallies found`).toBeGreaterThanOrEqual(v.rallies.length - 1);
  });

  it('prints the rallies, writes ground_truth-format JSON and a cut video of the rally time', async () => {
    const v = demo.videos[0]!;
    const t = io(dir);
    const code = await main(['cut', join(dir, v.path), '--model', 'beach', '--segments', 'rallies.json', '--output', 'out/cut.mp4'], { ...t, cwd: dir });
    expect(code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/\d+ rallies in match_01\.mp4 \(model beach, heuristics beach, windows from cache\)/);
    expect(t.stdout).toMatch(/#\s+start\s+end\s+duration_s\s+confidence/);
    const gt = JSON.parse(await fs.readFile(join(dir, 'rallies.json'), 'utf8')) as GroundTruth;
    expect(gt).toHaveLength(1);
    expect(gt[0]!.filename).toBe('match_01.mp4');
    expect(Object.keys(gt[0]!.rallies[0]!).sort()).toEqual(['end_ms', 'start_ms']);
    const total = gt[0]!.rallies.reduce((s, r) => s + r.end_ms - r.start_ms, 0) / 1000;
    const probe = await probeVideo(join(dir, 'out/cut.mp4'), { countFrames: true });
    expect(Math.abs(probe.frames / probe.avg_fps - total)).toBeLessThan(0.5 + 0.1 * gt[0]!.rallies.length);
    expect(t.stdout).toMatch(/cut video: .*cut\.mp4 \(\d+ segments, [\d.]+ s, (stream copy|re-encoded)\)/);

    // --json prints to stdout, as on every command (it named a file here before; that is --segments now).
    const j = io(dir);
    expect(await main(['cut', join(dir, v.path), '--model', 'beach', '--json', '--dry-run'], { ...j, cwd: dir }), j.stderr).toBe(0);
    const printed = JSON.parse(j.stdout) as { ok: boolean; rallies: { start_ms: number; end_ms: number }[]; cut?: unknown };
    expect(printed.ok).toBe(true);
    expect(printed.rallies.map((r) => [r.start_ms, r.end_ms])).toEqual(gt[0]!.rallies.map((r) => [r.start_ms, r.end_ms]));
    expect(printed.cut).toBeUndefined();
    const old = io(dir);
    expect(await main(['cut', join(dir, v.path), '--json', 'rallies.json', '--dry-run'], { ...old, cwd: dir })).toBe(2);
    expect(JSON.parse(old.stdout)).toMatchObject({ ok: false });
  });

  it('--temporal names a missing checkpoint clearly', async () => {
    const t = io(dir);
    expect(await main(['cut', join(dir, demo.videos[0]!.path), '--temporal', 'no-such-model', '--dry-run'], t)).toBe(1);
    expect(t.stderr).toMatch(/cannot read temporal checkpoint .*no-such-model/);
  });
});
