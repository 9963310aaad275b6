// `rallycut train diff` through the CLI: two datasets, one dataset at two git revisions, errors a user can
// fix (exit 2), --json; and the real annotations (beach_v3 → beach_v4), skipped where they are absent.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ANNOTATIONS = join(repoRoot, '..', 'shared', 'data', 'rallycut-annotations');
const present = existsSync(join(ANNOTATIONS, 'beach_v3')) && existsSync(join(ANNOTATIONS, 'beach_v4'));

const hash = (c: string): string => c.repeat(64);
const manifest = (name: string, videos: { id: string; file: string; hash: string; rallies: number }[]): string =>
  JSON.stringify({
    name,
    videos: videos.map((v) => ({ filename: v.file, video_id: v.id, content_hash: v.hash, duration_ms: 600_000, rally_count: v.rallies })),
    stats: {},
  });
const groundTruth = (videos: { id: string; file: string; rallies: [number, number][] }[]): string =>
  JSON.stringify(videos.map((v) => ({ video_id: v.id, filename: v.file, rallies: v.rallies.map(([s, e]) => ({ start_ms: s, end_ms: e })) })));

const V1 = {
  'training_datasets/beach/manifest.json': manifest('beach', [
    { id: 'v1', file: 'a.mp4', hash: hash('a'), rallies: 2 },
    { id: 'v2', file: 'b.mp4', hash: hash('b'), rallies: 1 },
  ]),
  'training_datasets/beach/ground_truth.json': groundTruth([
    {
      id: 'v1',
      file: 'a.mp4',
      rallies: [
        [0, 5000],
        [10_000, 20_000],
      ],
    },
    { id: 'v2', file: 'b.mp4', rallies: [[1000, 4000]] },
  ]),
};
const V2 = {
  'training_datasets/beach/manifest.json': manifest('beach', [
    { id: 'v1', file: 'a.mp4', hash: hash('a'), rallies: 3 },
    { id: 'v3', file: 'c.mp4', hash: hash('c'), rallies: 1 },
  ]),
  'training_datasets/beach/ground_truth.json': groundTruth([
    {
      id: 'v1',
      file: 'a.mp4',
      rallies: [
        [0, 5000],
        [11_000, 20_000],
        [30_000, 35_000],
      ],
    },
    { id: 'v3', file: 'c.mp4', rallies: [[0, 2000]] },
  ]),
};

const git = (rig: Rig, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args], { cwd: rig.dir, encoding: 'utf8' });

let rig: Rig;
afterEach(async () => rig?.cleanup());

async function project(): Promise<Rig> {
  rig = new Rig('rallycut-tdiff-');
  await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
  git(rig, 'init', '-q');
  return rig;
}

describe('train diff', () => {
  it('between two revisions of one dataset: per video and in total, as text and JSON', async () => {
    await project();
    await rig.write(V1);
    git(rig, 'add', '-A');
    git(rig, 'commit', '-qm', 'v1');
    await rig.write(V2);
    git(rig, 'commit', '-qam', 'v2');

    const text = await rig.run(['train', 'diff', 'beach@HEAD~1', 'beach']);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      [
        'beach@HEAD~1 → beach (a rally counts as moved at IoU ≥ 0.5)',
        '',
        'changed  a.mp4: rallies 1 added, 1 moved',
        '  ~ 0:10.0–0:20.0 → 0:11.0–0:20.0 (start +1.0 s, end +0.0 s)',
        '  + 0:30.0–0:35.0',
        'added    c.mp4: 1 rally',
        'removed  b.mp4: 1 rally',
        '',
        'videos:  2 → 2: 1 added, 1 removed, 1 changed, 0 unchanged',
        'rallies: 3 → 4: 2 added, 1 removed, 1 moved, 1 unchanged',
        '',
      ].join('\n'),
    );

    const json = await rig.run(['train', 'diff', 'beach@HEAD~1', 'beach@HEAD', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      ok: boolean;
      a: string;
      b: string;
      totals: { rallies: Record<string, number> };
      videos: { filename: string; status: string }[];
    };
    expect(parsed).toMatchObject({
      ok: true,
      a: 'beach@HEAD~1',
      b: 'beach@HEAD',
      totals: { rallies: { a: 3, b: 4, added: 2, removed: 1, moved: 1, unchanged: 1 } },
    });
    expect(parsed.videos.map((v) => `${v.status} ${v.filename}`)).toEqual(['changed a.mp4', 'added c.mp4', 'removed b.mp4']);

    // One argument: the last commit against the files now (no edits yet: nothing), then after an edit.
    expect((await rig.run(['train', 'diff', 'beach'])).stdout).toContain('no differences');
    await rig.write(V1);
    const edited = await rig.run(['train', 'diff', 'beach', '--json']);
    expect(JSON.parse(edited.stdout)).toMatchObject({ a: 'beach@HEAD', b: 'beach', totals: { rallies: { a: 4, b: 3 } } });
  });

  it('between two datasets; a tighter --iou turns a moved rally into one removed and one added', async () => {
    await project();
    await rig.write(V1);
    await rig.write(Object.fromEntries(Object.entries(V2).map(([k, v]) => [k.replace('/beach/', '/beach_v2/'), v])));
    const loose = JSON.parse((await rig.run(['train', 'diff', 'beach', 'beach_v2', '--json'])).stdout) as { totals: { rallies: Record<string, number> } };
    expect(loose.totals.rallies).toMatchObject({ moved: 1, added: 2, removed: 1 });
    const tight = JSON.parse((await rig.run(['train', 'diff', 'beach', 'beach_v2', '--iou', '0.95', '--json'])).stdout) as {
      totals: { rallies: Record<string, number> };
    };
    expect(tight.totals.rallies).toMatchObject({ moved: 0, added: 3, removed: 2 });
  });

  it('errors a user can fix exit 2 and say what is wrong', async () => {
    await project();
    await rig.write(V1);
    git(rig, 'add', '-A');
    git(rig, 'commit', '-qm', 'v1');
    const cases: [string[], RegExp][] = [
      [['train', 'diff', 'beach@no-such-rev', 'beach'], /git knows no revision 'no-such-rev'/],
      [['train', 'diff', 'nothing', 'beach'], /no dataset 'nothing'/],
      [['train', 'diff', 'beach@', 'beach'], /a revision must follow '@'/],
      [['train', 'diff', 'beach', 'beach', '--iou', '0'], /--iou must be above 0/],
    ];
    for (const [argv, message] of cases) {
      const res = await rig.run(argv);
      expect({ argv, code: res.code }).toEqual({ argv, code: 2 });
      expect(res.stderr).toMatch(message);
    }
    await rig.write({
      'training_datasets/fresh/manifest.json': V1['training_datasets/beach/manifest.json'],
      'training_datasets/fresh/ground_truth.json': V1['training_datasets/beach/ground_truth.json'],
    });
    const notCommitted = await rig.run(['train', 'diff', 'fresh']);
    expect(notCommitted.code).toBe(2);
    expect(notCommitted.stderr).toMatch(/no dataset at revision HEAD: training_datasets\/fresh\/manifest.json is not in it/);
  });
});

describe.skipIf(!present)(
  `train diff on the real annotations${present ? '' : ' (skipped: ../shared/data/rallycut-annotations is absent in this clone)'}`,
  () => {
    it('beach_v3 → beach_v4, as folders and as one dataset at two git revisions, agree', async () => {
      await project();
      cpSync(join(ANNOTATIONS, 'beach_v3'), join(rig.dir, 'training_datasets', 'beach'), { recursive: true });
      git(rig, 'add', '-A');
      git(rig, 'commit', '-qm', 'v3');
      cpSync(join(ANNOTATIONS, 'beach_v4'), join(rig.dir, 'training_datasets', 'beach'), { recursive: true });
      git(rig, 'commit', '-qam', 'v4');

      const byRev = JSON.parse((await rig.run(['train', 'diff', 'beach@HEAD~1', 'beach@HEAD', '--json'])).stdout) as { totals: unknown; videos: unknown[] };
      const byPath = JSON.parse((await rig.run(['train', 'diff', join(ANNOTATIONS, 'beach_v3'), join(ANNOTATIONS, 'beach_v4'), '--json'])).stdout) as {
        totals: unknown;
        videos: unknown[];
      };
      // beach_v4 keeps all 21 videos of beach_v3 and adds 30; 12 of the kept ones gained or moved rallies.
      expect(byRev.totals).toEqual({
        videos: { a: 21, b: 51, added: 30, removed: 0, changed: 12, unchanged: 9, renamed: 0, relabelled: 0 },
        rallies: { a: 183, b: 576, added: 393, removed: 0, moved: 2, unchanged: 181 },
      });
      expect(byPath.totals).toEqual(byRev.totals);
      expect(byPath.videos).toEqual(byRev.videos);
    });
  },
);
