// Any handler stage as a remote job: its run() executes in a Node image from the bundled CLI (dist/cli),
// through `rallycut stage-run`. What travels, by content hash (only what the volume lacks is uploaded): the
// CLI's files as one archive (app-archive.ts), the stage's deps, the content-store files the handler reads
// (StageHandler.remoteIO) and a small spec of the stage. What comes back, verified by sha256: the declared
// outs, and the new files of the store folders the handler fills, merged into the local stores.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { configError, failure } from '../../diagnostics.js';
import type { RegisteredHandler, RemoteInput, RemoteJob, RemoteOutput, StageContext } from '../../handler-contract.js';
import { installRoot } from '../../install.js';
import { appArchive } from './app-archive.js';
import { isInside } from '../../fsutil.js';
import type { Stage } from '../../pipeline/types.js';
import { stableJson } from '../../format/printer.js';
import { NODE_PACKAGES_DIR } from './backend.js';
import { shellQuote } from './request.js';
import { cmdJobName, filesUnder as filesUnderOrThrow } from './job.js';

export const NODE_IMAGE = 'node:20-bookworm';
/** The remote cache folder, relative to the job's workdir (the project's mirror). */
export const REMOTE_CACHE = '.cache';
export const STAGE_SPEC = '.rallycut/stage.json';
export const APP_ARCHIVE = '.rallycut/app.tar';
/** Packages the bundle inlines (scripts/bundle.mjs INLINED): not needed in the image. */
const INLINED = new Set(['yaml', '@dagrejs/graphlib']);

/** What `rallycut stage-run` reads: one handler stage, as the engine resolved it. */
export interface StageSpec {
  readonly stage: string;
  readonly handler: string;
  readonly with: unknown;
  readonly params: Readonly<Record<string, unknown>>;
  /** Project-relative, posix. */
  readonly deps: readonly string[];
  readonly outs: readonly string[];
  readonly wdir: string;
  readonly jobs: number;
}

/** A missing dep or folder contributes no files here; the stage itself reports what it lacks. */
const filesUnder = (abs: string): Promise<string[]> => filesUnderOrThrow(abs, true);

const posixRel = (from: string, to: string): string => relative(from, to).split(sep).join('/');

/**
 * The files of this installation the remote CLI needs: package.json and bin/ (how the CLI finds its
 * install root), the bundle, the compiled modules workers load by path, and the shipped weights.
 */
export async function appFiles(root = installRoot()): Promise<string[]> {
  const cli = join(root, 'dist', 'cli', 'rallycut.mjs');
  if (!existsSync(cli)) {
    throw configError(`the bundled CLI ${cli} is missing: a handler stage runs remotely from it`, { subject: 'modal', notes: ["run 'npm run build' first"] });
  }
  const js = (f: string): boolean => f.endsWith('.js') || f.endsWith('.mjs') || f.endsWith('.cjs') || f.endsWith('.json');
  const files = [join(root, 'package.json'), join(root, 'bin', 'rallycut'), join(root, 'bin', 'package.json')];
  files.push(...(await filesUnder(join(root, 'dist', 'cli'))));
  for (const dir of ['src', 'stages']) files.push(...(await filesUnder(join(root, 'dist', dir))).filter(js));
  files.push(...(await filesUnder(join(root, 'weights'))));
  return files.filter((f) => existsSync(f));
}

/** name@version of every runtime dependency the bundle leaves external, as installed here. */
export function runtimePackages(root = installRoot()): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {})
    .filter((name) => !INLINED.has(name))
    .map((name) => {
      const installed = join(root, 'node_modules', name, 'package.json');
      const version = existsSync(installed) ? (JSON.parse(readFileSync(installed, 'utf8')) as { version?: string }).version : undefined;
      return `${name}@${version ?? pkg.dependencies![name]!}`;
    })
    .sort();
}

/** A local file → where the job sees it: project files keep their path, cache files go under .cache/. */
function jobPathOf(ctx: StageContext, abs: string, what: string): string {
  if (isInside(ctx.cacheDir, abs)) return `${REMOTE_CACHE}/${posixRel(ctx.cacheDir, abs)}`;
  if (isInside(ctx.root, abs)) return posixRel(ctx.root, abs);
  throw failure(`${what} ${abs} lies outside the project and its cache folder; it cannot travel to a remote executor`, { subject: ctx.stage });
}

/** The job for one handler stage; the spec file is written under the cache's tmp folder and uploaded. */
export async function handlerJob(stage: Stage, handler: RegisteredHandler, params: unknown, ctx: StageContext): Promise<RemoteJob> {
  if (stage.action.kind !== 'handler') throw new Error('handlerJob needs a handler stage');
  const io = handler.remoteIO ? await handler.remoteIO(ctx, params) : { inputs: [], stores: [] };
  const inputs: RemoteInput[] = [];
  const seen = new Set<string>();
  const add = (local: string, path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    inputs.push({ local, path });
  };
  const app = installRoot();
  const archive = await appArchive(ctx.cacheDir, app, await appFiles(app));
  inputs.push({ local: archive.path, path: APP_ARCHIVE, sha256: archive.sha256 });
  for (const dep of stage.deps) for (const f of await filesUnder(join(ctx.root, dep))) add(f, jobPathOf(ctx, f, 'dep'));
  for (const f of io.inputs) add(f, jobPathOf(ctx, f, 'input'));

  const spec: StageSpec = {
    stage: stage.name,
    handler: stage.action.handler,
    with: stage.action.with ?? {},
    params: ctx.params,
    deps: stage.deps,
    outs: stage.outs.map((o) => o.path),
    wdir: stage.wdir,
    jobs: ctx.jobs,
  };
  const specFile = join(ctx.cacheDir, 'tmp', 'stage-specs', `${stage.name.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  await fs.mkdir(join(ctx.cacheDir, 'tmp', 'stage-specs'), { recursive: true });
  await fs.writeFile(specFile, stableJson(spec));
  add(specFile, STAGE_SPEC);

  const stores = io.stores.map((s) => `${REMOTE_CACHE}/${s.split(sep).join('/')}`);
  const outputs: RemoteOutput[] = [
    ...stage.outs.map((o) => ({ path: o.path, local: join(ctx.root, o.path) })),
    ...io.stores.map((s, i) => ({ path: stores[i]!, local: join(ctx.cacheDir, s), merge: true })),
  ];
  // The app is unpacked fresh each attempt; the image's npm packages are linked in as its node_modules.
  const command = [
    'rm -rf .rallycut/app',
    'mkdir -p .rallycut/app',
    `tar -xf ${APP_ARCHIVE} -C .rallycut/app`,
    `ln -s ${NODE_PACKAGES_DIR}/node_modules .rallycut/app/node_modules`,
    `node .rallycut/app/bin/rallycut stage-run ${shellQuote(STAGE_SPEC)}`,
  ].join(' && ');
  return {
    name: cmdJobName(stage.name, ctx.root),
    inputs,
    command,
    env: { RALLYCUT_PROGRESS: '0', RALLYCUT_DAEMON: '0' },
    outputs,
    clean: [...stage.outs.map((o) => o.path), ...stores],
    resources: { image: NODE_IMAGE, npm: runtimePackages(app), ...(io.resources ?? {}) },
  };
}
