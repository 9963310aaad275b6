// Which GpuBackend a command or stage gets. Modal's SDK unless RALLYCUT_MODAL_BACKEND=local picks the
// LOCAL STAND-IN (tests, demos without a Modal account); never silently: the choice is logged by the caller.
import { join } from 'node:path';
import { configError } from '../../diagnostics.js';
import type { GpuBackend } from './backend.js';
import { LocalStandInBackend } from './local-backend.js';
import { ModalSdkBackend } from './sdk-backend.js';

export const BACKEND_ENV = 'RALLYCUT_MODAL_BACKEND';
export const BACKOFF_ENV = 'RALLYCUT_MODAL_BACKOFF_MS';

export function selectBackend(volume: string, env: Readonly<Record<string, string | undefined>>, cacheDir: string): GpuBackend {
  const kind = env[BACKEND_ENV] ?? 'modal';
  if (kind === 'modal') return new ModalSdkBackend(volume);
  if (kind === 'local') return new LocalStandInBackend(join(cacheDir, 'modal-local', volume));
  throw configError(`${BACKEND_ENV} must be 'modal' or 'local' (the local stand-in for tests), got '${kind}'`, { subject: BACKEND_ENV });
}

export function backoffFrom(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[BACKOFF_ENV];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw configError(`${BACKOFF_ENV} must be a number of milliseconds ≥ 0, got '${raw}'`, { subject: BACKOFF_ENV });
  return n;
}
