// `rallycut daemon start|stop|status|run`: the project daemon that answers no-op `repro`/`status` from
// memory while nothing changes (src/daemon/server.ts says why that is safe).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_ID } from '../../build-id.js';
import { ask, daemonPid, mailboxDir } from '../../daemon/mailbox.js';
import type { DaemonStatus } from '../../daemon/protocol.js';
import { runDaemon } from '../../daemon/server.js';
import { failure } from '../../diagnostics.js';
import type { HandlerRegistry } from '../../handler-contract.js';
import { requireProjectRoot } from '../../project.js';
import { DAEMON_LOG as LOG_FILE, spawnDaemon } from '../../daemon/spawn.js';
import { sleep } from '../../sleep.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import { redactorFor } from '../../redact.js';

const START_TIMEOUT_MS = 120_000;
const JSON_OPTION = { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' } as const;

function statusOf(mailbox: string): DaemonStatus | undefined {
  const res = ask(mailbox, { op: 'status' }, 2000) as DaemonStatus | undefined;
  return res && typeof res.pid === 'number' ? res : undefined;
}

function describe(s: DaemonStatus): string {
  const misses = Object.entries(s.misses).map(([why, n]) => `    ${n}× ${why}`);
  return (
    [
      `daemon pid ${s.pid} for ${s.root}${s.ready ? '' : ' (still on its first check)'}`,
      `  watching ${s.watchedFolders} folders since ${s.startedAt}; ${s.changes} changes seen`,
      ...(s.broken ? [`  answers nothing: ${s.broken}`] : []),
      `  answered ${s.answered} commands; ran ${Object.values(s.misses).reduce((a, b) => a + b, 0)} the normal way${misses.length ? ':' : ''}`,
      ...misses,
    ].join('\n') + '\n'
  );
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function daemonCommands(registry: HandlerRegistry): CommandSpec[] {
  const start: CommandSpec = {
    path: ['daemon', 'start'],
    summary: 'Start a daemon that watches this project and answers no-op repro/status without re-checking every file',
    description:
      'The daemon watches the project folders (inotify) and remembers, per command line, whether repro or status has anything ' +
      'to do. While nothing changes it answers at once; after any change the command runs the normal way and the daemon ' +
      'checks again in the background. Tool versions and external stamps (database, remote) are asked again before each ' +
      `answer; deps outside watched folders are always checked the normal way. It exits after 3 hours without a command (RALLYCUT_DAEMON_IDLE_MS). RALLYCUT_DAEMON=0 ` +
      `makes commands ignore it; RALLYCUT_DAEMON=auto makes repro and status start it when none runs. Its log: ${LOG_FILE}.`,
    options: [JSON_OPTION],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const mailbox = mailboxDir(root, io.env);
      if (BUILD_ID === undefined) throw failure('the daemon needs the built CLI (npm run build): it answers only commands of the same build');
      let status = statusOf(mailbox);
      if (!status) {
        const child = spawnDaemon(root, io.env);
        let exited = false;
        child.on('exit', () => (exited = true));
        const deadline = Date.now() + START_TIMEOUT_MS;
        while (!(status = statusOf(mailbox))?.ready) {
          // A child that exited lost the race to another start's daemon: wait for that one instead.
          if ((exited && daemonPid(mailbox) === undefined) || Date.now() > deadline) {
            throw failure(exited ? 'the daemon stopped while starting' : 'the daemon did not become ready in time', {
              notes: [`${LOG_FILE}:\n${tail(join(root, LOG_FILE), 10)}`],
            });
          }
          await sleep(50);
        }
      }
      if (optBool(args, 'json')) io.out(JSON.stringify(status, null, 2) + '\n');
      else io.out(describe(status));
    },
  };
  const stop: CommandSpec = {
    path: ['daemon', 'stop'],
    summary: "Stop this project's daemon",
    options: [],
    async run(_args: ParsedArgs, io: CommandIO) {
      const mailbox = mailboxDir(requireProjectRoot(io.cwd), io.env);
      const pid = daemonPid(mailbox);
      if (pid === undefined) return void io.out('no daemon runs for this project\n');
      if (!ask(mailbox, { op: 'stop' }, 2000)) process.kill(pid, 'SIGTERM'); // not answering: stop it anyway
      for (let i = 0; i < 100 && daemonPid(mailbox) !== undefined; i++) await sleep(50);
      io.out('daemon stopped\n');
    },
  };
  const status: CommandSpec = {
    path: ['daemon', 'status'],
    summary: "Show whether this project's daemon runs, and what it answered",
    options: [JSON_OPTION],
    async run(args: ParsedArgs, io: CommandIO) {
      const s = statusOf(mailboxDir(requireProjectRoot(io.cwd), io.env));
      if (optBool(args, 'json')) io.out(JSON.stringify(s ?? { running: false }, null, 2) + '\n');
      else io.out(s ? describe(s) : 'no daemon runs for this project\n');
    },
  };
  const run: CommandSpec = {
    path: ['daemon', 'run'],
    summary: 'Run the daemon in the foreground (what daemon start runs; logs to stderr)',
    options: [],
    async run(_args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const redact = redactorFor(io.env);
      const why = await runDaemon({
        root,
        registry,
        env: io.env,
        buildId: BUILD_ID,
        idleMs: Number(io.env.RALLYCUT_DAEMON_IDLE_MS ?? 3 * 3600_000),
        settleMs: Number(io.env.RALLYCUT_DAEMON_SETTLE_MS ?? 100),
        log: (line) => io.err(`${new Date().toISOString()} ${redact(line)}\n`), // stored in .cache/daemon.log
      });
      io.err(`${new Date().toISOString()} daemon exits: ${why}\n`);
    },
  };
  return [start, stop, status, run];
}
