// Handler `merge-features`: the per-video indexes of a foreach over extract-features (one stage, and on
// Modal one Sandbox, per video) merged into the one features/index.json downstream stages read. Videos are
// ordered as extract-features orders them, so the merge equals the index one stage over all videos writes.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { configError, defineHandler, stableJson, writeFileAtomic } from '../../src/handler.js';
import type { FeatureIndex } from '../lib/contracts.js';
import { readFeatureIndex } from '../lib/features/index.js';

interface MergeParams {
  /** Folder of per-video indexes (the foreach items' outs). */
  from: string;
  index?: string;
}

export async function mergeIndexes(files: readonly string[]): Promise<FeatureIndex> {
  if (!files.length) throw configError('no per-video feature index to merge', { notes: ['run the per-video extract-features stages first'] });
  const indexes = await Promise.all(files.map(readFeatureIndex));
  const first = indexes[0]!;
  for (const [i, ix] of indexes.entries()) {
    if (stableJson(ix.model) !== stableJson(first.model) || ix.base_stride !== first.base_stride) {
      throw configError(`${files[i]} was made with another model or stride than ${files[0]}`, {
        file: files[i]!,
        notes: ['rerun the per-video stages with the same params'],
      });
    }
  }
  const videos = indexes.flatMap((ix) => ix.videos).sort((a, b) => a.video_id.localeCompare(b.video_id) || a.content_hash.localeCompare(b.content_hash));
  return { version: 1, model: first.model, base_stride: first.base_stride, videos };
}

export const mergeFeaturesHandler = defineHandler<MergeParams>({
  name: 'merge-features',
  summary: 'Merge per-video feature indexes (a foreach over extract-features) into one features/index.json',
  schema: {
    type: 'object',
    required: ['from'],
    properties: { from: { type: 'string', minLength: 1 }, index: { type: 'string', minLength: 1 } },
    additionalProperties: false,
  },
  async run(ctx, p) {
    const dir = resolve(ctx.root, p.from);
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    const merged = await mergeIndexes(names.map((n) => join(dir, n)));
    await writeFileAtomic(resolve(ctx.root, p.index ?? 'features/index.json'), stableJson(merged));
    ctx.log(`${merged.videos.length} videos from ${names.length} per-video indexes`);
  },
});
