// `repro --json` prints exactly one JSON document on stdout whether the run succeeds or fails: the full
// result (ok, stages, errors) when stages ran, {ok: false, errors} when the pipeline could not even load.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const cmd = Rig.stageCmd;

let rig: Rig;
beforeEach(() => {
  rig = new Rig();
});
afterEach(async () => rig.cleanup());

describe('repro --json', () => {
  it('a failing stage: one document with every stage outcome and the error, exit 1', async () => {
    await rig.write({
      'pipeline.yaml': `stages:
  good:
    cmd: '${cmd('good', 'echo ok > good.txt')}'
    outs: [good.txt]
  bad:
    cmd: '${cmd('bad', 'echo broken >&2; exit 3')}'
    outs: [bad.txt]
`,
    });
    const res = await rig.run(['repro', '--json', '--keep-going']);
    expect(res.code).toBe(1);
    const parsed = JSON.parse(res.stdout) as { ok: boolean; stages: { stage: string; outcome: string }[]; errors: { message: string }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.stages.find((s) => s.stage === 'good')?.outcome).toBe('ran');
    expect(parsed.stages.find((s) => s.stage === 'bad')?.outcome).not.toBe('ran');
    expect(parsed.errors.map((e) => e.message).join('\n')).toContain('bad');
    expect(res.stderr).toContain('bad'); // the human diagnostics still go to stderr
  });

  it('a broken pipeline.yaml: one {ok: false, errors} document, exit 2', async () => {
    await rig.write({ 'pipeline.yaml': 'stages:\n  a:\n    deps: [x]\n' });
    const res = await rig.run(['repro', '--json']);
    expect(res.code).toBe(2);
    const parsed = JSON.parse(res.stdout) as { ok: boolean; errors: { kind: string }[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.errors[0]?.kind).toBe('config');
  });
});
