// Two `repro` processes and one `exp run --run-all -j 2` at once on one project and one cache: all finish,
// each result is right for its params, and doctor finds the shared cache clean. (test/engine/concurrency.test.ts
// covers how two repros serialise on the project lock.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

let rig: Rig;
beforeAll(async () => {
  rig = new Rig('rallycut-conc-');
  await rig.write({
    'in.txt': 'b\na\nb\n',
    'params/default.yaml': 'train:\n  factor: 1\n',
    'pipeline.yaml': `stages:
  prep:
    cmd: sort -u in.txt > prep.txt && sleep 1
    deps: [in.txt]
    outs: [prep.txt]
  scale:
    cmd: 'mkdir -p out && printf "{\\"score\\": %s}" \${train.factor} > out/metrics.json && cp prep.txt out/data.txt'
    deps: [prep.txt]
    params: [train.factor]
    outs: [out/data.txt]
    metrics: [out/metrics.json]
`,
  });
});
afterAll(async () => rig?.cleanup());

describe('concurrent repro and experiments', () => {
  it('all finish with correct results and a clean cache', async () => {
    for (const f of ['2', '3']) {
      const q = await rig.run(['exp', 'run', '--queue', '-S', `train.factor=${f}`]);
      expect(q.code, q.stdout + q.stderr).toBe(0);
    }
    const results = await Promise.all([rig.spawn(['repro']), rig.spawn(['repro']), rig.spawn(['exp', 'run', '--run-all', '-j', '2'])]);
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(rig.read('prep.txt')).toBe('a\nb\n');
    expect(JSON.parse(rig.read('out/metrics.json'))).toEqual({ score: 1 });
    const shown = await rig.run(['exp', 'show', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const rows = (JSON.parse(shown.stdout) as { rows: Record<string, unknown>[] }).rows.filter((r) => r.Experiment !== 'workspace');
    // Both experiments ran and recorded the score their own param gave.
    expect(rows.map((r) => [r.Status, r['train.factor'], r['out/metrics.json:score']]).sort()).toEqual([
      ['success', 2, 2],
      ['success', 3, 3],
    ]);
    const doctor = await rig.run(['doctor']);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(doctor.stdout).toMatch(/; 0 corrupt/);
    const st = await rig.run(['status']);
    expect(st.stdout).toContain('Everything is up to date');
  });
});
