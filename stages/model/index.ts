// `rallycut model …`: build the baseline weights, re-fit them, and show what a weights folder holds.
import { resolve } from 'node:path';
import { findProjectRoot, optNumber, optString, stableJson, type CommandSpec, type StageModule } from '../../src/handler.js';
import { writeBaseline } from '../lib/model/build.js';
import { projectModelSettings } from '../lib/model/params.js';
import { KNOWN_VARIANTS } from '../lib/model/registry.js';
import { sha256File } from '../lib/model/session.js';
import { fitBaseline } from './fit-baseline.js';

const buildBaseline: CommandSpec = {
  path: ['model', 'build-baseline'],
  summary: 'Write the generated baseline classifier (model.onnx + model.json); not VideoMAE',
  description:
    'Without --out, writes every default variant (indoor, beach) under the weights folder (params model.weights_dir). ' +
    'The bytes are the same on every build.',
  options: [{ name: 'out', type: 'string', description: 'Write one weights folder here instead', placeholder: 'DIR' }],
  async run(args, io) {
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const out = optString(args, 'out');
    const targets = out ? [resolve(io.cwd, out)] : await projectModelSettings(root).then((s) => KNOWN_VARIANTS.map((v) => resolve(root, s.weightsDir, v)));
    for (const dir of targets) {
      const r = await writeBaseline(dir);
      io.out(`${r.onnx}  ${r.bytes} bytes  sha256 ${(await sha256File(r.onnx)).slice(0, 16)}\n`);
    }
  },
};

const fit: CommandSpec = {
  path: ['model', 'fit-baseline'],
  summary: "Re-fit the baseline's linear layer on generated demo clips and print the constants to bake in",
  options: [
    { name: 'seed', type: 'number', description: 'Demo seed for the fitting clips', default: 1001 },
    { name: 'videos', type: 'number', description: 'Number of clips (every third is held out)', default: 6 },
    { name: 'seconds', type: 'number', description: 'Approximate clip length', default: 90 },
    { name: 'json', type: 'boolean', description: 'Print the report as JSON' },
  ],
  async run(args, io) {
    const report = await fitBaseline({
      seed: optNumber(args, 'seed') ?? 1001,
      videos: optNumber(args, 'videos') ?? 6,
      seconds: optNumber(args, 'seconds') ?? 90,
      jobs: 2,
      log: (m) => io.err(m + '\n'),
    });
    io.out(stableJson(report));
  },
};

const module: StageModule = { commands: [buildBaseline, fit] };
export default module;
