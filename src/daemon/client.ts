// The client side of the project daemon. bin/rallycut calls askDaemon() before loading the CLI: when a
// daemon watches this project and knows that nothing changed, it answers a no-op `repro`/`status` and the
// CLI is never loaded. Any doubt (no daemon, another build, a timeout, a miss) returns undefined and the
// command runs the normal way. Bundled alone into dist/cli/daemon-client.cjs (scripts/bundle.mjs).
import { BUILD_ID } from '../build-id.js';
import { findProjectRoot } from '../project.js';
import { ask, mailboxDir } from './mailbox.js';
import { ANSWERED_COMMANDS, PROTOCOL_VERSION, type Answer, type CommandResponse } from './protocol.js';

/** How long a command waits for the daemon before running the normal way (it may be busy checking). */
const ANSWER_TIMEOUT_MS = 3000;

/** The daemon's answer to this command line, or undefined to run it the normal way. */
export function askDaemon(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Answer | undefined {
  if (BUILD_ID === undefined || env.RALLYCUT_DAEMON === '0') return undefined;
  if (!ANSWERED_COMMANDS.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h')) return undefined;
  const root = findProjectRoot(cwd);
  if (!root) return undefined;
  const plainEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) plainEnv[k] = v;
  const response = ask(mailboxDir(root, env), { op: 'command', v: PROTOCOL_VERSION, buildId: BUILD_ID, root, cwd, argv, env: plainEnv }, ANSWER_TIMEOUT_MS) as
    | CommandResponse
    | undefined;
  return response?.kind === 'answer' ? response.answer : undefined;
}
