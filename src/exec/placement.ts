// Where stages run for one repro or experiment, chosen on the command line (`--executor modal`,
// `--executor train=modal`) instead of in pipeline.yaml. A placement moves work, it does not change it: the
// fingerprint, the lock, the run-cache key and an experiment's record keep the executor pipeline.yaml
// declares, so a sweep run on Modal compares with (and is restored by) local runs of the same params.
//
// A per-stage choice always applies (a stage the executor cannot take is an error then). A blanket one
// applies to the stages the executor accepts (for modal: cmd stages and handlers that describe a remote
// job); the others keep their declared executor, and the run says so once per stage.
import { configError } from '../diagnostics.js';
import { dict } from '../dict.js';
import type { RegisteredHandler } from '../handler-contract.js';
import type { Stage } from '../pipeline/types.js';
import type { Executor } from './executor.js';

export interface Placement {
  /** Every stage the executor accepts. */
  readonly all?: string;
  /** By stage name (a null-prototype record: see dict.ts); wins over `all`. */
  readonly stages: Readonly<Record<string, string>>;
}

export const NO_PLACEMENT: Placement = { stages: {} };

export function isEmptyPlacement(p: Placement | undefined): boolean {
  return !p || (p.all === undefined && Object.keys(p.stages).length === 0);
}

/** `--executor NAME` or `--executor STAGE=NAME` (repeatable). Names are checked against `known`. */
export function parsePlacement(specs: readonly string[], known: readonly string[]): Placement {
  let all: string | undefined;
  const stages = dict<string>();
  for (const spec of specs) {
    const eq = spec.lastIndexOf('=');
    const stage = eq >= 0 ? spec.slice(0, eq).trim() : undefined;
    const name = (eq >= 0 ? spec.slice(eq + 1) : spec).trim();
    if (!known.includes(name)) {
      throw configError(`--executor '${spec}': unknown executor '${name}'`, {
        subject: '--executor',
        notes: [`executors: ${known.join(', ')}; per stage: --executor STAGE=NAME`],
      });
    }
    if (stage === undefined) {
      if (all !== undefined && all !== name) throw configError(`--executor given twice for all stages ('${all}' and '${name}')`, { subject: '--executor' });
      all = name;
    } else if (!stage) {
      throw configError(`--executor '${spec}': no stage name before '='`, { subject: '--executor' });
    } else {
      if (stages[stage] !== undefined && stages[stage] !== name) throw configError(`--executor given twice for stage '${stage}'`, { subject: '--executor' });
      stages[stage] = name;
    }
  }
  return { ...(all !== undefined ? { all } : {}), stages };
}

/** Every per-stage name must be a stage of the pipeline (a typo would otherwise run everything locally). */
export function checkPlacementStages(p: Placement, stageNames: Iterable<string>): void {
  const names = new Set(stageNames);
  const unknown = Object.keys(p.stages).filter((s) => !names.has(s));
  if (unknown.length) {
    throw configError(`--executor names stage${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `'${s}'`).join(', ')} that the pipeline does not have`, {
      subject: '--executor',
      notes: [`stages: ${[...names].sort().join(', ')}`],
    });
  }
}

export interface Placed {
  /** The executor that runs the stage. */
  readonly name: string;
  /** A line for the stage's log when the placement changed or could not change it; absent otherwise. */
  readonly note?: string;
}

/** Which executor runs `stage` under `p`; `lookup` gives the executor of a name (to ask what it accepts). */
export function placeStage(
  p: Placement | undefined,
  stage: Stage,
  handler: RegisteredHandler | undefined,
  lookup: (name: string) => Executor | undefined,
): Placed {
  const declared = stage.executor.name;
  const chosen = p?.stages[stage.name];
  if (chosen !== undefined)
    return chosen === declared
      ? { name: declared }
      : { name: chosen, note: `executor ${chosen} (--executor ${stage.name}=${chosen}; pipeline.yaml says ${declared})` };
  const all = p?.all;
  if (all === undefined || all === declared) return { name: declared };
  const executor = lookup(all);
  if (executor?.accepts && !executor.accepts(stage, handler))
    return { name: declared, note: `executor ${declared}: --executor ${all} does not apply to this stage (${executor.name} cannot run it)` };
  return { name: all, note: `executor ${all} (--executor ${all}; pipeline.yaml says ${declared})` };
}

/** As stored in an experiment record: checked like any other field read from disk. */
export function placementFromJson(value: unknown, known: readonly string[]): Placement | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'placement is not an object';
  const v = value as { all?: unknown; stages?: unknown };
  if (v.all !== undefined && (typeof v.all !== 'string' || !known.includes(v.all))) return `placement names an unknown executor ${JSON.stringify(v.all)}`;
  if (typeof v.stages !== 'object' || v.stages === null || Array.isArray(v.stages)) return 'placement.stages is not an object';
  const stages = dict<string>();
  for (const [k, n] of Object.entries(v.stages as Record<string, unknown>)) {
    if (typeof n !== 'string' || !known.includes(n)) return `placement names an unknown executor ${JSON.stringify(n)}`;
    stages[k] = n;
  }
  return { ...(typeof v.all === 'string' ? { all: v.all } : {}), stages };
}
