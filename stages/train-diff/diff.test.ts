// Matching videos and rallies between two versions of a dataset (train diff's core), on small fixtures.
import { describe, expect, it } from 'vitest';
import type { ManifestVideo } from '../lib/contracts.js';
import { diffDatasets, diffRallies, iou, type DatasetVersion } from './diff.js';

const r = (start: number, end: number) => ({ start_ms: start, end_ms: end });
const video = (id: string, filename: string, hash: string): ManifestVideo => ({
  video_id: id,
  filename,
  content_hash: hash.repeat(64).slice(0, 64),
  duration_ms: 600_000,
  rally_count: 0,
});
const version = (label: string, vids: [ManifestVideo, ReturnType<typeof r>[]][]): DatasetVersion => ({
  label,
  videos: vids.map(([v, rallies]) => ({ ...v, rally_count: rallies.length })),
  groundTruth: vids.map(([v, rallies]) => ({ video_id: v.video_id, filename: v.filename, rallies })),
});

describe('rally matching', () => {
  it('identical spans are unchanged; an overlapping one moved, with its shifts; the rest added and removed', () => {
    const d = diffRallies([r(1000, 9000), r(20_000, 30_000), r(50_000, 55_000)], [r(1000, 9000), r(21_000, 30_500), r(70_000, 80_000)], 0.5);
    expect(d.unchanged).toBe(1);
    expect(d.moved).toEqual([{ from: r(20_000, 30_000), to: r(21_000, 30_500), start_shift_ms: 1000, end_shift_ms: 500, iou: 0.857 }]);
    expect(d.added).toEqual([r(70_000, 80_000)]);
    expect(d.removed).toEqual([r(50_000, 55_000)]);
  });

  it('below the IoU threshold two spans are one removed and one added, not moved', () => {
    expect(iou(r(0, 10_000), r(6000, 16_000))).toBeCloseTo(0.25);
    const d = diffRallies([r(0, 10_000)], [r(6000, 16_000)], 0.5);
    expect(d).toEqual({ added: [r(6000, 16_000)], removed: [r(0, 10_000)], moved: [], unchanged: 0 });
    expect(diffRallies([r(0, 10_000)], [r(6000, 16_000)], 0.2).moved).toHaveLength(1);
  });

  it('a rally cut in two: the larger part is the moved rally, the other is added', () => {
    const d = diffRallies([r(0, 20_000)], [r(0, 12_000), r(14_000, 20_000)], 0.2);
    expect(d.moved.map((m) => m.to)).toEqual([r(0, 12_000)]);
    expect(d.added).toEqual([r(14_000, 20_000)]);
  });

  it('each rally is matched once: the best overlap wins, ties go to the smaller start shift', () => {
    const d = diffRallies([r(10_000, 20_000), r(12_000, 22_000)], [r(11_000, 21_000)], 0.5);
    expect(d.moved).toHaveLength(1);
    expect(d.removed).toHaveLength(1);
    expect(d.moved[0]!.from).toEqual(r(10_000, 20_000)); // same IoU with both; start shift 1000 on each — the earlier one
  });

  it('two identical rallies on each side pair up twice (labels may repeat)', () => {
    expect(diffRallies([r(0, 5000), r(0, 5000)], [r(0, 5000), r(0, 5000)], 0.5)).toEqual({ added: [], removed: [], moved: [], unchanged: 2 });
  });
});

describe('dataset diff', () => {
  const a1 = video('id-1', 'match.mp4', 'a');
  const a2 = video('id-2', 'gone.mp4', 'b');
  const a3 = video('id-3', 'old-name.mp4', 'c');
  const a4 = video('id-4', 'reimported.mp4', 'd');
  const A = version('A', [
    [a1, [r(0, 5000), r(10_000, 15_000)]],
    [a2, [r(0, 1000)]],
    [a3, [r(0, 5000)]],
    [a4, [r(0, 5000)]],
  ]);
  const B = version('B', [
    [a1, [r(0, 5000), r(10_500, 15_000), r(30_000, 40_000)]],
    [{ ...a3, filename: 'new-name.mp4' }, [r(0, 5000)]],
    [video('id-9', 'reimported.mp4', 'd'), [r(0, 5000), r(8000, 9000)]],
    [video('id-5', 'new.mp4', 'e'), [r(0, 1000), r(2000, 3000)]],
  ]);

  it('per video: changed, renamed, relabelled under a new id, added, removed', () => {
    const d = diffDatasets(A, B);
    const byName = new Map(d.videos.map((v) => [v.filename, v]));
    expect(d.videos.map((v) => [v.status, v.filename])).toEqual([
      ['changed', 'match.mp4'],
      ['changed', 'new-name.mp4'],
      ['changed', 'reimported.mp4'],
      ['added', 'new.mp4'],
      ['removed', 'gone.mp4'],
    ]);
    expect(byName.get('match.mp4')!.rallies).toMatchObject({ unchanged: 1, added: [r(30_000, 40_000)], moved: [{ start_shift_ms: 500, end_shift_ms: 0 }] });
    expect(byName.get('new-name.mp4')).toMatchObject({ renamed_from: 'old-name.mp4', rallies: { unchanged: 1, added: [], removed: [], moved: [] } });
    expect(byName.get('reimported.mp4')).toMatchObject({ video_id: 'id-9', previous_video_id: 'id-4', rallies: { unchanged: 1, added: [r(8000, 9000)] } });
    expect(byName.get('new.mp4')!.rallies.added).toHaveLength(2);
    expect(byName.get('gone.mp4')!.rallies.removed).toHaveLength(1);
  });

  it('totals add up: a + added − removed = b', () => {
    const { totals } = diffDatasets(A, B);
    expect(totals.videos).toEqual({ a: 4, b: 4, added: 1, removed: 1, changed: 3, unchanged: 0, renamed: 1, relabelled: 1 });
    expect(totals.rallies).toEqual({ a: 5, b: 8, added: 4, removed: 1, moved: 1, unchanged: 3 });
    expect(totals.rallies.a + totals.rallies.added - totals.rallies.removed).toBe(totals.rallies.b);
  });

  it('a version against itself: every video unchanged, nothing added, removed or moved', () => {
    const d = diffDatasets(A, A);
    expect(d.videos.every((v) => v.status === 'unchanged')).toBe(true);
    expect(d.totals.rallies).toMatchObject({ added: 0, removed: 0, moved: 0, unchanged: 5 });
  });

  it('same video_id but another file is flagged', () => {
    const d = diffDatasets(version('A', [[a1, [r(0, 5000)]]]), version('B', [[{ ...a1, content_hash: 'f'.repeat(64) }, [r(0, 5000)]]]));
    expect(d.videos[0]).toMatchObject({ status: 'changed', content_changed: true });
  });
});
