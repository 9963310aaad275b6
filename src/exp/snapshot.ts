// Params and metrics of the user's checkout ("workspace") and of HEAD (`git show HEAD:path`), in the same
// shape as an experiment record, so show/diff treat all three alike.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { toPosix } from '../fsutil.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { loadPipeline } from '../pipeline/load.js';
import type { Pipeline } from '../pipeline/types.js';
import { readAll, readRecord, flattenScalars, type ExpRecord } from './records.js';
import type { HeadlineMetric } from './columns.js';

export interface Snapshot {
  readonly name: string;
  readonly kind: 'workspace' | 'head' | 'exp';
  readonly status?: string;
  readonly baseline?: string;
  readonly created?: string;
  readonly params: Record<string, unknown>;
  readonly metrics: Record<string, Record<string, number | string | boolean | null>>;
  readonly record?: ExpRecord;
}

function parseText(path: string, text: string): unknown {
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch {
    return undefined;
  }
}

export interface TrackedFiles {
  params: string[];
  metrics: string[];
  /** The metrics files' `headline:` keys, in pipeline order. */
  headline: HeadlineMetric[];
}

/**
 * The params files `params diff` compares: every YAML file under params/, and every other file the pipeline
 * takes values from (a stage's `params:` file, a `vars` file), wherever it sits in the project. DVC lists
 * both kinds too (tracked params, and the values `${}` used from vars files).
 */
export async function paramsFiles(root: string, pipeline: Pipeline | undefined): Promise<string[]> {
  const params = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (/\.ya?ml$/.test(e.name)) params.add(toPosix(relative(root, abs)));
    }
  };
  await walk(join(root, 'params'));
  for (const f of pipeline?.reads ?? []) params.add(f);
  for (const stage of pipeline?.stages.values() ?? []) for (const ref of stage.params) params.add(ref.file);
  return [...params].sort();
}

/** Lists params files (see paramsFiles), metrics files and their headline keys (from pipeline.yaml) of the checkout. */
export async function trackedFiles(root: string, registry: HandlerRegistry): Promise<TrackedFiles> {
  let pipeline: Pipeline | undefined;
  try {
    pipeline = await loadPipeline(root, registry, { checkDeps: false });
  } catch {
    // A broken pipeline.yaml still lets the params under params/ be compared.
  }
  const outs = [...(pipeline?.stages.values() ?? [])].flatMap((s) => s.outs.filter((o) => o.kind === 'metric'));
  const headline: HeadlineMetric[] = [];
  for (const o of outs) {
    for (const h of o.headline ?? []) if (!headline.some((x) => x.file === o.path && x.key === h.key)) headline.push({ file: o.path, ...h });
  }
  return { params: await paramsFiles(root, pipeline), metrics: [...new Set(outs.map((o) => o.path))].sort(), headline };
}

/** Files at a git revision in one `git cat-file --batch` call; undefined when the revision does not exist. */
async function readAtRev(root: string, rev: string, paths: readonly string[]): Promise<Map<string, string> | undefined> {
  const input = [rev, ...paths.map((p) => `${rev}:./${p}`)].join('\n') + '\n';
  const buf = await new Promise<Buffer | undefined>((resolve) => {
    const child = execFile('git', ['cat-file', '--batch'], { cwd: root, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 }, (err, stdout) =>
      resolve(err ? undefined : stdout),
    );
    // git may exit before reading all of stdin (not a repository, a broken index while another process
    // commits): the write then fails with EPIPE, and the exit status above already says so.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  });
  if (!buf) return undefined;
  const out = new Map<string, string>();
  let pos = 0;
  for (let i = 0; i <= paths.length; i++) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) return i === 0 ? undefined : out;
    const header = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      if (i === 0) return undefined;
      continue;
    }
    const size = Number(header.split(' ')[2]);
    if (i > 0) out.set(paths[i - 1]!, buf.subarray(pos, pos + size).toString('utf8'));
    pos += size + 1;
  }
  return out;
}

/** The checkout (rev undefined) or a git revision such as HEAD; undefined when git has no such revision. */
export async function snapshotAt(root: string, files: Pick<TrackedFiles, 'params' | 'metrics'>, rev?: string): Promise<Snapshot | undefined> {
  const all = [...files.params, ...files.metrics];
  let texts: Map<string, string | undefined>;
  if (rev) {
    const found = await readAtRev(root, rev, all);
    if (!found) return undefined;
    texts = found;
  } else texts = new Map(await Promise.all(all.map(async (f) => [f, await fs.readFile(join(root, f), 'utf8').catch(() => undefined)] as const)));
  const params: Record<string, unknown> = {};
  const metrics: Record<string, Record<string, number | string | boolean | null>> = {};
  for (const f of files.params) {
    const text = texts.get(f);
    if (text !== undefined) params[f] = parseText(f, text) ?? {};
  }
  for (const f of files.metrics) {
    const text = texts.get(f);
    const data = text === undefined ? undefined : parseText(f, text);
    if (data !== undefined) metrics[f] = flattenScalars(data);
  }
  return { name: rev ? rev : 'workspace', kind: rev ? 'head' : 'workspace', params, metrics };
}

export function fromRecord(rec: ExpRecord): Snapshot {
  return {
    name: rec.name,
    kind: 'exp',
    status: rec.status,
    ...(rec.baseline ? { baseline: rec.baseline } : {}),
    created: rec.created,
    params: rec.params,
    metrics: rec.metrics,
    record: rec,
  };
}

/** Resolves a name: "workspace", a git revision (HEAD, a sha, a branch) or an experiment. */
export async function resolveSnapshot(root: string, cacheDir: string, registry: HandlerRegistry, name: string): Promise<Snapshot> {
  const files = await trackedFiles(root, registry);
  if (name === 'workspace') return (await snapshotAt(root, files))!;
  const names = (await readAll(cacheDir)).map((r) => r.name);
  if (names.includes(name)) return fromRecord(await readRecord(cacheDir, name));
  const atRev = await snapshotAt(root, files, name);
  if (atRev) return atRev;
  return fromRecord(await readRecord(cacheDir, name)); // throws the "no experiment named" error
}

/** Flattens a snapshot's params to `file:key` → scalar (lists as JSON). Keys of the default file are bare. */
export function flatParams(params: Record<string, unknown>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const file of Object.keys(params).sort()) {
    const walk = (v: unknown, key: string): void => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        for (const k of Object.keys(v).sort()) walk((v as Record<string, unknown>)[k], key ? `${key}.${k}` : k);
      } else if (key) {
        const name = file === 'params/default.yaml' ? key : `${file}:${key}`;
        out[name] = Array.isArray(v) ? JSON.stringify(v) : (v as string | number | boolean | null);
      }
    };
    walk(params[file], '');
  }
  return out;
}

export function flatMetrics(metrics: Snapshot['metrics']): Record<string, number | string | boolean | null> {
  const out: Record<string, number | string | boolean | null> = {};
  for (const file of Object.keys(metrics).sort()) for (const [k, v] of Object.entries(metrics[file]!)) out[`${file}:${k}`] = v;
  return out;
}
