// The project daemon (`rallycut daemon start`), after Nx's: a process that watches the project's folders and
// keeps, per command line, whether that `repro`/`status` is a no-op and what it prints. A command asks it
// first (src/daemon/client.ts) and, when nothing changed since the daemon's last check, prints the answer
// without starting the CLI, reading the lock or stat-ing a single dep.
//
// Why an answer can be trusted:
// - every change under the watched folders bumps `generation`; a verdict is stored with the generation it
//   was checked at and used only while no change came since;
// - a check's verdict is kept only when no change arrived while it ran (a change then means the check may
//   have read a half-changed tree);
// - a request arrives as an event of the same inotify queue as the project's changes (mailbox.ts), which the
//   kernel fills in order at write time: every change made before the request was sent is counted before
//   the request is read. The daemon also lets any pending event in before it decides;
// - only true no-ops are answered, and only for stages whose inputs are files under watched folders or
//   what handler hooks report: a stage's tool versions and external stamp (database, remote) are asked
//   again before each answer, which is given only while they are unchanged. A dep or out in a skipped
//   folder or behind a symlink makes the daemon step aside; so does a repro holding the project lock, a
//   client with another environment or build, and anything after watching failed.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { optBool, parseArgs } from '../cli/args.js';
import type { CommandIO } from '../cli/command.js';
import { reproCommand, reproOptions, reproOutput } from '../cli/commands/repro.js';
import { statusCommand, statusOutput } from '../cli/commands/status.js';
import { toDiagnostics } from '../diagnostics.js';
import { dryResult, measurePlan, noopResult, unchangedLine, type MeasuredPlan } from '../exec/reproduce.js';
import { projectLockPath } from '../exec/projectlock.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { CACHE_DIR, cacheDirFor, PIPELINE_FILE } from '../project.js';
import { mailboxDir, openMailbox, sweepReplies, type Mailbox } from './mailbox.js';
import { envDifference, envKey, PROTOCOL_VERSION, type Answer, type CommandRequest, type CommandResponse, type DaemonRequest, type DaemonStatus } from './protocol.js';
import { WatchSet } from './watchset.js';

export interface DaemonOptions {
  readonly root: string;
  readonly registry: HandlerRegistry;
  /** The daemon's environment: it answers only clients with the same one. */
  readonly env: NodeJS.ProcessEnv;
  readonly buildId: string | undefined;
  /** Exit after this long without a command. */
  readonly idleMs: number;
  /** Quiet time after a change before re-checking the known command lines. */
  readonly settleMs: number;
  readonly log: (line: string) => void;
}

interface Verdict {
  readonly generation: number;
  readonly answer?: Answer;
  /** Stages with tool versions or a stamp, re-asked before each answer (nothing watched shows their changes). */
  readonly externals?: ReadonlyMap<string, () => Promise<boolean>>;
  /** Why there is no answer. */
  readonly reason?: string;
}

/** Command lines remembered and re-checked after changes (the most recent ones). */
const KNOWN_MAX = 16;

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lets every already-queued watch event in before a decision. */
async function drainEvents(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

export async function runDaemon(opts: DaemonOptions): Promise<string> {
  const root = resolve(opts.root);
  const mailbox = mailboxDir(root, opts.env);
  const cacheDir = cacheDirFor(root, opts.env);
  const ownEnvKey = envKey(opts.env);
  const buildId = opts.buildId ?? '';
  const startedAt = new Date().toISOString();

  let generation = 0;
  let changes = 0;
  let answered = 0;
  let ready = false;
  let lastCommand = Date.now();
  const misses: Record<string, number> = {};
  const verdicts = new Map<string, Verdict>();
  const known = new Map<string, CommandRequest>();
  let settleTimer: NodeJS.Timeout | undefined;
  let checking: Promise<void> | undefined;
  let checkAgain = false;

  const watchset = new WatchSet({
    root,
    skippedFolders: [join(root, CACHE_DIR), cacheDir],
    onChange: () => {
      generation++;
      changes++;
      scheduleCheck();
    },
  });

  const keyOf = (req: CommandRequest): string => JSON.stringify([req.cwd, req.argv]);

  let stopping = false;

  function scheduleCheck(): void {
    if (stopping || watchset.broken) return; // broken: nothing will be answered, so nothing to check
    if (settleTimer) clearTimeout(settleTimer);
    settleTimer = setTimeout(() => void checkKnown(), opts.settleMs);
  }

  async function checkKnown(): Promise<void> {
    if (checking) {
      checkAgain = true;
      return checking;
    }
    checking = (async () => {
      // A repro is running: what it writes will change things again; check once it is done.
      if (existsSync(projectLockPath(root))) return void (settleTimer = setTimeout(() => void checkKnown(), 200));
      for (const req of [...known.values()].reverse()) {
        if (stopping) return;
        if (verdicts.get(keyOf(req))?.generation !== generation) await check(req);
      }
    })();
    try {
      await checking;
    } finally {
      checking = undefined;
      if (checkAgain) {
        checkAgain = false;
        scheduleCheck();
      }
    }
  }

  async function check(req: CommandRequest): Promise<void> {
    const started = Date.now();
    try {
      watchset.sync();
    } catch (err) {
      opts.log(`project folder unreadable (${(err as Error).message}): stopping`);
      return void shutdown('the project folder is gone');
    }
    const at = generation;
    let verdict: Omit<Verdict, 'generation'>;
    try {
      verdict = await answerFor(req);
    } catch (err) {
      verdict = { reason: `the check failed: ${toDiagnostics(err)[0]?.message ?? String(err)}` };
    }
    await drainEvents();
    const kept = generation === at;
    if (kept) verdicts.set(keyOf(req), { generation: at, ...verdict });
    opts.log(`checked '${req.argv.join(' ')}' in ${Date.now() - started} ms: ${verdict.answer ? 'no-op' : verdict.reason}${kept ? '' : ' (changed meanwhile, not kept)'}`);
  }

  /** Plans the command like the CLI would and, for a no-op over watched inputs only, what it prints. */
  async function answerFor(req: CommandRequest): Promise<Omit<Verdict, 'generation'>> {
    const [command, ...rest] = req.argv;
    const spec = command === 'repro' ? reproCommand(opts.registry) : statusCommand(opts.registry);
    const args = parseArgs(rest, spec.options, spec.positionals ?? []);
    if (command === 'repro' && (optBool(args, 'force') || optBool(args, 'watch'))) return { reason: 'forced and watch runs are not answered' };
    const ropts = command === 'repro' ? reproOptions(args) : { targets: args.positionals };
    let printed = '';
    const io: CommandIO = {
      cwd: req.cwd,
      env: opts.env,
      out: (t) => void (printed += t),
      err: (t) => void (printed += t),
      isTTY: false,
      signal: new AbortController().signal,
    };
    const measured = await measurePlan(root, opts.registry, ropts, io);
    if (printed) return { reason: 'the check printed messages' };
    const unwatched = unwatchedInput(measured);
    if (unwatched) return { reason: unwatched };
    const noop = noopResult(measured.items);
    if (!noop) return { reason: 'not a no-op' };
    const json = optBool(args, 'json');
    const externals = measured.externalChecks.size ? { externals: measured.externalChecks } : {};
    if (command === 'status') return { answer: { stdout: statusOutput(measured.items, json), stderr: '', code: 0 }, ...externals };
    if (ropts.dry) return { answer: { stdout: reproOutput(dryResult(measured.items), json), stderr: '', code: 0 }, ...externals };
    const stderr = measured.items.map((i) => unchangedLine(i.stage, i.decision === 'frozen' ? 'frozen' : 'skip')).join('');
    return { answer: { stdout: reproOutput(noop, json), stderr, code: 0 }, ...externals };
  }

  /** The first stage whose tool versions or stamp are no longer as the verdict measured them (a throw counts). */
  async function changedExternally(externals: ReadonlyMap<string, () => Promise<boolean>>): Promise<string | undefined> {
    const results = await Promise.all([...externals].map(async ([stage, check]) => ((await check().catch(() => false)) ? undefined : stage)));
    return results.find((s) => s !== undefined);
  }

  function unwatchedInput({ items, states, externalChecks, pipelineReads }: MeasuredPlan): string | undefined {
    // A vars file changes the stages' text: the same rules as for a dep (a watched folder, no symlink).
    for (const path of [PIPELINE_FILE, ...pipelineReads]) {
      const problem = unwatchedPath(path);
      if (problem) return problem;
    }
    for (const item of items) {
      const state = states.get(item.stage);
      if (!state) return `stage '${item.stage}' could not be measured`;
      const external = state.fingerprint.hasStamp || state.fingerprint.entry.versions !== undefined;
      if (external && !externalChecks.has(item.stage)) return `stage '${item.stage}' depends on external state it cannot re-check`;
      for (const path of [...state.stage.deps, ...state.stage.outs.map((o) => o.path), ...state.stage.params.map((p) => p.file)]) {
        const problem = unwatchedPath(path);
        if (problem) return problem;
      }
    }
    return undefined;
  }

  function unwatchedPath(path: string): string | undefined {
    if (!watchset.covers(join(root, path))) return `'${path}' is in a folder the daemon does not watch`;
    if (watchset.symlinks.some((s) => s === path || s.startsWith(path + '/') || path.startsWith(s + '/'))) return `'${path}' holds a symlink`;
    return undefined;
  }

  async function respond(req: DaemonRequest): Promise<unknown> {
    switch (req.op) {
      case 'ping':
        return { kind: 'pong', ready };
      case 'stop':
        setTimeout(() => shutdown(), 100); // time for the client to collect the reply
        return { kind: 'stopping' };
      case 'status':
        return statusOf();
      case 'command':
        return commandResponse(req);
    }
  }

  async function commandResponse(req: CommandRequest): Promise<CommandResponse> {
    lastCommand = Date.now();
    await drainEvents();
    const miss = (reason: string): CommandResponse => {
      misses[reason] = (misses[reason] ?? 0) + 1;
      return { kind: 'miss', reason };
    };
    if (req.v !== PROTOCOL_VERSION || req.buildId !== buildId) {
      // The client runs other code: this daemon is outdated. Step aside for good.
      setTimeout(() => shutdown('a client of another build asked'), 100);
      return miss('another build');
    }
    if (resolve(req.root) !== root) return miss('another project');
    if (envKey(req.env) !== ownEnvKey) return miss(`environment differs (${envDifference(req.env, opts.env).join(', ')})`);
    if (watchset.broken) return miss(watchset.broken);
    if (existsSync(projectLockPath(root))) return miss('a repro is running');
    const key = keyOf(req);
    known.delete(key);
    known.set(key, req);
    if (known.size > KNOWN_MAX) {
      const oldest = known.keys().next().value as string;
      known.delete(oldest);
      verdicts.delete(oldest);
    }
    const verdict = verdicts.get(key);
    if (verdict?.generation === generation && verdict.answer) {
      if (verdict.externals) {
        const at = generation;
        const changed = await changedExternally(verdict.externals);
        await drainEvents();
        if (changed !== undefined) {
          verdicts.delete(key);
          scheduleCheck();
          return miss(`stage '${changed}': tool versions or external state changed`);
        }
        if (generation !== at) return miss('not checked since the last change');
      }
      answered++;
      return { kind: 'answer', answer: verdict.answer };
    }
    scheduleCheck();
    return miss(verdict?.generation === generation ? (verdict.reason ?? 'unknown') : 'not checked since the last change');
  }

  function statusOf(): DaemonStatus {
    return {
      pid: process.pid,
      root,
      mailbox,
      buildId,
      startedAt,
      ready,
      watchedFolders: watchset.size,
      ...(watchset.broken ? { broken: watchset.broken } : {}),
      changes,
      answered,
      misses: { ...misses },
    };
  }

  let box: Mailbox | undefined;
  let stopped!: (why: string) => void;
  const done = new Promise<string>((r) => (stopped = r));
  let idleTimer: NodeJS.Timeout | undefined;

  function shutdown(why = 'stopped'): void {
    if (stopping) return;
    stopping = true;
    if (settleTimer) clearTimeout(settleTimer);
    if (idleTimer) clearInterval(idleTimer);
    watchset.close();
    box?.close();
    stopped(why);
  }

  // Before any watch or timer: a live daemon owning the folder makes this throw (what a killed one left is cleared).
  box = openMailbox(mailbox, (req) => respond(req as DaemonRequest));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  idleTimer = setInterval(() => {
    if (Date.now() - lastCommand > opts.idleMs) return shutdown(`idle for ${Math.round(opts.idleMs / 1000)} s`);
    if (!existsSync(mailbox)) return shutdown('its folder was removed');
    sweepReplies(mailbox, 60_000);
  }, Math.min(opts.idleMs, 60_000));
  idleTimer.unref();

  // First check: the plain `repro` and `status` of this project, so the first command is already answered.
  for (const argv of [['status'], ['repro']]) {
    const req: CommandRequest = { op: 'command', v: PROTOCOL_VERSION, buildId, root, cwd: root, argv, env: {} };
    known.set(keyOf(req), req);
  }
  await checkKnown();
  ready = true;
  opts.log(`ready: watching ${watchset.size} folders of ${root}; requests through ${mailbox}`);
  return done;
}
