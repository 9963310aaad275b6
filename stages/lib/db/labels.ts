// Reading ground truth out of the labels database and putting labelled videos back in. Every statement is
// parameterized; batches go through unnest() so a dataset is a handful of round trips, not one per rally.
import { createHash, randomUUID } from 'node:crypto';
import { configError } from '../../../src/handler.js';
import type { RallySpan } from '../contracts.js';
import { uuidShape } from '../dataset/hashing.js';
import type { Database, Queryable } from './connection.js';

/** A ground-truth video as the database holds it: rallies sorted by start, then end. */
export interface LabelledVideo {
  id: string;
  name: string;
  filename: string;
  s3_key: string;
  content_hash: string;
  duration_ms: number | null;
  file_size_bytes: number | null;
  rallies: RallySpan[];
}

/**
 * Ground truth: rallies with confidence IS NULL on videos that are not deleted and are DETECTED.
 * Videos come sorted by id (plain code-point order, independent of the server's collation).
 */
export async function queryGroundTruth(q: Queryable): Promise<LabelledVideo[]> {
  const rows = await q.query<{
    id: string;
    name: string;
    filename: string;
    s3_key: string;
    content_hash: string;
    duration_ms: number | null;
    file_size_bytes: number | null;
    start_ms: number;
    end_ms: number;
  }>(
    `SELECT v.id, v.name, v.filename, v.s3_key, v.content_hash, v.duration_ms, v.file_size_bytes, r.start_ms, r.end_ms
       FROM videos v JOIN rallies r ON r.video_id = v.id
      WHERE v.deleted_at IS NULL AND v.status = $1::"VideoStatus" AND r.confidence IS NULL`,
    ['DETECTED'],
  );
  const byId = new Map<string, LabelledVideo>();
  for (const r of rows) {
    let v = byId.get(r.id);
    if (!v) {
      v = {
        id: r.id,
        name: r.name,
        filename: r.filename,
        s3_key: r.s3_key,
        content_hash: r.content_hash,
        duration_ms: r.duration_ms,
        file_size_bytes: r.file_size_bytes,
        rallies: [],
      };
      byId.set(r.id, v);
    }
    v.rallies.push({ start_ms: r.start_ms, end_ms: r.end_ms });
  }
  const videos = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const v of videos) v.rallies.sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  return videos;
}

/** What restore (or the demo loader) puts into the database for one video. */
export interface VideoToLoad {
  /** Preferred id (the manifest's video_id); a fresh uuid is used if it is taken by another video. */
  id: string;
  filename: string;
  name?: string;
  s3_key?: string;
  content_hash: string;
  duration_ms?: number | null;
  width?: number | null;
  height?: number | null;
  fps?: number | null;
  file_size_bytes?: number | null;
  rallies: readonly RallySpan[];
}

/** A rally restore adds, with its place among the video's ground truth (the app's "order", by start time). */
export interface PlannedRally extends RallySpan {
  order: number;
}

export interface PlannedVideo {
  input: VideoToLoad;
  /** insert: a new videos row; reuse: a live video with the same content_hash already exists. */
  action: 'insert' | 'reuse';
  target_id: string;
  s3_key: string;
  /** Rallies not already present as ground truth on the target video. */
  new_rallies: PlannedRally[];
}

export interface LoadPlan {
  /** users.id of the videos added; null leaves them without an owner. */
  owner_id: string | null;
  videos: PlannedVideo[];
  inserted_videos: number;
  reused_videos: number;
  new_rallies: number;
}

/** Where a restored video goes in the app's bucket, as the app's own uploads are laid out. */
export function defaultS3Key(ownerId: string | null, videoId: string, filename: string): string {
  return `videos/${ownerId ?? 'unowned'}/${videoId}/${filename}`;
}

/**
 * An id for a video whose manifest id is taken by another video: derived from the manifest id and content,
 * so a dry run, the upload and the load that follows all agree on it (and on its s3_key).
 */
function derivedVideoId(v: VideoToLoad, taken: ReadonlySet<string>): string {
  for (let n = 0; ; n++) {
    const h = createHash('sha256').update(`${v.id}|${v.content_hash}|${n}`).digest('hex');
    const id = uuidShape(h, '5', parseInt(h[16]!, 16));
    if (!taken.has(id)) return id;
  }
}

const bySpan = (a: RallySpan, b: RallySpan): number => a.start_ms - b.start_ms || a.end_ms - b.end_ms;

/** Gives each new rally its index among all of its video's ground truth, old and new, sorted by start. */
function assignOrder(plan: LoadPlan, existing: ReadonlyArray<{ video_id: string } & RallySpan>): void {
  const spans = new Map<string, RallySpan[]>();
  for (const r of existing) spans.set(r.video_id, [...(spans.get(r.video_id) ?? []), r]);
  for (const p of plan.videos) spans.set(p.target_id, [...(spans.get(p.target_id) ?? []), ...p.new_rallies]);
  for (const list of spans.values()) list.sort(bySpan);
  for (const p of plan.videos) {
    const list = spans.get(p.target_id)!;
    p.new_rallies.sort(bySpan);
    for (const r of p.new_rallies) r.order = list.indexOf(r);
  }
}

/** Decides, against the current rows, what loading `videos` for `ownerId` would add. Read-only. */
export async function planLoad(q: Queryable, videos: readonly VideoToLoad[], ownerId: string | null = null): Promise<LoadPlan> {
  const hashes = [...new Set(videos.map((v) => v.content_hash))];
  const live = await q.query<{ id: string; content_hash: string; s3_key: string }>(
    `SELECT id, content_hash, s3_key FROM videos WHERE deleted_at IS NULL AND content_hash = ANY($1::text[]) ORDER BY created_at, id`,
    [hashes],
  );
  const taken = new Set((await q.query<{ id: string }>(`SELECT id FROM videos WHERE id = ANY($1::text[])`, [videos.map((v) => v.id)])).map((r) => r.id));
  const existingRallies = await q.query<{ video_id: string; start_ms: number; end_ms: number }>(
    `SELECT video_id, start_ms, end_ms FROM rallies WHERE confidence IS NULL AND video_id = ANY($1::text[])`,
    [live.map((r) => r.id)],
  );
  const haveRally = new Set(existingRallies.map((r) => `${r.video_id}|${r.start_ms}|${r.end_ms}`));
  const plan: LoadPlan = { owner_id: ownerId, videos: [], inserted_videos: 0, reused_videos: 0, new_rallies: 0 };
  const claimed = new Map<string, { id: string; s3_key: string }>();
  for (const v of videos) {
    // Prefer the row that already carries this id, else the oldest live one with the hash.
    const candidates = live.filter((r) => r.content_hash === v.content_hash);
    const match = claimed.get(v.content_hash) ?? candidates.find((r) => r.id === v.id) ?? candidates[0];
    let action: PlannedVideo['action'];
    let target: { id: string; s3_key: string };
    if (match) {
      action = 'reuse';
      target = match;
    } else {
      action = 'insert';
      const id = taken.has(v.id) ? derivedVideoId(v, taken) : v.id;
      taken.add(id);
      target = { id, s3_key: v.s3_key ?? defaultS3Key(ownerId, id, v.filename) };
      plan.inserted_videos++;
    }
    if (action === 'reuse' && !claimed.has(v.content_hash)) plan.reused_videos++;
    claimed.set(v.content_hash, target);
    const fresh: PlannedRally[] = [];
    for (const r of v.rallies) {
      const key = `${target.id}|${r.start_ms}|${r.end_ms}`;
      if (haveRally.has(key)) continue;
      haveRally.add(key);
      fresh.push({ start_ms: r.start_ms, end_ms: r.end_ms, order: 0 });
    }
    plan.new_rallies += fresh.length;
    plan.videos.push({ input: v, action, target_id: target.id, s3_key: target.s3_key, new_rallies: fresh });
  }
  assignOrder(plan, existingRallies);
  return plan;
}

/** Fails with a message naming the id when no such user exists. */
export async function requireUser(q: Queryable, userId: string): Promise<void> {
  const rows = await q.query(`SELECT 1 FROM users WHERE id = $1`, [userId]);
  if (rows.length === 0) throw configError(`no user with id '${userId}' in the labels database`, { subject: '--user-id' });
}

/**
 * Applies a plan made in the same transaction, as the app stores a finished upload: videos DETECTED with
 * processing SKIPPED (there is no optimized copy; the app plays s3_key itself), rallies as confirmed ground
 * truth (confidence NULL). Existing rows are never deleted or changed, so data that refers to them stays.
 */
export async function applyLoad(q: Queryable, plan: LoadPlan): Promise<void> {
  if (plan.owner_id !== null) await requireUser(q, plan.owner_id);
  const inserts = plan.videos.filter((p) => p.action === 'insert');
  if (inserts.length) {
    const col = <T>(f: (p: PlannedVideo) => T): T[] => inserts.map(f);
    await q.query(
      `INSERT INTO videos (id, user_id, name, filename, s3_key, content_hash, status, processing_status, duration_ms, width, height, fps, file_size_bytes, created_at, updated_at)
       SELECT id, $2, name, filename, s3_key, content_hash, $3::"VideoStatus", $13::"ProcessingStatus", duration_ms, width, height, fps, file_size_bytes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
         FROM unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::int[], $10::int[], $11::float8[], $12::bigint[])
           AS t(id, name, filename, s3_key, content_hash, duration_ms, width, height, fps, file_size_bytes)`,
      [
        col((p) => p.target_id),
        plan.owner_id,
        'DETECTED',
        col((p) => p.input.name ?? p.input.filename),
        col((p) => p.input.filename),
        col((p) => p.s3_key),
        col((p) => p.input.content_hash),
        col((p) => p.input.duration_ms ?? null),
        col((p) => p.input.width ?? null),
        col((p) => p.input.height ?? null),
        col((p) => p.input.fps ?? null),
        col((p) => p.input.file_size_bytes ?? null),
        'SKIPPED',
      ],
    );
  }
  const rallies = plan.videos.flatMap((p) => p.new_rallies.map((r) => ({ video_id: p.target_id, ...r })));
  if (rallies.length) {
    await q.query(
      `INSERT INTO rallies (id, video_id, start_ms, end_ms, confidence, status, "order", created_at, updated_at)
       SELECT id, video_id, start_ms, end_ms, NULL, $6::"RallyStatus", ord, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
         FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[]) AS t(id, video_id, start_ms, end_ms, ord)`,
      [
        rallies.map(() => randomUUID()),
        rallies.map((r) => r.video_id),
        rallies.map((r) => r.start_ms),
        rallies.map((r) => r.end_ms),
        rallies.map((r) => r.order),
        'CONFIRMED',
      ],
    );
  }
}

/** Plans and applies in one transaction, so a failure leaves the database as it was. Idempotent. */
export async function loadVideos(db: Database, videos: readonly VideoToLoad[], opts: { userId?: string } = {}): Promise<LoadPlan> {
  return db.transaction(async (q) => {
    const plan = await planLoad(q, videos, opts.userId ?? null);
    await applyLoad(q, plan);
    return plan;
  });
}

/**
 * Deletes the videos whose s3_key starts with `keyPrefix` and whose content is not in `keep`, with their
 * rallies; returns their filenames. For a generated dataset (the demo) that is replaced, never for a user's.
 */
export async function deleteVideosByKeyPrefix(q: Queryable, keyPrefix: string, keep: readonly string[]): Promise<string[]> {
  const like = keyPrefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
  const doomed = await q.query<{ id: string; filename: string }>(
    `SELECT id, filename FROM videos WHERE s3_key LIKE $1 AND NOT (content_hash = ANY($2::text[])) ORDER BY filename, id`,
    [like, [...keep]],
  );
  if (doomed.length === 0) return [];
  const ids = doomed.map((d) => d.id);
  await q.query(`DELETE FROM rallies WHERE video_id = ANY($1::text[])`, [ids]);
  await q.query(`DELETE FROM videos WHERE id = ANY($1::text[])`, [ids]);
  return doomed.map((d) => d.filename);
}

/** The demo's entry point: labelled videos (status DETECTED, rallies as ground truth), deduplicated, idempotent. */
export async function insertLabelledVideos(db: Database, videos: readonly VideoToLoad[]): Promise<LoadPlan> {
  return loadVideos(db, videos);
}
