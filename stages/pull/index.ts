// `train pull`: download a dataset (JSONs and missing videos, sha256-verified) from the training remote.
import { optBool, paramOptions, paramsFromArgs, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { DATASET_DIR, DATASET_NAME } from '../lib/dataset/params.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import { pullDataset } from './pull.js';

const PARAMS = { name: DATASET_NAME, dir: { ...DATASET_DIR, was: ['output'] } } as const;

const command: CommandSpec = {
  path: ['train', 'pull'],
  summary: 'Download a dataset from the training remote (only missing videos, each verified by sha256)',
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    const result = await pullDataset(contextFromIO(io), { name: checkDatasetName(p.name), ...(p.dir ? { output: p.dir } : {}) });
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { commands: [command] };
export default module;
