// `train diff A [B]`: videos added and removed, rallies added, removed or moved, between two versions of a
// training dataset (two datasets, or one at two git revisions). The question a user asks before retraining.
import { optBool, optNumber, stableJson, configError, findProjectRoot, type CommandSpec, type StageModule } from '../../src/handler.js';
import type { RallySpan } from '../lib/contracts.js';
import { diffDatasets, type DatasetDiff, type VideoDiff } from './diff.js';
import { parseVersionSpec, readVersion, type VersionSpec } from './source.js';

/** m:ss.t (h:mm:ss.t past an hour). */
export function clock(ms: number): string {
  const t = Math.round(ms / 100);
  const tenths = t % 10;
  const s = Math.floor(t / 10);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const body = `${String(ss).padStart(2, '0')}.${tenths}`;
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${body}` : `${mm}:${body}`;
}

const spanText = (r: RallySpan): string => `${clock(r.start_ms)}–${clock(r.end_ms)}`;
const shift = (ms: number): string => `${ms >= 0 ? '+' : '−'}${(Math.abs(ms) / 1000).toFixed(1)} s`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function videoLines(v: VideoDiff): string[] {
  const r = v.rallies;
  if (v.status === 'added') return [`added    ${v.filename}: ${plural(r.added.length, 'rally', 'rallies')}`];
  if (v.status === 'removed') return [`removed  ${v.filename}: ${plural(r.removed.length, 'rally', 'rallies')}`];
  const notes = [
    ...(v.renamed_from !== undefined ? [`renamed from ${v.renamed_from}`] : []),
    ...(v.previous_video_id !== undefined ? [`same file, new video_id (was ${v.previous_video_id})`] : []),
    ...(v.content_changed ? ['same video_id, different file (content_hash changed)'] : []),
  ];
  const counts = [
    r.added.length && `${r.added.length} added`,
    r.removed.length && `${r.removed.length} removed`,
    r.moved.length && `${r.moved.length} moved`,
  ].filter(Boolean);
  const head = `changed  ${v.filename}: ${counts.length ? `rallies ${counts.join(', ')}` : 'rallies the same'}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  const rows: [number, string][] = [
    ...r.added.map((s): [number, string] => [s.start_ms, `  + ${spanText(s)}`]),
    ...r.removed.map((s): [number, string] => [s.start_ms, `  - ${spanText(s)}`]),
    ...r.moved.map((m): [number, string] => [
      m.to.start_ms,
      `  ~ ${spanText(m.from)} → ${spanText(m.to)} (start ${shift(m.start_shift_ms)}, end ${shift(m.end_shift_ms)})`,
    ]),
  ];
  return [head, ...rows.sort((p, q) => p[0] - q[0]).map((x) => x[1])];
}

export function formatDiff(d: DatasetDiff): string {
  const { videos: tv, rallies: tr } = d.totals;
  const lines = [`${d.a} → ${d.b} (a rally counts as moved at IoU ≥ ${d.min_iou})`, ''];
  const shown = d.videos.filter((v) => v.status !== 'unchanged');
  if (shown.length === 0) lines.push('no differences', '');
  for (const v of shown) lines.push(...videoLines(v));
  if (shown.length) lines.push('');
  lines.push(
    `videos:  ${tv.a} → ${tv.b}: ${tv.added} added, ${tv.removed} removed, ${tv.changed} changed${tv.renamed ? ` (${tv.renamed} renamed)` : ''}${tv.relabelled ? ` (${tv.relabelled} relabelled under a new id)` : ''}, ${tv.unchanged} unchanged`,
    `rallies: ${tr.a} → ${tr.b}: ${tr.added} added, ${tr.removed} removed, ${tr.moved} moved, ${tr.unchanged} unchanged`,
  );
  return lines.join('\n') + '\n';
}

const command: CommandSpec = {
  path: ['train', 'diff'],
  summary: 'Show what changed between two versions of a training dataset: videos and rallies added, removed or moved',
  description:
    "A and B are 'NAME' (training_datasets/NAME) or a dataset folder's path, each with an optional '@REV' for the " +
    "version git has at that revision: 'train diff beach_v3 beach_v4', 'train diff beach_v4@HEAD~1 beach_v4'. " +
    'With B left out, A is compared with its files as they are now; with neither revision given, that means A@HEAD against A. ' +
    'Videos are the same when they share a video_id (a new filename is a rename) or, failing that, a content_hash (the same ' +
    'file imported again under a new id). Rallies of a video are matched exactly first, then greedily by overlap (IoU, largest ' +
    'first); a pair at IoU ≥ --iou counts as one rally moved, with its start and end shifts. Rallies of added or removed ' +
    'videos count as added or removed.',
  positionals: [
    { name: 'a', description: 'The older version: NAME[@REV] or PATH[@REV]', required: true, complete: 'dataset' },
    { name: 'b', description: 'The newer version (default: A as it is now)', complete: 'dataset' },
  ],
  options: [
    { name: 'iou', type: 'number', placeholder: 'X', description: 'Least overlap (IoU, 0–1) for two rallies to count as one moved rally', default: 0.5 },
    { name: 'json', type: 'boolean', description: 'Print the diff as JSON' },
  ],
  async run(args, io) {
    const minIou = optNumber(args, 'iou') ?? 0.5;
    if (!(minIou > 0 && minIou <= 1)) throw configError(`--iou must be above 0 and at most 1, got ${minIou}`, { subject: '--iou' });
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const [textA, textB] = args.positionals as [string, string | undefined];
    let a: VersionSpec = parseVersionSpec(textA, root, io.cwd);
    let b: VersionSpec;
    if (textB !== undefined) b = parseVersionSpec(textB, root, io.cwd);
    else {
      b = { label: textA.slice(0, textA.includes('@') ? textA.indexOf('@') : undefined), dir: a.dir };
      if (a.rev === undefined) a = { ...a, label: `${textA}@HEAD`, rev: 'HEAD' };
    }
    const [va, vb] = await Promise.all([readVersion(a, root), readVersion(b, root)]);
    const diff = diffDatasets(va, vb, minIou);
    io.out(optBool(args, 'json') ? stableJson({ ok: true, ...diff }) : formatDiff(diff));
  },
};

const module: StageModule = { commands: [command] };
export default module;
