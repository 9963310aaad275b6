// `rallycut cut VIDEO`: detect rallies (baseline/VideoMAE windows → heuristics), print them (or --json),
// write them as a ground_truth.json-style file (--segments), and write the rallies-only video.
import { basename, extname, resolve } from 'node:path';
import {
  cacheDirFor,
  createProgress,
  findProjectRoot,
  formatTable,
  optBool,
  optStrings,
  paramOptions,
  paramsFromArgs,
  stableJson,
  writeFileAtomic,
  type CommandSpec,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
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

const PARAMS = {
  model: {
    type: 'string',
    description: 'Weights variant (indoor, beach; also picks the heuristics preset) or a weights folder; default from params model.variant',
    placeholder: 'NAME',
  },
  output: { type: 'string', short: 'o', description: 'Cut video path (default: VIDEO_rallies.mp4 beside the input)', placeholder: 'OUT.mp4' },
  segments: { type: 'string', description: 'Also write the rallies in ground_truth.json format to FILE', placeholder: 'FILE' },
  dry_run: { type: 'boolean', default: false, description: 'Detect and print; write no video' },
  mode: {
    type: 'enum',
    values: ['auto', 'copy', 'reencode'],
    default: 'auto',
    description: 'Cut mode: copy snaps to keyframes, reencode is frame-exact, auto copies when every segment starts on a keyframe',
  },
  temporal: { type: 'string', description: 'Use a trained temporal model (e.g. weights/temporal) instead of the heuristics', placeholder: 'DIR' },
  batch: { type: 'integer', minimum: 1, description: 'Windows per inference batch; default from params features.batch' },
} as const;

const command: CommandSpec = {
  path: ['cut'],
  summary: 'Detect the rallies in a video and write a rallies-only cut (plus the segments as JSON)',
  description:
    'Classifies 16-frame windows with the model (cached), turns them into rally segments with the heuristics preset of the model ' +
    'variant, prints them, and writes OUT.mp4: the segments concatenated, stream-copied when every segment starts on a keyframe, else re-encoded. ' +
    'With --json, stdout is one JSON object (rallies, and the cut video unless --dry-run); --segments FILE writes the rallies as a file.',
  positionals: [{ name: 'video', description: 'The match video', required: true }],
  options: [
    ...paramOptions(PARAMS),
    { name: 'set', type: 'strings', description: 'Override a heuristics parameter, e.g. --set min_gap_seconds=4', placeholder: 'KEY=VALUE' },
    JSON_OPTION,
  ],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    const json = optBool(args, 'json');
    const video = resolve(io.cwd, args.positionals[0]!);
    const temporal = p.temporal ? await loadTemporalModel(resolve(io.cwd, p.temporal)) : undefined;
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const s = await projectModelSettings(root);
    const model = p.model ?? s.variant;
    const variant = locateModel(root, model, s.weightsDir).variant;
    const preset = isHeuristicsModel(variant) ? variant : 'indoor';
    const heuristics = applyOverrides(presetFor(preset), parseSetPairs(optStrings(args, 'set')), ' (--set)');
    // Checked first: a build that cannot decode or cut as planned fails before minutes of detection.
    await requireFfmpeg('cut', [...DECODE_FEATURES, ...CUT_FEATURES], { cacheDir: cacheDirFor(root, io.env), log: (m) => io.err(`${m}\n`) });
    const detection = await detectRallies(video, {
      root,
      cacheDir: cacheDirFor(root, io.env),
      model,
      weightsDir: s.weightsDir,
      baseStride: s.stride,
      batch: p.batch ?? s.batch,
      heuristics,
      ...(temporal ? { temporal } : {}),
      signal: io.signal,
      progress: (l, t, u) => createProgress(l, t, u),
    });
    const source = temporal ? `temporal ${p.temporal}` : `heuristics ${preset}`;
    const text = (line: string): void => {
      if (!json) io.out(line);
    };
    text(`${detection.rallies.length} rallies in ${basename(video)} (model ${variant}, ${source}${detection.fromCache ? ', windows from cache' : ''})\n`);
    const rows = detection.rallies.map((r, i) => [
      i + 1,
      formatClock(r.start_ms),
      formatClock(r.end_ms),
      Number(((r.end_ms - r.start_ms) / 1000).toFixed(2)),
      Number(r.confidence.toFixed(3)),
    ]);
    if (rows.length) text(formatTable(['#', 'start', 'end', 'duration_s', 'confidence'], rows));
    if (p.segments) {
      await writeFileAtomic(resolve(io.cwd, p.segments), stableJson(toGroundTruth(detection, basename(video))));
      text(`rallies written to ${p.segments}\n`);
    }
    let cut: { path: string; segments: number; seconds: number; mode: string } | undefined;
    if (!p.dry_run) {
      const output = resolve(io.cwd, p.output ?? `${video.slice(0, video.length - extname(video).length)}_rallies.mp4`);
      const spans = detection.rallies.map((r) => ({ startS: r.start_frame / detection.fps, endS: (r.end_frame + 1) / detection.fps }));
      const result = await renderCut(video, spans, output, detection.sourceFps, { mode: p.mode, signal: io.signal });
      const seconds = spans.reduce((acc, sp) => acc + sp.endS - sp.startS, 0);
      cut = { path: output, segments: result.segments, seconds: Number(seconds.toFixed(3)), mode: result.mode };
      text(`cut video: ${output} (${result.segments} segments, ${seconds.toFixed(1)} s, ${result.mode === 'copy' ? 'stream copy' : 're-encoded'})\n`);
    }
    if (json) {
      const rallies = detection.rallies.map((r) => ({ start_ms: r.start_ms, end_ms: r.end_ms, confidence: Number(r.confidence.toFixed(4)) }));
      io.out(
        stableJson({
          ok: true,
          video,
          model: variant,
          source,
          from_cache: detection.fromCache,
          rallies,
          ...(p.segments ? { segments_file: resolve(io.cwd, p.segments) } : {}),
          ...(cut ? { cut } : {}),
        }),
      );
    }
  },
};

const module: StageModule = { commands: [command] };
export default module;
