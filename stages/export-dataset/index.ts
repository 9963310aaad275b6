// export-dataset: as the `train export-dataset` command and as the pipeline handler `export-dataset`,
// whose stamp is a hash of the ground-truth query, so `repro` skips it when no label changed.
import {
  defineParamsHandler,
  optBool,
  paramOptions,
  paramsFromArgs,
  stableJson,
  type CommandSpec,
  type ParamsOf,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { DATASET_DIR, DATASET_NAME } from '../lib/dataset/params.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import type { LabelledVideo } from '../lib/db/index.js';
import { exportDataset, labelsStamp, readLabels, type ExportOptions } from './export.js';
import { embeddedStamp } from './stamp-cache.js';

const PARAMS = {
  name: DATASET_NAME,
  output: { ...DATASET_DIR, was: ['output'] },
  videos_dir: { type: 'string', description: 'Folder holding the original video files', placeholder: 'DIR' },
  copy_videos: { type: 'boolean', description: 'Copy video files instead of hardlinking them' },
  symlink_videos: { type: 'boolean', description: 'Symlink video files instead of hardlinking them' },
} as const;

type ExportParams = ParamsOf<typeof PARAMS>;

const SNAPSHOT_TTL_MS = 60_000;
const stamped = new Map<string, { labels: LabelledVideo[]; at: number }>();
const snapshotKey = (ctx: { cacheDir: string; env: Readonly<Record<string, string | undefined>>; stage: string }): string =>
  `${ctx.stage}|${ctx.cacheDir}|${ctx.env.DATABASE_URL ?? ''}`;

function exportOptions(p: ExportParams): ExportOptions {
  return {
    name: checkDatasetName(p.name),
    ...(p.output ? { output: p.output } : {}),
    ...(p.videos_dir ? { videosDir: p.videos_dir } : {}),
    mode: p.copy_videos ? 'copy' : p.symlink_videos ? 'symlink' : 'link',
  };
}

const SUMMARY = 'Export ground truth from the labels database into training_datasets/<name>';

const handler = defineParamsHandler({
  name: 'export-dataset',
  summary: SUMMARY,
  params: PARAMS,
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
    await exportDataset(ctx, { ...exportOptions(p), ...(snap && Date.now() - snap.at < SNAPSHOT_TTL_MS ? { labels: snap.labels } : {}) });
  },
});

const command: CommandSpec = {
  path: ['train', 'export-dataset'],
  summary: SUMMARY,
  description:
    'Writes manifest.json and ground_truth.json (deterministic) and fills videos/ with hardlinks (or copies).\n' +
    'Each video file is looked up by filename in --videos-dir (or RALLYCUT_VIDEOS_DIR), then by content_hash in\n' +
    '<cache>/videos/, then downloaded from the app bucket (APP_S3_BUCKET, APP_S3_ENDPOINT) by its s3_key.\n' +
    'The database is DATABASE_URL, or the embedded PGlite database in <cache>/db when it is not set.',
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const result = await exportDataset(contextFromIO(io), exportOptions(paramsFromArgs(PARAMS, args)));
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
