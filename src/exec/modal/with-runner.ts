// The one bootstrap of a Modal run, shared by the modal executor and `rallycut train modal`: resolve the
// settings, pick the backend, check credentials before anything is hashed or uploaded, hand a runner to
// the caller, and always close the backend (its helper Sandbox) afterwards.
import { join } from 'node:path';
import type { JobResources } from '../../handler-contract.js';
import { resolveSettings, type Where } from './options.js';
import { ModalJobRunner } from './runner.js';
import { backoffFrom, selectBackend } from './select.js';

/** Per volume, in the cache every workspace of a sweep shares: one upload of each content at a time. */
export function uploadLocksDir(cacheDir: string, volume: string): string {
  return join(cacheDir, 'modal-uploads', volume);
}

export interface ModalRunContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cacheDir: string;
  /** Subject of errors and log lines: the stage or command name. */
  readonly subject: string;
  readonly signal: AbortSignal;
  log(line: string): void;
  /** Called before each job Sandbox starts; throws to refuse it (a sandbox budget). */
  admit?(): void;
}

export async function withModalRunner<T>(
  options: Readonly<Record<string, unknown>>,
  defaults: JobResources,
  ctx: ModalRunContext,
  where: Omit<Where, 'subject'>,
  use: (runner: ModalJobRunner) => Promise<T>,
): Promise<T> {
  const settings = resolveSettings(options, defaults, { subject: ctx.subject, ...where });
  const backend = selectBackend(settings.volume, ctx.env, ctx.cacheDir);
  try {
    await backend.checkCredentials();
    ctx.log(`backend: ${backend.description}`);
    const backoffMs = backoffFrom(ctx.env);
    const runner = new ModalJobRunner(backend, settings, {
      log: (l) => ctx.log(l),
      subject: ctx.subject,
      signal: ctx.signal,
      uploadLocks: uploadLocksDir(ctx.cacheDir, settings.volume),
      ...(backoffMs !== undefined ? { backoffMs } : {}),
      ...(ctx.admit ? { admit: () => ctx.admit!() } : {}),
    });
    return await use(runner);
  } finally {
    await backend.close();
  }
}
