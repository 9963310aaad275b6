// The real backend: Modal's official TypeScript SDK (npm `modal`, pinned 0.11.x). Jobs run in Sandboxes
// with the named Volume mounted at /data. File transfers go through one small helper Sandbox with the same
// Volume; it is terminated before a job starts and after the last transfer, because a Sandbox's writes to
// a Volume are committed when it exits. The SDK is imported lazily so other commands never load it.
import type { App, ModalClient, Sandbox } from 'modal';
import { configError, failure } from '../../diagnostics.js';
import { VOLUME_MOUNT, type GpuBackend, type JobSpec, type VolumeFile } from './backend.js';
import { buildSandboxRequest, shellQuote, transferRequest, type SandboxRequest } from './request.js';
import { lineSplitter } from '../lines.js';

export const APP_NAME = 'rallycut';

export function credentialsError(detail?: string, refused = false): Error {
  const what = refused ? 'Modal refused the credentials' : 'Modal credentials are missing';
  return configError(`${what}: the modal executor cannot start a GPU sandbox`, {
    subject: 'modal',
    notes: [
      'set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, or create ~/.modal.toml with `modal token new` (MODAL_CONFIG_PATH and MODAL_PROFILE select another file or profile)',
      'nothing was uploaded',
      ...(detail ? [detail] : []),
    ],
  });
}

/** gRPC UNAUTHENTICATED (16) or PERMISSION_DENIED (7), as the SDK's ClientError carries them. */
function isAuthRefusal(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 16 || code === 7;
}

async function readLines(stream: ReadableStream<string>, onLine: (line: string) => void): Promise<void> {
  const split = lineSplitter(onLine);
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    split.push(value);
  }
  split.end();
}

export class ModalSdkBackend implements GpuBackend {
  readonly description: string;
  #client: ModalClient | undefined;
  #app: App | undefined;
  #transfer: Sandbox | undefined;

  constructor(private readonly volumeName: string) {
    this.description = `modal (app ${APP_NAME}, volume ${volumeName} at ${VOLUME_MOUNT})`;
  }

  /** Present and accepted: the first call (the app lookup) is made here, before anything is uploaded. */
  async checkCredentials(): Promise<void> {
    const client = await this.#connect();
    try {
      this.#app ??= await client.apps.fromName(APP_NAME, { createIfMissing: true });
    } catch (err) {
      if (!isAuthRefusal(err)) throw err;
      throw credentialsError(err instanceof Error ? err.message : String(err), true);
    }
  }

  async #connect(): Promise<ModalClient> {
    if (this.#client) return this.#client;
    const { ModalClient } = await import('modal');
    let client: ModalClient;
    try {
      client = new ModalClient();
    } catch (err) {
      throw credentialsError(err instanceof Error ? err.message : String(err));
    }
    const p = client.profile;
    if (!(p.tokenId && p.tokenSecret) && !(p.oauthRefreshToken && p.oauthClientId)) {
      client.close();
      throw credentialsError();
    }
    this.#client = client;
    return client;
  }

  async #sandbox(req: SandboxRequest): Promise<Sandbox> {
    const client = await this.#connect();
    this.#app ??= await client.apps.fromName(APP_NAME, { createIfMissing: true });
    let image = client.images.fromRegistry(req.imageTag);
    if (req.dockerfileCommands.length) image = image.dockerfileCommands([...req.dockerfileCommands]);
    const volume = await client.volumes.fromName(req.volumeName, { createIfMissing: true });
    const secrets = await Promise.all(req.secretNames.map((n) => client.secrets.fromName(n)));
    return client.sandboxes.create(this.#app, image, { ...req.params, volumes: { [req.volumeMount]: volume }, ...(secrets.length ? { secrets } : {}) });
  }

  async #helper(): Promise<Sandbox> {
    this.#transfer ??= await this.#sandbox(transferRequest(this.volumeName));
    return this.#transfer;
  }

  /** Runs a shell snippet in the helper Sandbox; fails with its stderr on a non-zero exit. */
  async #sh(script: string): Promise<string> {
    const sb = await this.#helper();
    const proc = await sb.exec(['sh', '-c', script], { workdir: VOLUME_MOUNT });
    const [out, err, code] = await Promise.all([proc.stdout.readText(), proc.stderr.readText(), proc.wait()]);
    if (code !== 0) throw failure(`modal volume ${this.volumeName}: '${script}' exited with ${code}: ${err.trim()}`);
    return out;
  }

  async #flush(): Promise<void> {
    const sb = this.#transfer;
    this.#transfer = undefined;
    if (sb) await sb.terminate();
  }

  async list(dir: string): Promise<VolumeFile[]> {
    const d = shellQuote(dir || '.');
    const out = await this.#sh(`if [ -d ${d} ]; then find ${d} -type f -printf '%s\\t%P\\n'; fi`);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const tab = l.indexOf('\t');
        return { size: Number(l.slice(0, tab)), path: l.slice(tab + 1) };
      })
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async upload(localPath: string, volumePath: string): Promise<void> {
    const sb = await this.#helper();
    const dest = `${VOLUME_MOUNT}/${volumePath}`;
    const tmp = `${dest}.partial-${process.pid}`;
    await this.#sh(`mkdir -p "$(dirname ${shellQuote(dest)})"`);
    try {
      await sb.filesystem.copyFromLocal(localPath, tmp);
    } catch (err) {
      await this.#sh(`rm -f ${shellQuote(tmp)}`).catch(() => undefined);
      throw failure(`modal volume ${this.volumeName}: uploading ${localPath} failed: ${err instanceof Error ? err.message : String(err)}`, {
        notes: ['nothing was stored under its final name; rerun to upload what is missing'],
      });
    }
    // A partial or damaged upload never sits under its final content-hash name.
    const sha = /^objects\/([0-9a-f]{64})$/.exec(volumePath)?.[1];
    const check = sha ? `printf '%s  %s\\n' ${sha} ${shellQuote(tmp)} | sha256sum -c --status - && ` : '';
    await this.#sh(`${check}mv -f ${shellQuote(tmp)} ${shellQuote(dest)} || { rm -f ${shellQuote(tmp)}; exit 1; }`);
  }

  async download(volumePath: string, localPath: string): Promise<void> {
    const sb = await this.#helper();
    await sb.filesystem.copyToLocal(`${VOLUME_MOUNT}/${volumePath}`, localPath);
  }

  async remove(paths: readonly string[]): Promise<number> {
    if (!paths.length) return 0;
    const quoted = paths.map(shellQuote).join(' ');
    const out = await this.#sh(`for p in ${quoted}; do [ -e "$p" ] && find "$p" -type f -printf '%s\\n'; done; rm -rf ${quoted}`);
    await this.#flush();
    return out
      .split('\n')
      .filter(Boolean)
      .reduce((n, s) => n + Number(s), 0);
  }

  async run(job: JobSpec, onLine: (line: string) => void): Promise<number> {
    await this.#flush();
    const sb = await this.#sandbox(buildSandboxRequest(job, this.volumeName));
    const onAbort = (): void => void sb.terminate().catch(() => undefined);
    job.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const [, , code] = await Promise.all([readLines(sb.stdout, onLine), readLines(sb.stderr, onLine), sb.wait()]);
      return code;
    } finally {
      job.signal?.removeEventListener('abort', onAbort);
    }
  }

  async commit(): Promise<void> {
    await this.#flush();
  }

  async close(): Promise<void> {
    await this.#flush().catch(() => undefined);
    this.#client?.close();
    this.#client = undefined;
  }
}
