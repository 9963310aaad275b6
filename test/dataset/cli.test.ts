// The dataset commands as a user runs them (parsed flags, stdout/stderr text, --json), on the embedded
// defaults: PGlite in <cache>/db (reached through the same `pg` client) and the local-folder remote.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/args.js';
import { main } from '../../src/cli/main.js';
import type { RallycutError, CommandIO, CommandSpec } from '../../src/handler.js';
import { formatDiagnostics } from '../../src/format/printer.js';
import exportModule from '../../stages/export-dataset/index.js';
import pushModule from '../../stages/push/index.js';
import pullModule from '../../stages/pull/index.js';
import restoreModule from '../../stages/restore/index.js';
import listModule from '../../stages/list-remote/index.js';
import dbModule from '../../stages/db/index.js';
import { makeOriginals, makeProject } from '../kit/dataset.js';
import { freshDatabase } from '../services/fresh.js';

const commands: CommandSpec[] = [exportModule, pushModule, pullModule, restoreModule, listModule, dbModule].flatMap((m) => m.commands ?? []);

async function run(cwd: string, env: Record<string, string>, argv: string[]): Promise<{ out: string; err: string }> {
  const cmd = commands.find((c) => c.path.every((p, i) => argv[i] === p))!;
  let out = '';
  let err = '';
  const io: CommandIO = {
    cwd,
    env: { RALLYCUT_PROGRESS: '0', ...env },
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    signal: new AbortController().signal,
  };
  await cmd.run(parseArgs(argv.slice(cmd.path.length), cmd.options, cmd.positionals ?? []), io);
  return { out, err };
}

/** A dataset folder as `train pull` would leave it, built from generated originals. */
async function seedDataset(project: ReturnType<typeof makeProject>) {
  const o = await makeOriginals(project, [1000, 2000]);
  const dir = join(project.root, 'training_datasets', 'seed');
  await fs.mkdir(join(dir, 'videos'), { recursive: true });
  for (const v of o.videos) await fs.copyFile(join(o.videosDir, v.filename), join(dir, 'videos', v.filename));
  const manifest = {
    name: 'seed',
    description: 'd',
    created: '2026-01-01T00:00:00Z',
    videos: o.videos.map((v) => ({ filename: v.filename, video_id: v.id, content_hash: v.content_hash, duration_ms: v.duration_ms, rally_count: 1 })),
    stats: {},
  };
  await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await fs.writeFile(join(dir, 'ground_truth.json'), JSON.stringify(o.videos.map((v) => ({ video_id: v.id, filename: v.filename, rallies: v.rallies }))));
  return o;
}

describe('dataset commands as printed', () => {
  it('on the embedded database (PGlite in <cache>/db, through the same pg client): init, restore, export', async () => {
    const project = makeProject();
    await fs.writeFile(join(project.root, 'pipeline.yaml'), 'stages: {}\n');
    const sub = join(project.root, 'sub'); // commands find the project root from a subfolder
    await fs.mkdir(sub);
    const o = await seedDataset(project);

    const init = await run(sub, {}, ['db', 'init']);
    expect(init.out).toBe(`created the labels schema in embedded PGlite at ${join(project.cacheDir, 'db')}\n`);
    expect(init.err).toContain('database: embedded PGlite at');
    const restored = JSON.parse((await run(sub, {}, ['train', 'restore', '--dataset', 'seed', '--json'])).out);
    expect(restored).toMatchObject({ ok: true, dry_run: false, inserted_videos: 2, new_rallies: 2 });
    const exported = JSON.parse(
      (await run(sub, {}, ['train', 'export-dataset', '--dataset', 'again', '--videos-dir', o.videosDir, '--copy-videos', '--json'])).out,
    );
    expect(exported).toMatchObject({ ok: true, videos: 2, rallies: 2 });
    const gtA = JSON.parse(await fs.readFile(join(project.root, 'training_datasets', 'again', 'ground_truth.json'), 'utf8'));
    expect(gtA).toEqual(o.videos.map((v) => ({ video_id: v.id, filename: v.filename, rallies: v.rallies })));
    const copied = await fs.stat(join(project.root, 'training_datasets', 'again', 'videos', 'clip0.mp4'));
    expect(copied.ino).not.toBe((await fs.stat(join(o.videosDir, 'clip0.mp4'))).ino); // --copy-videos copies
  });

  it('on PostgreSQL and the local-folder remote: init, restore --dry-run, push, list-remote, pull', async () => {
    const tdb = await freshDatabase();
    try {
      const project = makeProject();
      await seedDataset(project);
      const env = { DATABASE_URL: tdb.url };
      expect((await run(project.root, env, ['db', 'init'])).out).toMatch(/^created the labels schema in postgresql:\/\//);
      expect((await run(project.root, env, ['db', 'init'])).out).toContain('already present');
      const dry = await run(project.root, env, ['train', 'restore', '--dataset', 'seed', '--dry-run']);
      expect(dry.out).toMatch(/clip0\.mp4\s+add\s+v0\s+1/);
      expect(dry.out).toContain(
        "would add 2 videos and 2 rallies (0 videos already there), create session 'Training: seed' adding 2 videos, owned by nobody (no users); nothing changed",
      );

      const push = await run(project.root, env, ['train', 'push', '--dataset', 'seed']);
      expect(push.err).toContain(`remote: local folder ${join(project.cacheDir, 'remote')} (TRAINING_S3_BUCKET is not set; set it to back up to S3)`);
      expect(push.err).toContain('2 videos uploaded');
      const table = (await run(project.root, env, ['train', 'list-remote'])).out.split('\n');
      expect(table[0]).toMatch(/^dataset\s+videos\s+rallies\s+size\s+missing\s+created$/);
      expect(table[2]).toMatch(/^seed\s+2\s+2\s+2\.9 KiB\s+0\s+2026-01-01T00:00:00Z$/);
      const listed = JSON.parse((await run(project.root, env, ['train', 'list-remote', '--json'])).out);
      expect(listed.datasets).toEqual([expect.objectContaining({ name: 'seed', videos: 2, rallies: 2, size_bytes: 3000 })]);
      const pulled = JSON.parse((await run(project.root, env, ['train', 'pull', '--dataset', 'seed', '--dir', 'pulled', '--json'])).out);
      expect(pulled).toMatchObject({ ok: true, downloaded: 2, present: 0 });
      expect(await fs.readFile(join(project.root, 'pulled', 'ground_truth.json'), 'utf8')).toBe(
        await fs.readFile(join(project.root, 'training_datasets', 'seed', 'ground_truth.json'), 'utf8'),
      );

      // db check: fine after init; a column the app's schema types differently is named, as printed.
      expect((await run(project.root, env, ['db', 'check'])).out).toMatch(/^the labels database postgresql:\/\/.* serves export and restore\n$/);
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: tdb.url });
      await client.connect();
      await client.query(`ALTER TABLE rallies ALTER COLUMN status DROP DEFAULT, ALTER COLUMN status TYPE text`);
      await client.end();
      const bad = await run(project.root, env, ['db', 'check']).catch((e: unknown) => e as RallycutError);
      expect(formatDiagnostics((bad as RallycutError).diagnostics)).toMatch(
        /error: the labels database postgresql:.* does not match the web app's schema: column rallies\.status has type text, not the enum "RallyStatus"\n/,
      );
    } finally {
      await tdb.drop();
    }
  });

  it('rejects a bad dataset name and a missing one with a hint', async () => {
    const project = makeProject();
    await expect(run(project.root, {}, ['train', 'push', '--dataset', '../x'])).rejects.toThrow(/dataset name '\.\.\/x' may use only/);
    await expect(run(project.root, {}, ['train', 'push'])).rejects.toThrow(/missing option --dataset NAME/);
    await expect(run(project.root, { RALLYCUT_REMOTE_DIR: join(project.root, 'r') }, ['train', 'pull', '--dataset', 'nope'])).rejects.toThrow(
      /no dataset 'nope' on folder/,
    );
    await expect(run(project.root, {}, ['train', 'restore', '--dataset', 'nope', '--dry-run'])).rejects.toThrow(/no dataset 'nope' in training_datasets\/nope/);
    const err = await run(project.root, {}, ['train', 'push', '--dataset', 'nope']).catch((e: unknown) => e as RallycutError);
    expect(formatDiagnostics((err as RallycutError).diagnostics)).toContain(
      "training_datasets/nope/manifest.json: error: no such file\n  note: create the dataset with 'rallycut train export-dataset' or 'rallycut train pull'",
    );
  });

  it('every dataset command takes --dataset NAME and --dir DIR; the old --name and --output still work, with a warning', async () => {
    const project = makeProject();
    for (const c of commands.filter((c) => c.path[0] === 'train' && c.path[1] !== 'list-remote')) {
      expect(
        c.options.map((o) => o.name),
        c.path.join(' '),
      ).toEqual(expect.arrayContaining(['dataset', 'dir', 'json']));
    }
    let err = '';
    const io: CommandIO = {
      cwd: project.root,
      env: { RALLYCUT_PROGRESS: '0' },
      out: () => undefined,
      err: (t) => void (err += t),
      isTTY: false,
      signal: new AbortController().signal,
    };
    expect(await main(['train', 'pull', '--name', '../x', '--output', 'elsewhere'], io)).toBe(2);
    expect(err).toContain('warning: --name is now --dataset; the old name will go');
    expect(err).toContain('warning: --output is now --dir; the old name will go');
    expect(err).toContain("dataset name '../x' may use only");
  });
});
