// The `modal` executor: runs a stage's job in a Modal Sandbox (or the local stand-in) and brings back its
// outs. Order matters: credentials are checked before anything is hashed or uploaded.
import { join } from 'node:path';
import { failure, RallycutError } from '../../diagnostics.js';
import type { StageContext } from '../../handler.js';
import type { Executor, StageRunRequest } from '../executor.js';
import { deriveCmdJob, type RemoteJob } from './job.js';
import { resolveSettings } from './options.js';
import { ModalJobRunner, notForModal } from './runner.js';
import { backoffFrom, selectBackend } from './select.js';

/** Per volume, in the cache every workspace of a sweep shares: one upload of each content at a time. */
export function uploadLocksDir(cacheDir: string, volume: string): string {
  return join(cacheDir, 'modal-uploads', volume);
}

/** Runs one job end to end: credentials → upload → attempts → verified download. */
export async function runRemoteJob(job: RemoteJob, options: Readonly<Record<string, unknown>>, ctx: StageContext, where: { file?: string; start?: { line: number; column: number } } = {}): Promise<void> {
  const settings = resolveSettings(options, job.resources ?? {}, { subject: ctx.stage, ...where });
  const backend = selectBackend(settings.volume, ctx.env, ctx.cacheDir);
  try {
    await backend.checkCredentials();
    ctx.log(`backend: ${backend.description}`);
    const backoffMs = backoffFrom(ctx.env);
    const runner = new ModalJobRunner(backend, settings, {
      log: (l) => ctx.log(l),
      subject: ctx.stage,
      signal: ctx.signal,
      uploadLocks: uploadLocksDir(ctx.cacheDir, settings.volume),
      ...(backoffMs !== undefined ? { backoffMs } : {}),
    });
    const { hashes } = await runner.sync(job);
    await runner.attempts(job, hashes);
    await runner.fetch(job);
  } finally {
    await backend.close();
  }
}

export const modalExecutor: Executor = {
  name: 'modal',
  // cmd stages are derived into jobs; a handler stage needs to describe its own (remoteJob).
  accepts: (stage, handler) => stage.action.kind === 'cmd' || handler?.remoteJob !== undefined,
  async run(req: StageRunRequest): Promise<void> {
    const { stage, ctx } = req;
    let job: RemoteJob;
    if (stage.action.kind === 'cmd') job = await deriveCmdJob(stage, ctx.root);
    else {
      if (!req.handler) throw failure(`no handler '${stage.action.handler}' is registered`, { subject: stage.name });
      if (!req.handler.remoteJob) throw notForModal(stage.action.handler, stage.name);
      try {
        job = await req.handler.remoteJob(ctx, req.handlerParams);
      } catch (err) {
        if (err instanceof RallycutError) throw err;
        throw failure(`handler '${stage.action.handler}' could not describe its job: ${err instanceof Error ? err.message : String(err)}`, { subject: stage.name });
      }
    }
    await runRemoteJob(job, stage.executor.options, ctx, { file: stage.source.file, start: stage.source.start });
  },
};
