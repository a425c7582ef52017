// The SQLite writer thread: runs batches of insert-or-get in one transaction each, on a connection
// of its own, so that the commit's fsync (synchronous=FULL) and WAL checkpoints never block the
// event loop. It answers a batch only after its COMMIT returned.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { MeetingRow } from '../rows.js';
import { BUSY_TIMEOUT_MS, INSERT_MEETING, LIVE_MEETING_BY_KEY } from './statements.js';
import type { WriterRequest, WriterResponse, InsertOutcome } from './writer.js';

const db = new Database((workerData as { path: string }).path);
db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
db.pragma('synchronous = FULL');
// Checkpoint every 16 MB of WAL rather than SQLite's 4 MB: meetings are ~4 KB rows, and each
// checkpoint fsyncs the database file; fewer, larger ones cost less per meeting.
db.pragma('wal_autocheckpoint = 4000');
const insert = db.prepare(INSERT_MEETING);
const liveByKey = db.prepare<[string, string, string, string], MeetingRow>(LIVE_MEETING_BY_KEY);

const runBatch = db.transaction((items: WriterRequest['items']): InsertOutcome[] =>
  items.map(({ columns, expiryCutoff }) => {
    if (insert.run({ ...columns, expiry_cutoff: expiryCutoff }).changes === 1) return { created: true };
    // The key is held by a live meeting: the racer's answer is that meeting.
    const winner = liveByKey.get(columns.tenant_id, columns.organizer_id, columns.external_id!, expiryCutoff);
    return winner ? { created: false, row: winner } : { failed: 'meeting key conflict without a stored meeting' };
  }),
);

parentPort!.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let response: WriterResponse;
  try {
    response = { outcomes: runBatch.immediate(request.items) };
  } catch (error) {
    response = { error: { code: (error as { code?: string }).code, message: (error as Error).message } };
  }
  parentPort!.postMessage(response);
});
