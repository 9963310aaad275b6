// push: as the `train push` command and as the pipeline handler `push`, whose stamp is what the remote
// holds for the dataset, so `repro` reruns it when the remote lost something.
import { defineHandler, optBool, optNumber, optString, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import { pushDataset, pushStamp } from './push.js';

interface PushParams {
  name: string;
  dir?: string;
}

const handler = defineHandler<PushParams>({
  name: 'push',
  summary: 'Back up training_datasets/<name> to the training remote (S3 or a folder)',
  schema: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, dir: { type: 'string' } },
    required: ['name'],
    additionalProperties: false,
  },
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
  options: [
    { name: 'name', type: 'string', description: 'Dataset name', placeholder: 'NAME', complete: 'dataset' },
    { name: 'dir', type: 'string', description: 'Dataset folder (default training_datasets/NAME)', placeholder: 'DIR' },
    { name: 'concurrency', type: 'number', description: 'Parallel uploads (default: jobs, at least 4)' },
    { name: 'json', type: 'boolean', description: 'Print the result as JSON' },
  ],
  async run(args, io) {
    const dir = optString(args, 'dir');
    const concurrency = optNumber(args, 'concurrency');
    const result = await pushDataset(contextFromIO(io), {
      name: checkDatasetName(optString(args, 'name')),
      ...(dir ? { output: dir } : {}),
      ...(concurrency ? { concurrency } : {}),
    });
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
