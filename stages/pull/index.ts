// `train pull`: download a dataset (JSONs and missing videos, sha256-verified) from the training remote.
import { optBool, optString, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName } from '../lib/dataset/layout.js';
import { pullDataset } from './pull.js';

const command: CommandSpec = {
  path: ['train', 'pull'],
  summary: 'Download a dataset from the training remote (only missing videos, each verified by sha256)',
  options: [
    { name: 'name', type: 'string', description: 'Dataset name', placeholder: 'NAME', complete: 'dataset' },
    { name: 'output', type: 'string', description: 'Dataset folder (default training_datasets/NAME)', placeholder: 'DIR' },
    { name: 'json', type: 'boolean', description: 'Print the result as JSON' },
  ],
  async run(args, io) {
    const output = optString(args, 'output');
    const result = await pullDataset(contextFromIO(io), { name: checkDatasetName(optString(args, 'name')), ...(output ? { output } : {}) });
    if (optBool(args, 'json')) io.out(stableJson({ ok: true, ...result }));
  },
};

const module: StageModule = { commands: [command] };
export default module;
