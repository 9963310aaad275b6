// A STATEFUL FAKE OF MODAL'S CLOUD for tests (never shipped in the CLI): its control plane and its command
// router, served over gRPC on 127.0.0.1 from the service definitions bundled in modal@0.11.1, so the
// unmodified SDK (in this process or in a spawned `rallycut`) talks to it through MODAL_SERVER_URL.
// Sandboxes run as local processes (sandbox.ts); Volumes are folders committed on Sandbox exit (volume.ts).
//
// It checks what Modal checks (token id and secret on every control-plane call, the auth token it issued,
// the router JWT), logs every RPC, answers any method it does not implement with UNIMPLEMENTED and records
// its name in `unexpected`, and injects faults on request (`fail`, `preemptOn`, `breakUpload`;
// and tokens expire by their exp: see state.tokenTtlSecs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createServer,
  ServerError,
  Status,
  type CallContext,
  type ServerMiddlewareCall,
  type ServiceImplementation,
  type TsProtoServiceDefinition,
} from 'nice-grpc';
import { commandRouter } from './command-router.js';
import { controlPlane, type Handler } from './control-plane.js';
import { loadModalDefinitions } from './sdk-definitions.js';
import { FakeModalState, type RpcRecord } from './state.js';

export const FAKE_TOKEN_ID = 'ak-fakemodal0000000000';
export const FAKE_TOKEN_SECRET = 'as-fakemodal-secret-must-never-leak';

const CONTROL_PLANE = 'modal.client.ModalClient';

function summarize(value: unknown): unknown {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map(summarize);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, summarize(v)]));
  return value;
}

// Typed per method by nice-grpc; ours is one Proxy for all of them, so the cast is at this one place.
function implementation(handlers: Record<string, Handler>, state: FakeModalState): ServiceImplementation<TsProtoServiceDefinition> {
  const proxy = new Proxy(handlers, {
    get(target, name: string) {
      return (
        target[name] ??
        (() => {
          state.unexpected.push(name);
          throw new ServerError(Status.UNIMPLEMENTED, `fake Modal does not implement ${name}`);
        })
      );
    },
  });
  return proxy as unknown as ServiceImplementation<TsProtoServiceDefinition>;
}

export class FakeModal {
  readonly state: FakeModalState;
  #port = 0;
  #server = createServer();

  private constructor(readonly dir: string) {
    this.state = new FakeModalState(dir, { tokenId: FAKE_TOKEN_ID, tokenSecret: FAKE_TOKEN_SECRET });
  }

  static async start(): Promise<FakeModal> {
    const defs = await loadModalDefinitions();
    const fake = new FakeModal(mkdtempSync(join(tmpdir(), 'rallycut-fake-modal-')));
    const state = fake.state;
    const server = createServer().use(async function* fakeModalMiddleware<Req, Res>(call: ServerMiddlewareCall<Req, Res>, context: CallContext) {
      const [, service = '', method = ''] = /^\/([^/]+)\/([^/]+)$/.exec(call.method.path) ?? [];
      const rec: RpcRecord = {
        service: service.split('.').pop() ?? service,
        method,
        request: call.requestStream ? '<stream>' : summarize(call.request),
        code: 'OK',
        retryAttempt: context.metadata.get('x-retry-attempt'),
        idempotencyKey: context.metadata.get('x-idempotency-key'),
        startedMs: Date.now(),
        endedMs: undefined,
      };
      state.log.push(rec);
      try {
        fake.#authenticate(service, method, context);
        const queued = state.faults.failures.get(method);
        const code = queued?.shift();
        if (code !== undefined) throw new ServerError(code, `fake Modal: injected fault on ${method}`);
        return yield* call.next(call.request, context);
      } catch (err) {
        rec.code = err instanceof ServerError ? Status[err.code] : 'UNKNOWN';
        throw err;
      } finally {
        rec.endedMs = Date.now();
      }
    });
    server.add(
      defs.controlPlane,
      implementation(
        controlPlane(state, () => `https://127.0.0.1:${fake.#port}`),
        state,
      ),
    );
    server.add(defs.commandRouter, implementation(commandRouter(state), state));
    fake.#server = server;
    fake.#port = await server.listen('127.0.0.1:0');
    return fake;
  }

  #authenticate(service: string, method: string, ctx: CallContext): void {
    const { credentials } = this.state;
    if (service === CONTROL_PLANE) {
      if (ctx.metadata.get('x-modal-token-id') !== credentials.tokenId || ctx.metadata.get('x-modal-token-secret') !== credentials.tokenSecret) {
        throw new ServerError(Status.UNAUTHENTICATED, 'Token ID or secret is invalid');
      }
      if (method === 'AuthTokenGet') return;
      const token = ctx.metadata.get('x-modal-auth-token');
      if (!this.state.tokenValid(token)) throw new ServerError(Status.UNAUTHENTICATED, 'auth token missing or expired');
      return;
    }
    const jwt = /^Bearer (.+)$/.exec(ctx.metadata.get('authorization') ?? '')?.[1];
    if (!this.state.tokenValid(jwt)) throw new ServerError(Status.UNAUTHENTICATED, 'command router JWT missing or expired');
  }

  /** What a spawned `rallycut` needs to reach the fake with valid credentials (and never ~/.modal.toml). */
  env(): Record<string, string> {
    return {
      MODAL_SERVER_URL: `http://127.0.0.1:${this.#port}`,
      MODAL_TOKEN_ID: FAKE_TOKEN_ID,
      MODAL_TOKEN_SECRET: FAKE_TOKEN_SECRET,
      MODAL_CONFIG_PATH: join(this.dir, 'no-modal.toml'),
    };
  }

  /** A named Secret, as `modal secret create` would make it. */
  addSecret(name: string, env: Record<string, string>): void {
    const id = `st-${name}`;
    this.state.secrets.set(id, { id, name, env });
  }

  /**
   * Serves `containerPath` from `hostPath` in Sandboxes whose image has a build command matching `when`:
   * the fake records images but never builds them, so a test names what the build would have installed.
   */
  provideImageLayer(containerPath: string, hostPath: string, when: RegExp): void {
    this.state.imageLayers.push({ containerPath, hostPath, when });
  }

  /** Answers the next calls of `method` with these statuses (e.g. UNAVAILABLE twice), then serves it. */
  fail(method: string, ...codes: Status[]): void {
    this.state.faults.failures.set(method, [...(this.state.faults.failures.get(method) ?? []), ...codes]);
  }

  /** Preempts the Sandbox whose entrypoint prints a matching line (once). */
  preemptOn(line: RegExp): void {
    this.state.faults.preemptOn.push(line);
  }

  /**
   * Breaks the next copyFromLocal after `afterBytes`: 'resumable' drops the stream (UNAVAILABLE; the SDK
   * resumes from TaskExecStdinStatus), 'fatal' makes the fs tool fail (disk full) with a partial file.
   */
  breakUpload(afterBytes: number, mode: 'resumable' | 'fatal'): void {
    this.state.faults.uploadBreaks.push({ afterBytes, mode });
  }

  /** Terminates every Sandbox still running, then stops serving and removes the fake's files. */
  async stop(): Promise<void> {
    for (const sb of this.state.sandboxes.values()) await sb.end({ status: 3, exitcode: 137, exception: 'fake Modal stopped' });
    this.#server.forceShutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
