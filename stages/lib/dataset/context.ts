// What the dataset operations need from their caller, whether a pipeline handler (StageContext) or a CLI
// command (CommandIO): the project folders, the environment, logging, progress and cancellation.
import { availableParallelism } from 'node:os';
import {
  RallycutError,
  cacheDirFor,
  createProgress,
  findProjectRoot,
  type CommandIO,
  type Diagnostic,
  type Progress,
  type StageContext,
} from '../../../src/handler.js';

export type DatasetContext = Pick<StageContext, 'root' | 'cacheDir' | 'env' | 'jobs' | 'signal' | 'log' | 'progress'>;

/** A context for a CLI command: the project root (or the current folder outside a project), logs on stderr. */
export function contextFromIO(io: CommandIO): DatasetContext {
  const root = findProjectRoot(io.cwd) ?? io.cwd;
  const jobs = Number(io.env.RALLYCUT_JOBS) || Math.max(2, Math.min(8, availableParallelism()));
  return {
    root,
    cacheDir: cacheDirFor(root, io.env),
    env: io.env,
    jobs,
    signal: io.signal,
    log: (m) => io.err(m + '\n'),
    progress: (label: string, total: number, unit?: string): Progress =>
      createProgress(label, total, unit, { write: (t) => io.err(t), isTTY: Boolean(io.errTTY), columns: io.errColumns, env: io.env }),
  };
}

export interface VideoFailure {
  /** The video's file name (or id), as the user knows it. */
  video: string;
  message: string;
}

/**
 * Per-video errors collected while the other videos finished, as one error naming each video. With
 * `ofTotal` (the videos the command was about), the headline says how many others are done, if any.
 */
export function videosFailed(what: string, failures: readonly VideoFailure[], ofTotal?: number): RallycutError {
  const sorted = [...failures].sort((a, b) => (a.video < b.video ? -1 : a.video > b.video ? 1 : 0));
  const others = ofTotal === undefined ? undefined : Math.max(0, ofTotal - sorted.length);
  const rest = others === undefined ? '; the others are done' : others === 0 ? '' : `; the other ${others} ${others === 1 ? 'is' : 'are'} done`;
  const count = others === 0 && sorted.length > 1 ? `all ${sorted.length} videos` : `${sorted.length} video${sorted.length === 1 ? '' : 's'}`;
  return new RallycutError([
    { kind: 'failure', message: `${what}: ${count} failed (${sorted.map((f) => f.video).join(', ')})${rest}` },
    ...sorted.map((f): Diagnostic => ({ kind: 'failure', subject: f.video, message: f.message })),
  ]);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
