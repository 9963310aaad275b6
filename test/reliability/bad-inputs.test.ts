// The bad-input corpus (test/fixtures/bad/<case>/): each case's files are copied into a fresh project, the
// command in case.json runs, and the test asserts a non-zero exit, an error naming the file, line, item or
// key (case.json's `expect` fragments), and that every file that existed before is still there, unchanged.
// Videos that need real media are generated here with ffmpeg (case.json `generate`), not committed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { freshBucket, type TestS3 } from '../services/fresh.js';
import { Rig } from '../rig.js';

const CORPUS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bad');

interface BadCase {
  args: string[];
  /** Fragments the output must contain (all of them). */
  expect: string | string[];
  env: Record<string, string>;
  generate?: 'clip' | 'truncated' | 'audio-only';
}

const cases = readdirSync(CORPUS, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

async function snapshot(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of await fs.readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (r === '.cache' || r === 'invocations.log') continue;
    if (d.isDirectory()) for (const [k, v] of await snapshot(dir, r)) out.set(k, v);
    else out.set(r, createHash('sha256').update(await fs.readFile(join(dir, r))).digest('hex'));
  }
  return out;
}

function ffmpeg(args: string[], cwd: string): void {
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd, stdio: 'ignore' });
}

async function generate(kind: NonNullable<BadCase['generate']>, dir: string): Promise<void> {
  if (kind === 'audio-only') return ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', 'audio.mp4'], dir);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', 'clip.mp4'], dir);
  if (kind === 'truncated') {
    const bytes = await fs.readFile(join(dir, 'clip.mp4'));
    await fs.writeFile(join(dir, 'trunc.mp4'), bytes.subarray(0, Math.floor(bytes.length / 3)));
    await fs.rm(join(dir, 'clip.mp4'));
  }
}

describe('bad-input corpus', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await freshBucket();
  });

  it('holds at least 40 cases', () => expect(cases.length).toBeGreaterThanOrEqual(40));

  it.each(cases)('%s: fails, names the culprit, loses nothing', async (name) => {
    const spec = JSON.parse(readFileSync(join(CORPUS, name, 'case.json'), 'utf8')) as BadCase;
    const rig = new Rig('rallycut-bad-');
    try {
      await fs.cp(join(CORPUS, name, 'files'), rig.dir, { recursive: true });
      if (spec.generate) await generate(spec.generate, rig.dir);
      const env = Object.fromEntries(
        Object.entries(spec.env).map(([k, v]) => [k, v.replace('@S3_BUCKET@', s3.bucket).replace('@S3_ENDPOINT@', s3.endpoint)]),
      );
      const before = await snapshot(rig.dir);
      const res = await rig.run(spec.args, env);
      const text = res.stdout + res.stderr;
      if (process.env['BAD_PRINT']) console.log(`=== ${name} (${res.code})\n${text}`);
      expect(res.code, text).not.toBe(0);
      for (const fragment of [spec.expect].flat()) expect(text).toContain(fragment);
      const after = await snapshot(rig.dir);
      for (const [file, hash] of before) expect(after.get(file), `${file} was lost or changed`).toBe(hash);
    } finally {
      await rig.cleanup();
    }
  });
});
