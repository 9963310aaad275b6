// The local executor: `cmd:` stages run each command with /bin/sh -c in the stage's wdir (environment
// inherited); `handler:` stages call the handler in-process. Output lines go through ctx.log, which
// prefixes them with the stage name and captures them for the run-cache.
import { spawn } from 'node:child_process';
import { failure, RallycutError } from '../diagnostics.js';
import type { StageContext } from '../handler-contract.js';
import type { Executor, StageRunRequest } from './executor.js';
import { lineSplitter } from './lines.js';

function runShell(command: string, ctx: StageContext): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) return reject(failure('interrupted', { subject: ctx.stage }));
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: ctx.wdir,
      env: ctx.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so an abort stops the command's children too, not just /bin/sh
    });
    const out = lineSplitter((l) => ctx.log(l));
    const err = lineSplitter((l) => ctx.log(l));
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const onAbort = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM'); // the group is already gone; make sure the shell is
      }
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      ctx.signal.removeEventListener('abort', onAbort);
      reject(failure(`could not start /bin/sh: ${e.message}`, { subject: ctx.stage }));
    });
    child.on('close', (code, sig) => {
      ctx.signal.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      if (code === 0) return resolve();
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      reject(failure(`command ${how}: ${command}`, { subject: ctx.stage }));
    });
  });
}

export const localExecutor: Executor = {
  name: 'local',
  async run(req: StageRunRequest): Promise<void> {
    const { stage, ctx } = req;
    if (stage.action.kind === 'cmd') {
      for (const command of stage.action.commands) await runShell(command, ctx);
      return;
    }
    if (!req.handler) throw failure(`no handler '${stage.action.handler}' is registered`, { subject: stage.name });
    try {
      await req.handler.run(ctx, req.handlerParams);
    } catch (err) {
      if (err instanceof RallycutError) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw failure(`handler '${stage.action.handler}' failed: ${message}`, { subject: stage.name });
    }
  },
};
