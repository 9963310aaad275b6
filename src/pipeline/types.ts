// The three views of a stage: StageConfig (as the user wrote it, see load.ts), Stage (resolved, readonly,
// what planning and execution use) and LockEntry (what the machine recorded, see lock.ts).
import type { Diagnostic, Position } from '../diagnostics.js';

export interface SourceRange {
  file: string; // relative to the project root
  start: Position;
  end: Position;
}

export type OutKind = 'out' | 'metric' | 'plot';

export interface OutSpec {
  readonly path: string; // posix, relative to the project root
  readonly kind: OutKind;
  readonly cache: boolean;
  readonly persist: boolean;
  /** Metrics only: the keys `exp show` shows by default (a display choice: not part of the fingerprint). */
  readonly headline?: readonly HeadlineKey[];
}

/** A headline metric: a dotted key of the metrics file, and the column label `exp show` gives it. */
export interface HeadlineKey {
  readonly key: string;
  readonly label?: string;
}

export interface ParamRef {
  readonly file: string; // posix, relative to the project root, e.g. params/default.yaml
  readonly keys: readonly string[]; // dotted paths; a key naming an object tracks the whole subtree
}

export type StageAction =
  | { readonly kind: 'cmd'; readonly commands: readonly string[] } // interpolated, values shell-quoted
  | { readonly kind: 'handler'; readonly handler: string; readonly with: Readonly<Record<string, unknown>> };

export interface ExecutorConfig {
  readonly name: 'local' | 'modal';
  /** Executor options from the stage (image, gpu, timeout, memory, volume, retries…). */
  readonly options: Readonly<Record<string, unknown>>;
}

export interface Stage {
  readonly name: string; // NAME or NAME@item for foreach/matrix
  readonly action: StageAction;
  readonly wdir: string; // posix, relative to the project root ('.' for the root)
  readonly deps: readonly string[]; // posix, relative to the project root
  readonly params: readonly ParamRef[];
  /**
   * Params the stage's `${...}` used (not listed in `params:`): recorded in the lock with the others, so a
   * change names the param, but they do not make a dep-less stage one with deps (DVC's tracked vars).
   */
  readonly interpolatedParams?: readonly ParamRef[];
  readonly outs: readonly OutSpec[]; // outs, metrics and plots together
  readonly frozen: boolean;
  readonly alwaysChanged: boolean;
  readonly executor: ExecutorConfig;
  readonly source: SourceRange; // where the stage is defined
  /** Where each dep and out was written (same order as deps/outs), for positioned graph errors. */
  readonly ranges?: StageRanges;
}

export interface StageRanges {
  readonly deps: readonly SourceRange[];
  readonly outs: readonly SourceRange[];
}

export interface Pipeline {
  readonly root: string; // absolute project root
  readonly file: string; // 'pipeline.yaml'
  readonly stages: ReadonlyMap<string, Stage>; // in file order
  /** The params and vars files the resolution read (project-relative): inputs of every stage's text. */
  readonly reads?: readonly string[];
  /** Printed by whoever opens the pipeline for a run (see exec/open.ts). */
  readonly warnings?: readonly Diagnostic[];
}

/** Tracked param values: file → dotted key → value. */
export type ParamValues = Readonly<Record<string, Readonly<Record<string, unknown>>>>;
