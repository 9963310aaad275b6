// Cache trust and records (issue #21): nothing read back from the cache folder or an experiment record is
// used unless it is verified first. A tampered folder manifest is refused by checkout.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Rig } from '../rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.cleanup();
});

async function freshRig(files: Record<string, string>): Promise<Rig> {
  const rig = new Rig('rallycut-trust-');
  rigs.push(rig);
  await rig.write(files);
  return rig;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const objectFile = (rig: Rig, hash: string, suffix = ''): string => join(rig.dir, '.cache', 'objects', hash.slice(0, 2), hash.slice(2) + suffix);

describe('a tampered folder manifest in the cache', () => {
  it('is refused by checkout; no injected file is restored', async () => {
    const rig = await freshRig({
      'pipeline.yaml': 'stages:\n  d:\n    cmd: mkdir -p d && echo one > d/one.txt\n    outs: [d]\n',
    });
    expect((await rig.run(['repro'])).code).toBe(0);
    const lock = rig.read('pipeline.lock');
    const dirHash = /path: d\n\s+sha256: ([0-9a-f]{64})/.exec(lock)?.[1] ?? /sha256: ([0-9a-f]{64})/.exec(lock)?.[1];
    expect(dirHash).toBeDefined();
    const manifest = objectFile(rig, dirHash!, '.dir');
    const text = await fs.readFile(manifest, 'utf8');
    // Inject an entry for a file the folder never had, pointing at an object that is in the cache.
    const injected = text.replace('[\n', `[\n{"path":"evil.sh","sha256":"${sha('one\n')}","size":4,"isexec":true},\n`);
    await fs.chmod(manifest, 0o644);
    await fs.writeFile(manifest, injected);
    await rig.remove('d');
    const co = await rig.run(['checkout']);
    expect(co.code).not.toBe(0);
    expect(co.stderr).toContain('d (d): not in the cache'); // the bad manifest was dropped on read
    expect(rig.exists('d/evil.sh')).toBe(false);
    // The bad manifest is gone: repro rebuilds the folder and stores a good one.
    const re = await rig.run(['repro']);
    expect(re.code, re.stderr).toBe(0);
    expect(rig.read('d/one.txt')).toBe('one\n');
    expect(sha(await fs.readFile(manifest, 'utf8'))).toBe(dirHash);
  });
});
