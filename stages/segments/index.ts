// `rallycut segments WINDOWS.json`: the heuristics alone, on a file of window probabilities. Cheap to rerun
// while tuning parameters, with no video decoding.
import { isAbsolute, resolve } from 'node:path';
import { optBool, optString, optStrings, type CommandSpec, type StageModule } from '../../src/handler.js';
import {
  applyOverrides,
  detectSegments,
  formatSegmentsReport,
  HEURISTICS_MODELS,
  OVERRIDABLE_KEYS,
  parseSetPairs,
  presetFor,
  toSegmentsReport,
  validateWindows,
} from '../lib/heuristics/index.js';
import { readJsonFile, shownPath } from '../lib/jsonio/index.js';

const segmentsCommand: CommandSpec = {
  path: ['segments'],
  summary: 'Turn window probabilities (WINDOWS.json) into rally segments with the heuristics',
  description: [
    'WINDOWS.json: { fps, stride, base_stride, total_frames, windows: [{ start_frame, end_frame, probs: { no_play, play, service } }] }.',
    'Times are reported as round(frame*1000/fps) milliseconds.',
    `--set keys: ${OVERRIDABLE_KEYS.join(', ')}.`,
  ].join('\n'),
  positionals: [{ name: 'windows', description: 'window probabilities JSON file', required: true }],
  options: [
    { name: 'model', type: 'string', description: `heuristics preset (${HEURISTICS_MODELS.join('|')})`, placeholder: 'NAME', default: 'indoor' },
    { name: 'set', type: 'strings', description: 'override one parameter, e.g. --set min_gap_seconds=4 (repeatable)', placeholder: 'KEY=VALUE' },
    { name: 'json', type: 'boolean', description: 'Print { ok, segments, suggested } as JSON on stdout' },
  ],
  async run(args, io) {
    const file = args.positionals[0]!;
    const abs = isAbsolute(file) ? file : resolve(io.cwd, file);
    const shown = shownPath(io.cwd, file);
    const params = applyOverrides(presetFor(optString(args, 'model') ?? 'indoor'), parseSetPairs(optStrings(args, 'set')));
    const windows = validateWindows(await readJsonFile(abs, shown), shown);
    const report = toSegmentsReport(detectSegments(windows, params), windows.fps);
    if (optBool(args, 'json')) io.out(JSON.stringify({ ok: true, ...report }, null, 2) + '\n');
    else io.out(formatSegmentsReport(report, windows.fps));
  },
};

const module: StageModule = { commands: [segmentsCommand] };
export default module;
