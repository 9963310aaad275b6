// `train list-remote` on manifests written by hand or by older tools (issue #21 item 14): the per-video
// rally_count and the `stats` block are both optional in the seed's format, so the rally total comes from
// whichever is there, and is shown as unknown ('-', null) when neither is, never as NaN.
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const HASH = 'a'.repeat(64);
const video = (extra: Record<string, unknown> = {}) => ({ filename: 'm.mp4', video_id: 'v1', content_hash: HASH, ...extra });
const manifest = (name: string, videos: unknown[], stats?: unknown) =>
  JSON.stringify({ name, description: '', created: '2026-01-01T00:00:00Z', videos, ...(stats ? { stats } : {}) });

describe('train list-remote', () => {
  it('totals rallies from rally_count, else from stats, else shows them as unknown', async () => {
    rig = new Rig('rallycut-listremote-');
    await rig.write({
      'pipeline.yaml': 'stages: {}\n',
      'remote/datasets/counted/manifest.json': manifest('counted', [video({ rally_count: 3 })]),
      'remote/datasets/stats-only/manifest.json': manifest('stats-only', [video()], { total_videos: 1, total_rallies: 7, total_duration_min: 1 }),
      'remote/datasets/bare/manifest.json': manifest('bare', [video()]),
    });
    const env = { RALLYCUT_REMOTE_DIR: `${rig.dir}/remote` };
    const table = await rig.run(['train', 'list-remote'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).not.toContain('NaN');
    const rows = Object.fromEntries(
      table.stdout
        .split('\n')
        .slice(2, -1)
        .map((l) => [l.split(/\s+/)[0], l.split(/\s+/)[2]]),
    );
    expect(rows).toEqual({ bare: '-', counted: '3', 'stats-only': '7' });
    const listed = JSON.parse((await rig.run(['train', 'list-remote', '--json'], env)).stdout) as { datasets: { name: string; rallies: number | null }[] };
    expect(listed.datasets.map((d) => [d.name, d.rallies])).toEqual([
      ['bare', null],
      ['counted', 3],
      ['stats-only', 7],
    ]);
  });
});
