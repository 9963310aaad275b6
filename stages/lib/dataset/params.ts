// The params every dataset command and handler shares, declared once (see src/handler-params.ts): the
// dataset's name and its folder. On the CLI they are --dataset NAME and --dir DIR everywhere.
import type { ParamSpec } from '../../../src/handler.js';

export const DATASET_NAME = {
  type: 'string',
  minLength: 1,
  required: true,
  flag: 'dataset',
  was: ['name'],
  description: 'Dataset name (training_datasets/NAME)',
  placeholder: 'NAME',
  complete: 'dataset',
} as const satisfies ParamSpec;

export const DATASET_DIR = {
  type: 'string',
  flag: 'dir',
  description: 'Dataset folder (default training_datasets/NAME)',
  placeholder: 'DIR',
} as const satisfies ParamSpec;
