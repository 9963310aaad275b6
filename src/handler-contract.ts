// The handler contract: what stages/ implement and what the engine calls. Types only: it imports no
// implementation (no executor, no cache), so the engine and every executor can depend on it without
// depending on each other. stages/ reach it, and the engine's facilities, through the façade src/handler.ts.
import type { CommandSpec } from './cli/command.js';
import type { ParamValues } from './pipeline/types.js';
import type { Progress } from './format/progress.js';
import type { ReportSource } from './report/sources.js';

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
  /**
   * For remote executors running run() itself (any handler without remoteJob): the content-store files it
   * reads and the store folders it fills. Without it only the declared deps travel and only the outs return.
   */
  remoteIO?(ctx: StageContext, p: P): Promise<RemoteIO>;
}

/** A handler with its params type erased, as the registry holds it. The engine validates `with:` first. */
export type RegisteredHandler = StageHandler<unknown>;

/**
 * How the engine finds handlers without importing stages/: the CLI passes the registry in. Asynchronous so
 * the CLI can load stages/ only when a pipeline names a handler (a shell-command pipeline never pays for it).
 */
export interface HandlerRegistry {
  get(name: string): Promise<RegisteredHandler | undefined>;
  names(): Promise<string[]>;
  /** The outside tools the handlers use (ffmpeg, onnxruntime, the database), for `rallycut doctor`. */
  tools?(ctx: ToolContext): Promise<ToolReport[]>;
  /** Where the report (`rallycut plots show`) and experiment records find chart data. */
  reportSources?(): Promise<readonly ReportSource[]>;
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
  /** Where the report finds chart data among the stages' files (see src/report/sources.ts). */
  reportSources?: readonly ReportSource[];
}

/** Resource defaults a remote job may bring (e.g. modal-train: T4, 4 h, 16 GiB, torch + transformers). */
export interface JobResources {
  readonly image?: string;
  readonly pip?: readonly string[];
  /** Debian packages installed in the image (e.g. ffmpeg). */
  readonly apt?: readonly string[];
  /** npm packages (name@version) installed in the image under /opt/rallycut (a Node job's runtime). */
  readonly npm?: readonly string[];
  readonly gpu?: string;
  /** Seconds. */
  readonly timeout?: number;
  /** MiB. */
  readonly memory?: number;
}

export interface RemoteInput {
  /** Absolute local file. */
  readonly local: string;
  /** Where the job sees it, relative to its workdir (posix). */
  readonly path: string;
  /** When the caller already knows it (e.g. prepare recorded each proxy's hash); computed otherwise. */
  readonly sha256?: string;
}

export interface RemoteOutput {
  /** File or folder the job writes, relative to its workdir (posix). */
  readonly path: string;
  /** Absolute local destination; replaced atomically once every file is verified. */
  readonly local: string;
  /**
   * A folder whose files are added to what is already at `local` (a content store), each file moved into
   * place on its own, instead of replacing the folder.
   */
  readonly merge?: boolean;
}

/** What runs on a remote executor: files to bring, a command, files to bring back. */
export interface RemoteJob {
  /** The job's folder on the volume is work/<name>; it persists between attempts and runs (checkpoints). */
  readonly name: string;
  readonly inputs: readonly RemoteInput[];
  /** Shell command run in the workdir. */
  readonly command: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly outputs: readonly RemoteOutput[];
  /** Defaults for the container (image, pip, gpu, timeout, memory); the stage's executor options win. */
  readonly resources?: JobResources;
  /** Paths in the workdir deleted before the first attempt (e.g. checkpoints for a fresh start). */
  readonly clean?: readonly string[];
}

/**
 * What a handler reads and writes beyond its declared deps and outs, so a remote executor can run its
 * run() elsewhere: content-store files it reads (e.g. the proxies a proxies.json names) and the folders
 * under the cache it writes into (e.g. 'features'), whose new files come back into the local store.
 */
export interface RemoteIO {
  /** Absolute files under the project or the cache folder. */
  readonly inputs: readonly string[];
  /** Folders relative to the cache folder. */
  readonly stores: readonly string[];
  /** Container defaults (e.g. ffmpeg from apt); the stage's executor options win. */
  readonly resources?: JobResources;
}
