// restore: training_datasets/<name> → the labels database, in one transaction per dataset, as the web app
// would hold an upload: see docs/fidelity.md "Restore into the web app". Videos are matched by content_hash
// (a live video with the same hash is reused, its id kept); a rally is matched by (video, start_ms, end_ms)
// among the video's ground truth and left as it is, so a second run adds nothing and deletes nothing.
// --upload-to-app-s3 first puts each video file at its s3_key in the app's bucket (verified by sha256),
// and touches the database only when every upload succeeded.
import { promises as fs } from 'node:fs';
import { relative } from 'node:path';
import { appRemote, configError, RallycutError } from '../../src/handler.js';
import { errorText, videosFailed, type DatasetContext, type VideoFailure } from '../lib/dataset/context.js';
import { readDataset, type DatasetFiles } from '../lib/dataset/format.js';
import { expectedSha256 } from '../lib/dataset/hashing.js';
import { datasetDir, localVideoPath, MANIFEST_FILE } from '../lib/dataset/layout.js';
import { forEachLimit } from '../../src/handler.js';
import { ShaCache } from '../lib/dataset/sha-cache.js';
import {
  applyLoad,
  checkSchema,
  ensureTrainingSession,
  openDatabase,
  planLoad,
  previewTrainingSession,
  resolveOwner,
  type LoadPlan,
  type Owner,
  type SessionResult,
  type VideoToLoad,
} from '../lib/db/index.js';

export interface RestoreOptions {
  name: string;
  output?: string;
  dryRun?: boolean;
  uploadToAppS3?: boolean;
  userId?: string;
}

export interface RestoreResult {
  database: string;
  dryRun: boolean;
  plan: LoadPlan;
  uploaded: number;
  owner: Owner;
  /** The web editor's session for the dataset; on a dry run, what would be done to it. */
  session: Omit<SessionResult, 'id'>;
}

async function readLocalDataset(ctx: DatasetContext, opts: RestoreOptions): Promise<DatasetFiles> {
  const dir = datasetDir(ctx.root, opts.name, opts.output);
  const shown = relative(ctx.root, dir) || '.';
  try {
    return await readDataset(dir, shown);
  } catch (err) {
    if (err instanceof RallycutError && err.diagnostics.some((d) => d.message === 'no such file' && d.file?.endsWith(MANIFEST_FILE))) {
      throw configError(`no dataset '${opts.name}' in ${shown}`, { subject: opts.name, notes: [`run 'rallycut train pull --name ${opts.name}' first`] });
    }
    throw err;
  }
}

export function videosToLoad(ds: DatasetFiles): VideoToLoad[] {
  const rallies = new Map(ds.groundTruth.map((g) => [g.video_id, g.rallies]));
  return ds.manifest.videos.map((v) => ({
    id: v.video_id,
    filename: v.filename,
    name: v.filename,
    content_hash: v.content_hash,
    duration_ms: v.duration_ms ?? null,
    file_size_bytes: v.size_bytes ?? null,
    rallies: rallies.get(v.video_id) ?? [],
  }));
}

async function uploadToApp(ctx: DatasetContext, ds: DatasetFiles, plan: LoadPlan): Promise<number> {
  const app = appRemote(ctx.env);
  if (!app) throw configError('--upload-to-app-s3 needs APP_S3_BUCKET (and APP_S3_ENDPOINT for MinIO)', { subject: '--upload-to-app-s3' });
  ctx.log(`app bucket: ${app.description}`);
  const byKey = new Map(plan.videos.map((p) => [p.s3_key, p]));
  const shaCache = await ShaCache.open(ctx.cacheDir);
  let uploaded = 0;
  const failures: VideoFailure[] = [];
  const failed = await forEachLimit(
    [...byKey.values()],
    Math.max(4, ctx.jobs),
    async (p) => {
      for await (const o of app.list(p.s3_key)) if (o.key === p.s3_key) return; // already there
      const mv = ds.manifest.videos.find((v) => v.video_id === p.input.id)!;
      const file = localVideoPath(ds.dir, mv, ds.manifest.videos);
      if (!(await fs.stat(file).catch(() => null))) throw new Error(`local file ${relative(ctx.root, file)} is missing; run 'rallycut train pull' first`);
      const { sha256, size } = await shaCache.hash(file, ctx.signal);
      const want = expectedSha256(mv, size);
      if (want && sha256 !== want)
        throw new Error(
          `refusing to upload ${relative(ctx.root, file)}: its sha256 ${sha256.slice(0, 12)}… does not match the manifest's ${want.slice(0, 12)}…`,
        );
      await app.putFile(p.s3_key, file, { signal: ctx.signal, contentType: 'video/mp4' });
      uploaded++;
    },
    ctx.signal,
  );
  await shaCache.save();
  for (const f of failed) failures.push({ video: f.item.input.filename, message: errorText(f.error) });
  if (failures.length) throw videosFailed('upload to the app bucket (database left unchanged)', failures);
  return uploaded;
}

export async function restoreDataset(ctx: DatasetContext, opts: RestoreOptions): Promise<RestoreResult> {
  const ds = await readLocalDataset(ctx, opts);
  const videos = videosToLoad(ds);
  const db = await openDatabase({ cacheDir: ctx.cacheDir, env: ctx.env, log: ctx.log });
  try {
    await checkSchema(db, 'restore');
    const owner = await resolveOwner(db, opts.userId);
    if (owner.how === 'none')
      ctx.log(
        'the labels database has no users: the restored videos get no owner, so the web app lists them for nobody (create a user, then restore again with --user-id)',
      );
    const preview = await planLoad(db, videos, owner.id);
    if (opts.dryRun) {
      const session = await previewTrainingSession(
        db,
        opts.name,
        owner.id,
        preview.videos.map((p) => p.target_id),
      );
      return { database: db.description, dryRun: true, plan: preview, uploaded: 0, owner, session };
    }
    const uploaded = opts.uploadToAppS3 ? await uploadToApp(ctx, ds, preview) : 0;
    const { plan, session } = await db.transaction(async (q) => {
      const plan = await planLoad(q, videos, owner.id);
      await applyLoad(q, plan);
      const session = await ensureTrainingSession(
        q,
        opts.name,
        owner.id,
        plan.videos.map((p) => p.target_id),
      );
      return { plan, session };
    });
    ctx.log(
      `restored ${opts.name} into ${db.description}: ${plan.inserted_videos} videos added, ${plan.reused_videos} matched by content_hash, ${plan.new_rallies} rallies added; ` +
        `session '${session.name}' ${session.created ? 'created' : 'kept'} with ${session.added_videos} videos added` +
        (owner.id !== null ? `; owner ${owner.id}${owner.how === 'oldest' ? ' (the oldest user; --user-id picks another)' : ''}` : ''),
    );
    return { database: db.description, dryRun: false, plan, uploaded, owner, session };
  } finally {
    await db.close();
  }
}
