// Shell completion: `rallycut completion bash|zsh|fish` prints a script that asks `rallycut __complete
// WORD...` for the candidates each time, so commands and options come from the command specs of the
// running version (never a stale copy), stage names from pipeline.yaml (foreach/matrix expanded, plus the
// group names), experiment names from the exp records and dataset names from training_datasets/. An empty
// answer lets the shell offer file names. __complete never prints an error: a broken pipeline.yaml just
// completes no stage names.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { CommandSpec } from './command.js';
import type { Completion, OptionSpec } from '../args.js';

export interface CompletionSources {
  stages(): Promise<string[]>;
  experiments(): Promise<string[]>;
  datasets(): Promise<string[]>;
}

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'Show this help' };
const TOP_LEVEL = ['--help', '--version'];

async function valuesFor(kind: Completion | undefined, sources: CompletionSources): Promise<string[]> {
  if (kind === undefined) return [];
  if (typeof kind !== 'string') return [...kind];
  const list = kind === 'stage' ? sources.stages() : kind === 'experiment' ? sources.experiments() : sources.datasets();
  return list.catch(() => []);
}

/**
 * The candidates for the last of `words` (the words after `rallycut`; the last one is the word being
 * typed, '' at a fresh word), sorted, those starting with it only.
 */
export async function complete(commands: readonly CommandSpec[], words: readonly string[], sources: CompletionSources): Promise<string[]> {
  const current = words[words.length - 1] ?? '';
  const before = words.slice(0, -1);
  const matching = (list: Iterable<string>): string[] => [...new Set(list)].filter((w) => w.startsWith(current)).sort();

  // The command: the longest spec whose path the finished words start with.
  let cmd: CommandSpec | undefined;
  for (const c of commands) if (c.path.every((p, i) => before[i] === p) && (!cmd || c.path.length > cmd.path.length)) cmd = c;
  if (!cmd) {
    // Still choosing it: the next word of every command path that the finished words begin.
    const next = commands.filter((c) => c.path.length > before.length && before.every((w, i) => c.path[i] === w)).map((c) => c.path[before.length]!);
    return matching(before.length === 0 && current.startsWith('-') ? TOP_LEVEL : next);
  }
  const options = [...cmd.options, HELP];
  const rest = before.slice(cmd.path.length);
  let positionals = 0;
  let awaiting: OptionSpec | undefined; // an option whose value comes next
  let onlyPositionals = false;
  for (const w of rest) {
    if (awaiting) {
      // bash splits `--opt=value` at '=' (COMP_WORDBREAKS): the '=' word joins the option to its value.
      if (w !== '=') awaiting = undefined;
      continue;
    }
    if (onlyPositionals || !w.startsWith('-') || w === '-') positionals++;
    else if (w === '--') onlyPositionals = true;
    else if (w.startsWith('--')) {
      const o = options.find((x) => x.name === w.slice(2));
      if (o && o.type !== 'boolean') awaiting = o;
    } else if (w.length === 2) {
      const o = options.find((x) => x.short === w[1]);
      if (o && o.type !== 'boolean') awaiting = o;
    }
  }
  if (awaiting) return matching(await valuesFor(awaiting.complete, sources));
  if (!onlyPositionals && current.startsWith('-')) {
    const eq = current.indexOf('=');
    if (current.startsWith('--') && eq > 0) {
      const o = options.find((x) => x.name === current.slice(2, eq));
      const prefix = current.slice(0, eq + 1);
      return matching((await valuesFor(o?.complete, sources)).map((v) => prefix + v));
    }
    return matching(options.map((o) => `--${o.name}`));
  }
  const specs = cmd.positionals ?? [];
  const last = specs[specs.length - 1];
  const spec = specs[positionals] ?? (last?.variadic ? last : undefined);
  return matching(await valuesFor(spec?.complete, sources));
}

/** Folders of training_datasets/ that hold a manifest. */
export async function datasetNames(root: string): Promise<string[]> {
  const dir = join(root, 'training_datasets');
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const e of entries) if (e.isDirectory() && (await fs.stat(join(dir, e.name, 'manifest.json')).catch(() => undefined))) names.push(e.name);
  return names.sort();
}
