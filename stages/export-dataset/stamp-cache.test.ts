// export-dataset's stamp on the embedded database: a no-op `repro` must not open PGlite (seconds), yet any
// label change must still move the stamp.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { StageContext } from '../../src/handler.js';
import { makeOriginals, makeProject } from '../../test/kit/dataset.js';
import { initSchema, insertLabelledVideos, openDatabase } from '../lib/db/index.js';
import exportModule from './index.js';

describe('export-dataset stamp on the embedded database', () => {
  const project = makeProject('rallycut-stampcache-');
  const ctx: StageContext = { ...project.ctx({}), stage: 'export', wdir: project.root, deps: [], outs: [], params: {} };
  const h = exportModule.handlers!.find((x) => x.name === 'export-dataset')!;
  const opened = (): number => project.logs.filter((l) => l.startsWith('database: embedded PGlite')).length;
  afterAll(() => fs.rm(project.root, { recursive: true, force: true }));

  it('reuses the stamp while the data folder is unchanged, and moves when a label changes', async () => {
    const db = await openDatabase({ cacheDir: project.cacheDir, env: {} });
    await initSchema(db);
    const o = await makeOriginals(project, [1000]);
    await insertLabelledVideos(db, o.videos);
    await db.close();

    const s1 = await h.stamp!(ctx, { name: 'ds' });
    expect(opened()).toBe(1);
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(s1);
    expect(opened()).toBe(1); // answered from <cacheDir>/export-dataset without opening PGlite

    const again = await openDatabase({ cacheDir: project.cacheDir, env: {} });
    await again.query(`UPDATE rallies SET end_ms = end_ms + 1 WHERE id = (SELECT min(id) FROM rallies)`);
    await again.close();
    const s2 = await h.stamp!(ctx, { name: 'ds' });
    expect(opened()).toBe(2);
    expect(s2).not.toBe(s1);
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(s2);
    expect(opened()).toBe(2);

    // A lock file means another process may be mid-write: the database is read (this one's owner is gone,
    // so opening takes it over).
    await fs.writeFile(join(project.cacheDir, 'db.lock'), String(spawnSync('true').pid));
    expect(await h.stamp!(ctx, { name: 'ds' })).toBe(s2);
    expect(opened()).toBe(3);
  }, 180_000); // PGlite opens four times, each seconds on a loaded 2-core machine
});
