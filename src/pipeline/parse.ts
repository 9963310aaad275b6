// Parses and resolves pipeline.yaml (the slow path of load.ts). Every problem found (syntax, schema,
// handlers, params, interpolation, paths, graph) is collected with its position and thrown together as one
// RallycutError.
import { RallycutError, dedupe, sortByPosition, type Diagnostic } from '../diagnostics.js';
import { graphDiagnostics, missingDepDiagnostics } from '../graph/build.js';
import type { HandlerRegistry } from '../handler-contract.js';
import { ParamsLoader } from '../params/params.js';
import { outConflict, reservedPaths, type ReservedPaths } from '../paths/policy.js';
import { cacheDirFor } from '../project.js';
import type { LoadOptions } from './load.js';
import { MAX_STAGES, resolveStageEntry, yieldToSignals } from './resolve.js';
import { buildContext } from './vars.js';
import { validatePipelineConfig, type PipelineConfig } from './schema.js';
import type { Pipeline, Stage } from './types.js';
import { configAt, YamlSource } from './yaml-source.js';

/**
 * pipeline.yaml's text → the resolved Pipeline, or every problem at once. Also returns the params/vars files
 * read (null: absent), which with the text decide the result (the parse cache's key, see load.ts).
 */
export async function parsePipeline(
  root: string,
  file: string,
  text: string,
  registry: HandlerRegistry,
  opts: LoadOptions = {},
): Promise<{ pipeline: Pipeline; reads: ReadonlyMap<string, string | null> }> {
  const { source, diagnostics: syntax } = YamlSource.parse(file, text, { interpolation: true });
  if (syntax.length) throw new RallycutError(syntax);
  const js = source.toJS();
  if ('error' in js) throw new RallycutError(js.error);
  const config = (js.value ?? {}) as unknown;
  const cacheDir = opts.cacheDir ?? cacheDirFor(root);
  const schema = await validatePipelineConfig(config, source, cacheDir);
  if (schema.fatal) throw new RallycutError(schema.diagnostics);

  const problems: Diagnostic[] = [...schema.diagnostics];
  const report = (d: Diagnostic): void => void problems.push(d);
  const warnings: Diagnostic[] = [];
  const warn = (d: Diagnostic): void => void warnings.push(d);
  const params = new ParamsLoader(root, opts.paramOverrides ?? []);
  const pc = config as PipelineConfig;
  const vars = await buildContext({ source, params, report }, pc.vars ?? []);
  // Every name a broken file held would be reported once per use ("'x' is not defined", dozens of them on
  // the default pipeline): the file's own error is the one to fix.
  if (vars.broken) throw new RallycutError(sortByPosition(dedupe(problems)));

  // Every -S override must name an existing key, even in a file no stage reads.
  for (const overrideFile of new Set((opts.paramOverrides ?? []).map((o) => o.file))) {
    const loaded = await params.load(overrideFile);
    if (loaded.ok) continue;
    if (loaded.missing) report({ kind: 'config', message: `params file '${overrideFile}' named by a -S override does not exist`, subject: overrideFile });
    else loaded.diagnostics.forEach(report);
  }

  const reserved = reservedPaths({ root, cacheDir });
  const stages = new Map<string, Stage>();
  const signal = opts.signal;
  let entryCount = 0;
  entries: for (const [name, stageConfig] of Object.entries(pc.stages ?? {})) {
    if (schema.badStages.has(name)) continue;
    if (entryCount++ % 100 === 0) await yieldToSignals(signal);
    for (const stage of await resolveStageEntry(
      { source, registry, params, ctx: vars.ctx, vars, cacheDir, reserved, report, warn, ...(signal ? { signal } : {}) },
      name,
      stageConfig,
    )) {
      if (stages.size === MAX_STAGES) {
        report(
          configAt(stage.source, `the pipeline has more than ${MAX_STAGES} stages`, {
            notes: ['split it, or sweep with `rallycut exp run` instead of a matrix'],
          }),
        );
        break entries;
      }
      if (stages.has(stage.name)) {
        report(
          configAt(stage.source, `stage name '${stage.name}' is defined twice`, {
            notes: [`first defined at ${stages.get(stage.name)!.source.file}:${stages.get(stage.name)!.source.start.line}`],
          }),
        );
        continue;
      }
      stages.set(stage.name, stage);
    }
  }
  // Only now are all params files known (a later stage may read one an earlier stage writes).
  problems.push(...reservedOutDiagnostics(stages.values(), reservedPaths({ root, cacheDir, paramsFiles: params.texts.keys() })));
  const pipeline: Pipeline = {
    root,
    file,
    stages,
    reads: [...params.texts.keys()],
    ...(warnings.length ? { warnings: sortByPosition(dedupe(warnings)) } : {}),
  };
  // Missing deps are only meaningful once every stage resolved (a skipped stage may be the producer).
  const complete = problems.length === 0;
  problems.push(...graphDiagnostics(pipeline));
  if (complete && opts.checkDeps !== false) problems.push(...missingDepDiagnostics(pipeline));
  if (problems.length) throw new RallycutError(sortByPosition(dedupe(problems)));
  return { pipeline, reads: params.texts };
}

/** Outs that would delete the repository, the cache, pipeline.yaml/lock or a params file before their stage runs. */
function reservedOutDiagnostics(stages: Iterable<Stage>, reserved: ReservedPaths): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const stage of stages) {
    stage.outs.forEach((out, i) => {
      const conflict = outConflict(out.path, reserved);
      if (!conflict) return;
      const message = `${out.kind} '${out.path}' ${conflict}; the stage would delete it before running`;
      problems.push(
        configAt(stage.ranges?.outs[i] ?? stage.source, message, { subject: stage.name, notes: ['name a file or folder of its own that the stage writes'] }),
      );
    });
  }
  return problems;
}
