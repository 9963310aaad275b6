// The contract stages/ implement, and the engine facilities a handler may use. stages/ import the engine
// through this file only, so the engine's internals stay free to change.
import type { CommandSpec } from './cli/command.js';
import type { ParamValues } from './pipeline/types.js';
import type { Progress } from './report/progress.js';
import type { RemoteJob } from './exec/modal/job.js';

export interface StageContext {
  /** Absolute project root. */
  readonly root: string;
  /** Absolute cache folder (.cache/ unless RALLYCUT_CACHE_DIR). Handlers keep their content stores under it. */
  readonly cacheDir: string;
  /** Stage name (NAME or NAME@item), or the command name when run standalone from the CLI. */
  readonly stage: string;
  /** Absolute working folder. */
  readonly wdir: string;
  /** Absolute paths of the declared deps and outs (empty when run standalone). */
  readonly deps: readonly string[];
  readonly outs: readonly string[];
  /** Values of the params the stage tracks. */
  readonly params: ParamValues;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How many parallel jobs the handler may use inside itself. */
  readonly jobs: number;
  readonly signal: AbortSignal;
  /** A log line, prefixed with the stage name by the engine. */
  log(message: string): void;
  progress(label: string, total: number, unit?: string): Progress;
}

export interface StageHandler<P> {
  /** Used as `handler: <name>` in pipeline.yaml. */
  readonly name: string;
  readonly summary: string;
  /** JSON schema (ajv) for the stage's `with:` block. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Versions of the tools the handler uses (ffmpeg, onnxruntime…); part of the fingerprint. */
  versions?(ctx: StageContext): Promise<Record<string, string>>;
  /** A short name for one of those versions in `status`/`repro` reasons, e.g. "4.1.0 (bundled)"; the lock keeps the full string. */
  describeVersion?(tool: string, version: string): string | undefined;
  /** Fingerprint of external state (DB rows, a remote listing). null means always run. */
  stamp?(ctx: StageContext, p: P): Promise<string | null>;
  /** Writes exactly its declared outs. Throws RallycutError with diagnostics on failure. */
  run(ctx: StageContext, p: P): Promise<void>;
  /**
   * For `executor: modal`: the job to run remotely instead of run() (files to upload, a command, files to
   * bring back). The executor uploads, retries and verifies; the handler only describes. Optional.
   */
  remoteJob?(ctx: StageContext, p: P): Promise<RemoteJob>;
}

/** A handler with its params type erased, as the registry holds it. The engine validates `with:` first. */
export type RegisteredHandler = StageHandler<unknown>;

export function defineHandler<P>(handler: StageHandler<P>): RegisteredHandler {
  return handler as unknown as RegisteredHandler;
}

/**
 * How the engine finds handlers without importing stages/: the CLI passes the registry in. Asynchronous so
 * the CLI can load stages/ only when a pipeline names a handler (a shell-command pipeline never pays for it).
 */
export interface HandlerRegistry {
  get(name: string): Promise<RegisteredHandler | undefined>;
  names(): Promise<string[]>;
  /** The outside tools the handlers use (ffmpeg, onnxruntime, the database), for `rallycut doctor`. */
  tools?(ctx: ToolContext): Promise<ToolReport[]>;
}

export interface ToolContext {
  cacheDir: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** One outside tool as `rallycut doctor` shows it: which one is in use, or why none can be. */
export interface ToolReport {
  name: string;
  ok: boolean;
  detail: string;
  /** How to get a usable one (when not ok). */
  hint?: string;
}

/** What a stages/<name>/index.ts exports by default. */
export interface StageModule {
  handlers?: readonly RegisteredHandler[];
  commands?: readonly CommandSpec[];
}

export type { CommandSpec, CommandIO } from './cli/command.js';
export {
  defineParamsHandler,
  paramOptions,
  paramsFromArgs,
  withDefaults,
  withSchema,
  type ParamSpec,
  type ParamSpecs,
  type ParamsOf,
} from './handler-params.js';
export type { OptionSpec, ParsedArgs, PositionalSpec } from './cli/args.js';
export { optBool, optNumber, optString, optStrings } from './cli/args.js';
export type { Diagnostic, Position } from './diagnostics.js';
export { RallycutError, configError, failure, toDiagnostics } from './diagnostics.js';
export type { Progress } from './report/progress.js';
export { createProgress } from './report/progress.js';
export { formatTable, formatNumber, formatBytes, stableJson, sortKeysDeep } from './report/printer.js';
export type { ParamValues, Stage } from './pipeline/types.js';
export { writeFileAtomic, linkOrCopy, exists, isInside, toPosix, tempPathFor, commitTemp } from './fsutil.js';
export { findProjectRoot, requireProjectRoot, cacheDirFor } from './project.js';
export { refuseLinkedParents } from './paths/policy.js';
export type { Remote, RemoteObject, PutOptions, TransferOptions } from './remote/remote.js';
export { trainingRemote, appRemote, remoteFromUrl, type ResolvedRemote } from './remote/config.js';
export type { RemoteJob, RemoteInput, RemoteOutput } from './exec/modal/job.js';
export { runRemoteJob } from './exec/modal/executor.js';
export { ModalJobRunner } from './exec/modal/runner.js';
export { resolveSettings, type JobResources, type ModalSettings } from './exec/modal/options.js';
export { selectBackend, backoffFrom } from './exec/modal/select.js';
export type { GpuBackend } from './exec/modal/backend.js';
export { crashPoint } from './crash.js';
export { redactUrl, redactorFor } from './redact.js';
export { acquireLockFile } from './lockfile.js';
export { installedPath, runningFromSource } from './install.js';
export { lineSplitter } from './exec/lines.js';
export { forEachLimit, listSizes, type ItemFailure } from './remote/transfer.js';
