// The façade stages/ import: the handler contract (src/handler-contract.ts) and the engine facilities a
// handler may use. stages/ import the engine through this file only, so the engine's internals stay free
// to change. The engine itself imports the contract, never this file.
import type { RegisteredHandler, StageHandler } from './handler-contract.js';

export type * from './handler-contract.js';

export function defineHandler<P>(handler: StageHandler<P>): RegisteredHandler {
  return handler as unknown as RegisteredHandler;
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
export type { OptionSpec, ParsedArgs, PositionalSpec } from './args.js';
export { optBool, optNumber, optString, optStrings } from './args.js';
export type { Diagnostic, Position } from './diagnostics.js';
export { RallycutError, configError, failure, toDiagnostics } from './diagnostics.js';
export type { Progress } from './format/progress.js';
export type { ReadProjectData, ReportContribution, ReportSource, Span, Timeline } from './report/sources.js';
export type { EpochPoint, VideoScore } from './exp/records.js';
export { createProgress } from './format/progress.js';
export { formatTable, formatNumber, formatBytes, stableJson, sortKeysDeep } from './format/printer.js';
export type { ParamValues, Stage } from './pipeline/types.js';
export { writeFileAtomic, linkOrCopy, exists, isInside, toPosix, tempPathFor, commitTemp } from './fsutil.js';
export { findProjectRoot, requireProjectRoot, cacheDirFor } from './project.js';
export { refuseLinkedParents } from './paths/policy.js';
export type { Remote, RemoteObject, PutOptions, TransferOptions } from './remote/remote.js';
export { trainingRemote, appRemote, remoteFromUrl, type ResolvedRemote } from './remote/config.js';
// Modal: one bootstrap (settings, backend, credentials, runner, close); the runner's parts stay internal.
export { withModalRunner, type ModalRunContext } from './exec/modal/with-runner.js';
export type { ModalJobRunner } from './exec/modal/runner.js';
export { crashPoint } from './crash.js';
export { redactUrl, redactorFor } from './redact.js';
export { acquireLockFile } from './lockfile.js';
export { installedPath, runningFromSource } from './install.js';
export { lineSplitter } from './exec/lines.js';
export { forEachLimit, listSizes, type ItemFailure } from './remote/transfer.js';
