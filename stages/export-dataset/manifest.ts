// Writing an exported dataset's manifest.json and ground_truth.json: deterministic text, written only when
// it changes, and the manifest's `created` kept while its content stays the same.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/handler.js';
import type { Manifest, ManifestVideo } from '../lib/contracts.js';
import { formatGroundTruth, formatManifest, manifestStats } from '../lib/dataset/format.js';
import { GROUND_TRUTH_FILE, MANIFEST_FILE } from '../lib/dataset/layout.js';
import type { LabelledVideo } from '../lib/db/index.js';

export async function readText(path: string): Promise<string | null> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** Now, or SOURCE_DATE_EPOCH (the reproducible-builds convention) so a rebuild gives byte-identical files. */
function exportTime(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return new Date(process.env.SOURCE_DATE_EPOCH && Number.isFinite(epoch) ? epoch * 1000 : Date.now()).toISOString();
}

/**
 * The manifest and ground truth of `videos`. A video whose file was not found this time keeps the sha256 and
 * size the previous export recorded (`prev`, same content_hash).
 */
export async function writeDatasetFiles(
  dir: string,
  name: string,
  videos: readonly LabelledVideo[],
  recorded: ReadonlyMap<string, { sha256: string; size: number }>,
  prev: Manifest | null,
  prevText: string | null,
): Promise<{ manifestWritten: boolean; groundTruthWritten: boolean }> {
  const prevById = new Map((prev?.videos ?? []).map((v) => [v.video_id, v]));
  const entries: ManifestVideo[] = videos.map((v) => {
    const rec = recorded.get(v.id);
    const before = prevById.get(v.id);
    const keep = before && before.content_hash === v.content_hash ? before : undefined;
    const sha256 = rec?.sha256 ?? keep?.sha256;
    const size = rec?.size ?? keep?.size_bytes;
    return {
      filename: v.filename,
      video_id: v.id,
      content_hash: v.content_hash,
      duration_ms: v.duration_ms ?? 0,
      rally_count: v.rallies.length,
      ...(sha256 ? { sha256 } : {}),
      ...(size !== undefined ? { size_bytes: size } : {}),
    };
  });
  const manifest: Manifest = {
    name,
    description: prev?.description ?? `Training dataset: ${name}`,
    created: prev?.created ?? exportTime(),
    videos: entries,
    stats: manifestStats(entries),
  };
  // `created` moves only when the content does: same everything else → keep the previous timestamp.
  let manifestText = formatManifest(manifest);
  if (prevText !== manifestText) manifestText = formatManifest({ ...manifest, created: exportTime() });
  const gtText = formatGroundTruth(videos.map((v) => ({ video_id: v.id, filename: v.filename, rallies: v.rallies })));
  const manifestWritten = prevText !== manifestText;
  const groundTruthWritten = (await readText(join(dir, GROUND_TRUTH_FILE))) !== gtText;
  if (groundTruthWritten) await writeFileAtomic(join(dir, GROUND_TRUTH_FILE), gtText);
  if (manifestWritten) await writeFileAtomic(join(dir, MANIFEST_FILE), manifestText);
  return { manifestWritten, groundTruthWritten };
}
