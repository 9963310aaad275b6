// `rallycut stage-run SPEC`: runs one handler stage's run() in the current folder, as a remote executor
// asks for it (src/exec/modal/handler-job.ts writes the spec and mirrors the project around it). No
// fingerprint, lock or cache object is touched here: the engine that sent the job does that with the outs
// it gets back.
import { promises as fs } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { configError, failure, RallycutError } from '../../diagnostics.js';
import type { HandlerRegistry, StageContext } from '../../handler-contract.js';
import type { StageSpec } from '../../exec/modal/handler-job.js';
import { cacheDirFor } from '../../project.js';
import { createProgress } from '../../format/progress.js';
import type { CommandSpec } from '../command.js';

function parseSpec(text: string, file: string): StageSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw configError(`${file} is not JSON: ${(err as Error).message}`, { file });
  }
  const o = raw as Partial<StageSpec> | null;
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!o || typeof o.stage !== 'string' || typeof o.handler !== 'string' || !strings(o.deps) || !strings(o.outs) || typeof o.wdir !== 'string') {
    throw configError(`${file} is not a stage spec (stage, handler, deps, outs, wdir)`, { file });
  }
  return { ...o, params: o.params ?? {}, jobs: typeof o.jobs === 'number' && o.jobs >= 1 ? o.jobs : 1 } as StageSpec;
}

export function stageRunCommand(registry: HandlerRegistry): CommandSpec {
  return {
    path: ['stage-run'],
    summary: "Run one handler stage here from a spec file (used inside a remote executor's sandbox)",
    description:
      "Reads the spec a remote executor wrote (stage, handler, with, params, deps, outs) and runs the handler in the current folder, with the cache at .cache/ (or RALLYCUT_CACHE_DIR). Writes only the stage's outs and content stores.",
    positionals: [{ name: 'spec', description: 'The stage spec (JSON)' }],
    options: [],
    async run(args, io) {
      const specPath = args.positionals[0];
      if (!specPath) throw configError('stage-run needs the spec file', { subject: 'stage-run' });
      const file = resolve(io.cwd, specPath);
      const spec = parseSpec(
        await fs.readFile(file, 'utf8').catch(() => {
          throw configError(`cannot read ${file}`, { file });
        }),
        file,
      );
      const handler = await registry.get(spec.handler);
      if (!handler) throw configError(`unknown handler '${spec.handler}'`, { subject: spec.stage, notes: [`known: ${(await registry.names()).join(', ')}`] });
      const root = io.cwd;
      const abs = (p: string): string => (isAbsolute(p) ? p : join(root, p));
      const ctx: StageContext = {
        root,
        cacheDir: cacheDirFor(root, io.env),
        stage: spec.stage,
        wdir: abs(spec.wdir),
        deps: spec.deps.map(abs),
        outs: spec.outs.map(abs),
        params: spec.params as StageContext['params'],
        env: io.env,
        jobs: spec.jobs,
        signal: io.signal,
        log: (m) => io.err(`${m}\n`),
        progress: (label, total, unit) => createProgress(label, total, unit, { write: (t) => io.err(t), isTTY: false }),
      };
      try {
        await handler.run(ctx, spec.with);
      } catch (err) {
        if (err instanceof RallycutError) throw err;
        throw failure(`handler '${spec.handler}' failed: ${err instanceof Error ? err.message : String(err)}`, { subject: spec.stage });
      }
    },
  };
}
