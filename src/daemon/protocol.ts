// The project daemon's messages, shared by the server and the tiny client that bin/rallycut loads before
// anything else (bundled alone into dist/cli/daemon-client.cjs: no imports here). Carried by mailbox.ts.

export const PROTOCOL_VERSION = 1;

/** The commands whose no-op the daemon may answer. */
export const ANSWERED_COMMANDS: ReadonlySet<string> = new Set(['repro', 'status']);

/** Environment variables that differ between two shells (or two SSH sessions, terminal tabs) without changing what a command does. */
const VOLATILE_ENV: ReadonlySet<string> = new Set([
  '_',
  'OLDPWD',
  'PWD',
  'SHLVL',
  'SSH_CLIENT',
  'SSH_CONNECTION',
  'SSH_TTY',
  'GPG_TTY',
  'TERM_SESSION_ID',
  'WINDOWID',
  'TMUX_PANE',
  'XDG_SESSION_ID',
  'COLUMNS',
  'LINES',
]);

export interface CommandRequest {
  readonly op: 'command';
  readonly v: number;
  /** The client's bundle build id: a daemon running other code never answers. */
  readonly buildId: string;
  readonly root: string;
  readonly cwd: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export type ControlRequest = { readonly op: 'ping' } | { readonly op: 'stop' } | { readonly op: 'status' };

export type DaemonRequest = CommandRequest | ControlRequest;

export interface Answer {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export type CommandResponse = { readonly kind: 'answer'; readonly answer: Answer } | { readonly kind: 'miss'; readonly reason: string };

export interface DaemonStatus {
  readonly pid: number;
  readonly root: string;
  /** The folder requests and replies pass through. */
  readonly mailbox: string;
  readonly buildId: string;
  readonly startedAt: string;
  /** False until the first verification is done. */
  readonly ready: boolean;
  readonly watchedFolders: number;
  /** Why the daemon answers nothing (watching failed), if it does not. */
  readonly broken?: string;
  /** Changes seen since start. */
  readonly changes: number;
  readonly answered: number;
  readonly misses: Readonly<Record<string, number>>;
}

/** The environment a command's result may depend on: all of it but VOLATILE_ENV, in a stable order. */
export function envKey(env: NodeJS.ProcessEnv): string {
  const keep = Object.keys(env)
    .filter((k) => !VOLATILE_ENV.has(k) && env[k] !== undefined)
    .sort();
  return JSON.stringify(keep.map((k) => [k, env[k]]));
}

/** Names of the variables whose values differ between two environments (never the values: they may be secrets). */
export function envDifference(a: NodeJS.ProcessEnv, b: NodeJS.ProcessEnv): string[] {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((k) => !VOLATILE_ENV.has(k) && a[k] !== b[k]).sort();
}
