// `rallycut model …`: build the baseline weights, re-fit them, and show what a weights folder holds.
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { failure, findProjectRoot, optBool, optNumber, optString, stableJson, writeFileAtomic, type CommandSpec, type StageModule } from '../../src/handler.js';
import type { BaselineFit } from '../lib/model/baseline.js';
import { writeBaseline } from '../lib/model/build.js';
import { projectModelSettings } from '../lib/model/params.js';
import { KNOWN_VARIANTS } from '../lib/model/registry.js';
import { sha256File } from '../lib/model/session.js';
import { fitBaseline } from './fit-baseline.js';

/** Replaces the BASELINE_FIT literal in baseline.ts; numbers print as they parse back, so builds stay identical. */
export function replaceFitBlock(source: string, fit: BaselineFit): string {
  const start = source.indexOf('export const BASELINE_FIT = {');
  const end = source.indexOf('\n};', start);
  if (start < 0 || end < 0) throw failure('cannot find the BASELINE_FIT block in baseline.ts');
  const arr = (a: readonly number[]): string => `[${a.map((v) => String(v)).join(', ')}]`;
  const block = [
    'export const BASELINE_FIT = {',
    `  mean: ${arr(fit.mean)},`,
    `  std: ${arr(fit.std)},`,
    '  weights: [',
    ...fit.weights.map((w) => `    ${arr(w)},`),
    '  ],',
    `  bias: ${arr(fit.bias)},`,
    '};',
  ].join('\n');
  return source.slice(0, start) + block + source.slice(end + 3);
}

const buildBaseline: CommandSpec = {
  path: ['model', 'build-baseline'],
  summary: 'Write the generated baseline classifier (model.onnx + model.json); not VideoMAE',
  description:
    'Without --output, writes every default variant (indoor, beach) under the weights folder (params model.weights_dir). ' +
    'The bytes are the same on every build.',
  options: [{ name: 'output', type: 'string', description: 'Write one weights folder here instead', placeholder: 'DIR', was: ['out'] }],
  async run(args, io) {
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const out = optString(args, 'output');
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
    { name: 'videos', type: 'number', description: 'Number of clips (the last one of each profile is held out)', default: 9 },
    { name: 'seconds', type: 'number', description: 'Approximate clip length', default: 80 },
    { name: 'clips', type: 'string', description: 'Keep the rendered clips in DIR and reuse them on the next run', placeholder: 'DIR' },
    { name: 'write', type: 'boolean', description: 'Bake the fit into stages/lib/model/baseline.ts and rewrite the default weights' },
  ],
  async run(args, io) {
    const clips = optString(args, 'clips');
    const report = await fitBaseline({
      ...(clips ? { clipsDir: resolve(io.cwd, clips) } : {}),
      seed: optNumber(args, 'seed') ?? 1001,
      videos: optNumber(args, 'videos') ?? 9,
      seconds: optNumber(args, 'seconds') ?? 80,
      jobs: 2,
      log: (m) => io.err(m + '\n'),
    });
    io.out(stableJson(report));
    if (optBool(args, 'write')) {
      const root = findProjectRoot(io.cwd) ?? io.cwd;
      const source = join(root, 'stages', 'lib', 'model', 'baseline.ts');
      await writeFileAtomic(source, replaceFitBlock(await fs.readFile(source, 'utf8'), report.fit));
      const s = await projectModelSettings(root);
      for (const v of KNOWN_VARIANTS) await writeBaseline(resolve(root, s.weightsDir, v), report.fit);
      io.err(`baked into ${source} and ${KNOWN_VARIANTS.map((v) => join(s.weightsDir, v)).join(', ')}\n`);
    }
  },
};

const module: StageModule = { commands: [buildBaseline, fit] };
export default module;
