// The fake control plane: the ModalClient RPCs our backend's SDK calls make, served from FakeModalState.
// Anything else is answered UNIMPLEMENTED and recorded in state.unexpected (see server.ts).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ServerError, Status, type CallContext } from 'nice-grpc';
import { FakeSandbox, GENERIC_STATUS, type SandboxResult } from './sandbox.js';
import { fakeId, type FakeModalState } from './state.js';

/** Decoded request messages are plain objects; the fields we read are typed where they are read. */
export type Req = Record<string, unknown>;
export type Handler = (req: Req, ctx: CallContext) => Promise<object> | AsyncIterable<object>;

const OBJECT_CREATION_TYPE = { CREATE_IF_MISSING: 1, EPHEMERAL: 5 } as const;
export const IMAGE_BUILDER_VERSION = '2024.10';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const obj = (v: unknown): Req => (v && typeof v === 'object' ? (v as Req) : {});
const list = (v: unknown): Req[] => (Array.isArray(v) ? (v as Req[]) : []);
const strMap = (v: unknown): Record<string, string> => Object.fromEntries(Object.entries(obj(v)).map(([k, x]) => [k, String(x)]));

export function sandboxOf(state: FakeModalState, id: string): FakeSandbox {
  const sb = state.sandboxes.get(id);
  if (!sb) throw new ServerError(Status.NOT_FOUND, `Sandbox ${id} not found`);
  return sb;
}

function resultProto(r: SandboxResult): Req {
  return { status: r.status, exitcode: r.exitcode, exception: r.exception };
}

async function waitFor<T>(p: Promise<T>, secs: number, signal: AbortSignal): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), Math.max(0, secs) * 1000);
    signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function controlPlane(state: FakeModalState, routerUrl: () => string): Record<string, Handler> {
  const secretEnv = (ids: readonly string[]): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const id of ids) {
      const s = state.secrets.get(id);
      if (!s) throw new ServerError(Status.NOT_FOUND, `Secret ${id} not found`);
      Object.assign(env, s.env);
    }
    return env;
  };

  const createSandbox = async (req: Req, version: 'V1' | 'V2', env: Record<string, string>): Promise<FakeSandbox> => {
    const appId = str(req.appId);
    if (![...state.apps.values()].some((a) => a.id === appId)) throw new ServerError(Status.NOT_FOUND, `App ${appId} not found`);
    const def = obj(req.definition);
    if (!state.images.has(str(def.imageId))) throw new ServerError(Status.NOT_FOUND, `Image ${str(def.imageId)} not found`);
    const mounts = list(def.volumeMounts).map((m) => {
      const volume = state.volumes.get(str(m.volumeId));
      if (!volume) throw new ServerError(Status.NOT_FOUND, `Volume ${str(m.volumeId)} not found`);
      return { volume, mountPath: str(m.mountPath) };
    });
    const id = version === 'V1' ? fakeId('sb') : fakeId('sb-v2', 16);
    const sb = new FakeSandbox(
      {
        id,
        taskId: fakeId('ta'),
        appId,
        version,
        command: (def.entrypointArgs as string[] | undefined) ?? [],
        workdir: typeof def.workdir === 'string' && def.workdir ? def.workdir : undefined,
        env,
        timeoutSecs: num(def.timeoutSecs) || 300,
        mounts,
        imagePaths: Object.fromEntries(
          state.imageLayers.filter((l) => state.imageCommands(str(def.imageId)).some((c) => l.when.test(c))).map((l) => [l.containerPath, l.hostPath]),
        ),
      },
      join(state.dir, 'sandboxes', id),
      (s, line) => {
        const i = state.faults.preemptOn.findIndex((re) => re.test(line));
        if (i < 0) return;
        state.faults.preemptOn.splice(i, 1);
        s.gone = true;
        // As Modal reports a reclaimed worker: terminated, exit 137 in the SDK's wait().
        void s.end({ status: GENERIC_STATUS.TERMINATED, exitcode: 137, exception: 'Sandbox was preempted (fake Modal: injected fault)' });
      },
    );
    state.sandboxes.set(id, sb);
    await sb.start();
    return sb;
  };

  const getTaskId = async (req: Req): Promise<object> => {
    const sb = sandboxOf(state, str(req.sandboxId));
    // The task id stays known after the task ends (a job may exit before the SDK asks for it).
    return { taskId: sb.spec.taskId, ...(sb.result ? { taskResult: resultProto(sb.result) } : {}) };
  };
  const wait = async (req: Req, ctx: CallContext): Promise<object> => {
    const sb = sandboxOf(state, str(req.sandboxId));
    const r = await waitFor(sb.finished, num(req.timeout), ctx.signal);
    return r ? { result: resultProto(r) } : {};
  };
  const terminate = async (req: Req): Promise<object> => {
    const sb = sandboxOf(state, str(req.sandboxId));
    sb.gone = true;
    await sb.end({ status: GENERIC_STATUS.TERMINATED, exitcode: 137, exception: 'Sandbox terminated' });
    return {};
  };
  const routerAccess = (taskId: string): object => ({ url: routerUrl(), jwt: state.issueToken(taskId) });

  return {
    async authTokenGet() {
      return { token: state.issueToken() };
    },
    async environmentGetOrCreate(req) {
      const name = str(req.deploymentName) || 'main';
      return { environmentId: 'en-fake', metadata: { name, settings: { imageBuilderVersion: IMAGE_BUILDER_VERSION, webhookSuffix: '' } } };
    },
    async appGetOrCreate(req) {
      const name = str(req.appName);
      let app = state.apps.get(name);
      if (!app) {
        if (num(req.objectCreationType) !== OBJECT_CREATION_TYPE.CREATE_IF_MISSING) throw new ServerError(Status.NOT_FOUND, `App '${name}' not found`);
        app = { id: fakeId('ap'), name };
        state.apps.set(name, app);
      }
      return { appId: app.id };
    },
    async imageGetOrCreate(req) {
      const image = obj(req.image);
      const dockerfileCommands = (image.dockerfileCommands as string[] | undefined) ?? [];
      const baseImageIds = list(image.baseImages).map((b) => str(b.imageId));
      // Content-addressed like Modal's: the same definition is the same image. Recorded, never pulled.
      const existing = [...state.images.values()].find(
        (i) => JSON.stringify([i.dockerfileCommands, i.baseImageIds]) === JSON.stringify([dockerfileCommands, baseImageIds]),
      );
      const rec = existing ?? { id: fakeId('im'), dockerfileCommands, baseImageIds };
      state.images.set(rec.id, rec);
      return { imageId: rec.id, result: { status: GENERIC_STATUS.SUCCESS } };
    },
    async volumeGetOrCreate(req) {
      const name = str(req.deploymentName);
      let v = state.volumeNamed(name);
      if (!v) {
        if (num(req.objectCreationType) !== OBJECT_CREATION_TYPE.CREATE_IF_MISSING) throw new ServerError(Status.NOT_FOUND, `Volume '${name}' not found`);
        v = state.createVolume(name);
        await fs.mkdir(v.committedDir, { recursive: true });
      }
      return { volumeId: v.id, version: num(req.version) };
    },
    async secretGetOrCreate(req) {
      const name = str(req.deploymentName);
      if (num(req.objectCreationType) === OBJECT_CREATION_TYPE.EPHEMERAL || !name) {
        const id = fakeId('st');
        state.secrets.set(id, { id, name: undefined, env: strMap(req.envDict) });
        return { secretId: id };
      }
      const s = [...state.secrets.values()].find((x) => x.name === name);
      if (!s) throw new ServerError(Status.NOT_FOUND, `Secret '${name}' not found`);
      return { secretId: s.id };
    },
    async sandboxCreate(req) {
      const sb = await createSandbox(req, 'V1', secretEnv((obj(req.definition).secretIds as string[] | undefined) ?? []));
      return { sandboxId: sb.spec.id };
    },
    async sandboxCreateV2(req) {
      const env: Record<string, string> = {};
      for (const src of list(req.secretSources)) {
        if (src.secretId) Object.assign(env, secretEnv([str(src.secretId)]));
        else Object.assign(env, strMap(obj(src.env).contents));
      }
      const sb = await createSandbox(req, 'V2', env);
      return { sandboxId: sb.spec.id, taskId: sb.spec.taskId, commandRouterAccess: routerAccess(sb.spec.taskId) };
    },
    sandboxGetTaskId: getTaskId,
    sandboxGetTaskIdV2: getTaskId,
    sandboxWait: wait,
    sandboxWaitV2: wait,
    sandboxTerminate: terminate,
    sandboxTerminateV2: terminate,
    async taskGetCommandRouterAccess(req) {
      const sb = state.sandboxByTask(str(req.taskId));
      if (!sb) throw new ServerError(Status.NOT_FOUND, `Task ${str(req.taskId)} not found`);
      return routerAccess(sb.spec.taskId);
    },
    async sandboxGetCommandRouterAccess(req) {
      return routerAccess(sandboxOf(state, str(req.sandboxId)).spec.taskId);
    },
    async *sandboxGetLogs(req, ctx) {
      const sb = sandboxOf(state, str(req.sandboxId));
      const fd = num(req.fileDescriptor);
      const out = fd === 2 ? sb.entry?.stderr : sb.entry?.stdout;
      let offset = Number(str(req.lastEntryId).split('-')[0]) || 0;
      if (out) {
        for await (const chunk of out.read(offset, ctx.signal)) {
          offset += chunk.length;
          yield { entryId: `${offset}-0`, items: [{ data: chunk.toString('utf8'), fileDescriptor: fd }] };
        }
      }
      if (!ctx.signal.aborted) yield { entryId: `${offset}-0`, items: [], eof: true };
    },
  };
}
