// `train list-remote`: the datasets on the training remote, as a table or JSON.
import { formatBytes, formatTable, optBool, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { listRemote } from './list.js';

const command: CommandSpec = {
  path: ['train', 'list-remote'],
  summary: 'List the datasets backed up on the training remote',
  options: [{ name: 'json', type: 'boolean', description: 'Print the list as JSON' }],
  async run(args, io) {
    const { remote, datasets } = await listRemote(contextFromIO(io));
    if (optBool(args, 'json')) {
      io.out(stableJson({ ok: true, remote, datasets }));
      return;
    }
    if (datasets.length === 0) {
      io.out(`no datasets on ${remote}\n`);
      return;
    }
    io.out(
      formatTable(
        ['dataset', 'videos', 'rallies', 'size', 'missing', 'created'],
        datasets.map((d) => [d.name, d.videos, d.rallies, formatBytes(d.size_bytes), d.missing_videos, d.error ? `error: ${d.error}` : d.created]),
      ),
    );
  },
};

const module: StageModule = { commands: [command] };
export default module;
