// The pipeline.yaml schema (StageConfig = a stage as the user wrote it) and the mapping of ajv errors to
// positioned diagnostics. Union shapes use `type: [..]` instead of oneOf so errors stay one per problem.
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import { isSeq } from 'yaml';
import { dedupe, type Diagnostic } from '../diagnostics.js';
import { cachedValidator } from './validators.js';
import { configAt, type YamlPath, type YamlSource } from './yaml-source.js';

export type PathItem = string | Readonly<Record<string, OutOptions | null>>;
export interface OutOptions {
  cache?: boolean;
  persist?: boolean;
  desc?: string;
  /** Metrics only: the keys `exp show` shows by default, each a key or `{ key: label }`. */
  headline?: (string | Record<string, string>)[];
}

export interface StageBodyConfig {
  cmd?: string | string[];
  handler?: string;
  with?: Record<string, unknown>;
  wdir?: string;
  // null: the key written with nothing after it, which DVC reads as an empty list
  deps?: string[] | null;
  params?: (string | Record<string, string[] | null>)[] | null;
  outs?: PathItem[] | null;
  metrics?: PathItem[] | null;
  plots?: PathItem[] | null;
  frozen?: boolean;
  always_changed?: boolean;
  executor?: string | ({ name: string } & Record<string, unknown>);
  desc?: string;
  /** Free data for people and tools, ignored (DVC's `meta`). */
  meta?: unknown;
  /** The stage's own vars: added to the top-level context for this stage only. */
  vars?: (string | Record<string, unknown>)[];
}

export interface GeneratorConfig {
  foreach?: unknown[] | Record<string, unknown> | string;
  matrix?: Record<string, unknown[] | string>;
  do: StageBodyConfig;
}

export type StageConfig = StageBodyConfig | GeneratorConfig;

export interface PipelineConfig {
  vars?: (string | Record<string, unknown>)[];
  stages?: Record<string, StageConfig>;
}

export const STAGE_NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]*$';

// `headline:` (metrics only): the keys `exp show` shows by default, as `key` or `{ key: column label }`.
const headlineSchema = {
  type: 'array',
  minItems: 1,
  items: { type: ['string', 'object'], minLength: 1, minProperties: 1, maxProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
};

const pathItem = (kind: string) => ({
  type: ['string', 'object'],
  minLength: 1,
  minProperties: 1,
  maxProperties: 1,
  additionalProperties: {
    type: ['object', 'null'],
    properties: {
      cache: { type: 'boolean' },
      persist: { type: 'boolean' },
      desc: { type: 'string' },
      ...(kind === 'metric' ? { headline: headlineSchema } : {}),
    },
    additionalProperties: false,
  },
  description: kind,
});

export const MODAL_OPTIONS = [
  'gpu',
  'image',
  'timeout',
  'memory',
  'cpu',
  'volume',
  'retries',
  'secrets',
  'env',
  'pip',
  'apt',
  'concurrency',
  'max_sandboxes',
] as const;

const executorSchema = {
  if: { type: 'string' },
  then: { enum: ['local', 'modal'] },
  else: {
    type: 'object',
    required: ['name'],
    properties: {
      name: { enum: ['local', 'modal'] },
      gpu: { type: 'string' },
      image: { type: 'string' },
      timeout: { type: ['integer', 'string'] },
      memory: { type: ['integer', 'string'] },
      cpu: { type: ['number', 'string'] },
      volume: { type: 'string' },
      retries: { type: ['integer', 'string'] },
      secrets: { type: 'array', items: { type: 'string' } },
      pip: { type: 'array', items: { type: 'string' } },
      apt: { type: 'array', items: { type: 'string' } },
      concurrency: { type: ['integer', 'string'] },
      max_sandboxes: { type: ['integer', 'string'] },
      env: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
    },
    additionalProperties: false,
  },
};

export const stageBodySchema = {
  type: 'object',
  properties: {
    cmd: { type: ['string', 'array'], minLength: 1, minItems: 1, items: { type: 'string', minLength: 1 } },
    handler: { type: 'string', minLength: 1 },
    with: { type: 'object' },
    wdir: { type: 'string', minLength: 1 },
    deps: { type: ['array', 'null'], items: { type: 'string', minLength: 1 } },
    params: {
      type: ['array', 'null'],
      items: {
        type: ['string', 'object'],
        minLength: 1,
        minProperties: 1,
        additionalProperties: { type: ['array', 'null'], items: { type: 'string', minLength: 1 } },
      },
    },
    outs: { type: ['array', 'null'], items: pathItem('out') },
    metrics: { type: ['array', 'null'], items: pathItem('metric') },
    plots: { type: ['array', 'null'], items: pathItem('plot') },
    frozen: { type: 'boolean' },
    always_changed: { type: 'boolean' },
    executor: executorSchema,
    desc: { type: 'string' },
    meta: {},
    vars: { type: 'array', items: { type: ['string', 'object'] } },
  },
  additionalProperties: false,
};

const generatorSchema = {
  type: 'object',
  required: ['do'],
  properties: {
    foreach: { type: ['array', 'object', 'string'] },
    matrix: { type: 'object', minProperties: 1, additionalProperties: { type: ['array', 'string'] } },
    do: { $ref: '#/$defs/stage' },
  },
  additionalProperties: false,
};

// The stage body is a $ref so ajv compiles it once (it is used by plain and foreach/matrix stages).
export const pipelineSchema = {
  $defs: { stage: stageBodySchema },
  type: 'object',
  properties: {
    vars: { type: 'array', items: { type: ['string', 'object'] } },
    stages: {
      type: 'object',
      propertyNames: { pattern: STAGE_NAME_PATTERN },
      additionalProperties: {
        if: { type: 'object', anyOf: [{ required: ['foreach'] }, { required: ['matrix'] }] },
        then: generatorSchema,
        else: { $ref: '#/$defs/stage' },
      },
    },
  },
  // `x-…` keys are ignored, as in Docker Compose: a place for YAML anchors shared by stages.
  patternProperties: { '^x-': true },
  required: ['stages'],
  additionalProperties: false,
};

const PIPELINE_OPTIONS: Options = { allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true, verbose: true };
const HANDLER_OPTIONS: Options = { allErrors: true, strict: false, useDefaults: true, verbose: true, validateFormats: false };

export interface SchemaResult {
  diagnostics: Diagnostic[];
  /** Stages with schema errors: not resolved further, to avoid follow-on noise. */
  badStages: Set<string>;
  /** An error outside any one stage (top level, vars): nothing else can be checked. */
  fatal: boolean;
}

export async function validatePipelineConfig(value: unknown, source: YamlSource, cacheDir?: string): Promise<SchemaResult> {
  const validate = await cachedValidator(pipelineSchema, PIPELINE_OPTIONS, cacheDir);
  if (validate(value)) return { diagnostics: [], badStages: new Set(), fatal: false };
  const errors = validate.errors ?? [];
  const badStages = new Set<string>();
  let fatal = false;
  for (const e of errors) {
    const segs = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    // An unknown field does not stop the rest of the stage from being checked.
    if (segs[0] === 'stages' && segs[1] !== undefined) {
      if (e.keyword !== 'additionalProperties' && e.keyword !== 'if') badStages.add(segs[1]);
    } else if (e.keyword === 'propertyNames') badStages.add(String((e.params as { propertyName?: string }).propertyName));
    else if (!(e.keyword === 'pattern' && (e as { propertyName?: string }).propertyName)) fatal = true;
  }
  return { diagnostics: mapAjvErrors(errors, source, []), badStages, fatal };
}

/** Validates (and fills defaults into) a handler's `with:` block; `base` is the YAML path of `with`. */
export async function validateWith(
  schema: Readonly<Record<string, unknown>>,
  value: unknown,
  source: YamlSource,
  base: YamlPath,
  handlerName: string,
  cacheDir?: string,
): Promise<Diagnostic[]> {
  let validate: ValidateFunction;
  try {
    validate = await cachedValidator(schema, HANDLER_OPTIONS, cacheDir);
  } catch (err) {
    return [{ kind: 'failure', message: `handler '${handlerName}' has an invalid params schema: ${(err as Error).message}`, ...source.range(base, 'key') }];
  }
  if (validate(value)) return [];
  return mapAjvErrors(validate.errors ?? [], source, base, `handler '${handlerName}': `);
}

export function mapAjvErrors(errors: readonly ErrorObject[], source: YamlSource, base: YamlPath, prefix = ''): Diagnostic[] {
  const out: Diagnostic[] = [];
  // Errors from an if/then/else carry no information of their own; the branch's errors say it all.
  const relevant = errors.filter((e) => e.keyword !== 'if' && !(e.keyword === 'pattern' && (e as { propertyName?: string }).propertyName));
  for (const e of relevant) {
    const path = [...base, ...instancePath(e.instancePath, source, base)];
    const field = describeField(path);
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String(params.additionalProperty);
        const schemaProps = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
        const allowed = schemaProps ? Object.keys(schemaProps) : [];
        const notes = allowed.length ? [`allowed here: ${allowed.join(', ')}`] : [];
        out.push(configAt(source.range([...path, extra], 'key'), `${prefix}unknown field '${extra}'${field ? ` in ${field}` : ''}`, { notes }));
        break;
      }
      case 'required':
        out.push(configAt(source.range(path, 'key'), `${prefix}${field || 'the file'} is missing the required field '${String(params.missingProperty)}'`));
        break;
      case 'propertyNames':
        out.push(
          configAt(source.range([...path, String(params.propertyName)], 'key'), `${prefix}invalid stage name '${String(params.propertyName)}'`, {
            notes: ['stage names use letters, digits, _, . and -; @ is reserved for foreach/matrix items'],
          }),
        );
        break;
      case 'type':
        out.push(configAt(source.range(path), `${prefix}${field || 'the file'} must be ${typeWords(params.type)}, got ${jsonType(e.data)}`));
        break;
      case 'enum':
        out.push(
          configAt(
            source.range(path),
            `${prefix}${field} must be one of ${((params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(e.data)}`,
          ),
        );
        break;
      case 'minItems':
      case 'minLength':
      case 'minProperties':
        out.push(configAt(source.range(path), `${prefix}${field || 'value'} must not be empty`));
        break;
      case 'maxProperties':
        out.push(
          configAt(source.range(path), `${prefix}${field || 'value'} must have a single key`, {
            notes: [
              path.includes('headline') ? 'write one metric per item: - greedy.f1: greedy F1' : 'write one path per item: - data/x.json: { cache: false }',
            ],
          }),
        );
        break;
      default:
        out.push(configAt(source.range(path), `${prefix}${field || 'value'} ${e.message ?? 'is invalid'}`));
    }
  }
  return dedupe(out);
}

function instancePath(pointer: string, source: YamlSource, base: YamlPath): (string | number)[] {
  if (!pointer) return [];
  const segs = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const out: (string | number)[] = [];
  for (const s of segs) {
    const parent = source.node([...base, ...out]);
    out.push(isSeq(parent) && /^\d+$/.test(s) ? Number(s) : s);
  }
  return out;
}

function describeField(path: YamlPath): string {
  if (path.length === 0) return '';
  if (path[0] === 'stages' && path.length >= 2) {
    const rest = path.slice(2);
    return rest.length ? `'${formatYamlPath(rest)}' of stage '${String(path[1])}'` : `stage '${String(path[1])}'`;
  }
  return `'${formatYamlPath(path)}'`;
}

/** outs[0].cache, with keys that hold dots or slashes quoted: outs[0]."m.json". */
function formatYamlPath(path: YamlPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : /^[\w-]+$/.test(p) ? `${i ? '.' : ''}${p}` : `${i ? '.' : ''}"${p}"`)).join('');
}

function typeWords(t: unknown): string {
  const all: unknown[] = Array.isArray(t) ? t : String(t).split(',');
  const list = all.length > 1 ? all.filter((x) => x !== 'null') : all; // an empty key is allowed, not asked for
  const words = list.map((x) => (x === 'array' ? 'a list' : x === 'object' ? 'a mapping' : x === 'integer' ? 'an integer' : `a ${String(x)}`));
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}` : (words[0] ?? 'valid');
}

function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}
