// prepare: as the pipeline handler `prepare` and as `rallycut train prepare`, from one declaration of its params.
import { join, resolve } from 'node:path';
import {
  defineParamsHandler,
  optBool,
  paramOptions,
  paramsFromArgs,
  stableJson,
  type CommandSpec,
  type ParamValues,
  type StageModule,
} from '../../src/handler.js';
import { JSON_OPTION } from '../lib/cli-options.js';
import { contextFromIO } from '../lib/dataset/context.js';
import { checkDatasetName, datasetDir } from '../lib/dataset/layout.js';
import { DATASET_DIR, DATASET_NAME } from '../lib/dataset/params.js';
import { describeFfmpegVersion, ffmpegVersions } from '../lib/ffmpeg.js';
import { prepare, PROXIES_FILE, SAMPLES_FILE } from './prepare.js';

export const DEFAULT_OUTPUT = 'training_data';
export const DEFAULT_SEED = 42;

const PARAMS = {
  name: { ...DATASET_NAME, cliDefault: 'demo' },
  dataset_dir: { ...DATASET_DIR, was: ['dataset-dir'] },
  output: { type: 'string', default: DEFAULT_OUTPUT, description: 'Folder for proxies.json and samples.json', placeholder: 'DIR' },
  seed: { type: 'integer', minimum: 0, description: `Seed of the sample positions and the split (default: params prepare.seed, else ${DEFAULT_SEED})` },
  jobs: { type: 'integer', minimum: 1, short: 'j', cliOnly: true, description: 'Videos transcoded at once (default: the core count)' },
} as const;

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

const SUMMARY = 'Make 480p proxies (shared cache) and the training samples of a dataset';

const handler = defineParamsHandler({
  name: 'prepare',
  summary: SUMMARY,
  params: PARAMS,
  versions: (ctx) => ffmpegVersions({ cacheDir: ctx.cacheDir }),
  describeVersion: describeFfmpegVersion,
  async run(ctx, p) {
    const name = checkDatasetName(p.name);
    await prepare(ctx, {
      datasetDir: datasetDir(ctx.root, name, p.dataset_dir),
      outputDir: resolve(ctx.root, p.output),
      seed: p.seed ?? seedFromParams(ctx.params) ?? DEFAULT_SEED,
      jobs: ctx.jobs,
    });
  },
});

const command: CommandSpec = {
  path: ['train', 'prepare'],
  summary: SUMMARY,
  description:
    `Reads training_datasets/NAME (manifest.json, ground_truth.json, videos/), verifies each video's sha256 against the\n` +
    `manifest, and makes a 480-line, constant-frame-rate H.264 proxy per video (30 fps for sources above 40 fps or with a\n` +
    `variable frame rate; rotation applied). Proxies are kept in <cache>/proxies/<content_hash>.mp4 (RALLYCUT_CACHE_DIR or\n` +
    `.cache/), shared by every dataset and experiment, and reused while source and settings are unchanged. Writes\n` +
    `OUTPUT/${PROXIES_FILE} (the proxy index) and OUTPUT/${SAMPLES_FILE} (16-frame service/play/no_play windows, 90/10 split).`,
  options: [...paramOptions(PARAMS), JSON_OPTION],
  async run(args, io) {
    const ctx = contextFromIO(io);
    const p = paramsFromArgs(PARAMS, args);
    const outputDir = resolve(ctx.root, p.output);
    const result = await prepare(ctx, {
      datasetDir: datasetDir(ctx.root, checkDatasetName(p.name), p.dataset_dir),
      outputDir,
      seed: p.seed ?? DEFAULT_SEED,
      jobs: p.jobs ?? ctx.jobs,
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
