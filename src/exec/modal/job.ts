// A RemoteJob is what runs on the GPU backend: files to bring, a command, files to bring back. cmd: stages
// get one derived from the stage (deriveCmdJob); handler stages supply one through StageHandler.remoteJob.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import type { Stage } from '../../pipeline/types.js';
import type { RemoteInput, RemoteJob } from '../../handler-contract.js';
import { shellQuote } from './request.js';

export type { RemoteInput, RemoteJob, RemoteOutput } from '../../handler-contract.js';

export const OUTS_MANIFEST = '.rallycut/outs.sha256';

export function jobDir(name: string): string {
  return `work/${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** Checks a job-relative path: posix, relative, no '..'. */
export function checkJobPath(p: string): string {
  const n = posix.normalize(p);
  if (!n || n === '.' || n.startsWith('/') || n === '..' || n.startsWith('../'))
    throw new Error(`job path '${p}' must be relative and stay inside the job folder`);
  return n;
}

/** The files under a path, sorted (the path itself when it is a file); a missing path throws unless missingOk. */
export async function filesUnder(abs: string, missingOk = false): Promise<string[]> {
  const st = await fs.stat(abs).catch((err: unknown) => {
    if (missingOk) return undefined;
    throw err;
  });
  if (!st) return [];
  if (!st.isDirectory()) return [abs];
  const out: string[] = [];
  for (const e of await fs.readdir(abs, { withFileTypes: true })) {
    const p = join(abs, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p, missingOk)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * The job folder of a cmd: stage: its name plus a hash of the workspace, so the same stage of two
 * experiments (or two clones) running at once on one volume never share a folder.
 */
export function cmdJobName(stage: string, root: string): string {
  return `${stage}-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`;
}

/** A cmd: stage as a job: deps (files or folders) keep their project paths; commands run in the wdir. */
export async function deriveCmdJob(stage: Stage, root: string): Promise<RemoteJob> {
  if (stage.action.kind !== 'cmd') throw new Error('deriveCmdJob needs a cmd: stage');
  const inputs: RemoteInput[] = [];
  for (const dep of stage.deps) {
    for (const file of await filesUnder(join(root, dep))) inputs.push({ local: file, path: relative(root, file).split(sep).join('/') });
  }
  const cd = stage.wdir && stage.wdir !== '.' ? `cd ${shellQuote(stage.wdir)} && ` : '';
  return {
    name: cmdJobName(stage.name, root),
    inputs,
    // As locally, a run starts without the outs of an earlier one (a stale out would be fetched as new).
    clean: stage.outs.filter((o) => !o.persist).map((o) => o.path),
    command: cd + stage.action.commands.map((c) => `(${c})`).join(' && '),
    outputs: stage.outs.map((o) => ({ path: o.path, local: join(root, o.path) })),
  };
}

/**
 * The script run on the backend: link inputs from the content-addressed objects into the workdir (stale links
 * from earlier runs go first; everything else, like checkpoints, stays), run the command, then hash every
 * output file into OUTS_MANIFEST so the download can be verified.
 */
export function jobScript(job: RemoteJob, hashes: ReadonlyMap<string, string>): string {
  const q = shellQuote;
  const lines = ['set -e', `W="$RALLYCUT_VOLUME/${jobDir(job.name)}"`, 'mkdir -p "$W" && cd "$W"', 'find . -type l -delete', `rm -f ${OUTS_MANIFEST}`];
  for (const c of job.clean ?? []) lines.push(`rm -rf ${q(checkJobPath(c))}`);
  const dirs = new Set(job.inputs.map((i) => posix.dirname(checkJobPath(i.path))).filter((d) => d !== '.'));
  if (dirs.size) lines.push(`mkdir -p ${[...dirs].sort().map(q).join(' ')}`);
  for (const i of job.inputs) lines.push(`ln -sfn "$RALLYCUT_VOLUME/objects/${hashes.get(i.path)}" ${q(checkJobPath(i.path))}`);
  lines.push(
    'set +e',
    `sh -c ${q(job.command)}`,
    'code=$?',
    'if [ "$code" -ne 0 ]; then exit "$code"; fi',
    'mkdir -p .rallycut',
    `find ${job.outputs.map((o) => q(checkJobPath(o.path))).join(' ')} -type f 2>/dev/null | LC_ALL=C sort | xargs -r -d '\\n' sha256sum > ${OUTS_MANIFEST}.tmp && mv ${OUTS_MANIFEST}.tmp ${OUTS_MANIFEST}`,
  );
  return lines.join('\n') + '\n';
}

/** Parses `sha256sum` output: path → hash. */
export function parseOutsManifest(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match) m.set(posix.normalize(match[2]!), match[1]!);
  }
  return m;
}
