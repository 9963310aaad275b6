// Shell completion end to end: the script `rallycut completion SHELL` prints, loaded into the real shell,
// completing through `rallycut __complete` in a project with a foreach stage, experiments and datasets.
// bash is simulated as readline would call it (COMP_WORDS/COMP_CWORD, then the registered function);
// zsh and fish are checked only where they are installed.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expsDir } from '../../src/exp/records.js';
import { distIsFresh, Rig } from '../rig.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'rallycut');
const has = (shell: string): boolean => spawnSync(shell, ['-c', 'exit 0']).status === 0;

let rig: Rig;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  rig = new Rig('rallycut-complete-');
  await rig.write({
    'pipeline.yaml': 'stages:\n  prepare:\n    cmd: echo p\n  train:\n    foreach: [small, big]\n    do:\n      cmd: echo ${item}\n',
    'training_datasets/beach_v4/manifest.json': '{}',
    'training_datasets/notes/readme.txt': 'not a dataset',
  });
  const exps = expsDir(join(rig.dir, '.cache'));
  mkdirSync(exps, { recursive: true });
  for (const name of ['lr-small', 'lr-big']) writeFileSync(join(exps, `${name}.json`), '{}');
  env = rig.env(distIsFresh() ? {} : { RALLYCUT_FROM_SOURCE: '1' });
});
afterAll(async () => rig.cleanup());

async function script(shell: string): Promise<string> {
  const res = await rig.run(['completion', shell]);
  expect(res.code).toBe(0);
  const file = join(rig.dir, `completion.${shell}`);
  writeFileSync(file, res.stdout);
  return file;
}

/** What bash's completion offers for `line` (the cursor at its end), as readline would ask for it. */
function bashComplete(file: string, line: string): string[] {
  const words = line.split(' ');
  const program = `source "$1"; shift; complete -p rallycut >/dev/null || exit 3; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; _rallycut; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', program, 'bash', file, BIN, ...words.slice(1)], { cwd: rig.dir, env, encoding: 'utf8' });
  return out.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('completes commands, subcommands, options, stage names, experiment and dataset names', async () => {
    const file = await script('bash');
    expect(bashComplete(file, 'rallycut re')).toEqual(['remote', 'repro']);
    expect(bashComplete(file, 'rallycut exp a')).toEqual(['apply']);
    expect(bashComplete(file, 'rallycut repro --dr')).toEqual(['--dry']);
    expect(bashComplete(file, 'rallycut repro tr')).toEqual(['train', 'train@big', 'train@small']);
    expect(bashComplete(file, 'rallycut repro --force train@small ')).toEqual(['prepare', 'train', 'train@big', 'train@small']);
    expect(bashComplete(file, 'rallycut exp remove lr-')).toEqual(['lr-big', 'lr-small']);
    expect(bashComplete(file, 'rallycut train diff ')).toEqual(['beach_v4']);
    // Nothing from rallycut: bash's default (file names) takes over, through `complete -o default`.
    expect(bashComplete(file, 'rallycut cut ')).toEqual([]);
    expect(execFileSync('bash', ['--norc', '--noprofile', '-c', 'source "$1"; complete -p rallycut', 'bash', file], { encoding: 'utf8' })).toContain(
      '-o default',
    );
  });

  it('follows the project: a stage added to pipeline.yaml completes without reloading the script', async () => {
    const file = await script('bash');
    await rig.write({ 'pipeline.yaml': 'stages:\n  prepare:\n    cmd: echo p\n  evaluate:\n    cmd: echo e\n' });
    expect(bashComplete(file, 'rallycut status ')).toEqual(['evaluate', 'prepare']);
    await rig.write({ 'pipeline.yaml': 'stages: [oops\n' });
    expect(bashComplete(file, 'rallycut status ')).toEqual([]); // a broken pipeline completes nothing, prints nothing
  });
});

describe.skipIf(!has('zsh'))(`zsh completion${has('zsh') ? '' : ' (skipped: zsh is not installed here)'}`, () => {
  it('loads under compinit and registers _rallycut', async () => {
    const file = await script('zsh');
    const out = execFileSync('zsh', ['-f', '-c', 'autoload -Uz compinit && compinit -u && source "$1" && print -r -- ${_comps[rallycut]}', 'zsh', file], {
      cwd: rig.dir,
      env,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('_rallycut');
  });
});

describe.skipIf(!has('fish'))(`fish completion${has('fish') ? '' : ' (skipped: fish is not installed here)'}`, () => {
  it('completes through complete -C', async () => {
    const file = await script('fish');
    const out = execFileSync('fish', ['--no-config', '-c', `source ${file}; complete -C 'rallycut repro tr'`], {
      cwd: rig.dir,
      env: { ...env, PATH: `${join(REPO, 'bin')}:${env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    expect(
      out
        .split('\n')
        .map((l) => l.split('\t')[0])
        .filter(Boolean),
    ).toEqual(['train', 'train@big', 'train@small']);
  });
});

describe('completion command', () => {
  it('refuses an unknown shell with exit 2', async () => {
    const res = await rig.run(['completion', 'tcsh']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("no completion for shell 'tcsh' (have: bash, zsh, fish)");
  });
});
