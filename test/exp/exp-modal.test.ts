// A sweep whose heavy stage runs on Modal: `exp run -S … -j 4 --executor train=modal`, four experiment
// processes at once, through Modal's real SDK (modal@0.11.1) to the fake Modal (test/services/modal/).
// Two pairs of experiments share an unchanged upstream out, which must travel to the Volume once per
// content, not once per experiment; the records, locks and `exp show` must be those of a local sweep.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_TOKEN_SECRET, FakeModal } from '../services/modal/server.js';
import { distIsFresh, Rig } from '../rig.js';

const PIPELINE = `stages:
  prep:
    cmd: 'mkdir -p data && seq \${prep.rows} > data/base.txt && cat src.txt >> data/base.txt'
    deps: [src.txt]
    params: [prep]
    outs: [data/base.txt]
  train:
    cmd: 'mkdir -p metrics && printf "{\\"lr\\": %s, \\"lines\\": %s}" \${train.lr} $(wc -l < data/base.txt) > metrics/train.json'
    deps: [data/base.txt]
    params: [train]
    metrics:
      - metrics/train.json
`;

let fake: FakeModal;
let rig: Rig;

beforeAll(async () => {
  fake = await FakeModal.start();
  rig = new Rig('rallycut-exp-modal-');
  await rig.write({
    'pipeline.yaml': PIPELINE,
    'params/default.yaml': 'prep:\n  rows: 1\ntrain:\n  lr: 0.1\n',
    'src.txt': 'a\nb\n',
    '.gitignore': '.cache/\n/data/\n/metrics/\n',
  });
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: rig.dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
});
afterAll(async () => {
  await fake?.stop();
  await rig?.cleanup();
});

/** The fake's Modal endpoint and token, and experiment processes that run these sources. */
function env(): Record<string, string> {
  return { ...fake.env(), ...(distIsFresh() ? {} : { RALLYCUT_FROM_SOURCE: '1' }), RALLYCUT_MODAL_BACKOFF_MS: '10' };
}

/** Content uploads: the SDK's filesystem-tool WriteFile execs (one per object stored). */
function uploads(): string[] {
  return fake.state.log
    .filter((r) => r.method === 'TaskExecStart' && JSON.stringify(r.request).includes('WriteFile'))
    .map((r) => /objects\/([0-9a-f]{64})/.exec(JSON.stringify(r.request))?.[1] ?? '?');
}

interface Rec {
  status: string;
  error?: string;
  metrics: Record<string, Record<string, number>>;
  lock: { stages: Record<string, Record<string, unknown>> };
  placement?: unknown;
}
const record = (name: string): Rec => JSON.parse(rig.read(`.cache/exps/${name}.json`)) as Rec;

describe('exp run --executor train=modal (through the real SDK to the fake Modal)', () => {
  it("runs four experiments at once with train on Modal; each shared upstream out is uploaded once; records are a local sweep's", async () => {
    const base = await rig.run(['repro']);
    expect(base.code, base.stderr).toBe(0);

    const res = await rig.run(['exp', 'run', '-S', 'prep.rows=1,2', '-S', 'train.lr=0.3,0.4', '-n', 'sw', '-j', '4', '--executor', 'train=modal'], env());
    expect(res.code, res.stderr).toBe(0);
    const names = ['sw-1', 'sw-2', 'sw-3', 'sw-4'];
    const recs = names.map(record);
    expect(recs.map((r) => r.status)).toEqual(['success', 'success', 'success', 'success']);
    // Cross product in -S order: rows 1 with lr 0.3, 0.4, then rows 2 (the checkout has rows 1, lr 0.1). lines = rows + the 2 of src.txt.
    expect(recs.map((r) => [r.metrics['metrics/train.json']!.lr, r.metrics['metrics/train.json']!.lines])).toEqual([
      [0.3, 3],
      [0.4, 3],
      [0.3, 4],
      [0.4, 4],
    ]);
    // Every train ran on Modal (its own job folder per experiment), prep where pipeline.yaml says.
    for (const n of names) {
      expect(res.stderr).toContain(`[${n}] [train] executor modal (--executor train=modal; pipeline.yaml says local)`);
      expect(res.stderr).toContain(`[${n}] [train] backend: modal (app rallycut, volume rallycut-training at /data)`);
      expect(res.stderr).not.toContain(`[${n}] [prep] backend:`);
    }
    // The two data/base.txt contents (rows 1: restored from the cache; rows 2: made by two experiments)
    // went to the Volume once each, though four runs needed them at the same time.
    const sent = uploads();
    expect(sent.length, res.stderr).toBe(2);
    expect(new Set(sent).size).toBe(2);
    const volume = fake.state.volumeNamed('rallycut-training')!;
    expect((await volume.files()).filter((f) => f.startsWith('objects/')).length).toBe(2);
    expect((await volume.files()).filter((f) => /^work\/train-[0-9a-f]{10}\/metrics\/train\.json$/.test(f)).length).toBe(4);

    // Identity: the locks name the declared executor; a local experiment with sw-4's params is restored
    // from the run-cache the Modal run filled, with the same lock entry.
    for (const r of recs) expect(r.lock.stages.train!.executor).toBeUndefined();
    expect(recs[0]!.placement).toEqual({ stages: { train: 'modal' } });
    const local = await rig.run(['exp', 'run', '-S', 'prep.rows=2', '-S', 'train.lr=0.4', '-n', 'here']);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stderr).toContain('[train] restored from run-cache, not run');
    expect(record('here').lock.stages.train).toEqual(recs[3]!.lock.stages.train);
    expect(uploads().length).toBe(2);

    // exp show: the same table as for local experiments (params that vary, every metric), no executor column.
    const show = await rig.run(['exp', 'show', '--json']);
    expect(show.code, show.stderr).toBe(0);
    const table = JSON.parse(show.stdout) as { params: string[]; rows: Record<string, unknown>[] };
    expect(table.params.sort()).toEqual(['prep.rows', 'train.lr']);
    const row = (n: string): Record<string, unknown> | undefined => table.rows.find((r) => r.Experiment === n);
    expect(names.map((n) => [row(n)?.['prep.rows'], row(n)?.['train.lr'], row(n)?.['metrics/train.json:lines']])).toEqual([
      [1, 0.3, 3],
      [1, 0.4, 3],
      [2, 0.3, 4],
      [2, 0.4, 4],
    ]);
    expect(row('here')).toMatchObject({ 'prep.rows': 2, 'train.lr': 0.4, 'metrics/train.json:lines': 4 });
    expect(show.stdout).not.toContain('modal');

    // No secret in any argument, log, record or lock.
    expect(`${res.stdout}${res.stderr}${local.stderr}`).not.toContain(FAKE_TOKEN_SECRET);
    expect(JSON.stringify(fake.state.log)).not.toContain(FAKE_TOKEN_SECRET);
    for (const f of readdirSync(join(rig.dir, '.cache/exps'))) expect(readFileSync(join(rig.dir, '.cache/exps', f), 'utf8')).not.toContain(FAKE_TOKEN_SECRET);
    for (const n of names) expect(readFileSync(join(rig.dir, '.cache/exp-workspaces', n, 'pipeline.lock'), 'utf8')).not.toContain(FAKE_TOKEN_SECRET);
    expect(fake.state.unexpected).toEqual([]);
  }, 240_000);

  it('usage errors exit 2 before anything is queued: an unknown executor, a stage the pipeline lacks', async () => {
    const bad = await rig.run(['exp', 'run', '-S', 'train.lr=0.3', '-n', 'nope', '--executor', 'gpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--executor 'gpu': unknown executor 'gpu'");
    const typo = await rig.run(['exp', 'run', '-S', 'train.lr=0.3', '-n', 'nope', '--executor', 'trian=modal']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("--executor names stage 'trian' that the pipeline does not have");
    expect(rig.exists('.cache/exps/nope.json')).toBe(false);
  });
});
