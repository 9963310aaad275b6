// modal-train: VideoMAE fine-tuning on a cloud GPU, as the pipeline handler `modal-train` (executor: modal)
// and as `rallycut train modal` (the seed's CLI: --upload, --download, --cleanup, …).
import { configError, defineHandler, type StageModule } from '../../src/handler.js';
import { trainModalCommand } from './command.js';
import { buildTrainJob, TRAIN_RESOURCES, type TrainOptions } from './job.js';

interface ModalTrainParams {
  variant: string;
  epochs?: number;
  lr?: number;
  batch_size?: number;
  resume_from_model?: boolean;
  fresh?: boolean;
  tiny?: boolean;
  max_steps?: number;
  data?: string;
  base_model?: string;
  output?: string;
  metrics?: string;
  script?: string;
}

export const VARIANT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function toTrainOptions(p: ModalTrainParams): TrainOptions {
  if (!VARIANT.test(p.variant)) throw configError(`variant '${p.variant}' may use only letters, digits, '.', '_' and '-'`, { subject: 'variant' });
  return {
    variant: p.variant,
    ...(p.epochs !== undefined ? { epochs: p.epochs } : {}),
    ...(p.lr !== undefined ? { lr: p.lr } : {}),
    ...(p.batch_size !== undefined ? { batchSize: p.batch_size } : {}),
    ...(p.resume_from_model ? { resumeFromModel: true } : {}),
    ...(p.fresh ? { fresh: true } : {}),
    ...(p.tiny ? { tiny: true } : {}),
    ...(p.max_steps !== undefined ? { maxSteps: p.max_steps } : {}),
    ...(p.data ? { data: p.data } : {}),
    ...(p.base_model ? { baseModel: p.base_model } : {}),
    ...(p.output ? { output: p.output } : {}),
    ...(p.metrics ? { metrics: p.metrics } : {}),
    ...(p.script ? { script: p.script } : {}),
  };
}

const handler = defineHandler<ModalTrainParams>({
  name: 'modal-train',
  summary: 'Fine-tune VideoMAE on rally windows on a cloud GPU (executor: modal); exports model.onnx + model.json',
  schema: {
    type: 'object',
    properties: {
      variant: { type: 'string', minLength: 1 },
      epochs: { type: 'integer', minimum: 1 },
      lr: { type: 'number', exclusiveMinimum: 0 },
      batch_size: { type: 'integer', minimum: 1 },
      resume_from_model: { type: 'boolean' },
      fresh: { type: 'boolean' },
      tiny: { type: 'boolean' },
      max_steps: { type: 'integer', minimum: 1 },
      data: { type: 'string' },
      base_model: { type: 'string' },
      output: { type: 'string' },
      metrics: { type: 'string' },
      script: { type: 'string' },
    },
    required: ['variant'],
    additionalProperties: false,
  },
  async versions() {
    return { 'modal-train-image': [TRAIN_RESOURCES.image ?? '', ...(TRAIN_RESOURCES.pip ?? [])].join(' ') };
  },
  remoteJob: (ctx, p) => buildTrainJob(ctx.root, ctx.cacheDir, toTrainOptions(p)),
  async run(ctx) {
    throw configError(`stage '${ctx.stage}' trains on a GPU and needs 'executor: modal'`, {
      subject: ctx.stage,
      notes: ['add `executor: {name: modal, gpu: T4}` to the stage, or run `rallycut train modal` (see README "Fine-tuning VideoMAE on Modal")'],
    });
  },
});

const module: StageModule = { handlers: [handler], commands: [trainModalCommand] };
export default module;
