// The `modal` executor: runs a stage's job in a Modal Sandbox (or the local stand-in) and brings back its
// outs. cmd: stages and handlers with their own remoteJob describe the job; any other handler stage runs
// its run() remotely from the bundled CLI (handler-job.ts). Credentials are checked before anything is
// hashed or uploaded (withModalRunner).
import { failure, RallycutError } from '../../diagnostics.js';
import type { StageContext } from '../../handler-contract.js';
import type { Stage } from '../../pipeline/types.js';
import { stageGroup, type Executor, type StageRunRequest } from '../executor.js';
import { handlerJob } from './handler-job.js';
import { deriveCmdJob, type RemoteJob } from './job.js';
import { resolveSettings } from './options.js';
import { withModalRunner } from './with-runner.js';

/** Counts the job Sandboxes a group started in this repro; refuses one past its max_sandboxes. */
function budgetFor(stage: Stage, max: number | undefined, shared: Map<string, unknown> | undefined): (() => void) | undefined {
  if (max === undefined) return undefined;
  const key = `modal-sandboxes:${stageGroup(stage.name)}`;
  const store = shared ?? new Map<string, unknown>();
  return () => {
    const used = (store.get(key) as number | undefined) ?? 0;
    if (used >= max) {
      throw failure(`the sandbox budget of stage '${stageGroup(stage.name)}' is spent: max_sandboxes ${max} were started in this repro`, {
        subject: stage.name,
        file: stage.source.file,
        start: stage.source.start,
        notes: ['raise executor option max_sandboxes, or rerun: finished items are cached and do not start sandboxes again'],
      });
    }
    store.set(key, used + 1);
  };
}

/** The job a stage runs remotely. */
export async function remoteJobFor(req: StageRunRequest): Promise<RemoteJob> {
  const { stage, ctx } = req;
  if (stage.action.kind === 'cmd') return deriveCmdJob(stage, ctx.root);
  if (!req.handler) throw failure(`no handler '${stage.action.handler}' is registered`, { subject: stage.name });
  try {
    if (req.handler.remoteJob) return await req.handler.remoteJob(ctx, req.handlerParams);
    return await handlerJob(stage, req.handler, req.handlerParams, ctx);
  } catch (err) {
    if (err instanceof RallycutError) throw err;
    throw failure(`handler '${stage.action.handler}' could not describe its job: ${err instanceof Error ? err.message : String(err)}`, { subject: stage.name });
  }
}

function runContext(ctx: StageContext, admit?: () => void) {
  return { env: ctx.env, cacheDir: ctx.cacheDir, subject: ctx.stage, signal: ctx.signal, log: (l: string) => ctx.log(l), ...(admit ? { admit } : {}) };
}

export const modalExecutor: Executor = {
  name: 'modal',
  // What `--executor modal` moves: cmd stages, and handler stages that describe their remote job or what
  // they read and write beyond deps and outs (remoteIO). Others (a database export, a push) stay local.
  accepts: (stage, handler) => stage.action.kind === 'cmd' || handler?.remoteJob !== undefined || handler?.remoteIO !== undefined,
  async run(req: StageRunRequest): Promise<void> {
    const { stage, ctx } = req;
    const job = await remoteJobFor(req);
    const where = { file: stage.source.file, start: stage.source.start };
    const settings = resolveSettings(stage.executor.options, job.resources ?? {}, { subject: stage.name, ...where });
    const admit = budgetFor(stage, settings.maxSandboxes, req.shared);
    await withModalRunner(stage.executor.options, job.resources ?? {}, runContext(ctx, admit), where, (runner) => runner.run(job));
  },
};
