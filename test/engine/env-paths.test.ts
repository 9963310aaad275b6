// Paths that come from the environment or a config file (issue #21 item 14): a relative RALLYCUT_CACHE_DIR
// is relative to the project, not to the folder a command runs in; `~` in a remote path is the home folder.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const PIPELINE = `stages:
  copy:
    cmd: '${Rig.stageCmd('copy', 'cp in.txt out.txt')}'
    deps: [in.txt]
    outs: [out.txt]
`;

describe('paths from the environment', () => {
  it('a relative RALLYCUT_CACHE_DIR is the same cache from the root and from a sub-folder', async () => {
    rig = new Rig('rallycut-envpaths-');
    await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\n', 'sub/keep.txt': '' });
    const env = { RALLYCUT_CACHE_DIR: 'shared-cache' };
    const first = await rig.run(['repro'], env, join(rig.dir, 'sub'));
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(rig.dir, 'shared-cache', 'objects'))).toBe(true);
    expect(existsSync(join(rig.dir, 'sub', 'shared-cache'))).toBe(false);
    // From the root the same cache answers: the out is restored from it, not recomputed.
    await rig.remove('out.txt');
    const again = await rig.run(['repro'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('restored from cache');
    expect(await rig.invocations()).toEqual(['copy']);
  });

  it('`~/…` in a named remote and in RALLYCUT_REMOTE_DIR is the home folder, not a folder named ~; a relative RALLYCUT_REMOTE_DIR is in the project', async () => {
    rig = new Rig('rallycut-envpaths-');
    const home = join(rig.dir, 'home');
    mkdirSync(home);
    await rig.write({ 'pipeline.yaml': PIPELINE, 'in.txt': 'x\n', 'sub/keep.txt': '' });
    expect((await rig.run(['repro'])).code).toBe(0);
    const added = await rig.run(['remote', 'add', '-d', 'store', '~/rc-remote'], { HOME: home });
    expect(added.code, added.stderr).toBe(0);
    expect(rig.read('.rallycut/config.yaml')).toContain('url: ~/rc-remote'); // each user's own home
    const pushed = await rig.run(['push'], { HOME: home }, join(rig.dir, 'sub'));
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(readdirSync(join(home, 'rc-remote'))).toContain('files');

    const trained = await rig.run(['train', 'list-remote', '--json'], { HOME: home, RALLYCUT_REMOTE_DIR: '~/datasets-remote' });
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stderr).toContain(`local folder ${join(home, 'datasets-remote')}`);
    // A relative one is relative to the project, also from a sub-folder.
    const relative = await rig.run(['train', 'list-remote', '--json'], { RALLYCUT_REMOTE_DIR: 'datasets-remote' }, join(rig.dir, 'sub'));
    expect(relative.code, relative.stderr).toBe(0);
    expect(relative.stderr).toContain(`local folder ${join(rig.dir, 'datasets-remote')} `);
    expect(existsSync(join(rig.dir, '~'))).toBe(false);
    expect(existsSync(join(rig.dir, 'sub', '~'))).toBe(false);
  });
});
