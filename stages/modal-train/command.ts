// `rallycut train modal`: the seed's Modal CLI mapped onto the executor's operations. Without an action flag
// it trains (upload what is missing → run with retries → download and verify). --upload, --upload-videos,
// --upload-model only upload; --download fetches the last finished run; --cleanup empties the volume.
import { join } from 'node:path';
import {
  cacheDirFor,
  configError,
  findProjectRoot,
  optBool,
  optNumber,
  optString,
  optStrings,
  stableJson,
  withModalRunner,
  type CommandIO,
  type CommandSpec,
  type ParsedArgs,
  type RemoteJob,
  type StageContext,
} from '../../src/handler.js';
import { createProgress } from '../../src/handler.js';
import {
  buildTrainJob,
  jobName,
  trainOutputs,
  DEFAULT_BASE_MODEL,
  DEFAULT_BATCH_SIZE,
  DEFAULT_DATA,
  DEFAULT_EPOCHS,
  DEFAULT_METRICS,
  TRAIN_RESOURCES,
  type TrainOptions,
} from './job.js';

const SUBJECT = 'modal-train';

function contextFor(io: CommandIO): StageContext {
  const root = findProjectRoot(io.cwd) ?? io.cwd;
  return {
    root,
    cacheDir: cacheDirFor(root, io.env),
    stage: SUBJECT,
    wdir: root,
    deps: [],
    outs: [],
    params: {},
    env: io.env,
    jobs: 1,
    signal: io.signal,
    log: (m) => {
      for (const line of String(m).split('\n')) io.err(`[${SUBJECT}] ${line}\n`);
    },
    progress: (label, total, unit) =>
      createProgress(label, total, unit, { write: (t) => io.err(t), isTTY: Boolean(io.errTTY), columns: io.errColumns, env: io.env }),
  };
}

function positive(args: ParsedArgs, name: string, integer: boolean): number | undefined {
  const v = optNumber(args, name);
  if (v === undefined) return undefined;
  if (!(v > 0) || (integer && !Number.isInteger(v)))
    throw configError(`--${name} must be a ${integer ? 'whole ' : ''}number > 0, got ${v}`, { subject: `--${name}` });
  return v;
}

function trainOptions(args: ParsedArgs): TrainOptions {
  const variant = optString(args, 'variant') ?? 'beach';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(variant))
    throw configError(`--variant '${variant}' may use only letters, digits, '.', '_' and '-'`, { subject: '--variant' });
  const pick = <T>(key: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [key]: v });
  return {
    variant,
    ...pick('epochs', positive(args, 'epochs', true)),
    ...pick('lr', positive(args, 'lr', false)),
    ...pick('batchSize', positive(args, 'batch-size', true)),
    ...pick('maxSteps', positive(args, 'max-steps', true)),
    ...(optBool(args, 'resume-from-model') || optBool(args, 'upload-model') ? { resumeFromModel: true } : {}),
    ...(optBool(args, 'fresh') ? { fresh: true } : {}),
    ...(optBool(args, 'tiny') ? { tiny: true } : {}),
    ...pick('data', optString(args, 'data')),
    ...pick('baseModel', optString(args, 'base-model')),
    ...pick('output', optString(args, 'output')),
    ...pick('metrics', optString(args, 'metrics')),
    ...pick('script', optString(args, 'script')),
  };
}

function executorOptions(args: ParsedArgs): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const key of ['gpu', 'timeout', 'memory', 'volume'] as const) {
    const v = optString(args, key);
    if (v !== undefined) o[key] = v;
  }
  const retries = optNumber(args, 'retries');
  if (retries !== undefined) o.retries = retries;
  const env: Record<string, string> = {};
  for (const kv of optStrings(args, 'env') ?? []) {
    const eq = kv.indexOf('=');
    if (eq < 1) throw configError(`--env wants NAME=VALUE, got '${kv}'`, { subject: '--env' });
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (Object.keys(env).length) o.env = env;
  return o;
}

/** Which of the job's inputs an upload flag sends. */
function uploadSubset(job: RemoteJob, args: ParsedArgs): RemoteJob {
  if (optBool(args, 'upload')) return job;
  const wanted = (p: string): boolean =>
    (optBool(args, 'upload-videos') && p.startsWith('data/proxies/')) || (optBool(args, 'upload-model') && p.startsWith('base_model/'));
  return { ...job, inputs: job.inputs.filter((i) => wanted(i.path)) };
}

export const trainModalCommand: CommandSpec = {
  path: ['train', 'modal'],
  summary: 'Fine-tune VideoMAE on Modal (upload, train with retries and resume, download, cleanup)',
  description:
    'Runs stages/modal-train/train.py in a Modal Sandbox (T4, 4 h, 16 GiB by default) with the volume mounted at /data.\n' +
    'Proxies, samples and weights are uploaded by content hash (only new files travel); checkpoints stay on the volume,\n' +
    'so a preempted or failed attempt (retried up to --retries times, with exponential backoff) resumes from the latest\n' +
    'one. Results (HF files, model.onnx, model.json, metrics) are downloaded and verified against hashes the job wrote.\n' +
    'Credentials: MODAL_TOKEN_ID/MODAL_TOKEN_SECRET or ~/.modal.toml. RALLYCUT_MODAL_BACKEND=local runs the Modal\n' +
    'job on this machine instead (a folder as the volume; no Modal account needed, and no GPU, image or secrets).',
  options: [
    { name: 'upload', type: 'boolean', description: 'Only upload everything the run needs (proxies, samples, script; base weights with --resume-from-model)' },
    { name: 'upload-videos', type: 'boolean', description: 'Only upload the proxies' },
    { name: 'upload-model', type: 'boolean', description: 'Only upload the base weights (--base-model) for --resume-from-model' },
    { name: 'download', type: 'boolean', description: 'Only download and verify the results of the last finished run' },
    { name: 'cleanup', type: 'boolean', description: 'Delete uploaded videos and model outputs from the volume; reports the bytes freed' },
    { name: 'variant', type: 'string', description: 'Model variant: weights/videomae/VARIANT', placeholder: 'NAME', default: 'beach' },
    { name: 'epochs', type: 'number', description: `Training epochs (default ${DEFAULT_EPOCHS})` },
    { name: 'lr', type: 'number', description: 'Learning rate (default 5e-5, or 1e-5 with --resume-from-model)' },
    { name: 'batch-size', type: 'number', description: `Per-device batch size (default ${DEFAULT_BATCH_SIZE}; gradient accumulation 2)` },
    { name: 'resume-from-model', type: 'boolean', description: `Continue from the uploaded weights in --base-model (default ${DEFAULT_BASE_MODEL})` },
    { name: 'fresh', type: 'boolean', description: 'Delete the checkpoints on the volume and start over' },
    { name: 'tiny', type: 'boolean', description: 'A reduced-size VideoMAE from random weights (for checks)' },
    { name: 'max-steps', type: 'number', description: 'Stop after this many optimizer steps (for checks)' },
    { name: 'data', type: 'string', description: `Folder with proxies.json and samples.json (default ${DEFAULT_DATA})`, placeholder: 'DIR' },
    { name: 'base-model', type: 'string', description: 'Folder with HF VideoMAE files for --resume-from-model', placeholder: 'DIR' },
    { name: 'output', type: 'string', description: 'Where the model goes (default weights/videomae/VARIANT)', placeholder: 'DIR' },
    { name: 'metrics', type: 'string', description: `Where the training metrics go (default ${DEFAULT_METRICS})`, placeholder: 'FILE' },
    { name: 'script', type: 'string', description: 'Training script to run instead of the bundled train.py', placeholder: 'FILE' },
    { name: 'gpu', type: 'string', description: `GPU type (default ${TRAIN_RESOURCES.gpu})` },
    { name: 'timeout', type: 'string', description: 'Sandbox time limit: seconds or 30m, 4h (default 4h)' },
    { name: 'memory', type: 'string', description: 'Memory: MiB or 16Gi (default 16384)' },
    { name: 'volume', type: 'string', description: 'Modal Volume name (default rallycut-training)' },
    { name: 'env', type: 'strings', description: 'Environment variable for the job, NAME=VALUE (repeatable)', placeholder: 'NAME=VALUE' },
    { name: 'retries', type: 'number', description: 'Retries after a failed or preempted attempt (default 2)' },
    { name: 'json', type: 'boolean', description: 'Print a summary as JSON' },
  ],
  async run(args, io) {
    const ctx = contextFor(io);
    const actions = ['upload', 'upload-videos', 'upload-model', 'download', 'cleanup'].filter((a) => optBool(args, a));
    if (actions.includes('cleanup') && actions.length > 1)
      throw configError(`--cleanup cannot be combined with --${actions.filter((a) => a !== 'cleanup').join(', --')}`, { subject: '--cleanup' });
    if (actions.includes('download') && actions.length > 1) throw configError('--download cannot be combined with an upload flag', { subject: '--download' });
    const opts = trainOptions(args);
    const exec = executorOptions(args);
    const print = (summary: Record<string, unknown>, text: string): void => io.out(optBool(args, 'json') ? stableJson({ ok: true, ...summary }) : text + '\n');

    const runCtx = { env: ctx.env, cacheDir: ctx.cacheDir, subject: SUBJECT, signal: ctx.signal, log: ctx.log };
    if (!actions.length) {
      const job = await buildTrainJob(ctx.root, ctx.cacheDir, opts);
      await withModalRunner(exec, job.resources ?? TRAIN_RESOURCES, runCtx, {}, (runner) => runner.run(job));
      print({ action: 'train', model: job.outputs[0]!.local, metrics: job.outputs[1]!.local }, `Trained ${opts.variant}: ${job.outputs[0]!.local}`);
      return;
    }
    await withModalRunner(exec, TRAIN_RESOURCES, runCtx, {}, async (runner) => {
      const volume = runner.settings.volume;
      if (actions.includes('cleanup')) {
        const freed = await runner.cleanup();
        print({ action: 'cleanup', volume, bytes_freed: freed }, `Freed ${freed} bytes (${(freed / 1e6).toFixed(1)} MB) on volume ${volume}`);
        return;
      }
      if (actions.includes('download')) {
        const job: RemoteJob = { name: jobName(opts.variant), inputs: [], command: '', outputs: trainOutputs(ctx.root, opts) };
        const r = await runner.fetch(job);
        print(
          { action: 'download', files: r.files, bytes: r.bytes, model: job.outputs[0]!.local },
          `Downloaded ${r.files} verified files to ${join(job.outputs[0]!.local)}`,
        );
        return;
      }
      const job = uploadSubset(await buildTrainJob(ctx.root, ctx.cacheDir, opts), args);
      const r = await runner.sync(job);
      print(
        { action: 'upload', uploaded: r.uploaded, present: r.present, bytes: r.bytes },
        `Uploaded ${r.uploaded} files (${r.bytes} bytes); ${r.present} were already on volume ${volume}`,
      );
    });
  },
};
