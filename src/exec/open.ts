// Opens what a repro/status works with: the resolved pipeline and its DAG, pipeline.lock, the stat-cached
// hasher, the object store and the run-cache.
import { ObjectCache } from '../cache/objects.js';
import { RunCache } from '../cache/runcache.js';
import { buildGraph } from '../graph/build.js';
import type { HandlerRegistry } from '../handler.js';
import { Hasher } from '../hash/index.js';
import { readLock } from '../lock.js';
import { loadParamValues, type ParamOverride } from '../params.js';
import { loadPipeline } from '../pipeline/load.js';
import { cacheDirFor } from '../project.js';
import type { Session, SessionIO } from './session.js';

export async function openSession(root: string, registry: HandlerRegistry, jobs: number, io: SessionIO, overrides: readonly ParamOverride[] = []): Promise<Session> {
  const cacheDir = cacheDirFor(root, io.env);
  const [pipeline, lock, hasher] = await Promise.all([loadPipeline(root, registry, { paramOverrides: overrides }), readLock(root), Hasher.open(root, cacheDir)]);
  const graph = buildGraph(pipeline);
  return {
    root,
    cacheDir,
    pipeline,
    graph,
    registry,
    hasher,
    objects: new ObjectCache(cacheDir),
    runCache: new RunCache(cacheDir),
    loadParams: (stage) => loadParamValues(root, stage.params, overrides),
    lock,
    jobs,
    io,
  };
}
