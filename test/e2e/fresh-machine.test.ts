// The paths a fresh machine takes, in a real process whose PATH holds no ffmpeg, ffprobe, PostgreSQL or
// Chromium (an empty folder) and no DATABASE_URL: the bundled ffmpeg is found and named, onnxruntime's CPU
// build loads (.npmrc skips only its GPU download), the labels database is the embedded PGlite, and the
// HTML report is written without a browser. A broken onnxruntime install fails naming itself.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RallycutError } from '../../src/handler.js';
import { importOnnxRuntime } from '../../stages/lib/model/onnxruntime.js';
import { Rig } from '../rig.js';

const BARE = { PATH: '', DATABASE_URL: '', RALLYCUT_FFMPEG: '', RALLYCUT_FFPROBE: '' };

let rig: Rig;
beforeAll(async () => {
  rig = new Rig('rallycut-fresh-');
  const emptyBin = join(rig.dir, 'empty-bin');
  mkdirSync(emptyBin);
  BARE.PATH = emptyBin;
  await rig.write({
    'pipeline.yaml': "stages:\n  evaluate:\n    cmd: 'true'\n    metrics:\n      - metrics/evaluate.json: { cache: false }\n",
    'metrics/evaluate.json': JSON.stringify({ totals: { greedy: { f1: 0.8, precision: 0.75, recall: 0.9 } }, videos: [] }),
  });
});
afterAll(async () => rig?.cleanup());

describe('a fresh machine (nothing on PATH)', () => {
  it('doctor names the bundled ffmpeg, onnxruntime CPU and the embedded database, all usable', async () => {
    const res = await rig.spawn(['doctor'], BARE);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /ffmpeg +ok +ffmpeg version \S+ at \S*@ffmpeg-installer\S*ffmpeg \(the bundled @ffmpeg-installer build\); ffprobe at \S*@ffprobe-installer/,
    );
    expect(res.stdout).toMatch(/onnxruntime +ok +onnxruntime-node \d+\.\d+\.\d+ \(CPU\)/);
    expect(res.stdout).toMatch(/database +ok +embedded PGlite in .*\.cache\/db \(no PostgreSQL needed/);
    expect(readFileSync(new URL('../../.npmrc', import.meta.url), 'utf8')).toContain('onnxruntime-node-install=skip');
  });

  it('doctor fails naming ffmpeg when the one named by RALLYCUT_FFMPEG lacks what the stages use', async () => {
    const fake = join(rig.dir, 'old-ffmpeg');
    writeFileSync(
      fake,
      "#!/bin/sh\ncase \" $* \" in *' -version '*) echo 'ffmpeg version 2.8-old';; *' -filters '*) echo ' ... scale V->V Scale';; *) :;; esac\n",
      { mode: 0o755 },
    );
    const res = await rig.spawn(['doctor'], { ...BARE, RALLYCUT_FFMPEG: fake, RALLYCUT_FFPROBE: fake });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /ffmpeg +UNUSABLE +rallycut needs the select filter, .*the libx264 encoder.*which the ffmpeg at \S+old-ffmpeg \(ffmpeg version 2\.8-old\) lacks/,
    );
    expect(res.stderr).toMatch(/ffmpeg unusable/);
    expect(res.stderr).toMatch(/install a current ffmpeg/);
  });

  it('db init creates the schema in the embedded PGlite, with no PostgreSQL installed', { timeout: 300_000 }, async () => {
    const res = await rig.spawn(['db', 'init'], BARE);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr + res.stdout).toMatch(/embedded PGlite/);
    expect(existsSync(join(rig.dir, '.cache', 'db'))).toBe(true);
  });

  it('plots show writes the self-contained HTML report without a browser', async () => {
    const res = await rig.spawn(['plots', 'show'], BARE);
    expect(res.code, res.stderr).toBe(0);
    const html = readFileSync(join(rig.dir, '.cache/report/index.html'), 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it('a broken onnxruntime-node install is an error naming it, not a bare module error', async () => {
    const broken = join(rig.dir, 'broken-ort');
    mkdirSync(broken);
    writeFileSync(join(broken, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0', main: 'index.js' }));
    writeFileSync(join(broken, 'index.js'), "module.exports = require('./bin/napi-v3/linux/x64/onnxruntime_binding.node');\n");
    const err = await importOnnxRuntime(join(broken, 'index.js')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RallycutError);
    const d = (err as RallycutError).diagnostics[0]!;
    expect(d.message).toMatch(new RegExp(`^onnxruntime-node cannot be loaded on ${process.platform}-${process.arch}: Cannot find module`));
    expect(d.notes?.[0]).toMatch(/npm ci/);
  });
});
