// What the Modal executor needs from "a GPU cloud with a persistent volume". Two implementations:
// sdk-backend.ts (Modal's official SDK: Sandboxes + a named Volume) and local-backend.ts (a LOCAL STAND-IN
// for Modal's cloud, used by tests and selected only by RALLYCUT_MODAL_BACKEND=local).
// Volume paths are posix and relative to the volume root ('objects/ab12…', 'work/modal-train/out').
// Job scripts refer to the volume root as "$RALLYCUT_VOLUME": /data on Modal, a folder for the stand-in.

export const VOLUME_MOUNT = '/data';
export const DEFAULT_VOLUME = 'rallycut-training';

/** The container a job runs in: a registry image plus pip packages installed on top. */
export interface ImageSpec {
  readonly base: string;
  readonly pip: readonly string[];
  /** Debian packages (apt-get install). */
  readonly apt?: readonly string[];
  /** npm packages installed under NODE_PACKAGES_DIR (the runtime of a Node job). */
  readonly npm?: readonly string[];
}

/** Where a Node image holds the npm packages of the remote CLI; the job links it as the app's node_modules. */
export const NODE_PACKAGES_DIR = '/opt/rallycut';

export interface JobSpec {
  /** Shell script run with `sh -c`; $RALLYCUT_VOLUME is set to the volume root. */
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly image: ImageSpec;
  /** e.g. 'T4', 'A100:2'; undefined for CPU only. */
  readonly gpu?: string;
  readonly timeoutMs: number;
  readonly memoryMiB?: number;
  readonly cpu?: number;
  /** Names of Modal Secrets to inject as environment variables. */
  readonly secrets: readonly string[];
  readonly signal?: AbortSignal;
}

export interface VolumeFile {
  /** Relative to the listed folder, posix. */
  readonly path: string;
  readonly size: number;
}

export interface GpuBackend {
  /** e.g. "modal (volume rallycut-training)" or "local stand-in for Modal (…)"; shown in logs. */
  readonly description: string;
  /** Throws a config error naming where credentials come from, before anything is uploaded. */
  checkCredentials(): Promise<void>;
  /** Every file under `dir` (recursive); empty when `dir` does not exist. */
  list(dir: string): Promise<VolumeFile[]>;
  upload(localPath: string, volumePath: string): Promise<void>;
  download(volumePath: string, localPath: string): Promise<void>;
  /** Removes files or folders; returns the bytes freed. Missing paths count 0. */
  remove(paths: readonly string[]): Promise<number>;
  /**
   * Runs the job to completion; resolves with its exit code. A preempted or crashed container gives a
   * non-zero code or throws; both are retried by the executor.
   */
  run(job: JobSpec, onLine: (line: string) => void): Promise<number>;
  /**
   * Makes this backend's volume writes visible to other containers, and its next reads see theirs (Modal: the
   * helper Sandbox exits, which commits; the next call starts a fresh one). Used around shared uploads.
   */
  commit(): Promise<void>;
  /** Releases helper containers and connections. */
  close(): Promise<void>;
}
