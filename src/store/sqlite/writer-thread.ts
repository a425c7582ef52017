// The SQLite writer thread: runs batches of insert-or-get in one transaction each, on a connection
// of its own, so that the commit's fsync (synchronous=FULL) and WAL checkpoints never block the
// event loop. It answers a batch only after its COMMIT returned.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { MeetingRow } from '../rows.js';
import { BUSY_TIMEOUT_MS, INSERT_MEETING, type InsertOutcome, insertOrGetStep, LIVE_MEETING_BY_KEY } from './statements.js';
import type { WriterRequest, WriterResponse } from './writer.js';

const db = new Database((workerData as { path: string }).path);
db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
db.pragma('synchronous = FULL');
// The checkpointer thread (checkpoint-thread.ts) copies the WAL back as it grows. This commit-time
// checkpoint is only the backstop (at 64 MB of WAL), for when writes never pause long enough for the
// checkpointer to catch up completely, which the WAL needs before it can start over.
db.pragma('wal_autocheckpoint = 16000');
const insert = db.prepare(INSERT_MEETING);
const liveByKey = db.prepare<[string, string, string, string], MeetingRow>(LIVE_MEETING_BY_KEY);

const runBatch = db.transaction((items: WriterRequest['items']): InsertOutcome[] =>
  items.map(({ columns, expiryCutoff }) => insertOrGetStep(insert, liveByKey, columns, expiryCutoff)),
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
