// extract-features: the pipeline handler and `rallycut train extract-features`.
import { resolve } from 'node:path';
import {
  cacheDirFor,
  configError,
  createProgress,
  defineParamsHandler,
  findProjectRoot,
  formatTable,
  optBool,
  optString,
  paramOptions,
  paramsFromArgs,
  stableJson,
  writeFileAtomic,
  type CommandSpec,
  type ParamsOf,
  type StageContext,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { onnxruntimeVersion } from '../lib/model/onnxruntime.js';
import { describeFfmpegVersion, ffmpegVersions } from '../lib/ffmpeg.js';
import { locateModel } from '../lib/model/registry.js';
import { paramValue, projectModelSettings, settingsFrom, type ModelSettings } from '../lib/model/params.js';
import { loadClassifier } from '../lib/model/session.js';
import { DEVICE_CHOICES, DEVICE_ENV, parseDevice, type DeviceChoice } from '../lib/model/device.js';
import { extractFeatures, failureSummary, type ExtractResult } from './extract.js';
import { inputsFromFiles, readProxies, type VideoInput } from './inputs.js';
import { mergeFeaturesHandler } from './merge.js';

export const DEFAULT_PROXIES = 'training_data/proxies.json';
export const DEFAULT_INDEX = 'features/index.json';

const PARAMS = {
  model: {
    type: 'string',
    description: 'Weights variant (indoor, beach) or a folder with model.onnx + model.json; default from params model.variant',
    placeholder: 'NAME',
  },
  stride: {
    type: 'number',
    minimum: 1,
    numericString: true,
    description: 'Window stride at 30 fps (scaled by each video fps); default from params features.stride (48)',
  },
  batch: { type: 'integer', minimum: 1, numericString: true, description: 'Windows per inference batch; default from params features.batch (8)' },
  force: { type: 'boolean', default: false, description: 'Recompute even when cached' },
  proxies: { type: 'string', default: DEFAULT_PROXIES, description: 'The prepare index to read', placeholder: 'FILE' },
  index: { type: 'string', default: DEFAULT_INDEX, description: 'Where to write the feature index', placeholder: 'FILE' },
  windows_out: { type: 'string', description: 'Also write <video_id>.windows.json (input of rallycut segments) into DIR', placeholder: 'DIR' },
  video: {
    type: 'string',
    minLength: 1,
    pipelineOnly: true,
    description: 'Only this video_id of the proxies index (a per-video foreach item; its index then has one entry)',
  },
} as const;

/** The inputs one stage works on: all of them, or the one `video` names (a per-video foreach item). */
export function pickVideo<T extends { video_id: string }>(inputs: readonly T[], video: string | undefined, file: string): T[] {
  if (video === undefined) return [...inputs];
  const found = inputs.filter((i) => i.video_id === video);
  if (!found.length) {
    throw configError(`video '${video}' is not in ${file}`, {
      file,
      subject: video,
      notes: [
        `known: ${inputs
          .map((i) => i.video_id)
          .slice(0, 20)
          .join(', ')}${inputs.length > 20 ? ', …' : ''}`,
      ],
    });
  }
  return found;
}

interface RunArgs {
  root: string;
  cacheDir: string;
  inputs: VideoInput[];
  inputErrors: { file: string; error: unknown }[];
  params: ParamsOf<typeof PARAMS>;
  /** The tracked params' model settings: the defaults of model, stride and batch. */
  settings: ModelSettings;
  /** The folder the params' paths are relative to (the project for a stage, the current folder for the CLI). */
  base: string;
  /** Not part of any cache key: features from either device are the same entries (device.ts). */
  device: DeviceChoice;
  signal?: AbortSignal;
  log(m: string): void;
  progress: StageContext['progress'];
}

async function runExtract(a: RunArgs): Promise<ExtractResult> {
  const p = a.params;
  const location = locateModel(a.root, p.model ?? a.settings.variant, a.settings.weightsDir);
  const classifier = await loadClassifier(location, { device: a.device, log: a.log });
  if (a.device !== 'cpu') a.log(`inference device: ${classifier.device} (asked: ${a.device})`);
  let result: ExtractResult;
  try {
    result = await extractFeatures(a.inputs, {
      cacheDir: a.cacheDir,
      model: classifier,
      variant: location.variant,
      baseStride: p.stride ?? a.settings.stride,
      batch: p.batch ?? a.settings.batch,
      force: p.force,
      ...(p.windows_out ? { windowsOut: resolve(a.base, p.windows_out) } : {}),
      ...(a.signal ? { signal: a.signal } : {}),
      log: a.log,
      progress: a.progress,
    });
  } finally {
    await classifier.release();
  }
  const failed = [
    ...a.inputErrors.map((e) => ({ name: e.file, error: e.error })),
    ...result.outcomes.flatMap((o) => (o.status === 'failed' ? [{ name: o.input.filename, error: o.error }] : [])),
  ];
  if (failed.length) throw failureSummary(failed, result.index.videos.length);
  await writeFileAtomic(resolve(a.base, p.index), stableJson(result.index));
  return result;
}

const handler = defineParamsHandler({
  name: 'extract-features',
  summary: 'Window probabilities and features for every prepared video (cached by video, decoded file, stride and model)',
  params: PARAMS,
  describeVersion: describeFfmpegVersion,
  async versions(ctx) {
    // Remembered per binary in <cache>/tools/versions.json: a repro does not start ffmpeg just to ask.
    return { ...(await ffmpegVersions({ cacheDir: ctx.cacheDir })), 'onnxruntime-node': onnxruntimeVersion() };
  },
  // On a remote executor: the proxies travel (from the proxy store), ffmpeg comes from the image, and the
  // feature arrays it computes come back into the local feature store, so a later local run finds them.
  async remoteIO(ctx, p) {
    const file = resolve(ctx.root, p.proxies);
    const inputs = pickVideo(await readProxies(file, ctx.root, ctx.cacheDir), p.video, file);
    return { inputs: inputs.map((i) => i.path), stores: ['features'], resources: { apt: ['ffmpeg'] } };
  },
  async run(ctx, p) {
    const file = resolve(ctx.root, p.proxies);
    const inputs = pickVideo(await readProxies(file, ctx.root, ctx.cacheDir), p.video, file);
    const result = await runExtract({
      root: ctx.root,
      cacheDir: ctx.cacheDir,
      inputs,
      inputErrors: [],
      params: p,
      settings: settingsFrom((k) => paramValue(ctx.params, k)),
      base: ctx.root,
      device: parseDevice(ctx.env[DEVICE_ENV], DEVICE_ENV),
      signal: ctx.signal,
      log: (m) => ctx.log(m),
      progress: (l, t, u) => ctx.progress(l, t, u),
    });
    const cached = result.outcomes.filter((o) => o.status === 'cached').length;
    ctx.log(`${result.index.videos.length} videos: ${result.index.videos.length - cached} computed, ${cached} from cache`);
  },
});

const command: CommandSpec = {
  path: ['train', 'extract-features'],
  summary: 'Classify 16-frame windows of each video with the ONNX model; cache probabilities and features',
  description:
    'Reads training_data/proxies.json (from prepare), or the VIDEO files given. Decodes only the frames the windows use, ' +
    'runs the model in batches and caches the results under the cache folder by (content hash, sha256 of the decoded file, stride, model hash). ' +
    'Writes features/index.json.',
  positionals: [{ name: 'video', description: 'Video files to process instead of the proxies index', variadic: true }],
  options: [
    ...paramOptions(PARAMS),
    {
      name: 'device',
      type: 'string',
      description: `Inference device: ${DEVICE_CHOICES.join(', ')} (default: $${DEVICE_ENV}, else cpu); not part of the cache key`,
      placeholder: 'DEVICE',
    },
    JSON_OPTION,
  ],
  async run(args, io) {
    const p = paramsFromArgs(PARAMS, args);
    const root = findProjectRoot(io.cwd) ?? io.cwd;
    const cacheDir = cacheDirFor(root, io.env);
    const fromFiles = args.positionals.length ? await inputsFromFiles(args.positionals, io.cwd, io.signal) : null;
    const result = await runExtract({
      root,
      cacheDir,
      inputs: fromFiles ? fromFiles.inputs : await readProxies(resolve(io.cwd, p.proxies), root, cacheDir),
      inputErrors: fromFiles?.errors ?? [],
      params: p,
      settings: await projectModelSettings(root),
      base: io.cwd,
      device: optString(args, 'device') !== undefined ? parseDevice(optString(args, 'device'), '--device') : parseDevice(io.env[DEVICE_ENV], DEVICE_ENV),
      signal: io.signal,
      log: (m) => io.err(m + '\n'),
      progress: (l, t, u) => createProgress(l, t, u),
    });
    const rate = result.computeSeconds > 0 ? result.computedWindows / result.computeSeconds : 0;
    if (optBool(args, 'json')) {
      io.out(
        stableJson({
          ok: true,
          index: result.index,
          computed_windows: result.computedWindows,
          windows_per_second: Number(rate.toFixed(2)),
          videos: result.outcomes.map((o) => ({ video_id: o.input.video_id, status: o.status })),
        }),
      );
      return;
    }
    const rows = result.outcomes.map((o) => [
      o.input.filename,
      o.status,
      o.status === 'failed' ? null : o.entry.num_windows,
      o.status === 'failed' ? null : o.entry.stride,
    ]);
    io.out(formatTable(['video', 'status', 'windows', 'stride'], rows));
    io.out(`${result.computedWindows} windows computed${rate ? ` at ${rate.toFixed(1)} windows/s` : ''}; index: ${p.index}\n`);
  },
};

const module: StageModule = { handlers: [handler, mergeFeaturesHandler], commands: [command] };
export default module;
