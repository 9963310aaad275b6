// What changed in the labels between two versions of a training dataset: the question before retraining.
//
// Videos are the same video when they share a video_id (a new filename is a rename), or else when they
// share a content_hash (the same file imported again under a new id: relabelled in the web app). The rest
// were added or removed.
//
// Rallies of one video are matched in two passes: identical spans first (unchanged), then, among the rest,
// greedily by temporal IoU (largest first, ties to the smaller start shift), a pair counting as the same
// rally moved when its IoU is at least `minIou` (default 0.5, the evaluation's own threshold). Moved rallies
// report how far their start and end shifted. What stays unmatched was added or removed. A rally cut in
// two therefore reads as one moved (the larger overlap) plus one added.
import type { GroundTruthVideo, ManifestVideo, RallySpan } from '../lib/contracts.js';

export interface DatasetVersion {
  /** How the user named it: 'beach_v4', 'beach_v4@HEAD~1'. */
  label: string;
  videos: readonly ManifestVideo[];
  groundTruth: readonly GroundTruthVideo[];
}

export interface MovedRally {
  from: RallySpan;
  to: RallySpan;
  start_shift_ms: number;
  end_shift_ms: number;
  iou: number;
}

export type VideoStatus = 'added' | 'removed' | 'changed' | 'unchanged';

export interface VideoDiff {
  /** The filename in B (in A for a removed video). */
  filename: string;
  video_id: string;
  content_hash: string;
  status: VideoStatus;
  /** Same video_id, other filename. */
  renamed_from?: string;
  /** Same content_hash, other video_id (imported again and relabelled). */
  previous_video_id?: string;
  /** Same video_id, other content_hash: the id now names a different file. */
  content_changed?: true;
  rallies: { added: RallySpan[]; removed: RallySpan[]; moved: MovedRally[]; unchanged: number };
}

export interface DiffTotals {
  videos: { a: number; b: number; added: number; removed: number; changed: number; unchanged: number; renamed: number; relabelled: number };
  /** Rallies of added videos count as added, of removed videos as removed: a + added − removed = b. */
  rallies: { a: number; b: number; added: number; removed: number; moved: number; unchanged: number };
}

export interface DatasetDiff {
  a: string;
  b: string;
  min_iou: number;
  /** Every video of either version: changed ones first, then added, removed, unchanged; by filename within. */
  videos: VideoDiff[];
  totals: DiffTotals;
}

export function iou(x: RallySpan, y: RallySpan): number {
  const inter = Math.max(0, Math.min(x.end_ms, y.end_ms) - Math.max(x.start_ms, y.start_ms));
  const union = Math.max(x.end_ms, y.end_ms) - Math.min(x.start_ms, y.start_ms);
  return union > 0 ? inter / union : 0;
}

const byTime = (p: RallySpan, q: RallySpan): number => p.start_ms - q.start_ms || p.end_ms - q.end_ms;
const span = (r: RallySpan): RallySpan => ({ start_ms: r.start_ms, end_ms: r.end_ms });

/** Matches the rallies of one video across versions (see the header for the rule). */
export function diffRallies(a: readonly RallySpan[], b: readonly RallySpan[], minIou: number): VideoDiff['rallies'] {
  const restA = [...a].map(span).sort(byTime);
  const restB = [...b].map(span).sort(byTime);
  let unchanged = 0;
  // Pass 1: identical spans (a multiset match: two identical rallies on each side pair up twice).
  for (let i = restA.length - 1; i >= 0; i--) {
    const r = restA[i]!;
    const j = restB.findIndex((s) => s.start_ms === r.start_ms && s.end_ms === r.end_ms);
    if (j < 0) continue;
    restA.splice(i, 1);
    restB.splice(j, 1);
    unchanged++;
  }
  // Pass 2: overlapping spans, best pairs first.
  const pairs: { i: number; j: number; iou: number; shift: number }[] = [];
  restA.forEach((r, i) =>
    restB.forEach((s, j) => {
      const v = iou(r, s);
      if (v >= minIou && v > 0) pairs.push({ i, j, iou: v, shift: Math.abs(s.start_ms - r.start_ms) });
    }),
  );
  pairs.sort((p, q) => q.iou - p.iou || p.shift - q.shift || p.i - q.i || p.j - q.j);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  const moved: MovedRally[] = [];
  for (const p of pairs) {
    if (usedA.has(p.i) || usedB.has(p.j)) continue;
    usedA.add(p.i);
    usedB.add(p.j);
    const from = restA[p.i]!;
    const to = restB[p.j]!;
    moved.push({ from, to, start_shift_ms: to.start_ms - from.start_ms, end_shift_ms: to.end_ms - from.end_ms, iou: Math.round(p.iou * 1000) / 1000 });
  }
  moved.sort((p, q) => byTime(p.to, q.to));
  return {
    added: restB.filter((_, j) => !usedB.has(j)),
    removed: restA.filter((_, i) => !usedA.has(i)),
    moved,
    unchanged,
  };
}

const STATUS_ORDER: Record<VideoStatus, number> = { changed: 0, added: 1, removed: 2, unchanged: 3 };

export function diffDatasets(a: DatasetVersion, b: DatasetVersion, minIou = 0.5): DatasetDiff {
  const ralliesOf = (v: DatasetVersion): Map<string, RallySpan[]> => new Map(v.groundTruth.map((g) => [g.video_id, g.rallies]));
  const gtA = ralliesOf(a);
  const gtB = ralliesOf(b);
  const byIdA = new Map(a.videos.map((v) => [v.video_id, v]));
  const pairs: { va: ManifestVideo | undefined; vb: ManifestVideo | undefined }[] = [];
  const matchedA = new Set<string>();
  const unmatchedB: ManifestVideo[] = [];
  for (const vb of b.videos) {
    const va = byIdA.get(vb.video_id);
    if (va) {
      matchedA.add(va.video_id);
      pairs.push({ va, vb });
    } else unmatchedB.push(vb);
  }
  // Second chance by content: the same file under a new id.
  const byHashA = new Map<string, ManifestVideo[]>();
  for (const va of a.videos) if (!matchedA.has(va.video_id)) byHashA.set(va.content_hash, [...(byHashA.get(va.content_hash) ?? []), va]);
  for (const vb of unmatchedB) {
    const va = byHashA.get(vb.content_hash)?.shift();
    if (va) matchedA.add(va.video_id);
    pairs.push({ va, vb });
  }
  for (const va of a.videos) if (!matchedA.has(va.video_id)) pairs.push({ va, vb: undefined });

  const videos: VideoDiff[] = pairs.map(({ va, vb }) => {
    const v = (vb ?? va)!;
    const rallies = diffRallies(va ? (gtA.get(va.video_id) ?? []) : [], vb ? (gtB.get(vb.video_id) ?? []) : [], minIou);
    const base = { filename: v.filename, video_id: v.video_id, content_hash: v.content_hash, rallies };
    if (!va) return { ...base, status: 'added' };
    if (!vb) return { ...base, status: 'removed' };
    const extra: Partial<VideoDiff> = {};
    if (va.filename !== vb.filename) extra.renamed_from = va.filename;
    if (va.video_id !== vb.video_id) extra.previous_video_id = va.video_id;
    if (va.video_id === vb.video_id && va.content_hash !== vb.content_hash) extra.content_changed = true;
    const same = rallies.added.length === 0 && rallies.removed.length === 0 && rallies.moved.length === 0 && Object.keys(extra).length === 0;
    return { ...base, ...extra, status: same ? 'unchanged' : 'changed' };
  });
  videos.sort(
    (p, q) =>
      STATUS_ORDER[p.status] - STATUS_ORDER[q.status] || (p.filename < q.filename ? -1 : p.filename > q.filename ? 1 : p.video_id < q.video_id ? -1 : 1),
  );

  const count = (s: VideoStatus): number => videos.filter((v) => v.status === s).length;
  const sum = (f: (v: VideoDiff) => number): number => videos.reduce((n, v) => n + f(v), 0);
  const ralliesIn = (v: DatasetVersion): number => v.groundTruth.reduce((n, g) => n + g.rallies.length, 0);
  return {
    a: a.label,
    b: b.label,
    min_iou: minIou,
    videos,
    totals: {
      videos: {
        a: a.videos.length,
        b: b.videos.length,
        added: count('added'),
        removed: count('removed'),
        changed: count('changed'),
        unchanged: count('unchanged'),
        renamed: videos.filter((v) => v.renamed_from !== undefined).length,
        relabelled: videos.filter((v) => v.previous_video_id !== undefined).length,
      },
      rallies: {
        a: ralliesIn(a),
        b: ralliesIn(b),
        added: sum((v) => v.rallies.added.length),
        removed: sum((v) => v.rallies.removed.length),
        moved: sum((v) => v.rallies.moved.length),
        unchanged: sum((v) => v.rallies.unchanged),
      },
    },
  };
}
