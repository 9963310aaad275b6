// `rallycut doctor`: re-hashes every object in the cache (on the hashing pool, with progress) and names
// the corrupt ones, with the locked outs that refer to them. Exit 1 when any is corrupt.
import { promises as fs } from 'node:fs';
import { ObjectCache, type StoredObject } from '../../cache/objects.js';
import { failure } from '../../diagnostics.js';
import { digestFiles, parseManifest, sha256Text } from '../../hash/index.js';
import { readLock } from '../../lock.js';
import { cacheDirFor, requireProjectRoot } from '../../project.js';
import { createProgress } from '../../report/progress.js';
import { optBool, type ParsedArgs } from '../args.js';
import type { CommandIO, CommandSpec } from '../command.js';

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
      if (missing.length) report(o, `${missing.length} listed file(s) missing from the cache: ${missing.slice(0, 5).map((e) => e.path).join(', ')}`);
    } catch (err) {
      report(o, `malformed folder manifest: ${(err as Error).message}`);
    }
  }
  return { checked: all.length, bytes, problems };
}

export function doctorCommand(): CommandSpec {
  return {
    path: ['doctor'],
    summary: 'Re-hash every cache object and report the corrupt ones',
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
      const result = await checkCache(cacheDirFor(root, io.env), usedBy);
      const remove = optBool(args, 'remove-corrupt');
      if (remove) for (const p of result.problems) await fs.rm(p.path, { force: true });
      const json = optBool(args, 'json');
      // On failure the CLI prints {ok: false, errors} for --json itself; the notes then name every corrupt object.
      if (json) {
        if (!result.problems.length) io.out(JSON.stringify({ ok: true, ...result }, null, 2) + '\n');
      } else {
        for (const p of result.problems) {
          io.out(`corrupt ${p.sha256}${p.isDir ? '.dir' : ''}: ${p.problem}${p.usedBy.length ? ` (used by ${p.usedBy.join(', ')})` : ''}\n`);
        }
        io.out(`Checked ${result.checked} object(s); ${result.problems.length} corrupt${remove && result.problems.length ? ' (removed)' : ''}\n`);
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
