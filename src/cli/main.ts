// CLI entry: picks the command, parses its flags, runs it, prints diagnostics with the one printer and
// returns the exit code. The only place that turns errors into exit codes.
import { fileURLToPath } from 'node:url';
import { exitCodeFor, RallycutError, toDiagnostics, type Diagnostic } from '../diagnostics.js';
import { suggest } from '../pipeline/interpolate.js';
import { ignoreCacheInGit } from '../cache/gitignore.js';
import { cacheDirFor, findProjectRoot } from '../project.js';
import { formatDiagnostics } from '../format/printer.js';
import { redactDiagnostics, redactorFor } from '../redact.js';
import { formatHelp, parseArgs } from '../args.js';
import type { CommandIO, CommandSpec } from './command.js';
import { engineCommands, engineCommandTable } from './commands/index.js';
import type { HandlerRegistry } from '../handler-contract.js';

// stages/ (the domain handlers and their commands, with their libraries) is loaded only when needed: a
// pipeline stage names a handler, or the command is a domain command. A no-op `repro` of a shell-command
// pipeline never pays for it.
type StagesModule = typeof import('../../stages/index.js');
let stagesModule: Promise<StagesModule> | undefined;
const loadStages = (): Promise<StagesModule> => (stagesModule ??= import('../../stages/index.js'));

const lazyRegistry: HandlerRegistry = {
  get: async (name) => (await loadStages()).handlerRegistry.get(name),
  names: async () => (await loadStages()).handlerRegistry.names(),
  tools: async (ctx) => (await loadStages()).handlerRegistry.tools?.(ctx) ?? [],
  reportSources: async () => (await loadStages()).handlerRegistry.reportSources?.() ?? [],
};

// Paths only: a command's module loads when it runs (see commands/index.ts).
const engine = engineCommandTable(lazyRegistry);

/** Every command: the engine's and those of stages/. */
export async function allCommands(): Promise<CommandSpec[]> {
  const { stageModules } = await loadStages();
  return [...(await engineCommands(lazyRegistry)), ...stageModules.flatMap((m) => m.commands ?? [])];
}

function findCommand<C extends { path: readonly string[] }>(commands: readonly C[], argv: readonly string[]): { cmd: C; rest: string[] } | undefined {
  let best: C | undefined;
  for (const c of commands) {
    if (c.path.every((p, i) => argv[i] === p) && (!best || c.path.length > best.path.length)) best = c;
  }
  return best ? { cmd: best, rest: argv.slice(best.path.length) } : undefined;
}

function topHelp(commands: readonly CommandSpec[], prefix: readonly string[] = []): string {
  const shown = commands.filter((c) => prefix.every((p, i) => c.path[i] === p));
  const width = Math.max(...shown.map((c) => c.path.join(' ').length), 10) + 2;
  const lines = [
    `Usage: rallycut ${prefix.length ? prefix.join(' ') + ' ' : ''}<command> [options]`,
    '',
    'Reproducible training pipeline for the RallyCut volleyball rally detector.',
    '',
    'Commands:',
    ...shown
      .slice()
      .sort((a, b) => a.path.join(' ').localeCompare(b.path.join(' ')))
      .map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`),
    '',
    "Run 'rallycut <command> --help' for a command's options.",
  ];
  return lines.join('\n') + '\n';
}

/** The words typed as a command (options left out), with the closest known command as a hint. */
function unknownCommand(commands: readonly CommandSpec[], argv: readonly string[], inGroup: boolean): Diagnostic {
  const words = argv.filter((a) => !a.startsWith('-'));
  const typed = words.slice(0, inGroup ? 2 : 1).join(' ') || argv.join(' ');
  const candidates = [...new Set(commands.filter((c) => !inGroup || c.path[0] === argv[0]).map((c) => c.path.slice(0, inGroup ? 2 : 1).join(' ')))];
  const close = suggest(typed, candidates);
  const notes = [...(close ? [`did you mean '${close}'?`] : []), "run 'rallycut --help' for the list"];
  return { kind: 'config', message: `unknown command '${typed}'`, notes };
}

export function usageLine(cmd: CommandSpec): string {
  return `rallycut ${cmd.path.join(' ')}${cmd.options.length ? ' [options]' : ''}${(cmd.positionals ?? [])
    .map((p) => ` ${p.required ? '' : '['}${p.name.toUpperCase()}${p.variadic ? '...' : ''}${p.required ? '' : ']'}`)
    .join('')}`;
}

export function defaultIO(): CommandIO {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  return {
    cwd: process.cwd(),
    env: process.env,
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    isTTY: Boolean(process.stdout.isTTY),
    columns: process.stdout.isTTY && process.stdout.columns > 0 ? process.stdout.columns : undefined,
    errTTY: Boolean(process.stderr.isTTY),
    errColumns: process.stderr.isTTY && process.stderr.columns > 0 ? process.stderr.columns : undefined,
    signal: controller.signal,
  };
}

export async function main(argv: readonly string[], io: CommandIO = defaultIO()): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(topHelp(await allCommands()));
    return 0;
  }
  if (argv[0] === '--version') {
    io.out('rallycut 0.1.0\n');
    return 0;
  }
  if (argv[0] === '__complete') {
    // Hidden: what the completion scripts call back (src/cli/commands/completion.ts); not in help or docs.
    const { completeCommandLine } = await import('./commands/completion.js');
    await completeCommandLine(await allCommands(), argv.slice(1), io, lazyRegistry);
    return 0;
  }
  // An engine command is found without loading stages/ (domain commands never share an engine command's
  // first word: docs.test.ts checks); a domain command, a group or a typo needs the full list.
  const inEngine = findCommand(engine, argv);
  const commands = inEngine ? [] : await allCommands();
  const found = inEngine ? { cmd: await inEngine.cmd.load(), rest: inEngine.rest } : findCommand(commands, argv);
  if (!found) {
    const isGroup = commands.some((c) => c.path[0] === argv[0]);
    if (isGroup && (argv.length === 1 || (argv.length === 2 && (argv[1] === '--help' || argv[1] === '-h')))) {
      io.out(topHelp(commands, [argv[0]!]));
      return 0;
    }
    io.err(formatDiagnostics([unknownCommand(commands, argv, isGroup)]));
    return 2;
  }
  const { cmd, rest } = found;
  if (rest.includes('--help') || rest.includes('-h')) {
    const usage = usageLine(cmd);
    io.out(formatHelp(usage, cmd.summary, cmd.options, cmd.positionals ?? [], cmd.description));
    return 0;
  }
  try {
    const args = parseArgs(rest, cmd.options, cmd.positionals ?? []);
    if (args.warnings?.length) io.err(formatDiagnostics(args.warnings.map((message): Diagnostic => ({ kind: 'config', severity: 'warning', message }))));
    await cmd.run(args, io);
    return 0;
  } catch (err) {
    return reportError(err, rest, io);
  } finally {
    const root = findProjectRoot(io.cwd);
    if (root) await ignoreCacheInGit(cacheDirFor(root, io.env));
    if (io.env.RALLYCUT_DAEMON === 'auto' && (cmd.path[0] === 'repro' || cmd.path[0] === 'status')) await autoStartDaemon(io);
  }
}

/** RALLYCUT_DAEMON=auto (Nx's default, opt-in here): a repro/status the daemon did not answer starts one. */
async function autoStartDaemon(io: CommandIO): Promise<void> {
  const root = findProjectRoot(io.cwd);
  const [{ BUILD_ID }, { daemonPid, mailboxDir }, { spawnDaemon }] = await Promise.all([
    import('../build-id.js'),
    import('../daemon/mailbox.js'),
    import('../daemon/spawn.js'),
  ]);
  if (!root || BUILD_ID === undefined || daemonPid(mailboxDir(root, io.env)) !== undefined) return;
  try {
    spawnDaemon(root, io.env);
  } catch (err) {
    io.err(`note: could not start the project daemon (${(err as Error).message})\n`); // best effort: the command's result stands
  }
}

/** Prints a failed command's diagnostics with the one printer; returns its exit code. */
function reportError(err: unknown, rest: readonly string[], io: CommandIO): number {
  // No message may show a secret (a URL's password, a key in an SDK's error text): masked once, here.
  const diagnostics = redactDiagnostics(toDiagnostics(err), redactorFor(io.env));
  if (!(err instanceof Error && err.name === 'RallycutError') && process.env.RALLYCUT_DEBUG) io.err(String((err as Error).stack) + '\n');
  const root = findProjectRoot(io.cwd);
  const printed = err instanceof RallycutError && err.jsonPrinted;
  if (rest.includes('--json') && !printed) io.out(JSON.stringify({ ok: false, errors: diagnostics }, null, 2) + '\n');
  io.err(formatDiagnostics(diagnostics, root ? { root } : {}));
  return exitCodeFor(diagnostics);
}

// Allow `node dist/src/cli/main.js ...` directly.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
