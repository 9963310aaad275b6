// push: as the `train push` command and as the pipeline handler `push`, whose stamp is what the remote
// holds for the dataset, so `repro` reruns it when the remote lost something.
import { defineParamsHandler, optBool, paramOptions, paramsFromArgs, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { DATASET_DIR, DATASET_NAME } from '../lib/dataset/params.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import { pushDataset, pushStamp } from './push.js';

const PARAMS = {
  name: DATASET_NAME,
  dir: DATASET_DIR,
  jobs: { type: 'integer', minimum: 1, short: 'j', was: ['concurrency'], cliOnly: true, description: 'Parallel uploads (default: the job count, at least 4)' },
} as const;

const handler = defineParamsHandler({
  name: 'push',
  summary: 'Back up training_datasets/<name> to the training remote (S3 or a folder)',
  params: PARAMS,
  async stamp(ctx, p) {
    return pushStamp(ctx, checkDatasetName(p.name), p.dir);
  },
  async run(ctx, p) {
    await pushDataset(ctx, { name: checkDatasetName(p.name), ...(p.dir ? { output: p.dir } : {}) });
  },
});

const command: CommandSpec = {
  path: ['train', 'push'],
  summary: 'Back up a dataset to the training remote (only missing videos are uploaded)',
  description:
    'Uploads videos to {prefix}/videos/{content_hash}.mp4 (STANDARD_IA) and the JSONs to {prefix}/datasets/NAME/.\n' +
    'Remote: TRAINING_S3_BUCKET (+ TRAINING_S3_PREFIX, TRAINING_S3_REGION, TRAINING_S3_ENDPOINT), else the\n' +
    'local folder RALLYCUT_REMOTE_DIR or <cache>/remote.',
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    const result = await pushDataset(contextFromIO(io), {
      name: checkDatasetName(p.name),
      ...(p.dir ? { output: p.dir } : {}),
      ...(p.jobs ? { concurrency: p.jobs } : {}),
    });
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
