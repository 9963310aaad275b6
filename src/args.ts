// Argument parsing from a declarative spec; also renders --help. Unknown flags are config errors.
import { configError } from './diagnostics.js';

export type OptionType = 'string' | 'number' | 'boolean' | 'strings';

/**
 * What shell completion offers for a value (src/cli/complete.ts): names the project knows (stages of
 * pipeline.yaml, foreach-expanded; experiments; datasets under training_datasets/) or fixed words. Without it
 * the shell offers file names.
 */
export type Completion = 'stage' | 'experiment' | 'dataset' | readonly string[];

export interface OptionSpec {
  name: string; // long name without dashes, e.g. 'dry-run'
  short?: string; // one letter, e.g. 'j'
  type: OptionType;
  description: string;
  placeholder?: string;
  default?: string | number | boolean | string[];
  complete?: Completion;
  /** Earlier names of the option: still accepted, with a deprecation warning (not shown in --help). */
  was?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
  complete?: Completion;
}

export type OptionValue = string | number | boolean | string[] | undefined;

export interface ParsedArgs {
  positionals: string[];
  options: Record<string, OptionValue>;
  /** Deprecated option names used (the CLI prints them as warnings). */
  warnings?: string[];
}

export function parseArgs(argv: readonly string[], options: readonly OptionSpec[], positionals: readonly PositionalSpec[] = []): ParsedArgs {
  const byLong = new Map(options.map((o) => [o.name, o]));
  const byOldName = new Map(options.flatMap((o) => (o.was ?? []).map((w) => [w, o] as const)));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const result: ParsedArgs = { positionals: [], options: {} };
  for (const o of options) if (o.default !== undefined) result.options[o.name] = Array.isArray(o.default) ? [...o.default] : o.default;
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      result.positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let spec: OptionSpec | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byLong.get(name);
      const renamed = spec ? undefined : byOldName.get(name);
      if (renamed) {
        spec = renamed;
        (result.warnings ??= []).push(`--${name} is now --${renamed.name}; the old name will go`);
      }
      if (!spec && name.startsWith('no-') && byLong.get(name.slice(3))?.type === 'boolean') {
        result.options[name.slice(3)] = false;
        continue;
      }
    } else {
      name = arg.slice(1, 2);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
      spec = byShort.get(name);
    }
    if (!spec) throw configError(`unknown option '${arg}'`, { subject: arg });
    if (spec.type === 'boolean') {
      if (inline !== undefined) result.options[spec.name] = !['false', '0', 'no'].includes(inline);
      else result.options[spec.name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw configError(`option '--${spec.name}' needs a value`, { subject: `--${spec.name}` });
    if (spec.type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        throw configError(`option '--${spec.name}' expects a number, got '${value}'`, { subject: `--${spec.name}` });
      result.options[spec.name] = n;
    } else if (spec.type === 'strings') {
      const prev = result.options[spec.name];
      const list = Array.isArray(prev) && prev !== spec.default ? prev : [];
      result.options[spec.name] = [...list, value];
    } else {
      result.options[spec.name] = value;
    }
  }
  const required = positionals.filter((p) => p.required);
  if (result.positionals.length < required.length) {
    throw configError(
      `missing argument ${required
        .map((p) => p.name.toUpperCase())
        .slice(result.positionals.length)
        .join(' ')}`,
    );
  }
  const variadic = positionals.some((p) => p.variadic);
  if (!variadic && result.positionals.length > positionals.length) {
    throw configError(`unexpected argument '${result.positionals[positionals.length]}'`);
  }
  return result;
}

export function formatHelp(
  usage: string,
  summary: string,
  options: readonly OptionSpec[],
  positionals: readonly PositionalSpec[] = [],
  description?: string,
): string {
  const lines = [`Usage: ${usage}`, '', summary];
  if (description) lines.push('', description);
  if (positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of positionals) lines.push(`  ${(p.variadic ? p.name.toUpperCase() + '...' : p.name.toUpperCase()).padEnd(28)}${p.description}`);
  }
  lines.push('', 'Options:');
  const all: OptionSpec[] = [...options, { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' }];
  for (const o of all) {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'boolean' ? '' : ` ${o.placeholder ?? (o.type === 'number' ? 'N' : 'VALUE')}`}`;
    const def = o.default !== undefined && o.type !== 'boolean' ? ` (default: ${Array.isArray(o.default) ? o.default.join(',') : o.default})` : '';
    lines.push(`  ${flag.padEnd(28)}${o.description}${def}`);
  }
  return lines.join('\n') + '\n';
}

// Typed accessors for command implementations.
export function optString(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}
export function optNumber(args: ParsedArgs, name: string): number | undefined {
  const v = args.options[name];
  return typeof v === 'number' ? v : undefined;
}
export function optBool(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}
export function optStrings(args: ParsedArgs, name: string): string[] {
  const v = args.options[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
