// SQL shared by the main connection and the writer thread's, and the insert-or-get step both run.
import type Database from 'better-sqlite3';
import { type meetingColumns, MEETING_ROW_COLUMNS, type MeetingRow } from '../rows.js';

export type MeetingColumns = ReturnType<typeof meetingColumns>;
export type InsertOutcome = { created: true } | { created: false; row: MeetingRow } | { failed: string };

/**
 * A meeting's update, applied only while its stored text is still the one the change was computed
 * from (`@expected`): a concurrent change or delete makes it a no-op, and the caller reads again.
 */
export const UPDATE_MEETING_IF_UNCHANGED = `UPDATE meetings SET join_web_url = @join_web_url, join_meeting_id = @join_meeting_id,
    video_teleconference_id = @video_teleconference_id, expiry_date_time = @expiry_date_time, properties = @properties
  WHERE id = @id AND tenant_id = @tenant_id AND properties = @expected`;

export const DELETE_MEETING = 'DELETE FROM meetings WHERE id = ? AND tenant_id = ?';

/** A live meeting by its createOrGet key (expiry after the cutoff). */
export const LIVE_MEETING_BY_KEY = `SELECT ${MEETING_ROW_COLUMNS} FROM meetings
  WHERE tenant_id = ? AND organizer_id = ? AND external_id = ? AND expiry_date_time > ?`;

/** Insert-or-get in one statement: the partial unique index decides; an expired holder is replaced. */
export const INSERT_MEETING = `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id,
                         video_teleconference_id, expiry_date_time, properties)
   VALUES (@id, @tenant_id, @organizer_id, @external_id, @join_web_url, @join_meeting_id,
           @video_teleconference_id, @expiry_date_time, @properties)
   ON CONFLICT (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL
   DO UPDATE SET id = excluded.id, join_web_url = excluded.join_web_url,
     join_meeting_id = excluded.join_meeting_id, video_teleconference_id = excluded.video_teleconference_id,
     expiry_date_time = excluded.expiry_date_time, properties = excluded.properties
   WHERE meetings.expiry_date_time <= @expiry_cutoff`;

export const BUSY_TIMEOUT_MS = 15_000;

/**
 * One insert-or-get, inside the caller's transaction: the unique index decides, a racer gets the
 * winner's row. `winners`, kept for one transaction, answers later racers for a key with the
 * outcome already read for it: the same object, read once and, through postMessage (which keeps
 * shared references shared), sent once. A retry storm for one large meeting otherwise read and
 * sent its row once per racer, past the writer thread's heap.
 */
export function insertOrGetStep(
  insert: Database.Statement,
  liveByKey: Database.Statement<[string, string, string, string], MeetingRow>,
  columns: MeetingColumns,
  expiryCutoff: string,
  winners: Map<string, InsertOutcome>,
): InsertOutcome {
  const key = `${columns.tenant_id}\n${columns.organizer_id}\n${columns.external_id}`;
  if (insert.run({ ...columns, expiry_cutoff: expiryCutoff }).changes === 1) {
    winners.delete(key);
    return { created: true };
  }
  // Not inserted, so the key's holder is live for this cutoff; nothing but this transaction writes
  // meanwhile, so it is the holder last read for the key here, if any.
  const known = winners.get(key);
  if (known) return known;
  const winner = liveByKey.get(columns.tenant_id, columns.organizer_id, columns.external_id!, expiryCutoff);
  if (!winner) return { failed: 'meeting key conflict without a stored meeting' };
  const outcome: InsertOutcome = { created: false, row: winner };
  winners.set(key, outcome);
  return outcome;
}
