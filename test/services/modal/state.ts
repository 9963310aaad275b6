// The fake Modal's state, shared by its control plane and its command router: apps, images, volumes,
// secrets and Sandboxes, plus the fault plan and the log of every RPC. Ids look like Modal's (ap-, im-,
// vo-, st-, ta-; sb- + 22 base62 characters for V1 Sandboxes, which is how the SDK tells V1 from V2).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FakeSandbox } from './sandbox.js';
import { FakeVolume } from './volume.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function fakeId(prefix: string, length = 22): string {
  return `${prefix}-${[...randomBytes(length)].map((b) => BASE62[b % 62]).join('')}`;
}

export interface RpcRecord {
  /** 'ModalClient' (control plane) or 'TaskCommandRouter'. */
  readonly service: string;
  readonly method: string;
  /** The decoded request; bytes fields are replaced by their length ('<n bytes>'). */
  readonly request: unknown;
  /** 'OK' or the gRPC status name the fake answered with. */
  code: string;
  /** When the call arrived and when the fake answered it (ms since the epoch). */
  readonly startedMs: number;
  endedMs: number | undefined;
  /** The SDK's retry counter (x-retry-attempt), for unary control-plane calls. */
  readonly retryAttempt: string | undefined;
  /** The SDK's x-idempotency-key: one per logical call, the same on each of its retries. */
  readonly idempotencyKey: string | undefined;
}

export interface ImageRecord {
  readonly id: string;
  readonly dockerfileCommands: readonly string[];
  readonly baseImageIds: readonly string[];
}

export interface SecretRecord {
  readonly id: string;
  /** Undefined for ephemeral secrets (the SDK turns a Sandbox's env into one). */
  readonly name: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

/** Faults to inject; each is consumed when it fires. */
export interface FaultPlan {
  /** Method name (e.g. 'SandboxCreate') → statuses to answer with, in order, before serving it normally. */
  readonly failures: Map<string, number[]>;
  /** Preempt the Sandbox whose entrypoint prints a line matching this, once per entry. */
  readonly preemptOn: RegExp[];
  /** Upload faults for the next copyFromLocal calls: break after this many bytes. */
  readonly uploadBreaks: { afterBytes: number; mode: 'resumable' | 'fatal' }[];
}

export class FakeModalState {
  readonly apps = new Map<string, { id: string; name: string }>();
  readonly images = new Map<string, ImageRecord>();
  readonly volumes = new Map<string, FakeVolume>();
  readonly secrets = new Map<string, SecretRecord>();
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly log: RpcRecord[] = [];
  /** Methods the SDK called that the fake does not implement: a test must fail on any. */
  readonly unexpected: string[] = [];
  readonly faults: FaultPlan = { failures: new Map(), preemptOn: [], uploadBreaks: [] };
  /** Control-plane auth tokens and command-router JWTs issued, with their expiry. */
  readonly tokens = new Map<string, { expMs: number; taskId?: string }>();
  /**
   * What stands in for image layers the fake cannot build: a container path served from a host folder, for
   * Sandboxes whose image (or a base of it) has a build command matching `when` (e.g. a Node image whose
   * `npm install` would have put the packages under /opt/rallycut/node_modules).
   */
  readonly imageLayers: { readonly containerPath: string; readonly hostPath: string; readonly when: RegExp }[] = [];
  /** Lifetime of the tokens issued from now on; a test shortens it to make the SDK refresh them. */
  tokenTtlSecs = 3600;

  constructor(
    readonly dir: string,
    /** The only credentials the control plane accepts. */
    readonly credentials: { readonly tokenId: string; readonly tokenSecret: string },
  ) {}

  volumeNamed(name: string): FakeVolume | undefined {
    return [...this.volumes.values()].find((v) => v.name === name);
  }

  createVolume(name: string): FakeVolume {
    const id = fakeId('vo');
    const v = new FakeVolume(id, name, join(this.dir, 'volumes', id));
    this.volumes.set(id, v);
    return v;
  }

  sandboxByTask(taskId: string): FakeSandbox | undefined {
    return [...this.sandboxes.values()].find((s) => s.spec.taskId === taskId);
  }

  /** An unsigned JWT (the SDK reads only its exp), accepted until then. */
  issueToken(taskId?: string): string {
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + this.tokenTtlSecs;
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ exp, jti: randomBytes(6).toString('hex'), ...(taskId ? { task_id: taskId } : {}) })}.fake`;
    this.tokens.set(token, { expMs: exp * 1000, ...(taskId ? { taskId } : {}) });
    return token;
  }

  /** Issued by the fake and not past its exp. */
  tokenValid(token: string | undefined): boolean {
    const t = token ? this.tokens.get(token) : undefined;
    return !!t && Date.now() < t.expMs;
  }

  /** Every build command of an image and its bases. */
  imageCommands(imageId: string): string[] {
    const rec = this.images.get(imageId);
    if (!rec) return [];
    return [...rec.baseImageIds.flatMap((b) => this.imageCommands(b)), ...rec.dockerfileCommands];
  }

  /** Calls by method name, in order. */
  calls(method: string): RpcRecord[] {
    return this.log.filter((r) => r.method === method);
  }
}
