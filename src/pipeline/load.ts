// Loads pipeline.yaml into a resolved Pipeline. An unchanged pipeline (same pipeline.yaml text, same texts
// of every params/vars file the resolution read, same build) comes from the parse cache without loading
// `yaml` or ajv; anything else, errors included, goes through parse.ts. Deps on disk are checked either way.
// The handler registry is not part of the key: records exist only in the bundle, whose build id hashes
// stages/ too, so the handlers (names and `with` schemas) a record was resolved against are the running ones.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { RallycutError, configError, dedupe, sortByPosition, type Diagnostic } from '../diagnostics.js';
import { missingDepDiagnostics } from '../graph/build.js';
import type { HandlerRegistry } from '../handler-contract.js';
import type { ParamOverride } from '../params/params.js';
import { cachedParse, sha256 } from '../parsed-cache.js';
import { cacheDirFor, PIPELINE_FILE } from '../project.js';
import { decodeUtf8 } from '../utf8.js';
import type { Pipeline, Stage } from './types.js';

export interface LoadOptions {
  /** `-S [file:]key=value` overrides, applied before interpolation and param checks. */
  paramOverrides?: readonly ParamOverride[];
  /** Report deps that are neither produced nor on disk (default true). */
  checkDeps?: boolean;
  /** Cache folder for compiled schema validators and parse records (default: the project's cache folder). */
  cacheDir?: string;
  /** Stops loading a very large pipeline (SIGTERM, Ctrl-C). */
  signal?: AbortSignal;
}

/** What the parse cache keeps of a resolved pipeline. */
interface PipelineRecord {
  /** Each file the resolution read → sha256 of its text, or null when it was absent. */
  reads: [string, string | null][];
  stages: [string, Stage][];
  warnings?: Diagnostic[];
}

export async function loadPipeline(root: string, registry: HandlerRegistry, opts: LoadOptions = {}): Promise<Pipeline> {
  const file = PIPELINE_FILE;
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(join(root, file));
  } catch (err) {
    throw configError(`cannot read ${file} in ${root} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const text = decodeUtf8(bytes, file);
  return cachedParse<Pipeline>({
    cacheDir: opts.cacheDir ?? cacheDirFor(root),
    kind: 'pipeline',
    slot: [root],
    inputs: [text],
    // -S overrides (exp runs) make a one-off pipeline: not worth a record.
    cacheable: !opts.paramOverrides?.length,
    async parse() {
      const parsed = await (await import('./parse.js')).parsePipeline(root, file, text, registry, opts); // checks the deps itself
      return { value: parsed.pipeline, record: toRecord(parsed.pipeline, parsed.reads) };
    },
    revive: (record) => revivePipeline(root, record as PipelineRecord, opts),
  });
}

function toRecord(pipeline: Pipeline, reads: ReadonlyMap<string, string | null>): PipelineRecord {
  return {
    reads: [...reads].map(([f, t]) => [f, t === null ? null : sha256(t)]),
    stages: [...pipeline.stages],
    ...(pipeline.warnings ? { warnings: [...pipeline.warnings] } : {}),
  };
}

/** The stored pipeline while every file its resolution read is unchanged; its missing deps are reported as parsing would. */
async function revivePipeline(root: string, rec: PipelineRecord, opts: LoadOptions): Promise<Pipeline | undefined> {
  const now = await Promise.all(rec.reads.map(([f]) => hashOrNull(join(root, f))));
  if (rec.reads.some(([, hash], i) => hash !== now[i])) return undefined;
  const pipeline: Pipeline = {
    root,
    file: PIPELINE_FILE,
    stages: new Map(rec.stages),
    reads: rec.reads.map(([f]) => f),
    ...(rec.warnings ? { warnings: rec.warnings } : {}),
  };
  // A stored pipeline had no problems, and graph checks depend on nothing else (only deps on disk can differ).
  if (opts.checkDeps !== false) {
    const missing = missingDepDiagnostics(pipeline);
    if (missing.length) throw new RallycutError(sortByPosition(dedupe(missing)));
  }
  return pipeline;
}

/** sha256 of the file's text; null when absent; '' (matching no record) when unreadable: the slow path reports it. */
async function hashOrNull(path: string): Promise<string | null> {
  try {
    return sha256(await fs.readFile(path, 'utf8'));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : '';
  }
}
