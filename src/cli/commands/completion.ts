// `rallycut completion bash|zsh|fish` (the script) and the hidden `rallycut __complete WORD...` it calls
// back for candidates (src/cli/complete.ts decides them). Install, for example:
//   bash: echo 'source <(rallycut completion bash)' >> ~/.bashrc
//   zsh:  echo 'source <(rallycut completion zsh)' >> ~/.zshrc   (after compinit)
//   fish: rallycut completion fish > ~/.config/fish/completions/rallycut.fish
import { cacheDirFor, findProjectRoot } from '../../project.js';
import type { HandlerRegistry } from '../../handler-contract.js';
import { configError } from '../../diagnostics.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { complete, datasetNames, type CompletionSources } from '../complete.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

// Each script asks the very program the user typed (the first word), so a rallycut run by path completes too.
const SCRIPTS: Record<Shell, string> = {
  bash: `# rallycut completion for bash: source <(rallycut completion bash)
_rallycut() {
  local IFS=$'\\n'
  COMPREPLY=($("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _rallycut rallycut
`,
  zsh: `#compdef rallycut
# rallycut completion for zsh: source <(rallycut completion zsh), after compinit
_rallycut() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=("\${(@)candidates:#}")
  if (( \${#candidates} )); then compadd -a candidates; else _files; fi
}
compdef _rallycut rallycut
`,
  fish: `# rallycut completion for fish: rallycut completion fish > ~/.config/fish/completions/rallycut.fish
function __rallycut_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete $words[2..-1] 2>/dev/null)
    if test (count $out) -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c rallycut -f -a '(__rallycut_complete)'
`,
};

export function completionScript(shell: string): string {
  if (!(SHELLS as readonly string[]).includes(shell)) throw configError(`no completion for shell '${shell}' (have: ${SHELLS.join(', ')})`, { subject: shell });
  return SCRIPTS[shell as Shell];
}

export function completionCommand(): CommandSpec {
  return {
    path: ['completion'],
    summary: 'Print a shell completion script (bash, zsh, fish) for commands, options, stage and experiment names',
    description:
      "bash: add 'source <(rallycut completion bash)' to ~/.bashrc. zsh: 'source <(rallycut completion zsh)' in ~/.zshrc after compinit. " +
      "fish: 'rallycut completion fish > ~/.config/fish/completions/rallycut.fish'. The script asks rallycut itself for the " +
      'candidates, so new commands, stages and experiments complete without installing it again.',
    positionals: [{ name: 'shell', description: SHELLS.join(', '), required: true, complete: SHELLS }],
    options: [],
    async run(args, io) {
      io.out(completionScript(args.positionals[0]!));
    },
  };
}

/** The sources of names for the project around io.cwd; outside a project there are none. */
export function projectSources(io: Pick<CommandIO, 'cwd' | 'env'>, registry: HandlerRegistry): CompletionSources {
  const root = findProjectRoot(io.cwd);
  if (!root) return { stages: async () => [], experiments: async () => [], datasets: async () => [] };
  return {
    async stages() {
      const { loadPipeline } = await import('../../pipeline/load.js');
      const names = [...(await loadPipeline(root, registry)).stages.keys()];
      return [...names, ...names.filter((n) => n.includes('@')).map((n) => n.slice(0, n.indexOf('@')))];
    },
    async experiments() {
      const { listNames } = await import('../../exp/records.js');
      return listNames(cacheDirFor(root, io.env));
    },
    datasets: () => datasetNames(root),
  };
}

/** `rallycut __complete WORD...`: one candidate a line; never an error. */
export async function completeCommandLine(commands: readonly CommandSpec[], words: readonly string[], io: CommandIO, registry: HandlerRegistry): Promise<void> {
  try {
    const found = await complete(commands, words.length ? words : [''], projectSources(io, registry));
    if (found.length) io.out(found.join('\n') + '\n');
  } catch {
    // Completion must never print into the user's command line.
  }
}
