// Checks the reliability tests share: every regular file under a folder, a clean `doctor`, and a child
// that really died at the crash point it was sent to.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Rig, RunResult } from '../rig.js';

/** Regular files under `dir`, recursively, as posix paths relative to it (temp files included). */
export async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fs.readdir(join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await listFiles(dir, r)));
    else if (d.isFile()) out.push(r);
  }
  return out;
}

/** `rallycut doctor` exits 0 and finds no corrupt object. */
export async function expectDoctorClean(rig: Rig): Promise<void> {
  const doctor = await rig.run(['doctor']);
  expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
  expect(doctor.stdout).toMatch(/; 0 corrupt/);
}

/** The child died at `point` (name:N), not finished nor failed for another reason. */
export function expectCrashedAt(res: RunResult, point: string): void {
  expect(res.stderr, `${point}: ${res.stdout}${res.stderr}`).toContain(`crash point '${point.split(':')[0]}'`);
}
