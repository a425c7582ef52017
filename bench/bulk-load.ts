// Fills a SQLite store with meetings directly (not through HTTP), for the benchmark's scale rounds:
// the schema comes from the real adapter, the rows from the real domain code and row mapping.
import Database from 'better-sqlite3';
import { openStore } from '../src/store/open-store.js';
import { meetingColumns } from '../src/store/rows.js';
import { sampleMeeting } from './sample-meeting.js';

/** Adds meetings number `from` up to (not including) `to`. */
export async function bulkLoadSqlite(path: string, from: number, to: number) {
  await (await openStore(`sqlite:${path}`)).close(); // creates and migrates the file
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF'); // a bulk load that can be redone; the server runs with FULL
  const insert = db.prepare(
    `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id,
                           video_teleconference_id, expiry_date_time, properties)
     VALUES (@id, @tenant_id, @organizer_id, @external_id, @join_web_url, @join_meeting_id,
             @video_teleconference_id, @expiry_date_time, @properties)`,
  );
  const now = Date.now();
  const chunk = db.transaction((start: number, end: number) => {
    for (let n = start; n < end; n++) insert.run(meetingColumns(sampleMeeting(n, now)));
  });
  for (let start = from; start < to; start += 10_000) chunk(start, Math.min(to, start + 10_000));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
