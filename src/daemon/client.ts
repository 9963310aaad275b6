// The client side of the project daemon. bin/rallycut calls askDaemon() before loading the CLI: when a
// daemon watches this project and knows that nothing changed, it answers a no-op `repro`/`status` and the
// CLI is never loaded. Any doubt (no daemon, another build, a timeout, a miss) returns undefined and the
// command runs the normal way. Bundled alone into dist/cli/daemon-client.cjs (scripts/bundle.mjs).
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { BUILD_ID } from '../build-id.js';
import { findProjectRoot } from '../project.js';
import { ANSWERED_COMMANDS, daemonSocketPath, PROTOCOL_VERSION, type Answer, type CommandResponse, type DaemonRequest } from './protocol.js';

/** How long a command waits for the daemon before running the normal way (it may be busy verifying). */
const ANSWER_TIMEOUT_MS = 3000;

/** One request, one JSON line back; undefined when the socket is dead, closes early or times out. */
export function sendRequest(socket: string, request: DaemonRequest, timeoutMs: number): Promise<unknown> {
  return new Promise((resolvePromise) => {
    const conn = connect(socket);
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (value: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolvePromise(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (d: Buffer) => {
      chunks.push(d);
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      try {
        done(JSON.parse(text.slice(0, nl)) as unknown);
      } catch {
        done(undefined);
      }
    });
    conn.on('error', () => done(undefined));
    conn.on('close', () => done(undefined));
  });
}

/** The daemon's answer to this command line, or undefined to run it the normal way. */
export async function askDaemon(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Answer | undefined> {
  if (BUILD_ID === undefined || env.RALLYCUT_DAEMON === '0') return undefined;
  if (!ANSWERED_COMMANDS.has(argv[0] ?? '') || argv.includes('--help') || argv.includes('-h')) return undefined;
  const root = findProjectRoot(cwd);
  if (!root) return undefined;
  const socket = daemonSocketPath(root, env);
  if (!existsSync(socket)) return undefined;
  const plainEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) plainEnv[k] = v;
  const response = (await sendRequest(
    socket,
    { op: 'command', v: PROTOCOL_VERSION, buildId: BUILD_ID, root, cwd, argv, env: plainEnv },
    ANSWER_TIMEOUT_MS,
  )) as CommandResponse | undefined;
  return response?.kind === 'answer' ? response.answer : undefined;
}
