// export-dataset: as the `train export-dataset` command and as the pipeline handler `export-dataset`,
// whose stamp is a hash of the ground-truth query, so `repro` skips it when no label changed.
import { defineHandler, optBool, optString, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import type { LabelledVideo } from '../lib/db/index.js';
import { exportDataset, labelsStamp, readLabels, type LinkMode } from './export.js';
import { embeddedStamp } from './stamp-cache.js';

interface ExportParams {
  name: string;
  output?: string;
  videos_dir?: string;
  copy_videos?: boolean;
  symlink_videos?: boolean;
}

const SNAPSHOT_TTL_MS = 60_000;
const stamped = new Map<string, { labels: LabelledVideo[]; at: number }>();
const snapshotKey = (ctx: { cacheDir: string; env: Readonly<Record<string, string | undefined>>; stage: string }): string => `${ctx.stage}|${ctx.cacheDir}|${ctx.env.DATABASE_URL ?? ''}`;

const modeOf = (copy?: boolean, symlink?: boolean): LinkMode => (copy ? 'copy' : symlink ? 'symlink' : 'link');

const handler = defineHandler<ExportParams>({
  name: 'export-dataset',
  summary: 'Export ground truth from the labels database into training_datasets/<name>',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      output: { type: 'string' },
      videos_dir: { type: 'string' },
      copy_videos: { type: 'boolean' },
      symlink_videos: { type: 'boolean' },
    },
    required: ['name'],
    additionalProperties: false,
  },
  async stamp(ctx) {
    const read = async (beforeUnlock?: (dataDir: string) => Promise<void>): Promise<string> => {
      const labels = await readLabels(ctx, beforeUnlock);
      stamped.set(snapshotKey(ctx), { labels, at: Date.now() });
      return labelsStamp(labels);
    };
    // A server is asked every time (one query); the embedded database only when its files changed.
    return ctx.env.DATABASE_URL ? read() : embeddedStamp(ctx.cacheDir, read);
  },
  async run(ctx, p) {
    // Export the snapshot the stamp just read: the recorded stamp then matches the files exactly, and the
    // embedded database is opened once per run instead of twice (a PGlite open costs about a second).
    const snap = stamped.get(snapshotKey(ctx));
    stamped.delete(snapshotKey(ctx));
    await exportDataset(ctx, {
      ...(snap && Date.now() - snap.at < SNAPSHOT_TTL_MS ? { labels: snap.labels } : {}),
      name: checkDatasetName(p.name),
      ...(p.output ? { output: p.output } : {}),
      ...(p.videos_dir ? { videosDir: p.videos_dir } : {}),
      mode: modeOf(p.copy_videos, p.symlink_videos),
    });
  },
});

const command: CommandSpec = {
  path: ['train', 'export-dataset'],
  summary: 'Export ground truth from the labels database into training_datasets/<name>',
  description:
    'Writes manifest.json and ground_truth.json (deterministic) and fills videos/ with hardlinks (or copies).\n' +
    'Each video file is looked up by filename in --videos-dir (or RALLYCUT_VIDEOS_DIR), then by content_hash in\n' +
    '<cache>/videos/, then downloaded from the app bucket (APP_S3_BUCKET, APP_S3_ENDPOINT) by its s3_key.\n' +
    'The database is DATABASE_URL, or the embedded PGlite database in <cache>/db when it is not set.',
  options: [
    { name: 'name', type: 'string', description: 'Dataset name', placeholder: 'NAME' },
    { name: 'output', type: 'string', description: 'Dataset folder (default training_datasets/NAME)', placeholder: 'DIR' },
    { name: 'videos-dir', type: 'string', description: 'Folder holding the original video files', placeholder: 'DIR' },
    { name: 'copy-videos', type: 'boolean', description: 'Copy video files instead of hardlinking them' },
    { name: 'symlink-videos', type: 'boolean', description: 'Symlink video files instead of hardlinking them' },
    { name: 'json', type: 'boolean', description: 'Print the result as JSON' },
  ],
  async run(args, io) {
    const videosDir = optString(args, 'videos-dir');
    const output = optString(args, 'output');
    const result = await exportDataset(contextFromIO(io), {
      name: checkDatasetName(optString(args, 'name')),
      ...(output ? { output } : {}),
      ...(videosDir ? { videosDir } : {}),
      mode: modeOf(optBool(args, 'copy-videos'), optBool(args, 'symlink-videos')),
    });
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
