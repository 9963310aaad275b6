// `rallycut cut VIDEO`: detect rallies (baseline/VideoMAE windows → heuristics), print them, write them
// as ground_truth.json-style JSON, and write the rallies-only video.
import { basename, extname, resolve } from 'node:path';
import {
  cacheDirFor,
  configError,
  createProgress,
  findProjectRoot,
  formatTable,
  optBool,
  optNumber,
  optString,
  optStrings,
  stableJson,
  writeFileAtomic,
  type CommandSpec,
  type StageModule,
} from '../../src/handler.js';
import type { GroundTruth } from '../lib/contracts.js';
import { applyOverrides, formatClock, isHeuristicsModel, parseSetPairs, presetFor } from '../lib/heuristics/index.js';
import { locateModel } from '../lib/model/registry.js';
import { projectModelSettings } from '../lib/model/params.js';
import { detectRallies, type Detection } from './detect.js';
import { CUT_FEATURES, renderCut } from './render.js';
import { requireFfmpeg } from '../lib/ffmpeg-caps.js';
import { DECODE_FEATURES } from '../extract-features/decode.js';
import { loadTemporalModel } from '../temporal/api.js';

export function toGroundTruth(d: Detection, filename: string): GroundTruth {
  return [{ video_id: basename(filename, extname(filename)), filename, rallies: d.rallies.map((r) => ({ start_ms: r.start_ms, end_ms: r.end_ms })) }];
}

const command: CommandSpec = {
  path: ['cut'],
  summary: 'Detect the rallies in a video and write a rallies-only cut (plus the segments as JSON)',
  description:
    'Classifies 16-frame windows with the model (cached), turns them into rally segments with the heuristics preset of the model ' +
    'variant, prints them, and writes OUT.mp4: the segments concatenated, stream-copied when every segment starts on a keyframe, else re-encoded.',
  positionals: [{ name: 'video', description: 'The match video', required: true }],
  options: [
    { name: 'model', type: 'string', description: 'Weights variant (indoor, beach; also picks the heuristics preset) or a weights folder', placeholder: 'NAME' },
    { name: 'output', short: 'o', type: 'string', description: 'Cut video path (default: VIDEO_rallies.mp4 beside the input)', placeholder: 'OUT.mp4' },
    { name: 'json', type: 'string', description: 'Write the rallies in ground_truth.json format to FILE', placeholder: 'FILE' },
    { name: 'dry-run', type: 'boolean', description: 'Detect and print; write no video' },
    { name: 'mode', type: 'string', description: 'Cut mode: auto, copy (snap to keyframes) or reencode', default: 'auto', placeholder: 'MODE' },
    { name: 'set', type: 'strings', description: 'Override a heuristics parameter, e.g. --set min_gap_seconds=4', placeholder: 'KEY=VALUE' },
    { name: 'temporal', type: 'string', description: 'Use a trained temporal model (e.g. weights/temporal) instead of the heuristics', placeholder: 'DIR' },
    { name: 'batch', type: 'number', description: 'Windows per inference batch' },
  ],
  async run(args, io) {
    const video = resolve(io.cwd, args.positionals[0]!);
    const temporalDir = optString(args, 'temporal');
    const temporal = temporalDir ? await loadTemporalModel(resolve(io.cwd, temporalDir)) : undefined;
    const mode = optString(args, 'mode') ?? 'auto';
    if (mode !== 'auto' && mode !== 'copy' && mode !== 'reencode') throw configError(`--mode must be auto, copy or reencode, got '${mode}'`, { subject: '--mode' });
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const s = await projectModelSettings(root);
    const model = optString(args, 'model') ?? s.variant;
    const variant = locateModel(root, model, s.weightsDir).variant;
    const heuristics = applyOverrides(presetFor(isHeuristicsModel(variant) ? variant : 'indoor'), parseSetPairs(optStrings(args, 'set')), ' (--set)');
    // Checked first: a build that cannot decode or cut as planned fails before minutes of detection.
    await requireFfmpeg('cut', [...DECODE_FEATURES, ...CUT_FEATURES], { cacheDir: cacheDirFor(root, io.env), log: (m) => io.err(`${m}\n`) });
    const detection = await detectRallies(video, {
      root,
      cacheDir: cacheDirFor(root, io.env),
      model,
      weightsDir: s.weightsDir,
      baseStride: s.stride,
      batch: optNumber(args, 'batch') ?? s.batch,
      heuristics,
      ...(temporal ? { temporal } : {}),
      signal: io.signal,
      progress: (l, t, u) => createProgress(l, t, u),
    });
    const rows = detection.rallies.map((r, i) => [i + 1, formatClock(r.start_ms), formatClock(r.end_ms), Number(((r.end_ms - r.start_ms) / 1000).toFixed(2)), Number(r.confidence.toFixed(3))]);
    io.out(`${detection.rallies.length} rallies in ${basename(video)} (model ${variant}, ${temporal ? `temporal ${temporalDir}` : `heuristics ${isHeuristicsModel(variant) ? variant : 'indoor'}`}${detection.fromCache ? ', windows from cache' : ''})\n`);
    if (rows.length) io.out(formatTable(['#', 'start', 'end', 'duration_s', 'confidence'], rows));
    const jsonOut = optString(args, 'json');
    if (jsonOut) {
      await writeFileAtomic(resolve(io.cwd, jsonOut), stableJson(toGroundTruth(detection, basename(video))));
      io.out(`rallies written to ${jsonOut}\n`);
    }
    if (optBool(args, 'dry-run')) return;
    const output = resolve(io.cwd, optString(args, 'output') ?? `${video.slice(0, video.length - extname(video).length)}_rallies.mp4`);
    const spans = detection.rallies.map((r) => ({ startS: r.start_frame / detection.fps, endS: (r.end_frame + 1) / detection.fps }));
    const result = await renderCut(video, spans, output, detection.sourceFps, { mode, signal: io.signal });
    const total = spans.reduce((acc, sp) => acc + sp.endS - sp.startS, 0);
    io.out(`cut video: ${output} (${result.segments} segments, ${total.toFixed(1)} s, ${result.mode === 'copy' ? 'stream copy' : 're-encoded'})\n`);
  },
};

const module: StageModule = { commands: [command] };
export default module;
