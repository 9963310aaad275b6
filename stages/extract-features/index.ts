// extract-features: the pipeline handler and `rallycut train extract-features`.
import { resolve } from 'node:path';
import {
  cacheDirFor,
  createProgress,
  defineParamsHandler,
  findProjectRoot,
  formatTable,
  optBool,
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
import { extractFeatures, failureSummary, type ExtractResult } from './extract.js';
import { inputsFromFiles, readProxies, type VideoInput } from './inputs.js';

export const DEFAULT_PROXIES = 'training_data/proxies.json';
export const DEFAULT_INDEX = 'features/index.json';

const PARAMS = {
  model: { type: 'string', description: 'Weights variant (indoor, beach) or a folder with model.onnx + model.json; default from params model.variant', placeholder: 'NAME' },
  stride: { type: 'number', minimum: 1, numericString: true, description: 'Window stride at 30 fps (scaled by each video fps); default from params features.stride (48)' },
  batch: { type: 'integer', minimum: 1, numericString: true, description: 'Windows per inference batch; default from params features.batch (8)' },
  force: { type: 'boolean', default: false, description: 'Recompute even when cached' },
  proxies: { type: 'string', default: DEFAULT_PROXIES, description: 'The prepare index to read', placeholder: 'FILE' },
  index: { type: 'string', default: DEFAULT_INDEX, description: 'Where to write the feature index', placeholder: 'FILE' },
  windows_out: { type: 'string', description: 'Also write <video_id>.windows.json (input of rallycut segments) into DIR', placeholder: 'DIR' },
} as const;

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
  signal?: AbortSignal;
  log(m: string): void;
  progress: StageContext['progress'];
}

async function runExtract(a: RunArgs): Promise<ExtractResult> {
  const p = a.params;
  const location = locateModel(a.root, p.model ?? a.settings.variant, a.settings.weightsDir);
  const classifier = await loadClassifier(location);
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
  async run(ctx, p) {
    const inputs = await readProxies(resolve(ctx.root, p.proxies), ctx.root, ctx.cacheDir);
    const result = await runExtract({
      root: ctx.root,
      cacheDir: ctx.cacheDir,
      inputs,
      inputErrors: [],
      params: p,
      settings: settingsFrom((k) => paramValue(ctx.params, k)),
      base: ctx.root,
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
  options: [...paramOptions(PARAMS), JSON_OPTION],
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
      signal: io.signal,
      log: (m) => io.err(m + '\n'),
      progress: (l, t, u) => createProgress(l, t, u),
    });
    const rate = result.computeSeconds > 0 ? result.computedWindows / result.computeSeconds : 0;
    if (optBool(args, 'json')) {
      io.out(stableJson({ ok: true, index: result.index, computed_windows: result.computedWindows, windows_per_second: Number(rate.toFixed(2)), videos: result.outcomes.map((o) => ({ video_id: o.input.video_id, status: o.status })) }));
      return;
    }
    const rows = result.outcomes.map((o) => [o.input.filename, o.status, o.status === 'failed' ? null : o.entry.num_windows, o.status === 'failed' ? null : o.entry.stride]);
    io.out(formatTable(['video', 'status', 'windows', 'stride'], rows));
    io.out(`${result.computedWindows} windows computed${rate ? ` at ${rate.toFixed(1)} windows/s` : ''}; index: ${p.index}\n`);
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
