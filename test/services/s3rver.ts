// s3rver on 127.0.0.1 with a random port, in a child node process started with --openssl-legacy-provider:
// s3rver's paginated listings (MaxKeys, continuation tokens) fail with a 500 without it. The child exits
// when our stdin pipe closes, so a crashed test run leaves no server behind. s3rver-multipart.cjs adds the
// multipart calls s3rver lacks (abort, list).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Service {
  endpoint: string;
  /** s3rver accepts only these credentials; anything else is refused (useful for error tests). */
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require(process.argv[1]);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] });
server.middleware.unshift(require(process.argv[3])(process.argv[2]));
server.run().then((addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'), (err) => { console.error(err); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export async function startS3rver(): Promise<S3Service> {
  const dir = mkdtempSync(join(tmpdir(), 'rallycut-s3-'));
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const multipart = fileURLToPath(new URL('./s3rver-multipart.cjs', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD, s3rverPath, dir, multipart], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
