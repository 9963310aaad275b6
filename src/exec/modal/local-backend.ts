// LOCAL STAND-IN FOR MODAL'S CLOUD — not Modal. Used by tests and selected only by
// RALLYCUT_MODAL_BACKEND=local. The "volume" is a folder, <cacheDir>/modal-local/<volume>/, and a job's
// script runs on this machine with /bin/sh, in that folder, with RALLYCUT_VOLUME pointing at it (the same
// variable that is /data on Modal), so job scripts are identical on both backends. Image, GPU, memory and
// secrets cannot be honoured here; they are reported once per job so nobody mistakes this for the cloud.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { failure } from '../../diagnostics.js';
import { isInside, tempPathFor } from '../../fsutil.js';
import type { GpuBackend, JobSpec, VolumeFile } from './backend.js';
import { lineSplitter } from '../lines.js';

export const LOCAL_BACKEND_LABEL = 'local stand-in for Modal';

function hostBasics(): Record<string, string> {
  const keep: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TMPDIR']) if (process.env[k]) keep[k] = process.env[k]!;
  return keep;
}

async function walk(dir: string, base: string, out: VolumeFile[]): Promise<void> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, base, out);
    else if (e.isFile()) out.push({ path: relative(base, p).split(sep).join('/'), size: (await fs.stat(p)).size });
  }
}

export class LocalStandInBackend implements GpuBackend {
  readonly description: string;

  constructor(readonly volumeRoot: string) {
    this.description = `${LOCAL_BACKEND_LABEL} (volume folder ${volumeRoot}; not Modal's cloud)`;
  }

  #abs(volumePath: string): string {
    const p = join(this.volumeRoot, volumePath);
    if (p !== this.volumeRoot && !isInside(this.volumeRoot, p)) throw failure(`volume path '${volumePath}' escapes the volume`);
    return p;
  }

  async commit(): Promise<void> {
    // A folder: every write is visible at once.
  }

  async checkCredentials(): Promise<void> {
    // The stand-in needs none.
  }

  async list(dir: string): Promise<VolumeFile[]> {
    const root = this.#abs(dir);
    const out: VolumeFile[] = [];
    await walk(root, root, out);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async upload(localPath: string, volumePath: string): Promise<void> {
    const dest = this.#abs(volumePath);
    await fs.mkdir(dirname(dest), { recursive: true });
    const tmp = tempPathFor(dest);
    await fs.copyFile(localPath, tmp);
    await fs.rename(tmp, dest);
  }

  async download(volumePath: string, localPath: string): Promise<void> {
    await fs.mkdir(dirname(localPath), { recursive: true });
    await fs.copyFile(this.#abs(volumePath), localPath);
  }

  async remove(paths: readonly string[]): Promise<number> {
    let freed = 0;
    for (const p of paths) {
      const abs = this.#abs(p);
      const st = await fs.stat(abs).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        const files: VolumeFile[] = [];
        await walk(abs, abs, files);
        freed += files.reduce((n, f) => n + f.size, 0);
      } else freed += st.size;
      await fs.rm(abs, { recursive: true, force: true });
    }
    return freed;
  }

  async run(job: JobSpec, onLine: (line: string) => void): Promise<number> {
    await fs.mkdir(this.volumeRoot, { recursive: true });
    const wanted = [job.image.base, ...job.image.pip].join(' ');
    onLine(
      `(${LOCAL_BACKEND_LABEL}: runs on this machine; Modal would use gpu ${job.gpu ?? 'none'}, image ${wanted}` +
        `${job.memoryMiB ? `, ${job.memoryMiB} MiB` : ''}${job.secrets.length ? `, secrets ${job.secrets.join(',')}` : ''})`,
    );
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', job.script], {
        cwd: this.volumeRoot,
        // Like a container, the job sees only its own variables (plus what a shell needs to find python3).
        env: { ...hostBasics(), ...job.env, RALLYCUT_VOLUME: this.volumeRoot },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const out = lineSplitter(onLine);
      const err = lineSplitter(onLine);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      const timer = setTimeout(() => child.kill('SIGKILL'), job.timeoutMs);
      const onAbort = (): void => void child.kill('SIGTERM');
      job.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(failure(`${LOCAL_BACKEND_LABEL}: could not start /bin/sh: ${e.message}`));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        job.signal?.removeEventListener('abort', onAbort);
        out.end();
        err.end();
        // Like a container runtime: a process killed by signal N exits 128 + N.
        const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2 };
        resolve(code ?? 128 + (sig ? (signals[sig] ?? 1) : 1));
      });
    });
  }

  async close(): Promise<void> {}
}
