// A push killed mid-upload to a folder remote leaves its temp file there (issue #21 item 14). Nothing else
// visits that folder, so the next push's listing removes temps untouched for an hour; a younger one may
// belong to a transfer still running on another host, and stays.
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listFiles } from '../kit/checks.js';
import { Rig } from '../rig.js';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('temp files of killed transfers in a folder remote', () => {
  it('the next push removes those over an hour old and keeps younger ones', async () => {
    rig = new Rig('rallycut-remote-temps-');
    await rig.write({ 'in.txt': 'x\n', 'pipeline.yaml': 'stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n' });
    expect((await rig.run(['repro'])).code).toBe(0);
    expect((await rig.run(['remote', 'add', '-d', 'store', 'remote-store'])).code).toBe(0);
    const killed = await rig.spawn(['push'], { RALLYCUT_CRASH_AT: 'remote.upload:1' });
    expect(killed.code).not.toBe(0);
    const store = join(rig.dir, 'remote-store');
    const left = (await listFiles(store)).filter((f) => f.split('/').pop()!.startsWith('.rallycut-tmp-'));
    expect(left).toHaveLength(1);
    const old = join(store, left[0]!);
    const hoursAgo = (Date.now() - 2 * 3600_000) / 1000;
    utimesSync(old, hoursAgo, hoursAgo);
    const young = join(store, 'files', '.rallycut-tmp-other-host.123.0badf00d');
    writeFileSync(young, 'a transfer still running elsewhere');

    const again = await rig.run(['push']);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
    expect(readdirSync(join(store, 'files')).filter((n) => !n.startsWith('.'))).not.toHaveLength(0);
  });
});
