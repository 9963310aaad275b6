// prepare: as the pipeline handler `prepare` and as `rallycut train prepare`.
import { join, resolve } from 'node:path';
import { configError, defineHandler, optBool, optNumber, optString, stableJson, type CommandSpec, type ParamValues, type StageModule } from '../../src/handler.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName, datasetDir } from '../lib/dataset/layout.js';
import { describeFfmpegVersion, ffmpegVersions } from '../lib/ffmpeg.js';
import { prepare, PROXIES_FILE, SAMPLES_FILE } from './prepare.js';

export const DEFAULT_OUTPUT = 'training_data';
export const DEFAULT_SEED = 42;

interface PrepareParams {
  /** Dataset name (training_datasets/<name>). */
  name: string;
  /** Dataset folder, when not training_datasets/<name>. */
  dataset_dir?: string;
  output?: string;
  seed?: number;
}

/** `prepare.seed` from the tracked params (any params file), if the stage tracks it. */
function seedFromParams(params: ParamValues): number | undefined {
  for (const values of Object.values(params)) {
    const direct = values['prepare.seed'];
    if (typeof direct === 'number') return direct;
    const group = values.prepare as { seed?: unknown } | undefined;
    if (group && typeof group.seed === 'number') return group.seed;
  }
  return undefined;
}

const handler = defineHandler<PrepareParams>({
  name: 'prepare',
  summary: 'Make 480p proxies (shared cache) and the training samples of a dataset',
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      dataset_dir: { type: 'string' },
      output: { type: 'string' },
      seed: { type: 'integer', minimum: 0 },
    },
    required: ['name'],
    additionalProperties: false,
  },
  describeVersion: describeFfmpegVersion,
  versions: (ctx) => ffmpegVersions({ cacheDir: ctx.cacheDir }),
  async run(ctx, p) {
    const name = checkDatasetName(p.name);
    await prepare(ctx, {
      datasetDir: datasetDir(ctx.root, name, p.dataset_dir),
      outputDir: resolve(ctx.root, p.output ?? DEFAULT_OUTPUT),
      seed: p.seed ?? seedFromParams(ctx.params) ?? DEFAULT_SEED,
      jobs: ctx.jobs,
    });
  },
});

const command: CommandSpec = {
  path: ['train', 'prepare'],
  summary: 'Make 480p proxies (shared cache) and the training samples of a dataset',
  description:
    `Reads training_datasets/NAME (manifest.json, ground_truth.json, videos/), verifies each video's sha256 against the\n` +
    `manifest, and makes a 480-line, constant-frame-rate H.264 proxy per video (30 fps for sources above 40 fps or with a\n` +
    `variable frame rate; rotation applied). Proxies are kept in <cache>/proxies/<content_hash>.mp4 (RALLYCUT_CACHE_DIR or\n` +
    `.cache/), shared by every dataset and experiment, and reused while source and settings are unchanged. Writes\n` +
    `OUTPUT/${PROXIES_FILE} (the proxy index) and OUTPUT/${SAMPLES_FILE} (16-frame service/play/no_play windows, 90/10 split).`,
  options: [
    { name: 'dataset', type: 'string', description: 'Dataset name', placeholder: 'NAME', default: 'demo', complete: 'dataset' },
    { name: 'dataset-dir', type: 'string', description: 'Dataset folder (default training_datasets/NAME)', placeholder: 'DIR' },
    { name: 'output', type: 'string', description: 'Folder for proxies.json and samples.json', placeholder: 'DIR', default: DEFAULT_OUTPUT },
    { name: 'seed', type: 'number', description: 'Seed of the sample positions and the split', default: DEFAULT_SEED },
    { name: 'jobs', short: 'j', type: 'number', description: 'Videos transcoded at once (default: the core count)' },
    { name: 'json', type: 'boolean', description: 'Print a summary as JSON' },
  ],
  async run(args, io) {
    const ctx = contextFromIO(io);
    const name = checkDatasetName(optString(args, 'dataset'));
    const seed = optNumber(args, 'seed') ?? DEFAULT_SEED;
    const jobs = optNumber(args, 'jobs');
    if (!Number.isInteger(seed) || seed < 0) throw configError(`--seed must be a whole number ≥ 0, got ${seed}`, { subject: '--seed' });
    if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 1)) throw configError(`-j/--jobs must be a whole number ≥ 1, got ${jobs}`, { subject: '--jobs' });
    const outputDir = resolve(ctx.root, optString(args, 'output') ?? DEFAULT_OUTPUT);
    const result = await prepare(ctx, {
      datasetDir: datasetDir(ctx.root, name, optString(args, 'dataset-dir')),
      outputDir,
      seed,
      jobs: jobs ?? ctx.jobs,
    });
    const summary = {
      ok: true,
      proxies: join(outputDir, PROXIES_FILE),
      samples: join(outputDir, SAMPLES_FILE),
      videos: result.proxies.videos.length,
      proxies_made: result.made,
      proxies_reused: result.reused,
      counts: result.samples.counts,
    };
    if (optBool(args, 'json')) io.out(stableJson(summary));
    else {
      const c = result.samples.counts;
      io.out(
        `Prepared ${summary.videos} videos (${result.made} proxies made, ${result.reused} from the cache in ${ctx.cacheDir}/proxies)\n` +
          `Samples: train ${c.train.service} service, ${c.train.play} play, ${c.train.no_play} no_play; ` +
          `val ${c.val.service} service, ${c.val.play} play, ${c.val.no_play} no_play\n`,
      );
    }
  },
};

const module: StageModule = { handlers: [handler], commands: [command] };
export default module;
