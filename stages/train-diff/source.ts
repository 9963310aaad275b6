// Where `train diff` reads a version of a dataset: `WHERE[@REV]`. WHERE is a dataset name (the folder
// training_datasets/NAME of the project) or, when it holds a '/', a dataset folder's path. Without @REV the
// files as they are now; with it, as git has them at that revision (`git show REV:path`), so
// `beach_v4@HEAD~1`, `beach_v4@main`, `beach_v4@v1.2` all work. Dataset names never hold '@', so the first
// '@' starts the revision (which may hold more, as in HEAD@{2}).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { RallycutError, configError, toPosix } from '../../src/handler.js';
import { crossCheck, parseGroundTruth, parseManifest, readDataset } from '../lib/dataset/format.js';
import { DATASETS_DIR, GROUND_TRUTH_FILE, MANIFEST_FILE, checkDatasetName } from '../lib/dataset/layout.js';
import type { DatasetVersion } from './diff.js';

const run = promisify(execFile);

export interface VersionSpec {
  label: string;
  /** Absolute folder of the dataset. */
  dir: string;
  rev?: string;
}

export function parseVersionSpec(text: string, root: string, cwd: string): VersionSpec {
  const at = text.indexOf('@');
  const where = at < 0 ? text : text.slice(0, at);
  const rev = at < 0 ? undefined : text.slice(at + 1);
  if (rev !== undefined && (rev === '' || rev.startsWith('-')))
    throw configError(`'${text}': a revision must follow '@' (e.g. ${where || 'NAME'}@HEAD~1)`, { subject: text });
  if (where === '') throw configError(`'${text}': a dataset name or folder must come before '@'`, { subject: text });
  const dir = where.includes('/') || isAbsolute(where) ? resolve(cwd, where) : join(root, DATASETS_DIR, checkDatasetName(where));
  return { label: text, dir, ...(rev !== undefined ? { rev } : {}) };
}

async function gitShow(root: string, rev: string, path: string, spec: VersionSpec): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['show', `${rev}:./${path}`], { cwd: root, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw configError('git is not installed: a dataset at a revision needs it', { subject: spec.label });
    const text = (e.stderr ?? '').trim();
    if (/does not exist in|exists on disk, but not in/.test(text)) return undefined;
    if (/not a git repository/i.test(text))
      throw configError(`'${spec.label}': the project is not in a git repository, so it has no revisions`, { subject: spec.label });
    if (/invalid object name|unknown revision|bad revision|ambiguous argument/i.test(text))
      throw configError(`'${spec.label}': git knows no revision '${rev}'`, { subject: spec.label });
    if (/outside repository/i.test(text)) throw configError(`'${spec.label}': ${path} lies outside the git repository`, { subject: spec.label });
    throw configError(`'${spec.label}': git show failed: ${text.split('\n')[0] ?? e.message}`, { subject: spec.label });
  }
}

/** Reads and validates one version (the same checks as every other dataset command). */
export async function readVersion(spec: VersionSpec, root: string): Promise<DatasetVersion> {
  const shown = toPosix(relative(root, spec.dir)) || '.';
  if (spec.rev === undefined) {
    if (!existsSync(spec.dir)) throw configError(`no dataset '${spec.label}' (no folder ${shown})`, { subject: spec.label });
    const files = await readDataset(spec.dir, shown);
    return { label: spec.label, videos: files.manifest.videos, groundTruth: files.groundTruth };
  }
  const label = `${shown}@${spec.rev}`;
  const [manifestText, gtText] = await Promise.all([
    gitShow(root, spec.rev, `${shown}/${MANIFEST_FILE}`, spec),
    gitShow(root, spec.rev, `${shown}/${GROUND_TRUTH_FILE}`, spec),
  ]);
  if (manifestText === undefined || gtText === undefined) {
    throw new RallycutError({
      kind: 'config',
      message: `no dataset at revision ${spec.rev}: ${shown}/${manifestText === undefined ? MANIFEST_FILE : GROUND_TRUTH_FILE} is not in it`,
      subject: spec.label,
    });
  }
  const manifest = parseManifest(manifestText, `${label}/${MANIFEST_FILE}`);
  const groundTruth = parseGroundTruth(gtText, `${label}/${GROUND_TRUTH_FILE}`);
  crossCheck(manifest, groundTruth, `${label}/${GROUND_TRUTH_FILE}`);
  return { label: spec.label, videos: manifest.videos, groundTruth };
}
