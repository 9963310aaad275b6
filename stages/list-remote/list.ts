// list-remote: the datasets backed up on the training remote, with their videos, rallies, size and date.
// Two listings (datasets/ and videos/) plus one small read per manifest; a dataset whose manifest is
// unreadable is still listed, with the problem, so one bad backup does not hide the others.
import { trainingRemote } from '../../src/handler.js';
import type { Manifest } from '../lib/contracts.js';
import type { DatasetContext } from '../lib/dataset/context.js';
import { errorText } from '../lib/dataset/context.js';
import { parseManifest } from '../lib/dataset/format.js';
import { MANIFEST_FILE, remoteKeys } from '../lib/dataset/layout.js';
import { listSizes } from '../../src/handler.js';
import { forEachLimit } from '../../src/handler.js';

export interface RemoteDataset {
  name: string;
  videos: number | null;
  rallies: number | null;
  /** Bytes of this dataset's videos present on the remote. */
  size_bytes: number;
  /** Videos the manifest names that the remote lacks. */
  missing_videos: number;
  created: string | null;
  error?: string;
}

/**
 * Per-video rally_count and the stats block are both optional in the seed's format (parseManifest accepts
 * either missing): the sum of the counts when every video has one, else stats' total, else unknown.
 */
function rallyTotal(m: Manifest): number | null {
  const counts = m.videos.map((v) => v.rally_count as number | undefined);
  if (counts.every((c) => Number.isInteger(c))) return counts.reduce<number>((a, c) => a + c!, 0);
  const total = (m.stats as Manifest['stats'] | undefined)?.total_rallies;
  return Number.isInteger(total) ? total! : null;
}

export async function listRemote(ctx: DatasetContext): Promise<{ remote: string; datasets: RemoteDataset[] }> {
  const { remote, notice } = trainingRemote(ctx.env, ctx.cacheDir, ctx.root);
  ctx.log(notice);
  const [datasetObjs, videoObjs] = await Promise.all([listSizes(remote, remoteKeys.datasetsPrefix), listSizes(remote, remoteKeys.videosPrefix)]);
  const names = [...new Set([...datasetObjs.keys()].map((k) => k.split('/')[1]).filter((n): n is string => !!n))].sort();
  const datasets: RemoteDataset[] = names.map((name) => ({ name, videos: null, rallies: null, size_bytes: 0, missing_videos: 0, created: null }));
  await forEachLimit(datasets, 8, async (d) => {
    try {
      const bytes = await remote.getBytes(remoteKeys.manifest(d.name));
      if (!bytes) throw new Error(`no ${MANIFEST_FILE}`);
      const m = parseManifest(bytes.toString('utf8'), `${remote.description}/${remoteKeys.manifest(d.name)}`);
      d.videos = m.videos.length;
      d.rallies = rallyTotal(m);
      d.created = m.created;
      for (const hash of new Set(m.videos.map((v) => v.content_hash))) {
        const size = videoObjs.get(remoteKeys.video(hash));
        if (size === undefined) d.missing_videos++;
        else d.size_bytes += size;
      }
    } catch (err) {
      d.error = errorText(err);
    }
  });
  return { remote: remote.description, datasets };
}
