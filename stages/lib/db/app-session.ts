// What makes restored videos show up in the web app: an owner (users.id) and an editor session
// "Training: NAME" listing them, as the seed's restore creates. Both are found again on a re-run, so
// restoring twice adds no second session and no duplicate session_videos.
import { randomUUID } from 'node:crypto';
import type { Queryable } from './connection.js';
import { requireUser } from './labels.js';

export interface Owner {
  id: string | null;
  /** given: --user-id; oldest: the first user created (the seed's choice); none: the database has no users. */
  how: 'given' | 'oldest' | 'none';
}

/** The user the restored videos belong to: --user-id when given (it must exist), else the oldest user. */
export async function resolveOwner(q: Queryable, userId: string | undefined): Promise<Owner> {
  if (userId !== undefined) {
    await requireUser(q, userId);
    return { id: userId, how: 'given' };
  }
  const [oldest] = await q.query<{ id: string }>(`SELECT id FROM users ORDER BY created_at, id LIMIT 1`);
  return oldest ? { id: oldest.id, how: 'oldest' } : { id: null, how: 'none' };
}

export function trainingSessionName(dataset: string): string {
  return `Training: ${dataset}`;
}

export interface SessionResult {
  id: string;
  name: string;
  created: boolean;
  /** session_videos rows added (videos already in the session are left as they are). */
  added_videos: number;
}

/** The owner's live session by that name, if any (the oldest when several). */
export async function findSession(q: Queryable, name: string, ownerId: string | null): Promise<string | null> {
  const [row] = await q.query<{ id: string }>(
    `SELECT id FROM sessions WHERE name = $1 AND user_id IS NOT DISTINCT FROM $2 AND deleted_at IS NULL ORDER BY created_at, id LIMIT 1`,
    [name, ownerId],
  );
  return row?.id ?? null;
}

/** What ensureTrainingSession would do, for a dry run: whether it creates the session, how many videos it adds. */
export async function previewTrainingSession(
  q: Queryable,
  dataset: string,
  ownerId: string | null,
  videoIds: readonly string[],
): Promise<Omit<SessionResult, 'id'>> {
  const name = trainingSessionName(dataset);
  const id = await findSession(q, name, ownerId);
  const unique = [...new Set(videoIds)];
  if (id === null) return { name, created: true, added_videos: unique.length };
  const inside = await q.query<{ video_id: string }>(`SELECT video_id FROM session_videos WHERE session_id = $1 AND video_id = ANY($2::text[])`, [id, unique]);
  return { name, created: false, added_videos: unique.length - inside.length };
}

/** Finds or creates the session and adds the videos missing from it, in dataset order. */
export async function ensureTrainingSession(q: Queryable, dataset: string, ownerId: string | null, videoIds: readonly string[]): Promise<SessionResult> {
  const name = trainingSessionName(dataset);
  let id = await findSession(q, name, ownerId);
  const created = id === null;
  if (id === null) {
    id = randomUUID();
    await q.query(
      `INSERT INTO sessions (id, user_id, name, type, created_at, updated_at) VALUES ($1, $2, $3, $4::"SessionType", CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
      [id, ownerId, name, 'REGULAR'],
    );
  }
  const unique = [...new Set(videoIds)];
  const added = await q.query<{ video_id: string }>(
    `INSERT INTO session_videos (id, session_id, video_id, "order", added_at)
     SELECT t.id, $1, t.video_id, t.ord, CURRENT_TIMESTAMP
       FROM unnest($2::text[], $3::text[], $4::int[]) AS t(id, video_id, ord)
      WHERE NOT EXISTS (SELECT 1 FROM session_videos s WHERE s.session_id = $1 AND s.video_id = t.video_id)
     RETURNING video_id`,
    [id, unique.map(() => randomUUID()), unique, unique.map((_, i) => i)],
  );
  return { id, name, created, added_videos: added.length };
}
