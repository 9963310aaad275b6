// `exp show` on a project with many metric leaves: by default the varying params and the headline metrics
// pipeline.yaml names, fitted to the terminal with a note on what is left out; the flags that change the
// choice; JSON/CSV with everything. Rows come from the checkout and HEAD (no experiment needs to run).
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const PIPELINE = `stages:
  evaluate:
    cmd: echo never run here
    params: [train]
    metrics:
      - metrics/eval.json:
          cache: false
          headline:
            - totals.greedy.f1: F1
            - held_out.greedy.f1: held-out F1
            - totals.mae_ms
`;

/** A metrics file like evaluate's: a few headline values among many counts and config echoes. */
function metrics(f1: number, heldOut: number, mae: number): string {
  const m: Record<string, unknown> = { totals: { greedy: { f1, tp: 20, fp: 1, fn: 2 }, mae_ms: mae }, held_out: { greedy: { f1: heldOut } }, config: {} };
  for (let i = 0; i < 30; i++) (m.config as Record<string, number>)[`option_${i}`] = i;
  for (const iou of ['0.10', '0.25', '0.50']) (m.totals as Record<string, unknown>)[`segmental_${iou}`] = { f1, tp: 20 + Number(iou), fp: 1, fn: 2 };
  return JSON.stringify(m);
}

let rig: Rig;
beforeEach(async () => {
  rig = new Rig('rallycut-expshow-');
  await rig.write({
    'pipeline.yaml': PIPELINE,
    'params/default.yaml': 'train:\n  lr: 0.001\n  epochs: 3\n',
    'metrics/eval.json': metrics(0.9, 0.8, 1200),
  });
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: rig.dir, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'add', '.');
  git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'init');
  // The checkout now differs from HEAD in one param and the metrics.
  await rig.write({ 'params/default.yaml': 'train:\n  lr: 0.01\n  epochs: 3\n', 'metrics/eval.json': metrics(0.95, 0.85, 900) });
});
afterEach(async () => rig.cleanup());

const headerOf = (stdout: string): string[] => stdout.split('\n')[0]!.split(/\s{2,}/);

describe('exp show', () => {
  it('shows the varying params and the headline metrics by label, and says how many columns it left out', async () => {
    const r = await rig.run(['exp', 'show']);
    expect(r.code, r.stderr).toBe(0);
    expect(headerOf(r.stdout)).toEqual(['Experiment', 'Status', 'Created', 'train.lr', 'F1', 'held-out F1', 'totals.mae_ms']);
    expect(r.stdout).toContain('0.95');
    expect(r.stdout).not.toContain('option_');
    expect(r.stderr).toMatch(/note: \d+ more columns .*--all shows them, --keep REGEX picks some/);
  });

  it('fits the terminal width, naming the hidden columns and how to see them', async () => {
    const r = await rig.run(['exp', 'show'], {}, rig.dir, { columns: 50 });
    expect(r.code, r.stderr).toBe(0);
    for (const line of r.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(50);
    const header = headerOf(r.stdout);
    expect(header[0]).toBe('Experiment');
    expect(header).toEqual(['Experiment', 'train.lr', 'F1', 'held-out F1']); // varying params, then headline metrics, outrank status and date
    expect(r.stderr).toMatch(
      /note: \d columns? hidden to fit 50 columns \(.*Created.*\): widen the terminal, leave others out with --drop REGEX, or print with --md, --csv or --json/,
    );
    // Not a terminal: nothing is hidden for width.
    expect((await rig.run(['exp', 'show'])).stderr).not.toMatch(/hidden to fit/);
  });

  it('--all, --keep, --drop, --only-changed, --md and --sort-by by label', async () => {
    const all = await rig.run(['exp', 'show', '--all']);
    expect(headerOf(all.stdout)).toEqual(expect.arrayContaining(['Baseline', 'train.epochs', 'config.option_29', 'totals.segmental_0.50.tp']));
    expect(all.stderr).toBe('');

    const keep = await rig.run(['exp', 'show', '--keep', 'segmental_0\\.50\\.f1$']);
    expect(headerOf(keep.stdout)).toEqual(['Experiment', 'Status', 'Created', 'train.lr', 'F1', 'held-out F1', 'totals.mae_ms', 'totals.segmental_0.50.f1']);

    const drop = await rig.run(['exp', 'show', '--drop', 'held-out|Created']);
    expect(headerOf(drop.stdout)).toEqual(['Experiment', 'Status', 'train.lr', 'F1', 'totals.mae_ms']);

    const changed = await rig.run(['exp', 'show', '--all', '--only-changed']);
    expect(headerOf(changed.stdout)).toContain('train.lr');
    expect(headerOf(changed.stdout)).not.toContain('train.epochs');
    expect(headerOf(changed.stdout)).not.toContain('config.option_0');

    const md = await rig.run(['exp', 'show', '--md']);
    expect(md.stdout.split('\n').slice(0, 2)).toEqual([
      '| Experiment | Status | Created | train.lr | F1 | held-out F1 | totals.mae_ms |',
      '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ]);

    const sorted = await rig.run(['exp', 'show', '--csv', '--sort-by', 'held-out F1', '--ascending']);
    expect(sorted.code, sorted.stderr).toBe(0);

    const bad = await rig.run(['exp', 'show', '--drop', '(']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--drop '\(' is not a valid regular expression/);
  });

  it('--json and --csv keep every metric', async () => {
    const json = JSON.parse((await rig.run(['exp', 'show', '--json'])).stdout) as { params: string[]; metrics: string[]; rows: Record<string, unknown>[] };
    expect(json.params).toEqual(['train.lr']);
    expect(json.metrics).toContain('metrics/eval.json:config.option_29');
    expect(json.rows[0]!['metrics/eval.json:totals.greedy.f1']).toBe(0.95);
    const csv = (await rig.run(['exp', 'show', '--csv'])).stdout.split('\n')[0]!.split(',');
    expect(csv).toContain('metrics/eval.json:totals.segmental_0.25.fp');
    expect(csv.length).toBeGreaterThan(40);
  });

  it('names a headline key that matches nothing', async () => {
    await rig.write({ 'pipeline.yaml': PIPELINE.replace('totals.mae_ms', 'totals.mea_ms') });
    const r = await rig.run(['exp', 'show']);
    expect(r.stderr).toContain("note: headline metric 'metrics/eval.json:totals.mea_ms' is in no row");
  });
});
