// `rallycut doctor`: re-hashes every object in the cache (on the hashing pool, with progress) and names
// the corrupt ones, with the locked outs that refer to them; then says which outside tools the stages
// would use (ffmpeg, onnxruntime, the database). Exit 1 when an object is corrupt or a tool unusable.
import { promises as fs } from 'node:fs';
import { ObjectCache, type StoredObject } from '../../cache/objects.js';
import { failure } from '../../diagnostics.js';
import { digestFiles, parseManifest, sha256Text } from '../../hash/index.js';
import { readLock } from '../../lock/lock.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { createProgress } from '../../format/progress.js';
import { optBool, type ParsedArgs } from '../../args.js';
import type { CommandIO, CommandSpec } from '../command.js';
import type { HandlerRegistry } from '../../handler-contract.js';

export interface DoctorProblem {
  sha256: string;
  isDir: boolean;
  path: string; // the object file
  problem: string;
  usedBy: string[]; // "stage: out path" from pipeline.lock
}

export interface DoctorResult {
  checked: number;
  bytes: number;
  problems: DoctorProblem[];
}

export async function checkCache(cacheDir: string, usedBy: ReadonlyMap<string, string[]> = new Map()): Promise<DoctorResult> {
  const objects = new ObjectCache(cacheDir);
  const all = await objects.list();
  const files = all.filter((o) => !o.isDir);
  const bytes = files.reduce((s, o) => s + o.size, 0);
  const problems: DoctorProblem[] = [];
  const report = (o: StoredObject, problem: string): void => {
    problems.push({ sha256: o.sha256, isDir: o.isDir, path: o.path, problem, usedBy: usedBy.get(o.sha256) ?? [] });
  };
  const progress = bytes > 50 * 1024 * 1024 ? createProgress('verifying cache', bytes, 'B') : undefined;
  let done = 0;
  const digests = await digestFiles(
    files.map((o) => ({ path: o.path, size: o.size })),
    (n) => progress?.update((done += n)),
    false,
  );
  progress?.done();
  const present = new Set(all.filter((o) => !o.isDir).map((o) => o.sha256));
  digests.forEach((d, i) => {
    const o = files[i]!;
    if ('error' in d) report(o, `unreadable: ${d.error}`);
    else if (d.sha256 !== o.sha256) report(o, `content hashes to ${d.sha256}`);
  });
  for (const o of all.filter((x) => x.isDir)) {
    const text = await fs.readFile(o.path, 'utf8');
    const got = sha256Text(text);
    if (got !== o.sha256) {
      report(o, `folder manifest hashes to ${got}`);
      continue;
    }
    try {
      const missing = parseManifest(text).filter((e) => !present.has(e.sha256));
      if (missing.length)
        report(
          o,
          `${missing.length} listed file(s) missing from the cache: ${missing
            .slice(0, 5)
            .map((e) => e.path)
            .join(', ')}`,
        );
    } catch (err) {
      report(o, `malformed folder manifest: ${(err as Error).message}`);
    }
  }
  return { checked: all.length, bytes, problems };
}

export function doctorCommand(registry?: HandlerRegistry): CommandSpec {
  return {
    path: ['doctor'],
    summary: 'Re-hash every cache object and report the corrupt ones; say which ffmpeg, onnxruntime and database are used',
    options: [
      { name: 'remove-corrupt', type: 'boolean', description: 'Delete corrupt objects so `repro` can rebuild them' },
      { name: 'json', type: 'boolean', description: 'Print a machine-readable result on stdout' },
    ],
    async run(args: ParsedArgs, io: CommandIO) {
      const root = requireProjectRoot(io.cwd);
      const lock = await readLock(root);
      const usedBy = new Map<string, string[]>();
      for (const [stage, entry] of Object.entries(lock.stages)) {
        for (const o of entry.outs) usedBy.set(o.sha256, [...(usedBy.get(o.sha256) ?? []), `${stage}: ${o.path}`]);
      }
      const cacheDir = cacheDirFor(root, io.env);
      const result = await checkCache(cacheDir, usedBy);
      const tools = (await registry?.tools?.({ cacheDir, env: io.env })) ?? [];
      const unusable = tools.filter((t) => !t.ok);
      const remove = optBool(args, 'remove-corrupt');
      if (remove) for (const p of result.problems) await fs.rm(p.path, { force: true });
      const json = optBool(args, 'json');
      // On failure the CLI prints {ok: false, errors} for --json itself; the notes then name every corrupt object.
      if (json) {
        if (!result.problems.length && !unusable.length) io.out(JSON.stringify({ ok: true, ...result, tools }, null, 2) + '\n');
      } else {
        for (const p of result.problems) {
          io.out(`corrupt ${p.sha256}${p.isDir ? '.dir' : ''}: ${p.problem}${p.usedBy.length ? ` (used by ${p.usedBy.join(', ')})` : ''}\n`);
        }
        io.out(`Checked ${result.checked} object(s); ${result.problems.length} corrupt${remove && result.problems.length ? ' (removed)' : ''}\n`);
        if (tools.length) io.out(`Tools:\n${tools.map((t) => `  ${t.name.padEnd(12)} ${t.ok ? 'ok     ' : 'UNUSABLE'} ${t.detail}\n`).join('')}`);
      }
      if (unusable.length && !result.problems.length) {
        throw failure(`${unusable.map((t) => t.name).join(', ')} unusable`, {
          notes: unusable.map((t) => `${t.name}: ${t.detail}${t.hint ? `; ${t.hint}` : ''}`),
        });
      }
      if (result.problems.length) {
        throw failure(`${result.problems.length} corrupt object(s) in the cache`, {
          notes: [
            ...result.problems
              .slice(0, json ? undefined : 20)
              .map((p) => `${p.sha256}${p.isDir ? '.dir' : ''}: ${p.problem}${p.usedBy.length ? ` (used by ${p.usedBy.join(', ')})` : ''}`),
            remove ? 'they were removed; `rallycut repro` rebuilds what the lock needs' : 'run `rallycut doctor --remove-corrupt`, then `rallycut repro`',
          ],
        });
      }
    },
  };
}
