// Pure request building for Modal's SDK: what image to build and which Sandbox parameters to pass.
// Kept apart from sdk-backend.ts so it is unit-tested without a network or credentials; the types come
// from the real SDK so a change in its API shows up at type-check time.
import type { SandboxCreateParams } from 'modal';
import { NODE_PACKAGES_DIR, VOLUME_MOUNT, type ImageSpec, type JobSpec } from './backend.js';

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Dockerfile commands layered on the registry image: apt, npm, then pip, each one sorted install. */
export function imageCommands(image: ImageSpec): string[] {
  const list = (pkgs: readonly string[]): string => [...pkgs].sort().map(shellQuote).join(' ');
  const out: string[] = [];
  if (image.apt?.length) out.push(`RUN apt-get update && apt-get install -y --no-install-recommends ${list(image.apt)} && rm -rf /var/lib/apt/lists/*`);
  if (image.npm?.length)
    out.push(`RUN mkdir -p ${NODE_PACKAGES_DIR} && cd ${NODE_PACKAGES_DIR} && npm install --omit=dev --no-audit --no-fund ${list(image.npm)}`);
  if (image.pip.length) out.push(`RUN python3 -m pip install --no-cache-dir ${list(image.pip)}`);
  return out;
}

export interface SandboxRequest {
  readonly imageTag: string;
  readonly dockerfileCommands: readonly string[];
  /** Everything but the SDK objects (volumes, secrets), which the backend looks up by name. */
  readonly params: SandboxCreateParams;
  readonly volumeName: string;
  readonly volumeMount: string;
  readonly secretNames: readonly string[];
}

export function buildSandboxRequest(job: JobSpec, volumeName: string): SandboxRequest {
  const params: SandboxCreateParams = {
    command: ['sh', '-c', job.script],
    env: { ...job.env, RALLYCUT_VOLUME: VOLUME_MOUNT },
    timeoutMs: job.timeoutMs,
    workdir: VOLUME_MOUNT,
    ...(job.gpu ? { gpu: job.gpu } : {}),
    ...(job.memoryMiB !== undefined ? { memoryMiB: job.memoryMiB } : {}),
    ...(job.cpu !== undefined ? { cpu: job.cpu } : {}),
  };
  return {
    imageTag: job.image.base,
    dockerfileCommands: imageCommands(job.image),
    params,
    volumeName,
    volumeMount: VOLUME_MOUNT,
    secretNames: [...job.secrets],
  };
}

/** A long-lived, cheap container used only to move files to and from the volume. */
export function transferRequest(volumeName: string): SandboxRequest {
  return {
    imageTag: 'python:3.11-slim',
    dockerfileCommands: [],
    params: { timeoutMs: 30 * 60 * 1000, workdir: VOLUME_MOUNT, env: { RALLYCUT_VOLUME: VOLUME_MOUNT } },
    volumeName,
    volumeMount: VOLUME_MOUNT,
    secretNames: [],
  };
}
