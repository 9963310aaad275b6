// Opens what a repro/status works with: the resolved pipeline and its DAG, pipeline.lock, the stat-cached
// hasher, the object store and the run-cache.
import { ObjectCache } from '../cache/objects.js';
import { RunCache } from '../cache/runcache.js';
import { buildGraph } from '../graph/build.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { Hasher } from '../hash/index.js';
import { readLock } from '../lock/lock.js';
import { getParam } from '../params/path.js';
import type { ParamOverride } from '../params/params.js';
import { readParamsValues } from '../params/values.js';
import { configError } from '../diagnostics.js';
import type { ParamValues, Stage } from '../pipeline/types.js';
import { loadPipeline } from '../pipeline/load.js';
import { cacheDirFor } from '../project.js';
import { formatDiagnostics } from '../format/printer.js';
import type { Session, SessionIO } from './session.js';

export async function openSession(
  root: string,
  registry: HandlerRegistry,
  jobs: number,
  io: SessionIO,
  overrides: readonly ParamOverride[] = [],
): Promise<Session> {
  const cacheDir = cacheDirFor(root, io.env);
  const [pipeline, lock, hasher] = await Promise.all([
    loadPipeline(root, registry, { paramOverrides: overrides, cacheDir, signal: io.signal }),
    readLock(root, cacheDir),
    Hasher.open(root, cacheDir),
  ]);
  const graph = buildGraph(pipeline);
  if (pipeline.warnings?.length) io.err(formatDiagnostics(pipeline.warnings, { root }));
  return {
    root,
    cacheDir,
    pipeline,
    graph,
    registry,
    hasher,
    objects: new ObjectCache(cacheDir, hasher),
    runCache: new RunCache(cacheDir),
    loadParams: paramReader(root, overrides, cacheDir),
    lock,
    jobs,
    io,
    versionCache: new Map(),
  };
}

/** Tracked param values, each params file read and parsed once per session (not once per stage). */
function paramReader(root: string, overrides: readonly ParamOverride[], cacheDir: string): (stage: Stage) => Promise<ParamValues> {
  const files = new Map<string, Promise<unknown>>();
  const valuesOf = (file: string): Promise<unknown> => {
    let values = files.get(file);
    if (!values) files.set(file, (values = readParamsValues(root, file, overrides, cacheDir)));
    return values;
  };
  return async (stage) => {
    const out: Record<string, Record<string, unknown>> = {};
    for (const ref of [...stage.params, ...(stage.interpolatedParams ?? [])]) {
      const fileValues = await valuesOf(ref.file);
      const values = (out[ref.file] ??= {});
      for (const key of ref.keys) {
        const found = getParam(fileValues, key);
        // loadPipeline already reported unknown keys with their position; this is a file edited since.
        if (!found.found) throw configError(`unknown param '${key}' in ${ref.file}`, { subject: stage.name, file: ref.file });
        values[key] = structuredClone(found.value);
      }
    }
    return out;
  };
}
