import { describe, expect, it } from 'vitest';
import type { RallySpan } from '../lib/contracts.js';
import { Rng } from '../lib/nn/rng.js';
import { drawTimeline } from '../demo/timeline.js';
import { buildSamples, videoWindows, WINDOW } from './samples.js';

const fps = 30;
// the seed's conversion (training/sampler.py): int(ms / 1000 · fps)
const frameOf = (ms: number): number => Math.trunc((ms / 1000) * fps);

function randomVideo(seed: number): { video_id: string; fps: number; frames: number; rallies: RallySpan[] } {
  const t = drawTimeline(new Rng(seed), 150 + (seed % 60));
  return { video_id: `v${seed}`, fps, frames: Math.floor((t.duration_ms * fps) / 1000), rallies: t.rallies };
}

describe('training samples', () => {
  it('places each label where the rules say, on many random timelines', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const v = randomVideo(seed);
      const windows = videoWindows(v, 42);
      const spans = v.rallies.map((r) => ({ s: frameOf(r.start_ms), e: frameOf(r.end_ms) }));
      for (const w of windows) {
        expect(w.end_frame - w.start_frame + 1).toBe(WINDOW);
        expect(w.start_frame).toBeGreaterThanOrEqual(0);
        expect(w.end_frame).toBeLessThan(v.frames);
        const inside = spans.find((s) => w.start_frame >= s.s && w.end_frame < s.e);
        if (w.label === 'service') {
          expect(inside, `service window ${w.start_frame} of ${v.video_id}`).toBeDefined();
          expect(w.end_frame).toBeLessThan(inside!.s + 1.5 * fps);
        } else if (w.label === 'play') {
          expect(inside).toBeDefined();
          expect(w.start_frame).toBeGreaterThanOrEqual(inside!.s + 1.5 * fps);
          expect(w.end_frame).toBeLessThan(inside!.e - 0.5 * fps);
        } else {
          // no_play: at least 1 s away from every rally
          for (const s of spans) expect(w.end_frame < s.s - fps + 1 || w.start_frame >= s.e + fps).toBe(true);
        }
      }
      // Every rally of ≥ 32 frames has exactly one service window; long enough ones three play windows.
      spans.forEach((s, i) => {
        const mine = windows.filter((w) => w.group === `rally${i}`);
        const len = s.e - s.s;
        expect(mine.filter((w) => w.label === 'service').length).toBe(len >= 32 ? 1 : 0);
        if (len >= 2 * fps + 3 * WINDOW) expect(mine.filter((w) => w.label === 'play').length).toBe(3);
      });
    }
  });

  it('skips rallies under 32 frames and gaps not longer than 2 s + 16 frames', () => {
    const v = {
      video_id: 'short',
      fps,
      frames: 900,
      // rally 1: 31 frames; gap to rally 2: exactly 2 s + 16 frames (76 frames) → no no_play from it
      rallies: [
        { start_ms: 10_000, end_ms: 10_000 + (31 * 1000) / 30 },
        { start_ms: 10_000 + (31 * 1000) / 30 + (76 * 1000) / 30, end_ms: 20_000 },
      ],
    };
    const w = videoWindows(v, 1);
    expect(w.filter((x) => x.group === 'rally0')).toEqual([]);
    expect(w.filter((x) => x.group === 'gap1')).toEqual([]);
    expect(w.filter((x) => x.group === 'rally1' && x.label === 'service')).toHaveLength(1);
    expect(w.filter((x) => x.group === 'gap0' && x.label === 'no_play')).toHaveLength(3);
  });

  it('is deterministic for a seed, splits about 90/10 by rally or gap, and changes with the seed', () => {
    const videos = Array.from({ length: 12 }, (_, i) => randomVideo(100 + i));
    const a = buildSamples(videos, 42);
    expect(buildSamples([...videos].reverse(), 42)).toEqual(a);
    const groups = new Map<string, Set<string>>();
    for (const s of a) {
      const key = `${s.video_id}/${s.group}`;
      groups.set(key, (groups.get(key) ?? new Set()).add(s.split));
    }
    for (const splits of groups.values()) expect(splits.size).toBe(1);
    const valGroups = [...groups.values()].filter((s) => s.has('val')).length;
    expect(valGroups).toBe(Math.round(groups.size * 0.1));
    const b = buildSamples(videos, 43);
    expect(b.map((s) => `${s.start_frame}${s.split}`)).not.toEqual(a.map((s) => `${s.start_frame}${s.split}`));
  });
});
