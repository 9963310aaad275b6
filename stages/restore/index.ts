// `train restore`: import a local dataset into the labels database (one transaction, idempotent).
import { formatTable, optBool, paramOptions, paramsFromArgs, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { DATASET_DIR, DATASET_NAME } from '../lib/dataset/params.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import { restoreDataset } from './restore.js';

const PARAMS = {
  name: DATASET_NAME,
  dir: DATASET_DIR,
  dry_run: { type: 'boolean', default: false, description: 'Print what would change and change nothing' },
  upload_to_app_s3: { type: 'boolean', default: false, description: "Also upload the videos to the app's bucket (APP_S3_BUCKET) at their s3_key" },
  user_id: { type: 'string', description: 'Owner (users.id) of the videos restore adds (default: the oldest user)', placeholder: 'ID' },
} as const;

const command: CommandSpec = {
  path: ['train', 'restore'],
  summary: 'Import a dataset into the labels database (videos matched by content_hash; idempotent)',
  description:
    'Rallies are inserted as ground truth (confidence NULL, status CONFIRMED, order by start); new videos as DETECTED with\n' +
    "processing SKIPPED, owned by --user-id or else the oldest user, and listed in the editor session 'Training: NAME'.\n" +
    'Existing videos and rallies are matched and left as they are, never deleted.\n' +
    'The database is DATABASE_URL, or the embedded PGlite database in <cache>/db when it is not set.',
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    const result = await restoreDataset(contextFromIO(io), {
      name: checkDatasetName(p.name),
      ...(p.dir ? { output: p.dir } : {}),
      dryRun: p.dry_run,
      uploadToAppS3: p.upload_to_app_s3,
      ...(p.user_id !== undefined ? { userId: p.user_id } : {}),
    });
    const { plan } = result;
    if (optBool(args, 'json')) {
      io.out(
        stableJson({
          ok: true,
          database: result.database,
          dry_run: result.dryRun,
          uploaded: result.uploaded,
          inserted_videos: plan.inserted_videos,
          reused_videos: plan.reused_videos,
          new_rallies: plan.new_rallies,
          owner: result.owner,
          session: result.session,
          videos: plan.videos.map((p) => ({ filename: p.input.filename, video_id: p.target_id, action: p.action, new_rallies: p.new_rallies.length })),
        }),
      );
      return;
    }
    if (result.dryRun) {
      const changed = plan.videos.filter((p) => p.action === 'insert' || p.new_rallies.length > 0);
      if (changed.length) {
        io.out(
          formatTable(
            ['video', 'action', 'video id', 'new rallies'],
            changed.map((p) => [p.input.filename, p.action === 'insert' ? 'add' : 'match by content_hash', p.target_id, p.new_rallies.length]),
          ),
        );
      }
      const { session, owner } = result;
      io.out(
        `dry run on ${result.database}: would add ${plan.inserted_videos} videos and ${plan.new_rallies} rallies (${plan.reused_videos} videos already there), ` +
          `${session.created ? 'create' : 'keep'} session '${session.name}' adding ${session.added_videos} videos, owned by ${owner.id ?? 'nobody (no users)'}; nothing changed\n`,
      );
    }
  },
};

const module: StageModule = { commands: [command] };
export default module;
