// What `rallycut __complete` offers, decided from the command specs (src/cli/complete.ts).
import { describe, expect, it } from 'vitest';
import { complete, type CompletionSources } from './complete.js';
import { allCommands } from './main.js';

const sources: CompletionSources = {
  stages: async () => ['prepare', 'train@a', 'train@b', 'train'],
  experiments: async () => ['exp-lr-small', 'exp-lr-big', 'baseline'],
  datasets: async () => ['beach_v3', 'beach_v4', 'demo'],
};

describe('completion candidates', async () => {
  const commands = await allCommands();
  const c = (...words: string[]): Promise<string[]> => complete(commands, words, sources);

  it('commands, group by group, from the specs (so a new command completes at once)', async () => {
    const first = await c('');
    expect(first).toEqual([...new Set(commands.map((x) => x.path[0]!))].sort());
    expect(first).toContain('completion');
    expect(await c('re')).toEqual(['remote', 'repro']);
    expect(await c('exp', 'r')).toEqual(['remove', 'run']);
    expect(await c('exp', 'queue', '')).toEqual(['start']);
    expect(await c('train', 'd')).toEqual(['diff']);
    expect(await c('-')).toEqual(['--help', '--version']);
  });

  it("a command's options, with --help", async () => {
    const repro = commands.find((x) => x.path.join(' ') === 'repro')!;
    expect(await c('repro', '--')).toEqual([...repro.options.map((o) => `--${o.name}`), '--help'].sort());
    expect(await c('repro', '--dr')).toEqual(['--dry']);
  });

  it('stage names (foreach items and group names) where a command takes stages, also after options', async () => {
    expect(await c('repro', '')).toEqual(['prepare', 'train', 'train@a', 'train@b']);
    expect(await c('repro', 'tr')).toEqual(['train', 'train@a', 'train@b']);
    expect(await c('repro', '-j', '2', '--force', 'prepare', 'train@')).toEqual(['train@a', 'train@b']);
    expect(await c('status', 'p')).toEqual(['prepare']);
  });

  it('experiment names for exp apply/remove/diff, metrics diff, plots diff', async () => {
    expect(await c('exp', 'apply', 'exp-')).toEqual(['exp-lr-big', 'exp-lr-small']);
    expect(await c('exp', 'remove', 'baseline', '')).toEqual(['baseline', 'exp-lr-big', 'exp-lr-small']);
    expect(await c('exp', 'diff', 'baseline', 'exp-lr-s')).toEqual(['exp-lr-small']);
    expect(await c('plots', 'diff', 'b')).toEqual(['baseline']);
  });

  it("option values: datasets after --dataset/--name, also as --opt=VALUE; the shells for 'completion'", async () => {
    expect(await c('train', 'temporal', '--dataset', 'beach')).toEqual(['beach_v3', 'beach_v4']);
    expect(await c('train', 'push', '--dataset=d')).toEqual(['--dataset=demo']);
    expect(await c('train', 'push', '--dataset', '=', 'd')).toEqual(['demo']); // bash's words for --dataset=d
    expect(await c('train', 'diff', 'beach_v3', 'beach_v')).toEqual(['beach_v3', 'beach_v4']);
    expect(await c('completion', '')).toEqual(['bash', 'fish', 'zsh']);
  });

  it('nothing (the shell then offers files) for a free value, past the last positional, or after --', async () => {
    expect(await c('repro', '--jobs', '')).toEqual([]);
    expect(await c('completion', 'bash', '')).toEqual([]);
    expect(await c('repro', '--', '-')).toEqual([]);
    expect(await c('cut', '')).toEqual([]);
  });

  it('a failing source completes nothing instead of failing', async () => {
    const broken = { ...sources, stages: () => Promise.reject(new Error('pipeline.yaml: bad')) };
    expect(await complete(commands, ['repro', ''], broken)).toEqual([]);
  });
});
