// A Sandbox of the fake Modal, run as local processes in a private folder. No chroot: container paths are
// REWRITTEN to host paths. Each Volume mount (e.g. /data) maps to the Sandbox's own checkout of that Volume;
// other absolute paths map into the Sandbox's private rootfs folder, and '/data' does too when no Volume is
// mounted there, so a job that forgot its mount writes nowhere that lasts (never to this machine's /data).
// The rewriting applies to the workdir, to argv and env values (whole path components only) and to the
// filesystem tool's paths. Images are recorded, never pulled: the commands run with this machine's sh and
// python3.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { type FakeProcess, FS_TOOLS_PATH, FsToolProcess, LocalProcess, type ExitStatus } from './process.js';
import type { FakeVolume, VolumeBaseline } from './volume.js';

/** Paths that exist only in a container: unmounted, they land in the private rootfs, never on this machine. */
const CONTAINER_ONLY = ['/data'];

/** GenericResult.status values of modal_proto/api.proto. */
export const GENERIC_STATUS = { SUCCESS: 1, FAILURE: 2, TERMINATED: 3, TIMEOUT: 4 } as const;

export interface SandboxResult {
  readonly status: number;
  readonly exitcode: number;
  readonly exception: string;
}

export interface SandboxSpec {
  readonly id: string;
  readonly taskId: string;
  readonly appId: string;
  readonly version: 'V1' | 'V2';
  /** The entrypoint; empty: the Sandbox idles until terminated or timed out (the transfer helper). */
  readonly command: readonly string[];
  readonly workdir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutSecs: number;
  readonly mounts: readonly { readonly volume: FakeVolume; readonly mountPath: string }[];
  /** Container paths the image provides, served from host folders (FakeModalState.imageLayers). */
  readonly imagePaths: Readonly<Record<string, string>>;
}

interface Mount {
  readonly volume: FakeVolume;
  readonly mountPath: string;
  readonly hostDir: string;
  baseline: VolumeBaseline;
}

function hostBasics(): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const k of ['PATH', 'LANG']) if (process.env[k]) keep[k] = process.env[k]!;
  return keep;
}

export class FakeSandbox {
  result: SandboxResult | undefined;
  /** Terminated or preempted: its container, and so its command router, is gone. */
  gone = false;
  readonly execs = new Map<string, FakeProcess>();
  entry: FakeProcess | undefined;
  readonly finished: Promise<SandboxResult>;
  #resolve!: (r: SandboxResult) => void;
  #mounts: Mount[] = [];
  #timer: NodeJS.Timeout | undefined;
  #ending: Promise<void> | undefined;
  #started: Promise<void> | undefined;

  constructor(
    readonly spec: SandboxSpec,
    readonly dir: string,
    /** Every line the entrypoint prints on stdout (fault injection watches them). */
    private readonly onEntryLine: (sb: FakeSandbox, line: string) => void,
  ) {
    this.finished = new Promise((resolve) => (this.#resolve = resolve));
  }

  get rootfs(): string {
    return join(this.dir, 'rootfs');
  }

  /** Checks out the mounted Volumes, then starts the entrypoint (if any) and the timeout clock. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await fs.mkdir(this.rootfs, { recursive: true });
      for (const [i, m] of this.spec.mounts.entries()) {
        const hostDir = join(this.dir, `mount-${i}`);
        this.#mounts.push({ ...m, hostDir, baseline: await m.volume.checkout(hostDir, m.mountPath) });
      }
      this.#timer = setTimeout(
        () => void this.end({ status: GENERIC_STATUS.TIMEOUT, exitcode: 0, exception: 'Sandbox timed out' }),
        this.spec.timeoutSecs * 1000,
      );
      if (this.spec.command.length) {
        const p = this.#spawn(this.spec.command, this.spec.workdir, {}, (line) => this.onEntryLine(this, line));
        this.entry = p;
        void p.exited.then((s) => this.end(resultOf(s)));
      }
    })();
    return this.#started;
  }

  /** Container path → host path. */
  toHost(containerPath: string): string {
    for (const m of [...this.#mounts].sort((a, b) => b.mountPath.length - a.mountPath.length)) {
      if (containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath}/`)) return m.hostDir + containerPath.slice(m.mountPath.length);
    }
    for (const [path, host] of Object.entries(this.spec.imagePaths)) {
      if (containerPath === path || containerPath.startsWith(`${path}/`)) return host + containerPath.slice(path.length);
    }
    return join(this.rootfs, containerPath);
  }

  /** Rewrites every container path in a string (argv, env values) to its host path. */
  rewrite(text: string): string {
    const prefixes = [...new Set([...this.#mounts.map((m) => m.mountPath), ...Object.keys(this.spec.imagePaths), ...CONTAINER_ONLY])].sort(
      (a, b) => b.length - a.length,
    );
    let out = text;
    for (const p of prefixes) {
      const re = new RegExp(`(?<![\\w./-])${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|[^\\w.-])`, 'g');
      out = out.replace(re, () => this.toHost(p));
    }
    return out;
  }

  #spawn(argv: readonly string[], workdir: string | undefined, env: Readonly<Record<string, string>>, onLine?: (line: string) => void): FakeProcess {
    const fullEnv: Record<string, string> = { ...hostBasics(), HOME: this.toHost('/root') };
    for (const [k, v] of Object.entries({ ...this.spec.env, ...env })) fullEnv[k] = this.rewrite(v);
    const cwd = this.toHost(workdir ?? '/');
    return new LocalProcess(
      argv.map((a) => this.rewrite(a)),
      cwd,
      fullEnv,
      onLine,
    );
  }

  /** Starts an exec; the SDK's filesystem tool is served in-process. */
  async exec(
    execId: string,
    argv: readonly string[],
    workdir: string | undefined,
    env: Readonly<Record<string, string>>,
    failWriteAfter?: number,
  ): Promise<FakeProcess> {
    await this.start();
    let p: FakeProcess;
    if (argv[0] === FS_TOOLS_PATH) p = new FsToolProcess(argv[1] ?? '', (path) => this.toHost(path), failWriteAfter);
    else {
      await fs.mkdir(this.toHost(workdir ?? this.spec.workdir ?? '/'), { recursive: true }).catch(() => undefined);
      p = this.#spawn(argv, workdir ?? this.spec.workdir, env);
    }
    this.execs.set(execId, p);
    return p;
  }

  /**
   * Ends the Sandbox: kills what still runs, commits the mounted Volumes (on Modal a container's writes are
   * committed when it exits, preempted or not), then records the result. The first end wins.
   */
  end(result: SandboxResult): Promise<void> {
    this.#ending ??= (async () => {
      clearTimeout(this.#timer);
      this.entry?.kill();
      for (const p of this.execs.values()) p.kill();
      await Promise.all([this.entry?.exited, ...[...this.execs.values()].map((p) => p.exited)]);
      for (const m of this.#mounts) await m.volume.commit(m.hostDir, m.baseline, m.mountPath);
      this.result = result;
      this.#resolve(result);
    })();
    return this.#ending;
  }
}

function resultOf(s: ExitStatus): SandboxResult {
  const code = s.code ?? 128 + (s.signal ?? 1);
  return code === 0 ? { status: GENERIC_STATUS.SUCCESS, exitcode: 0, exception: '' } : { status: GENERIC_STATUS.FAILURE, exitcode: code, exception: '' };
}
