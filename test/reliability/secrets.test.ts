// Secrets in the environment never reach what rallycut prints or stores (issue #21 item 13): a DATABASE_URL
// password given as a query parameter, an S3 endpoint's userinfo, and a stage that dumps its environment
// (its log is stored in the run-cache and uploaded by `push --run-cache`).
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listFiles } from '../kit/checks.js';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** Every file under dir that holds one of the canaries. */
async function filesHolding(dir: string, canaries: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const f of await listFiles(dir)) {
    const text = await fs.readFile(join(dir, f), 'latin1');
    if (canaries.some((c) => text.includes(c))) found.push(f);
  }
  return found;
}

describe('secrets in connection strings are never printed', () => {
  it('a DATABASE_URL password given as ?password= is not in the error', async () => {
    rig = new Rig('rallycut-secrets-');
    await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
    const r = await rig.run(['db', 'init'], { DATABASE_URL: 'postgres://u@127.0.0.1:1/db?password=CanaryQueryPw42' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('postgres://u@127.0.0.1:1/db?password=***');
    expect(r.stdout + r.stderr).not.toContain('CanaryQueryPw42');
  });

  it("an S3 endpoint's userinfo password is not in the remote's description", async () => {
    rig = new Rig('rallycut-secrets-');
    await rig.write({ 'pipeline.yaml': 'stages: {}\n' });
    const r = await rig.run(['train', 'list-remote'], {
      TRAINING_S3_BUCKET: 'b',
      TRAINING_S3_ENDPOINT: 'http://u:CanaryEndpointPw@127.0.0.1:9',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 'abcd',
    });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('endpoint http://u:***@127.0.0.1:9/');
    expect(r.stdout + r.stderr).not.toContain('CanaryEndpointPw');
  });
});

describe('every printed or stored error is masked', () => {
  it("a URL with a password in any error, and in a failed experiment's stored record", async () => {
    rig = new Rig('rallycut-secrets-');
    await rig.write({
      'in.txt': 'x\n',
      'params/default.yaml': 'train:\n  lr: 0.1\n',
      'pipeline.yaml': `stages:
  fetch:
    cmd: 'test \${train.lr} = 0.1 || false https://u:CanaryExpPw@127.0.0.1:1/data'
    deps: [in.txt]
    params: [train.lr]
    outs: [got.txt]
`,
    });
    const added = await rig.run(['remote', 'add', 'web', 'https://user:CanaryRemotePw@example.org/cache']);
    expect(added.code).toBe(2);
    expect(added.stderr).toContain("unsupported remote URL 'https://user:***@example.org/cache'");
    const exp = await rig.run(['exp', 'run', '-S', 'train.lr=0.2']);
    expect(exp.code).not.toBe(0);
    expect(exp.stderr).toContain('https://u:***@127.0.0.1:1/data');
    const shown = await rig.run(['exp', 'show', '--json']);
    const records = (await listFiles(join(rig.dir, '.cache', 'exps'))).filter((f) => f.endsWith('.json'));
    expect(records.map((f) => rig.read(`.cache/exps/${f}`)).join('')).toContain('https://u:***@127.0.0.1:1/data');
    for (const r of [added, exp, shown]) expect(r.stdout + r.stderr).not.toMatch(/CanaryRemotePw|CanaryExpPw/);
    expect(await filesHolding(join(rig.dir, '.cache', 'exps'), ['CanaryExpPw'])).toEqual([]); // the workspace's pipeline.yaml holds it, as written
  });
});

describe('stage logs are stored and pushed without secrets', () => {
  const secrets = {
    AWS_SECRET_ACCESS_KEY: 'CanaryAws0001',
    AWS_SESSION_TOKEN: 'CanarySession0002',
    MODAL_TOKEN_ID: 'CanaryModalId0003',
    MODAL_TOKEN_SECRET: 'CanaryModalSecret0004',
    PGPASSWORD: 'CanaryPg0005',
    TEAM_API_TOKEN: 'CanaryTeam0006',
    DATABASE_URL: 'postgres://u:CanaryDbPw0007@127.0.0.1:1/db',
  };
  const canaries = Object.values(secrets).map((v) => /Canary\w+/.exec(v)![0]);

  it('a debug `env` in a stage: printed, stored in .cache/runs and pushed with every secret masked', async () => {
    rig = new Rig('rallycut-secrets-');
    await rig.write({
      'pipeline.yaml': `stages:
  debug:
    cmd: '${Rig.stageCmd('debug', 'env | sort && echo "token again: $TEAM_API_TOKEN" && cp in.txt out.txt')}'
    deps: [in.txt]
    outs: [out.txt]
`,
      'in.txt': 'x\n',
    });
    const repro = await rig.run(['repro'], secrets);
    expect(repro.code, repro.stderr).toBe(0);
    expect(repro.stderr).toContain('[debug] TEAM_API_TOKEN=***');
    expect(repro.stderr).toContain('[debug] token again: ***');
    expect(repro.stderr).toContain('[debug] DATABASE_URL=postgres://u:***@127.0.0.1:1/db');
    const records = (await listFiles(join(rig.dir, '.cache', 'runs'))).filter((f) => f.endsWith('.json'));
    expect(records).toHaveLength(1);
    const log = (JSON.parse(rig.read(`.cache/runs/${records[0]}`)) as { log: string[] }).log;
    expect(log).toContain('PGPASSWORD=***'); // the line is kept, only its value is masked
    expect(await filesHolding(join(rig.dir, '.cache'), canaries)).toEqual([]);

    // A record stored by an older version, unmasked, is masked on its way to the remote.
    await fs.writeFile(
      join(rig.dir, '.cache', 'runs', records[0]!),
      JSON.stringify({ ...JSON.parse(rig.read(`.cache/runs/${records[0]}`)), log: ['leaked CanaryModalSecret0004'] }),
    );
    expect((await rig.run(['remote', 'add', '-d', 'store', 'remote-store'])).code).toBe(0);
    const push = await rig.run(['push', '--run-cache'], secrets);
    expect(push.code, push.stderr).toBe(0);
    const pushed = await listFiles(join(rig.dir, 'remote-store'));
    expect(pushed.some((f) => f.startsWith('runs/'))).toBe(true);
    expect(await filesHolding(join(rig.dir, 'remote-store'), canaries)).toEqual([]);
  });
});
