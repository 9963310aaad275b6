// The fake command router (modal.task_command_router.TaskCommandRouter): exec, its stdio, stdin and exit
// status, for V2 Sandboxes and for the SDK's filesystem calls (which exec the fs tool). Served on the same
// 127.0.0.1 port as the control plane; the SDK reaches it at the https:// URL the control plane hands out
// and, because the host is 127.0.0.1, connects without TLS.
import { ServerError, Status, type CallContext } from 'nice-grpc';
import type { FakeProcess } from './process.js';
import type { Handler, Req } from './control-plane.js';
import type { FakeModalState } from './state.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function commandRouter(state: FakeModalState): Record<string, Handler> {
  const sandbox = (taskId: string) => {
    const sb = state.sandboxByTask(taskId);
    if (!sb) throw new ServerError(Status.NOT_FOUND, `Task ${taskId} not found`);
    // Streams already open run to their end; a new call to a terminated Sandbox finds nobody.
    if (sb.gone) throw new ServerError(Status.NOT_FOUND, `Sandbox ${sb.spec.id} was terminated`);
    return sb;
  };
  const proc = (req: Req): FakeProcess => {
    const p = sandbox(str(req.taskId)).execs.get(str(req.execId));
    if (!p) throw new ServerError(Status.NOT_FOUND, `Exec ${str(req.execId)} not found`);
    return p;
  };
  const exitOf = (p: FakeProcess): object => (p.status ? { code: p.status.code ?? 0 } : {});

  return {
    async taskExecStart(req) {
      const sb = sandbox(str(req.taskId));
      if (sb.result) throw new ServerError(Status.FAILED_PRECONDITION, `Sandbox ${sb.spec.id} has already finished`);
      if (sb.execs.has(str(req.execId))) return {}; // a retried start is idempotent, as on Modal
      const argv = (req.commandArgs as string[] | undefined) ?? [];
      const env: Record<string, string> = { ...sb.spec.env };
      for (const [k, v] of Object.entries((req.env as Record<string, string> | undefined) ?? {})) env[k] = String(v);
      const brk = argv[1]?.includes('"WriteFile"') ? state.faults.uploadBreaks[0] : undefined;
      const failAfter = brk?.mode === 'fatal' ? state.faults.uploadBreaks.shift()!.afterBytes : undefined;
      await sb.exec(str(req.execId), argv, typeof req.workdir === 'string' && req.workdir ? req.workdir : undefined, env, failAfter);
      return {};
    },
    async *taskExecStdioRead(req, ctx) {
      const p = proc(req);
      // TASK_EXEC_STDIO_FILE_DESCRIPTOR_STDOUT = 0, _STDERR = 1.
      const out = req.fileDescriptor === 1 ? p.stderr : p.stdout;
      for await (const chunk of out.read(Number(req.offset ?? 0), ctx.signal)) yield { data: new Uint8Array(chunk) };
    },
    async *sandboxStdioReadV2(req, ctx) {
      // A V2 Sandbox's entrypoint output (SANDBOX_STDIO_FILE_DESCRIPTOR_STDOUT = 0, _STDERR = 1). The fake
      // keeps all of it, so a read always starts where it was asked to.
      const entry = sandbox(str(req.taskId)).entry;
      if (!entry) return;
      let offset = Number(req.offset ?? 0);
      for await (const chunk of (req.fileDescriptor === 1 ? entry.stderr : entry.stdout).read(offset, ctx.signal)) {
        yield { data: new Uint8Array(chunk), startingOffset: offset };
        offset += chunk.length;
      }
    },
    async taskExecWait(req, ctx) {
      const p = proc(req);
      await Promise.race([p.exited, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }))]);
      return exitOf(p);
    },
    async taskExecPoll(req) {
      return exitOf(proc(req));
    },
    async taskExecStdinStatus(req) {
      const p = proc(req);
      return { numBytesWritten: p.stdinBytes, closed: p.stdinClosed };
    },
    async taskExecStdinWrite(req) {
      const p = proc(req);
      const data = req.data instanceof Uint8Array ? Buffer.from(req.data) : Buffer.alloc(0);
      if (Number(req.offset ?? 0) === p.stdinBytes && data.length) await p.writeStdin(data);
      if (req.eof) await p.endStdin();
      return {};
    },
    async taskExecStdinWriteStream(req, ctx: CallContext) {
      let p: FakeProcess | undefined;
      for await (const raw of req as unknown as AsyncIterable<Req>) {
        const msg = raw;
        if (msg.start) {
          const start = msg.start as Req;
          p = proc(start);
          if (Number(start.offset ?? 0) !== p.stdinBytes)
            throw new ServerError(Status.FAILED_PRECONDITION, `stdin offset ${String(start.offset)} but ${p.stdinBytes} bytes were written`);
        } else if (msg.data instanceof Uint8Array) {
          if (!p) throw new ServerError(Status.INVALID_ARGUMENT, 'stdin data before start');
          await p.writeStdin(Buffer.from(msg.data));
          const brk = state.faults.uploadBreaks[0];
          if (brk?.mode === 'resumable' && p.stdinBytes >= brk.afterBytes) {
            state.faults.uploadBreaks.shift();
            // The connection drops mid-upload; the SDK asks TaskExecStdinStatus and resumes from there.
            throw new ServerError(Status.UNAVAILABLE, 'fake Modal: injected fault: connection reset during upload');
          }
        } else if (msg.end) {
          if (!p) throw new ServerError(Status.INVALID_ARGUMENT, 'stdin end before start');
          await p.endStdin();
        }
        if (ctx.signal.aborted) break;
      }
      return {};
    },
  };
}
