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
import { projectLockPath } from '../exec/projectlock.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { CACHE_DIR, cacheDirFor } from '../project.js';
import { Debounced } from './debounce.js';
import { mailboxDir } from './mailbox.js';
import { openMailbox, sweepReplies, type Mailbox } from './mailbox-server.js';
import { envDifference, envKey, PROTOCOL_VERSION, type CommandRequest, type CommandResponse, type DaemonRequest, type DaemonStatus } from './protocol.js';
import { changedExternally, verdictFor, type Verdict } from './verdict.js';
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

/** Command lines remembered and re-checked after changes (the most recent ones). */
const KNOWN_MAX = 16;

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Lets every already-queued watch event in before a decision. */
async function drainEvents(): Promise<void> {
  await nextTurn();
  await nextTurn();
}

/** The command lines asked recently (the last KNOWN_MAX), each with its verdict and the generation it was checked at. */
class KnownLines {
  private readonly lines = new Map<string, { readonly req: CommandRequest; verdict?: Verdict & { readonly generation: number } }>();

  static keyOf(req: CommandRequest): string {
    return JSON.stringify([req.cwd, req.argv]);
  }

  /** Remembers `req` as the most recent line (forgetting the oldest beyond KNOWN_MAX). */
  touch(req: CommandRequest): void {
    const key = KnownLines.keyOf(req);
    const verdict = this.lines.get(key)?.verdict;
    this.lines.delete(key);
    this.lines.set(key, { req, ...(verdict ? { verdict } : {}) });
    if (this.lines.size > KNOWN_MAX) this.lines.delete(this.lines.keys().next().value as string);
  }

  verdict(req: CommandRequest): (Verdict & { readonly generation: number }) | undefined {
    return this.lines.get(KnownLines.keyOf(req))?.verdict;
  }

  setVerdict(req: CommandRequest, verdict: (Verdict & { readonly generation: number }) | undefined): void {
    const entry = this.lines.get(KnownLines.keyOf(req));
    if (entry) entry.verdict = verdict;
  }

  /** Most recent first. */
  requests(): CommandRequest[] {
    return [...this.lines.values()].map((e) => e.req).reverse();
  }
}

/** Runs the project daemon until it stops; resolves with why it stopped. */
export function runDaemon(opts: DaemonOptions): Promise<string> {
  return new ProjectDaemon(opts).run();
}

class ProjectDaemon {
  private readonly root: string;
  private readonly mailbox: string;
  private readonly ownEnvKey: string;
  private readonly buildId: string;
  private readonly startedAt = new Date().toISOString();
  private readonly watchset: WatchSet;
  private readonly known = new KnownLines();
  private readonly recheck: Debounced;
  private readonly stats = { changes: 0, answered: 0, misses: {} as Record<string, number> };
  /** Bumped by every change under the watched folders: a verdict holds only at the generation it was checked at. */
  private generation = 0;
  private ready = false;
  private lastCommand = Date.now();
  private stopping = false;
  private box: Mailbox | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped: (why: string) => void = () => undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.root = resolve(opts.root);
    this.mailbox = mailboxDir(this.root, opts.env);
    this.ownEnvKey = envKey(opts.env);
    this.buildId = opts.buildId ?? '';
    // Nothing is answered once watching broke, so nothing needs checking then.
    this.recheck = new Debounced(
      () => this.checkKnown(),
      opts.settleMs,
      () => !this.stopping && !this.watchset.broken,
    );
    this.watchset = new WatchSet({
      root: this.root,
      skippedFolders: [join(this.root, CACHE_DIR), cacheDirFor(this.root, opts.env)],
      onChange: () => {
        this.generation++;
        this.stats.changes++;
        this.recheck.request();
      },
    });
  }

  async run(): Promise<string> {
    const done = new Promise<string>((r) => (this.stopped = r));
    // Before any watch or timer: a live daemon owning the folder makes this throw (what a killed one left is cleared).
    this.box = await openMailbox(this.mailbox, (req) => this.respond(req as DaemonRequest));
    process.once('SIGTERM', () => this.shutdown('SIGTERM'));
    process.once('SIGINT', () => this.shutdown('SIGINT'));
    this.idleTimer = setInterval(
      () => {
        if (Date.now() - this.lastCommand > this.opts.idleMs) return this.shutdown(`idle for ${Math.round(this.opts.idleMs / 1000)} s`);
        if (!existsSync(this.mailbox)) return this.shutdown('its folder was removed');
        sweepReplies(this.mailbox, 60_000);
      },
      Math.min(this.opts.idleMs, 60_000),
    );
    this.idleTimer.unref();
    // First check: the plain `repro` and `status` of this project, so the first command is already answered.
    for (const argv of [['status'], ['repro']])
      this.known.touch({ op: 'command', v: PROTOCOL_VERSION, buildId: this.buildId, root: this.root, cwd: this.root, argv, env: {} });
    await this.recheck.run();
    this.ready = true;
    this.opts.log(`ready: watching ${this.watchset.size} folders of ${this.root}; requests through ${this.mailbox}`);
    return done;
  }

  private async checkKnown(): Promise<void> {
    // A repro is running: what it writes will change things again; check once it is done.
    if (existsSync(projectLockPath(this.root))) return this.recheck.request(200);
    for (const req of this.known.requests()) {
      if (this.stopping) return;
      if (this.known.verdict(req)?.generation !== this.generation) await this.check(req);
    }
  }

  private async check(req: CommandRequest): Promise<void> {
    const started = Date.now();
    try {
      this.watchset.sync();
    } catch (err) {
      this.opts.log(`project folder unreadable (${(err as Error).message}): stopping`);
      return this.shutdown('the project folder is gone');
    }
    const at = this.generation;
    const verdict = await verdictFor(req, { root: this.root, registry: this.opts.registry, env: this.opts.env, watchset: this.watchset });
    await drainEvents();
    // A change during the check means it may have read a half-changed tree: not kept.
    const kept = this.generation === at;
    if (kept) this.known.setVerdict(req, { generation: at, ...verdict });
    this.opts.log(
      `checked '${req.argv.join(' ')}' in ${Date.now() - started} ms: ${verdict.answer ? 'no-op' : verdict.reason}${kept ? '' : ' (changed meanwhile, not kept)'}`,
    );
  }

  private async respond(req: DaemonRequest): Promise<unknown> {
    switch (req.op) {
      case 'ping':
        return { kind: 'pong', ready: this.ready };
      case 'stop':
        setTimeout(() => this.shutdown(), 100); // time for the client to collect the reply
        return { kind: 'stopping' };
      case 'status':
        return this.status();
      case 'command':
        return this.commandResponse(req);
    }
  }

  private miss(reason: string): CommandResponse {
    this.stats.misses[reason] = (this.stats.misses[reason] ?? 0) + 1;
    return { kind: 'miss', reason };
  }

  private async commandResponse(req: CommandRequest): Promise<CommandResponse> {
    this.lastCommand = Date.now();
    await drainEvents();
    if (req.v !== PROTOCOL_VERSION || req.buildId !== this.buildId) {
      // The client runs other code: this daemon is outdated. Step aside for good.
      setTimeout(() => this.shutdown('a client of another build asked'), 100);
      return this.miss('another build');
    }
    if (resolve(req.root) !== this.root) return this.miss('another project');
    if (envKey(req.env) !== this.ownEnvKey) return this.miss(`environment differs (${envDifference(req.env, this.opts.env).join(', ')})`);
    if (this.watchset.broken) return this.miss(this.watchset.broken);
    if (existsSync(projectLockPath(this.root))) return this.miss('a repro is running');
    this.known.touch(req);
    const verdict = this.known.verdict(req);
    if (verdict?.generation === this.generation && verdict.answer) {
      if (verdict.externals) {
        const at = this.generation;
        const changed = await changedExternally(verdict.externals);
        await drainEvents();
        if (changed !== undefined) {
          this.known.setVerdict(req, undefined);
          this.recheck.request();
          return this.miss(`stage '${changed}': tool versions or external state changed`);
        }
        if (this.generation !== at) return this.miss('not checked since the last change');
      }
      this.stats.answered++;
      return { kind: 'answer', answer: verdict.answer };
    }
    this.recheck.request();
    return this.miss(verdict?.generation === this.generation ? (verdict.reason ?? 'unknown') : 'not checked since the last change');
  }

  private status(): DaemonStatus {
    const { watchset } = this;
    return {
      pid: process.pid,
      root: this.root,
      mailbox: this.mailbox,
      buildId: this.buildId,
      startedAt: this.startedAt,
      ready: this.ready,
      watchedFolders: watchset.size,
      ...(watchset.broken ? { broken: watchset.broken } : {}),
      changes: this.stats.changes,
      answered: this.stats.answered,
      misses: { ...this.stats.misses },
    };
  }

  private shutdown(why = 'stopped'): void {
    if (this.stopping) return;
    this.stopping = true;
    this.recheck.close();
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.watchset.close();
    this.box?.close();
    this.stopped(why);
  }
}
