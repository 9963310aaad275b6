// Processes inside a fake Sandbox: the entrypoint and every exec. A real one is a local child process
// (sh, python3 … of THIS machine: the job's Python is this machine's python3, not the image's); the SDK's
// filesystem tool (/__modal/.bin/modal-sandbox-fs-tools) is served in-process. Output is kept whole, so
// readers may start at any offset and read again after a broken stream, as the SDK does.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { lineSplitter } from '../../../src/exec/lines.js';

export interface ExitStatus {
  readonly code?: number;
  readonly signal?: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Append-only output with readers that wait for more until it is closed. */
export class OutputBuffer {
  #chunks: Buffer[] = [];
  #length = 0;
  #closed = false;
  #wake: (() => void)[] = [];

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (this.#closed || !chunk.length) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    this.#notify();
  }

  close(): void {
    this.#closed = true;
    this.#notify();
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Yields everything from `offset` on, waiting for more, until closed (or `signal` aborts). */
  async *read(offset: number, signal: AbortSignal): AsyncGenerator<Buffer> {
    let pos = offset;
    for (;;) {
      if (pos < this.#length) {
        const all = Buffer.concat(this.#chunks);
        yield all.subarray(pos);
        pos = all.length;
        continue;
      }
      if (this.#closed || signal.aborted) return;
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}

export abstract class FakeProcess {
  readonly stdout = new OutputBuffer();
  readonly stderr = new OutputBuffer();
  status: ExitStatus | undefined;
  stdinBytes = 0;
  stdinClosed = false;
  readonly exited: Promise<ExitStatus>;
  #resolveExit!: (s: ExitStatus) => void;

  constructor() {
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
  }

  protected finish(status: ExitStatus): void {
    if (this.status) return;
    this.status = status;
    this.stdout.close();
    this.stderr.close();
    this.#resolveExit(status);
  }

  abstract writeStdin(data: Buffer): Promise<void>;
  abstract endStdin(): Promise<void>;
  abstract kill(): void;
}

/** A command run on this machine: cwd, argv and env already rewritten to host paths by the Sandbox. */
export class LocalProcess extends FakeProcess {
  readonly #child: ChildProcess;

  constructor(argv: readonly string[], cwd: string, env: Record<string, string>, onLine?: (line: string) => void) {
    super();
    const [cmd, ...args] = argv;
    // Its own process group, so a terminate kills the job's children (python3 under sh) too.
    this.#child = spawn(cmd ?? 'true', args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const lines = onLine ? lineSplitter(onLine) : undefined;
    this.#child.stdout?.on('data', (c: Buffer) => {
      this.stdout.push(c);
      lines?.push(c);
    });
    this.#child.stderr?.on('data', (c: Buffer) => this.stderr.push(c));
    this.#child.stdin?.on('error', () => undefined);
    this.#child.on('error', (e) => {
      this.stderr.push(Buffer.from(`${e.message}\n`));
      this.finish({ code: 127 });
    });
    this.#child.on('close', (code, sig) => {
      lines?.end();
      // As a container runtime reports it: a process killed by signal N exits 128 + N.
      this.finish(code !== null ? { code } : { code: 128 + (sig ? (SIGNALS[sig] ?? 1) : 1) });
    });
  }

  async writeStdin(data: Buffer): Promise<void> {
    this.stdinBytes += data.length;
    await new Promise<void>((resolve) => this.#child.stdin?.write(data, () => resolve()) ?? resolve());
  }

  async endStdin(): Promise<void> {
    this.stdinClosed = true;
    this.#child.stdin?.end();
  }

  kill(): void {
    if (this.status || this.#child.pid === undefined) return;
    try {
      process.kill(-this.#child.pid, 'SIGKILL');
    } catch {
      this.#child.kill('SIGKILL');
    }
  }
}

export const FS_TOOLS_PATH = '/__modal/.bin/modal-sandbox-fs-tools';

type FsToolCommand = { ReadFile?: { path: string }; WriteFile?: { path: string } };

/** What the fs tool reports on stderr, as JSON the SDK maps to its SandboxFilesystem*Error classes. */
function fsError(kind: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error_kind: kind, message, detail: '' }));
}

/**
 * The SDK's filesystem tool: ReadFile streams a file to stdout, WriteFile writes stdin to a file. `toHost`
 * maps the container path; `failAfter` (fault injection) makes a write fail once that many bytes arrived.
 */
export class FsToolProcess extends FakeProcess {
  #out: WriteStream | undefined;
  #ready: Promise<void> = Promise.resolve();
  #failAfter: number | undefined;

  constructor(command: string, toHost: (containerPath: string) => string, failAfter?: number) {
    super();
    this.#failAfter = failAfter;
    let parsed: FsToolCommand;
    try {
      parsed = JSON.parse(command) as FsToolCommand;
    } catch {
      this.stderr.push(fsError('InvalidInput', `cannot parse command ${command}`));
      this.finish({ code: 2 });
      return;
    }
    if (parsed.ReadFile) void this.#read(toHost(parsed.ReadFile.path));
    else if (parsed.WriteFile) this.#openForWrite(toHost(parsed.WriteFile.path));
    else {
      this.stderr.push(fsError('Unsupported', `the fake fs tool implements ReadFile and WriteFile only, got ${command}`));
      this.finish({ code: 2 });
    }
  }

  async #read(path: string): Promise<void> {
    try {
      const st = await fs.stat(path);
      if (st.isDirectory()) {
        this.stderr.push(fsError('IsDirectory', 'Is a directory'));
        return this.finish({ code: 1 });
      }
      this.stdout.push(await fs.readFile(path));
      this.finish({ code: 0 });
    } catch {
      this.stderr.push(fsError('NotFound', 'No such file or directory'));
      this.finish({ code: 1 });
    }
  }

  #openForWrite(path: string): void {
    // Parent folders are created, as the SDK documents for copyFromLocal.
    this.#ready = (async () => {
      if ((await fs.stat(path).catch(() => undefined))?.isDirectory()) {
        this.stderr.push(fsError('IsDirectory', 'Is a directory'));
        return this.finish({ code: 1 });
      }
      await fs.mkdir(dirname(path), { recursive: true });
      this.#out = createWriteStream(path, { flags: 'w' });
      this.#out.on('error', () => undefined);
    })();
  }

  async writeStdin(data: Buffer): Promise<void> {
    await this.#ready;
    if (this.status || !this.#out) return;
    if (this.#failAfter !== undefined && this.stdinBytes + data.length > this.#failAfter) {
      const keep = data.subarray(0, Math.max(0, this.#failAfter - this.stdinBytes));
      this.stdinBytes += keep.length;
      await new Promise<void>((resolve) => this.#out!.end(keep, () => resolve()));
      this.stderr.push(fsError('Other', 'No space left on device (os error 28)'));
      this.finish({ code: 1 });
      return;
    }
    this.stdinBytes += data.length;
    await new Promise<void>((resolve, reject) => this.#out!.write(data, (e) => (e ? reject(e) : resolve())));
  }

  async endStdin(): Promise<void> {
    this.stdinClosed = true;
    await this.#ready;
    if (this.status || !this.#out) return;
    await new Promise<void>((resolve) => this.#out!.end(() => resolve()));
    this.finish({ code: 0 });
  }

  kill(): void {
    this.#out?.destroy();
    this.finish({ code: 137 });
  }
}
