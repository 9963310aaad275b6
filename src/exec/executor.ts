// The Executor seam: runs one resolved stage with its deps available and brings back its outs.
// Implementations: local.ts (default) and modal/ (Modal Sandboxes; a local stand-in backend for tests).
import type { RegisteredHandler, StageContext } from '../handler-contract.js';
import type { Stage } from '../pipeline/types.js';

export interface StageRunRequest {
  readonly stage: Stage;
  /** The handler for `handler:` stages, with its validated `with:` params. */
  readonly handler?: RegisteredHandler;
  readonly handlerParams?: unknown;
  /** Context passed to handlers; also carries root, cacheDir, log, progress and signal for cmd stages. */
  readonly ctx: StageContext;
  /** State one repro shares among its stages' executor calls (e.g. a sandbox budget per foreach group). */
  readonly shared?: Map<string, unknown>;
}

export interface Executor {
  readonly name: string;
  /**
   * Whether this executor can run the stage at all; asked when `--executor NAME` moves every stage
   * (src/exec/placement.ts) so the ones it cannot take keep their declared executor. Absent: every stage.
   */
  accepts?(stage: Stage, handler: RegisteredHandler | undefined): boolean;
  /** Resolves when the stage's outs are in place in the workspace; throws RallycutError otherwise. */
  run(request: StageRunRequest): Promise<void>;
}

/** A foreach/matrix item belongs to its group: `extract@v1` → `extract` (budgets and pools are per group). */
export function stageGroup(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}
