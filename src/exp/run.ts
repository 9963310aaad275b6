// Running experiments: queue records, run one in its workspace against the shared cache (in-process), and
// run a queue N at a time as separate `rallycut exp exec NAME` processes.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { toDiagnostics } from '../diagnostics.js';
import { writeFileAtomic } from '../fsutil.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { installedPath } from '../install.js';
import { readLock } from '../lock/lock.js';
import { applyOverrides, type ParamOverride } from '../params/params.js';
import { loadPipeline } from '../pipeline/load.js';
import { collectProjectData } from '../report/data.js';
import { reproduce, resultError } from '../exec/reproduce.js';
import type { SessionIO } from '../exec/session.js';
import { configError } from '../diagnostics.js';
import { currentOwner } from '../process.js';
import { checkName, createRecord, expsDir, flattenScalars, freshName, readRecord, recordPath, workspacesDir, writeRecord, type ExpRecord } from './records.js';
import { createWorkspace, headCommit, workspaceRoot } from './workspace.js';
import { paramsFiles, snapshotAt } from './snapshot.js';
import { redactorFor } from '../redact.js';
import type { Placement } from '../exec/placement.js';

export async function queueExperiments(
  root: string,
  cacheDir: string,
  sets: readonly (readonly ParamOverride[])[],
  name?: string,
  placement?: Placement,
): Promise<ExpRecord[]> {
  const baseline = await headCommit(root);
  const taken = new Set<string>();
  const recs: ExpRecord[] = [];
  for (let i = 0; i < sets.length; i++) {
    const n = name ? checkName(sets.length > 1 ? `${name}-${i + 1}` : name) : await freshName(cacheDir, taken);
    taken.add(n);
    const rec: ExpRecord = {
      name: n,
      status: 'queued',
      ...(baseline ? { baseline } : {}),
      overrides: sets[i]!,
      ...(placement ? { placement } : {}),
      params: {},
      metrics: {},
      lock: null,
      created: new Date().toISOString(),
    };
    // Created exclusively: of several `exp run -n same` started at once, exactly one gets the name.
    if (!(await createRecord(cacheDir, rec))) {
      await Promise.all(recs.map((r) => fs.rm(recordPath(cacheDir, r.name), { force: true })));
      throw configError(`experiment '${n}' already exists`, {
        subject: n,
        file: expsDir(cacheDir),
        notes: ["pick another -n, or 'rallycut exp remove' it first"],
      });
    }
    recs.push(rec);
  }
  return recs;
}

/** Runs one recorded experiment to completion (success or failed) and returns its final record. */
export async function runExperiment(root: string, cacheDir: string, registry: HandlerRegistry, name: string, io: SessionIO, jobs?: number): Promise<ExpRecord> {
  const rec = await readRecord(cacheDir, name);
  const dir = join(workspacesDir(cacheDir), name);
  rec.status = 'running';
  rec.started = new Date().toISOString();
  rec.workspace = dir;
  rec.owner = currentOwner();
  await writeRecord(cacheDir, rec);
  try {
    await createWorkspace(root, dir, cacheDir);
    const ws = await workspaceRoot(root, dir);
    for (const f of await applyOverrides(ws, rec.overrides)) await writeFileAtomic(join(ws, f.file), f.text);
    const env = { ...io.env, RALLYCUT_CACHE_DIR: cacheDir };
    const prefix = (t: string): string => t.replace(/^(?=.)/gm, `[${name}] `);
    const result = await reproduce(
      ws,
      registry,
      { ...(jobs ? { jobs } : {}), ...(rec.placement ? { placement: rec.placement } : {}) },
      { env, signal: io.signal, err: (t) => io.err(prefix(t)), board: io.board },
    );
    await collectResults(ws, registry, rec, cacheDir);
    const err = resultError(result);
    if (err) {
      rec.status = 'failed';
      rec.error = redactorFor(io.env)(err.diagnostics.map((d) => d.message).join('; '));
    } else rec.status = 'success';
  } catch (err) {
    rec.status = 'failed';
    rec.error = redactorFor(io.env)(
      toDiagnostics(err)
        .map((d) => d.message)
        .join('; '),
    ); // stored: no secrets
  }
  rec.finished = new Date().toISOString();
  await writeRecord(cacheDir, rec);
  return rec;
}

async function collectResults(ws: string, registry: HandlerRegistry, rec: ExpRecord, cacheDir: string): Promise<void> {
  const loaded = await loadPipeline(ws, registry, { checkDeps: false, cacheDir }).then(
    (pipeline) => ({ pipeline }),
    (error: unknown) => ({ error }),
  );
  // The same files `params diff` reads in a checkout, so an experiment compares with it key for key.
  rec.params = (await snapshotAt(ws, { params: await paramsFiles(ws, 'pipeline' in loaded ? loaded.pipeline : undefined), metrics: [] }))?.params ?? {};
  rec.lock = await readLock(ws).catch(() => null);
  if (!('pipeline' in loaded)) throw loaded.error;
  const { pipeline } = loaded;
  const data = await collectProjectData(ws, pipeline, registry);
  rec.metrics = Object.fromEntries(Object.entries(data.metrics).map(([file, v]) => [file, flattenScalars(v)]));
  rec.charts = { curves: data.curves, videos: data.videos };
}

export interface QueueIO extends SessionIO {
  cwd: string;
}

/** Runs the named queued experiments, `jobs` processes at a time; resolves with the final records. */
export async function runQueue(root: string, cacheDir: string, names: readonly string[], jobs: number, io: QueueIO): Promise<ExpRecord[]> {
  const bin = installedPath('bin', 'rallycut');
  const pending = [...names];
  const runChild = (name: string): Promise<void> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, 'exp', 'exec', name], {
        cwd: root,
        env: { ...io.env, RALLYCUT_CACHE_DIR: cacheDir },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr.on('data', (d: Buffer) => io.err(d.toString()));
      const onAbort = (): void => void child.kill('SIGINT');
      io.signal.addEventListener('abort', onAbort, { once: true });
      child.on('close', () => {
        io.signal.removeEventListener('abort', onAbort);
        resolve();
      });
      child.on('error', () => resolve());
    });
  const worker = async (): Promise<void> => {
    for (let name = pending.shift(); name !== undefined && !io.signal.aborted; name = pending.shift()) await runChild(name);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, names.length)) }, worker));
  const out: ExpRecord[] = [];
  for (const n of names) {
    const rec = await readRecord(cacheDir, n);
    // A child that died before recording its end (killed, crashed) must not stay "running" forever.
    if (rec.started !== undefined && rec.finished === undefined) {
      rec.status = 'failed';
      rec.error = io.signal.aborted ? 'interrupted' : (rec.error ?? 'the experiment process exited without recording a result');
      rec.finished = new Date().toISOString();
      await writeRecord(cacheDir, rec);
    }
    out.push(rec);
  }
  return out;
}
