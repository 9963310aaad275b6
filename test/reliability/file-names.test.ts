// File names that are not valid UTF-8 inside folder deps and outs (issue #21 item 8). The lock and the
// cache record names as UTF-8 text, so such a name cannot be stored; it used to be dropped silently (a
// folder of two files locked as `nfiles: 1`, its changes never seen). Now the folder is refused, naming it
// and the name's bytes, and nothing is lost. Valid names, also with U+FFFD itself, are untouched.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** `b\xff.txt`: one byte that is not UTF-8. */
const BAD_NAME = Buffer.concat([Buffer.from('b'), Buffer.from([0xff]), Buffer.from('.txt')]);

function writeFolder(dir: string, extra: Buffer): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  writeFileSync(Buffer.concat([Buffer.from(dir + '/'), extra]), 'b\n');
}

describe('non-UTF-8 file names in folders', () => {
  it('a folder dep holding one is refused before anything runs, naming the folder and the bytes', async () => {
    rig = new Rig('rallycut-names-');
    await rig.write({
      'pipeline.yaml': `stages:
  make:
    cmd: '${Rig.stageCmd('make', 'mkdir -p data && cp -r staging/. data/')}'
    deps: [staging]
    outs: [data]
`,
    });
    writeFolder(join(rig.dir, 'staging'), Buffer.from('b.txt'));
    expect((await rig.run(['repro'])).code).toBe(0);
    writeFileSync(Buffer.concat([Buffer.from(join(rig.dir, 'staging') + '/'), BAD_NAME]), 'b\n');
    const r = await rig.run(['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'staging' holds a name that is not valid UTF-8: 'b\\xff.txt'");
    expect(await rig.invocations()).toEqual(['make']); // only the first, valid run
    expect(readdirSync(join(rig.dir, 'staging'), { encoding: 'buffer' })).toHaveLength(3);
  });

  it('a folder out that a stage fills with one fails the stage and keeps the files', async () => {
    rig = new Rig('rallycut-names-');
    await rig.write({
      'in.txt': 'x\n',
      'pipeline.yaml': `stages:
  make:
    cmd: '${Rig.stageCmd('make', 'mkdir -p data && cp -r staging/. data/')}'
    deps: [in.txt]
    outs: [data]
`,
    });
    writeFolder(join(rig.dir, 'staging'), BAD_NAME); // not a dep: only the out sees the name
    const r = await rig.run(['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("'data' holds a name that is not valid UTF-8: 'b\\xff.txt'");
    expect(rig.exists('pipeline.lock')).toBe(false); // nothing locked for the stage
    expect(readdirSync(join(rig.dir, 'data'), { encoding: 'buffer' })).toHaveLength(2);
  });

  it('valid names stay accepted, also one holding U+FFFD itself', async () => {
    rig = new Rig('rallycut-names-');
    await rig.write({
      'pipeline.yaml': `stages:
  make:
    cmd: '${Rig.stageCmd('make', 'cp -r staging data')}'
    deps: [staging]
    outs: [data]
`,
    });
    writeFolder(join(rig.dir, 'staging'), Buffer.from('b\uFFFDé.txt'));
    const r = await rig.run(['repro']);
    expect(r.code, r.stderr).toBe(0);
    expect(rig.read('pipeline.lock')).toContain('nfiles: 2');
  });
});
