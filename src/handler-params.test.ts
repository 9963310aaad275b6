// One declaration per handler param gives the with: schema, the params type and the CLI options; the
// three must agree on names, limits and defaults.
import { Ajv } from 'ajv';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { formatHelp, parseArgs } from './args.js';
import { RallycutError } from './diagnostics.js';
import { defineParamsHandler, paramOptions, paramsFromArgs, withDefaults, withSchema, type ParamsOf } from './handler-params.js';

const PARAMS = {
  name: { type: 'string', minLength: 1, required: true, flag: 'dataset', was: ['name'], description: 'Dataset name', placeholder: 'NAME', cliDefault: 'demo' },
  stride: { type: 'number', minimum: 1, numericString: true, description: 'Window stride' },
  epochs: { type: 'integer', minimum: 1, default: 50, description: 'maximum epochs' },
  model: { type: 'enum', values: ['v1', 'v2'], default: 'v2', description: 'architecture' },
  force: { type: 'boolean', description: 'Recompute' },
  source: { type: 'enum', values: ['a', 'b'], default: 'a', pipelineOnly: true, description: 'what to score' },
  jobs: { type: 'integer', minimum: 1, short: 'j', cliOnly: true, description: 'parallel jobs' },
} as const;

const cli = (argv: string[]) => paramsFromArgs(PARAMS, parseArgs(argv, paramOptions(PARAMS)));
const configMessage = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(RallycutError);
    expect((err as RallycutError).diagnostics[0]!.kind).toBe('config');
    return (err as RallycutError).diagnostics[0]!.message;
  }
  throw new Error('no error');
};

describe('declared handler params', () => {
  it('type: required and defaulted params are always there, the others optional; enums keep their values', () => {
    expectTypeOf<ParamsOf<typeof PARAMS>>().toEqualTypeOf<{
      name: string;
      epochs: number;
      model: 'v1' | 'v2';
      source: 'a' | 'b';
      stride?: number;
      force?: boolean;
      jobs?: number;
    }>();
  });

  it('with: schema: the same limits, unknown and missing keys refused, numbers as strings where declared, no defaults written in', () => {
    const validate = new Ajv({ allErrors: true, strict: false, useDefaults: true }).compile(withSchema(PARAMS));
    const ok = { name: 'ds', stride: '48' };
    expect(validate(ok)).toBe(true);
    expect(ok).toEqual({ name: 'ds', stride: '48' }); // defaults stay out: with: values are fingerprinted
    expect(validate({ name: 'ds', stride: 'abc' })).toBe(false);
    expect(validate({ name: 'ds', epochs: 0 })).toBe(false);
    expect(validate({ name: 'ds', epochs: 1.5 })).toBe(false);
    expect(validate({ name: 'ds', model: 'v9' })).toBe(false);
    expect(validate({ name: 'ds', jobs: 2 })).toBe(false); // CLI-only
    expect(validate({ stride: 48 })).toBe(false); // name is required
    expect(validate({ name: 'ds', source: 'b' })).toBe(true);
  });

  it('the handler gets defaults applied and declared numeric strings as numbers', async () => {
    let got: unknown;
    const h = defineParamsHandler({ name: 't', summary: 'test handler', params: PARAMS, run: async (_ctx, p) => void (got = p) });
    expect(h.schema).toEqual(withSchema(PARAMS));
    await h.run({} as never, { name: 'ds', stride: '24' });
    expect(got).toEqual({ name: 'ds', stride: 24, epochs: 50, model: 'v2', source: 'a' });
    expect(withDefaults(PARAMS, { name: 'x', epochs: 3 })).toMatchObject({ epochs: 3, model: 'v2' });
  });

  it('CLI: flags named from the keys (or their declared flag), checked against the same limits, config errors naming the flag', () => {
    expect(cli([])).toEqual({ name: 'demo', epochs: 50, model: 'v2', force: false, source: 'a' });
    expect(cli(['--dataset', 'x', '--stride', '24', '-j', '3', '--force'])).toMatchObject({ name: 'x', stride: 24, jobs: 3, force: true });
    expect(configMessage(() => cli(['--epochs', '0']))).toBe('--epochs must be ≥ 1, got 0');
    expect(configMessage(() => cli(['--epochs', '2.5']))).toBe('--epochs must be a whole number ≥ 1, got 2.5');
    expect(configMessage(() => cli(['--model', 'v9']))).toBe('--model must be one of v1, v2, got "v9"');
    expect(configMessage(() => cli(['--dataset', '']))).toBe('--dataset must not be empty, got ""');
    expect(configMessage(() => cli(['--source', 'b']))).toBe("unknown option '--source'"); // pipeline only
    const required = { name: { type: 'string', required: true, description: 'Dataset name', placeholder: 'NAME' } } as const;
    expect(configMessage(() => paramsFromArgs(required, parseArgs([], paramOptions(required))))).toBe('missing option --name NAME (Dataset name)');
  });

  it('CLI: an old flag name still works, with a warning', () => {
    const args = parseArgs(['--name', 'old'], paramOptions(PARAMS));
    expect(paramsFromArgs(PARAMS, args).name).toBe('old');
    expect(args.warnings).toEqual(['--name is now --dataset; the old name will go']);
  });

  it('--help shows each flag with its placeholder, limits, choices and default', () => {
    const help = formatHelp('t [options]', 'test', paramOptions(PARAMS));
    expect(help).toContain('--dataset NAME');
    expect(help).toContain('Dataset name (default: demo)');
    expect(help).toMatch(/--epochs N\s+maximum epochs \(a whole number ≥ 1\) \(default: 50\)/);
    expect(help).toMatch(/--model v1\|v2\s+architecture \(default: v2\)/);
    expect(help).toContain('-j, --jobs N');
    expect(help).not.toContain('--source');
    expect(help).not.toContain('--name');
  });
});
