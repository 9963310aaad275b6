// A handler's parameters, declared once: name, type, limits, default, description and CLI flag. From the
// declaration come the JSON schema of the stage's `with:` block, the TypeScript type of the params the
// handler receives (a type-level mapping, no code generation) and the options of its CLI command, which
// checks a flag's value against the same limits.
import { configError } from './diagnostics.js';
import type { Completion, OptionSpec, ParsedArgs } from './args.js';
import type { RegisteredHandler, StageHandler } from './handler-contract.js';

interface ParamCommon {
  readonly description: string;
  /** Must be given in `with:` (the CLI command may still default it: `cliDefault`). */
  readonly required?: boolean;
  /** The CLI option's name, when not the key in kebab-case. */
  readonly flag?: string;
  /** Earlier CLI names, still accepted with a deprecation warning. */
  readonly was?: readonly string[];
  readonly short?: string;
  readonly placeholder?: string;
  /** What shell completion offers for the value (src/cli/complete.ts). */
  readonly complete?: Completion;
  /** Only a `with:` key, not a CLI option. */
  readonly pipelineOnly?: boolean;
  /** Only a CLI option, not a `with:` key. */
  readonly cliOnly?: boolean;
}

export interface StringParam extends ParamCommon {
  readonly type: 'string';
  readonly default?: string;
  /** A default for the CLI command only (a `with:` block must name it). */
  readonly cliDefault?: string;
  readonly minLength?: number;
}

export interface NumberParam extends ParamCommon {
  readonly type: 'number' | 'integer';
  readonly default?: number;
  /** `with:` also takes the number written as a string ("48"); the handler gets a number either way. */
  readonly numericString?: boolean;
  readonly minimum?: number;
  readonly exclusiveMinimum?: number;
  readonly maximum?: number;
  readonly exclusiveMaximum?: number;
}

export interface BooleanParam extends ParamCommon {
  readonly type: 'boolean';
  readonly default?: boolean;
}

export interface EnumParam<V extends string = string> extends ParamCommon {
  readonly type: 'enum';
  readonly values: readonly V[];
  readonly default?: V;
}

export type ParamSpec = StringParam | NumberParam | BooleanParam | EnumParam;
export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

/** The value type of one declared param. */
export type ParamValue<P extends ParamSpec> = P extends { type: 'string' }
  ? string
  : P extends { type: 'number' | 'integer' }
    ? number
    : P extends { type: 'boolean' }
      ? boolean
      : P extends { readonly values: readonly (infer V)[] }
        ? V
        : never;

type Present<S extends ParamSpecs> = { [K in keyof S]: S[K] extends { required: true } | { default: unknown } ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The params a handler or command receives: declared defaults applied, so a defaulted param is always there. */
export type ParamsOf<S extends ParamSpecs> = Simplify<
  { -readonly [K in Present<S>]: ParamValue<S[K]> } & { -readonly [K in Exclude<keyof S, Present<S>>]?: ParamValue<S[K]> }
>;

const kebab = (key: string): string => key.replace(/_/g, '-');

/** The CLI option name of a param. */
export function flagOf(key: string, spec: ParamSpec): string {
  return spec.flag ?? kebab(key);
}

function jsonType(spec: ParamSpec): Record<string, unknown> {
  switch (spec.type) {
    case 'string':
      return { type: 'string', ...(spec.minLength !== undefined ? { minLength: spec.minLength } : {}) };
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'string', enum: [...spec.values] };
    default: {
      const limits = (['minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum'] as const).filter((k) => spec[k] !== undefined);
      const type = spec.numericString ? [spec.type, 'string'] : spec.type;
      const pattern = spec.numericString ? { pattern: spec.type === 'integer' ? '^[0-9]+$' : '^[0-9]+(\\.[0-9]+)?$' } : {};
      return { type, ...pattern, ...Object.fromEntries(limits.map((k) => [k, spec[k]])) };
    }
  }
}

/**
 * The ajv schema of the `with:` block. Defaults stay out of it: the engine validates with useDefaults, and a
 * default written into `with:` would change every existing stage's fingerprint; they are applied at run time.
 */
export function withSchema(specs: ParamSpecs): Readonly<Record<string, unknown>> {
  const entries = Object.entries(specs).filter(([, s]) => !s.cliOnly);
  const required = entries.filter(([, s]) => s.required).map(([k]) => k);
  return {
    type: 'object',
    properties: Object.fromEntries(entries.map(([k, s]) => [k, jsonType(s)])),
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

function limitsText(spec: NumberParam): string {
  const parts: string[] = [];
  if (spec.minimum !== undefined) parts.push(`≥ ${spec.minimum}`);
  if (spec.exclusiveMinimum !== undefined) parts.push(`> ${spec.exclusiveMinimum}`);
  if (spec.maximum !== undefined) parts.push(`≤ ${spec.maximum}`);
  if (spec.exclusiveMaximum !== undefined) parts.push(`< ${spec.exclusiveMaximum}`);
  return parts.join(' and ');
}

/** The CLI options of the declared params, in declaration order. */
export function paramOptions(specs: ParamSpecs): OptionSpec[] {
  return Object.entries(specs)
    .filter(([, s]) => !s.pipelineOnly)
    .map(([key, s]): OptionSpec => {
      const def = s.type === 'string' ? (s.default ?? s.cliDefault) : s.default;
      const extra =
        s.type === 'enum'
          ? s.placeholder
            ? ` (${s.values.join('|')})`
            : ''
          : s.type === 'integer' || s.type === 'number'
            ? limitsText(s)
              ? ` (${s.type === 'integer' ? 'a whole number ' : ''}${limitsText(s)})`
              : ''
            : '';
      return {
        name: flagOf(key, s),
        type: s.type === 'boolean' ? 'boolean' : s.type === 'number' || s.type === 'integer' ? 'number' : 'string',
        description: s.description + extra,
        ...(s.short ? { short: s.short } : {}),
        ...(s.placeholder ? { placeholder: s.placeholder } : s.type === 'enum' ? { placeholder: s.values.join('|') } : {}),
        ...(def !== undefined && s.type !== 'boolean' ? { default: def } : {}),
        ...(s.was?.length ? { was: s.was } : {}),
        ...(s.complete ? { complete: s.complete } : {}),
      };
    });
}

/** Why a value breaks its declaration (undefined: it is fine). */
export function paramProblem(spec: ParamSpec, value: unknown): string | undefined {
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      return spec.minLength !== undefined && value.length < spec.minLength
        ? spec.minLength === 1
          ? 'must not be empty'
          : `needs at least ${spec.minLength} characters`
        : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && (spec.values as readonly string[]).includes(value) ? undefined : `must be one of ${spec.values.join(', ')}`;
    default: {
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a number';
      if (spec.type === 'integer' && !Number.isInteger(value)) return `must be a whole number${limitsText(spec) ? ` ${limitsText(spec)}` : ''}`;
      const broken =
        (spec.minimum !== undefined && value < spec.minimum) ||
        (spec.exclusiveMinimum !== undefined && value <= spec.exclusiveMinimum) ||
        (spec.maximum !== undefined && value > spec.maximum) ||
        (spec.exclusiveMaximum !== undefined && value >= spec.exclusiveMaximum);
      return broken ? `must be ${limitsText(spec)}` : undefined;
    }
  }
}

/** The declared defaults applied to a `with:` block (already checked against withSchema by the engine). */
export function withDefaults<S extends ParamSpecs>(specs: S, given: unknown): ParamsOf<S> {
  const out: Record<string, unknown> = { ...(given as Record<string, unknown> | undefined) };
  for (const [key, s] of Object.entries(specs)) {
    if (out[key] === undefined && s.default !== undefined) out[key] = s.default;
    if ((s.type === 'number' || s.type === 'integer') && typeof out[key] === 'string') out[key] = Number(out[key]);
  }
  return out as ParamsOf<S>;
}

/** The params of a CLI command from its parsed options, checked against their declarations (config errors name the flag). */
export function paramsFromArgs<S extends ParamSpecs>(specs: S, args: ParsedArgs): ParamsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(specs)) {
    if (s.pipelineOnly) {
      if (s.default !== undefined) out[key] = s.default;
      continue;
    }
    const flag = flagOf(key, s);
    const value = args.options[flag] ?? (s.type === 'boolean' ? false : s.type === 'string' ? s.cliDefault : undefined) ?? s.default;
    if (value === undefined) {
      if (s.required) throw configError(`missing option --${flag} ${s.placeholder ?? 'VALUE'} (${s.description})`, { subject: `--${flag}` });
      continue;
    }
    const problem = paramProblem(s, value);
    if (problem) throw configError(`--${flag} ${problem}, got ${JSON.stringify(value)}`, { subject: `--${flag}` });
    out[key] = value;
  }
  return out as ParamsOf<S>;
}

/** A handler whose `with:` params are declared (`params`) rather than given as a schema. */
export interface DeclaredHandler<S extends ParamSpecs> extends Omit<StageHandler<ParamsOf<S>>, 'schema'> {
  readonly params: S;
}

/** Registers a handler: its `with:` schema comes from the declaration, and its hooks get the defaults applied. */
export function defineParamsHandler<S extends ParamSpecs>(h: DeclaredHandler<S>): RegisteredHandler {
  const { params, run, stamp, remoteJob, remoteIO, ...rest } = h;
  const resolved = (p: unknown): ParamsOf<S> => withDefaults(params, p);
  const handler: StageHandler<unknown> = {
    ...rest,
    schema: withSchema(params),
    run: (ctx, p) => run.call(h, ctx, resolved(p)),
    ...(stamp ? { stamp: (ctx, p) => stamp.call(h, ctx, resolved(p)) } : {}),
    ...(remoteJob ? { remoteJob: (ctx, p) => remoteJob.call(h, ctx, resolved(p)) } : {}),
    ...(remoteIO ? { remoteIO: (ctx, p) => remoteIO.call(h, ctx, resolved(p)) } : {}),
  };
  return handler;
}
