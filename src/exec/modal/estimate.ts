// What `repro --dry` says about the stages it would send to Modal: how much could travel and how many
// sandbox-hours at which GPU, at most. Offline on purpose: nothing is asked of Modal, so the upload figure
// counts every distinct input (those already on the volume would be skipped), and the hours are each
// Sandbox's timeout, retries included — an upper bound, never a bill.
import { promises as fs } from 'node:fs';
import type { StageRunRequest } from '../executor.js';
import { remoteJobFor } from './executor.js';
import { resolveSettings } from './options.js';
import { sha256File } from './runner.js';

export interface RemoteEstimate {
  readonly stages: number;
  /** One Sandbox per stage when nothing fails; with every retry used. */
  readonly sandboxes: number;
  readonly sandboxesWithRetries: number;
  readonly hoursAtMost: number;
  readonly gpu: string;
  readonly uploadFiles: number;
  readonly uploadBytes: number;
}

export async function estimateModal(requests: readonly StageRunRequest[]): Promise<RemoteEstimate[]> {
  const byGpu = new Map<string, { stages: number; sandboxes: number; withRetries: number; hours: number; objects: Map<string, number> }>();
  for (const req of requests) {
    const job = await remoteJobFor(req);
    const s = resolveSettings(req.stage.executor.options, job.resources ?? {}, { subject: req.stage.name });
    const gpu = s.gpu ?? 'none (CPU)';
    const e = byGpu.get(gpu) ?? { stages: 0, sandboxes: 0, withRetries: 0, hours: 0, objects: new Map<string, number>() };
    e.stages++;
    e.sandboxes++;
    e.withRetries += s.retries + 1;
    e.hours += ((s.retries + 1) * s.timeoutMs) / 3_600_000;
    for (const i of job.inputs) {
      const st = await fs.stat(i.local).catch(() => undefined);
      if (st?.isFile()) e.objects.set(i.sha256 ?? (await sha256File(i.local)), st.size);
    }
    byGpu.set(gpu, e);
  }
  return [...byGpu].map(([gpu, e]) => ({
    stages: e.stages,
    sandboxes: e.sandboxes,
    sandboxesWithRetries: e.withRetries,
    hoursAtMost: e.hours,
    gpu,
    uploadFiles: e.objects.size,
    uploadBytes: [...e.objects.values()].reduce((a, b) => a + b, 0),
  }));
}

function size(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function formatEstimate(e: RemoteEstimate): string {
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  return (
    `modal: ${plural(e.stages, 'stage')} would start ${`${e.sandboxes} sandbox${e.sandboxes === 1 ? '' : 'es'}`} (up to ${e.sandboxesWithRetries} with retries); ` +
    `at most ${e.hoursAtMost.toFixed(1)} sandbox-hours at GPU ${e.gpu}; ` +
    `upload at most ${plural(e.uploadFiles, 'file')} (${size(e.uploadBytes)}) by content hash, less what the volume already holds\n`
  );
}
