// A private s3rver for fault tests: fixed loopback port and storage folder, so it can be killed and started
// again "in place" (same endpoint, same objects), as a restarted S3-compatible server would be. It can be
// armed to SIGKILL itself a few milliseconds after the Nth request matching a method and path fragment, so
// the kill lands while other transfers are in flight, deterministically. Runs in a child node process
// (--openssl-legacy-provider, as test/services/s3rver.ts explains) that exits when our stdin closes.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { freePort } from '../services/ports.js';

const CHILD = `
const [, s3rverPath, dir, port, method, fragment, after, delay] = process.argv;
const S3rver = require(s3rverPath);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory: dir });
let seen = 0;
server.run().then((addr) => {
  if (Number(after) > 0) server.httpServer.on('request', (req) => {
    if (req.method === method && req.url.includes(fragment) && ++seen === Number(after)) {
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), Number(delay));
    }
  });
  process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n');
}, (err) => { console.error(err); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface KillAfter {
  method: 'GET' | 'PUT' | 'POST';
  /** Counted when the request URL contains this. */
  fragment: string;
  /** The Nth matching request arms the kill. */
  count: number;
  /** Milliseconds between the Nth request and the SIGKILL. */
  delayMs: number;
}

export class PrivateS3rver {
  private child: ChildProcessWithoutNullStreams | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly accessKeyId = 'S3RVER';
  readonly secretAccessKey = 'S3RVER';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(dir: string): Promise<PrivateS3rver> {
    return new PrivateS3rver(dir, await freePort());
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server on its port (retrying briefly while the old socket lets go). */
  async start(kill?: KillAfter): Promise<void> {
    const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
    const k = kill ?? { method: 'GET', fragment: '', count: 0, delayMs: 0 };
    for (let attempt = 0; ; attempt++) {
      const child = spawn(
        process.execPath,
        ['--openssl-legacy-provider', '-e', CHILD, s3rverPath, this.dir, String(this.port), k.method, k.fragment, String(k.count), String(k.delayMs)],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const ok = await new Promise<boolean>((resolve) => {
        child.stdout.once('data', () => resolve(true));
        child.once('exit', () => resolve(false));
      });
      if (ok) {
        this.child = child;
        this.exited = new Promise((r) => child.once('exit', () => r()));
        return;
      }
      if (attempt >= 20) throw new Error(`private s3rver could not start on port ${this.port}: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Resolves when the server process has gone (killed by its arming, or by stop()). */
  waitForExit(): Promise<void> {
    return this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    await this.exited;
  }
}
