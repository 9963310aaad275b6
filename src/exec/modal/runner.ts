// Runs a RemoteJob on a GpuBackend in three phases, each usable alone (the `train modal` CLI does):
// sync (upload the inputs the volume lacks, by content hash), attempts (run with retries and exponential
// backoff; the workdir persists, so a retried job resumes from its checkpoints) and fetch (download the
// outputs, verify each file against the hashes the job wrote, then move them into place atomically).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { failure, RallycutError } from '../../diagnostics.js';
import type { GpuBackend } from './backend.js';
import { jobDir, jobScript, OUTS_MANIFEST, parseOutsManifest, type RemoteJob } from './job.js';
import type { ModalSettings } from './options.js';
import { sleep } from '../../sleep.js';
import { acquireLockFile, type FileLock } from '../../lockfile.js';

export const DEFAULT_BACKOFF_MS = 1000;

export interface RunnerOptions {
  readonly log: (line: string) => void;
  /** Subject of errors: the stage or command name. */
  readonly subject: string;
  readonly signal: AbortSignal;
  /** First retry delay; doubles for each later one. */
  readonly backoffMs?: number;
  /** Called before each attempt's Sandbox starts; throws to refuse it (a sandbox budget). */
  readonly admit?: () => void;
  /**
   * A local folder of per-object lock files shared by every run that uploads to this volume from this
   * machine (the cache's), so concurrent runs (an `exp run -j` sweep) upload each content once.
   */
  readonly uploadLocks?: string;
}

export interface SyncResult {
  readonly uploaded: number;
  readonly present: number;
  readonly bytes: number;
  readonly hashes: ReadonlyMap<string, string>;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Whether another run marked `sha` stored after `listedAt` (2 s of slack for coarse file times: a mark made
 * before our listing means the object was committed before it, so the listing, not the mark, is the truth).
 */
async function storedSince(dir: string, sha: string, listedAt: number): Promise<boolean> {
  const st = await fs.stat(join(dir, `${sha}.stored`)).catch(() => undefined);
  return st !== undefined && st.mtimeMs >= listedAt - 2000;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export class ModalJobRunner {
  constructor(
    readonly backend: GpuBackend,
    readonly settings: ModalSettings,
    private readonly opts: RunnerOptions,
  ) {}

  /** Uploads the inputs whose content is not yet in objects/ (one listing, then only the missing ones). */
  async sync(job: RemoteJob): Promise<SyncResult> {
    const hashes = new Map<string, string>();
    const sizes = new Map<string, { local: string; size: number }>();
    for (const input of job.inputs) {
      const st = await fs.stat(input.local).catch(() => undefined);
      if (!st?.isFile()) throw failure(`input ${input.local} is missing`, { subject: this.opts.subject, file: input.local });
      const sha = input.sha256 ?? (await sha256File(input.local));
      hashes.set(input.path, sha);
      sizes.set(sha, { local: input.local, size: st.size });
    }
    const listedAt = Date.now();
    const present = new Set((await this.backend.list('objects')).map((f) => f.path));
    let missing = [...sizes.keys()].filter((sha) => !present.has(sha)).sort();
    let bytes = 0;
    const locks: FileLock[] = [];
    const uploaded: string[] = [];
    try {
      if (missing.length && this.opts.uploadLocks) {
        // Sorted order, so two runs wanting overlapping sets never wait on each other in a cycle.
        await fs.mkdir(this.opts.uploadLocks, { recursive: true });
        let told = false;
        const onWait = (): void => {
          if (!told) this.opts.log(`waiting for another run uploading to volume ${this.settings.volume}`);
          told = true;
        };
        for (const sha of missing) locks.push(await acquireLockFile(join(this.opts.uploadLocks, `${sha}.lock`), { signal: this.opts.signal, onWait }));
        // Stored (and committed) by another run of this machine since we listed: present now.
        const since = await Promise.all(missing.map((sha) => storedSince(this.opts.uploadLocks!, sha, listedAt)));
        missing = missing.filter((_, i) => !since[i]);
      }
      for (const sha of missing) {
        if (this.opts.signal.aborted) throw failure('interrupted while uploading', { subject: this.opts.subject });
        const { local, size } = sizes.get(sha)!;
        // Check the bytes that travel against the hash they will be stored under.
        if (job.inputs.find((i) => i.local === local)?.sha256 && (await sha256File(local)) !== sha) {
          throw failure(`${local} changed since its hash was recorded; rerun the stage that made it`, { subject: this.opts.subject, file: local });
        }
        await this.backend.upload(local, `objects/${sha}`);
        uploaded.push(sha);
        bytes += size;
      }
      if (locks.length && uploaded.length) {
        // Committed, then marked, before the locks go: a run that takes a lock next finds the mark.
        await this.backend.commit();
        for (const sha of uploaded) await fs.writeFile(join(this.opts.uploadLocks!, `${sha}.stored`), '');
      }
    } finally {
      for (const l of locks) await l.release();
    }
    this.opts.log(
      `uploaded ${missing.length} object${missing.length === 1 ? '' : 's'} (${mb(bytes)}); ${sizes.size - missing.length} already on volume ${this.settings.volume}`,
    );
    return { uploaded: missing.length, present: sizes.size - missing.length, bytes, hashes };
  }

  /** Runs the job until an attempt exits 0, at most 1 + retries times. */
  async attempts(job: RemoteJob, hashes: ReadonlyMap<string, string>): Promise<void> {
    const s = this.settings;
    const total = s.retries + 1;
    const notes: string[] = [];
    const base = this.opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    for (let n = 1; n <= total; n++) {
      // Only the first attempt cleans (e.g. --fresh); later ones must resume from what the first left.
      const script = jobScript(n === 1 ? job : { ...job, clean: [] }, hashes);
      this.opts.admit?.();
      const started = Date.now();
      let reason: string;
      try {
        const code = await this.backend.run(
          {
            script,
            env: { ...s.env, ...(job.env ?? {}), ...(s.gpu ? { RALLYCUT_GPU: s.gpu } : {}), RALLYCUT_ATTEMPT: String(n) },
            image: s.image,
            ...(s.gpu ? { gpu: s.gpu } : {}),
            timeoutMs: s.timeoutMs,
            ...(s.memoryMiB !== undefined ? { memoryMiB: s.memoryMiB } : {}),
            ...(s.cpu !== undefined ? { cpu: s.cpu } : {}),
            secrets: s.secrets,
            signal: this.opts.signal,
          },
          (line) => this.opts.log(line),
        );
        if (code === 0) {
          if (n > 1) this.opts.log(`attempt ${n} of ${total} succeeded`);
          return;
        }
        reason = code === 137 ? 'killed (exit 137: preempted or out of memory)' : `exited with code ${code}`;
      } catch (err) {
        if (err instanceof RallycutError && err.diagnostics.some((d) => d.kind === 'config')) throw err;
        reason = `crashed: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (this.opts.signal.aborted) throw failure('interrupted', { subject: this.opts.subject, notes });
      notes.push(`attempt ${n}: ${reason} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (n < total) {
        const delay = base * 2 ** (n - 1);
        this.opts.log(`attempt ${n} of ${total} ${reason}; retrying in ${(delay / 1000).toFixed(2)} s from the checkpoints in ${jobDir(job.name)}`);
        await sleep(delay, this.opts.signal);
      }
    }
    throw failure(`'${job.name}' failed on ${this.backend.description} after ${total} attempt${total === 1 ? '' : 's'}`, {
      subject: this.opts.subject,
      notes: [...notes, `the job folder ${jobDir(job.name)} on volume ${s.volume} keeps its checkpoints; rerun to resume`],
    });
  }

  /** The whole job: upload what is missing, run with retries, bring the outputs back verified. */
  async run(job: RemoteJob): Promise<void> {
    const { hashes } = await this.sync(job);
    await this.attempts(job, hashes);
    await this.fetch(job);
  }

  /** Downloads every output, verifies each file against the job's hash manifest, then swaps it into place. */
  async fetch(job: RemoteJob): Promise<{ files: number; bytes: number }> {
    const dir = jobDir(job.name);
    const stage = join(dirname(job.outputs[0]?.local ?? '.'), `.rallycut-tmp-fetch-${randomBytes(4).toString('hex')}`);
    try {
      await this.backend.download(`${dir}/${OUTS_MANIFEST}`, join(stage, 'manifest'));
    } catch {
      throw failure(`no finished run of '${job.name}' on volume ${this.settings.volume} (${dir}/${OUTS_MANIFEST} is missing)`, {
        subject: this.opts.subject,
        notes: ['run the job first; the manifest is written only when the command exits 0'],
      });
    }
    const manifest = parseOutsManifest(await fs.readFile(join(stage, 'manifest'), 'utf8'));
    let files = 0;
    let bytes = 0;
    const bad: string[] = [];
    try {
      for (const [k, out] of job.outputs.entries()) {
        const entries = [...manifest].filter(([p]) => p === out.path || p.startsWith(`${out.path}/`));
        if (!entries.length && out.merge) continue;
        if (!entries.length)
          throw failure(`the job produced no '${out.path}'`, {
            subject: this.opts.subject,
            notes: [`expected under ${dir} on volume ${this.settings.volume}`],
          });
        const tmp = join(stage, String(k));
        for (const [p, sha] of entries) {
          const rel = p === out.path ? '' : p.slice(out.path.length + 1);
          const local = rel ? join(tmp, rel) : tmp;
          await this.backend.download(`${dir}/${p}`, local);
          const got = await sha256File(local);
          if (got !== sha) bad.push(`${p}: sha256 ${got.slice(0, 12)}… but the job recorded ${sha.slice(0, 12)}…`);
          files++;
          bytes += (await fs.stat(local)).size;
        }
      }
      if (bad.length)
        throw failure(`${bad.length} downloaded file${bad.length === 1 ? '' : 's'} of '${job.name}' did not match the hashes the job wrote`, {
          subject: this.opts.subject,
          notes: [...bad, 'nothing was replaced locally'],
        });
      for (const [k, out] of job.outputs.entries()) {
        if (out.merge) {
          await mergeInto(join(stage, String(k)), out.local);
          continue;
        }
        await fs.rm(out.local, { recursive: true, force: true });
        await fs.mkdir(dirname(out.local), { recursive: true });
        await fs.rename(join(stage, String(k)), out.local);
      }
    } finally {
      await fs.rm(stage, { recursive: true, force: true });
    }
    this.opts.log(`downloaded and verified ${files} file${files === 1 ? '' : 's'} (${mb(bytes)})`);
    return { files, bytes };
  }

  /** Deletes the uploaded objects and the job folders from the volume; returns the bytes freed. */
  async cleanup(paths: readonly string[] = ['objects', 'work']): Promise<number> {
    return this.backend.remove(paths);
  }
}

/** Moves each file of a downloaded folder into `dest` on its own (a content store keeps its other files). */
async function mergeInto(from: string, dest: string): Promise<void> {
  const entries = await fs.readdir(from, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const src = join(from, e.name);
    if (e.isDirectory()) await mergeInto(src, join(dest, e.name));
    else {
      await fs.mkdir(dest, { recursive: true });
      await fs.rename(src, join(dest, e.name));
    }
  }
}
