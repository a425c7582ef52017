// The SQLite writer thread: runs batches of meeting writes (insert-or-get, update, delete) in one
// transaction each, on a connection of its own, so that the commit's fsync (synchronous=FULL) and
// WAL checkpoints never block the event loop. It answers a batch only after its COMMIT returned.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { MeetingRow } from '../rows.js';
import {
  BUSY_TIMEOUT_MS,
  DELETE_MEETING,
  INSERT_MEETING,
  type InsertOutcome,
  insertOrGetStep,
  LIVE_MEETING_BY_KEY,
  UPDATE_MEETING_IF_UNCHANGED,
} from './statements.js';
import type { WriterItem, WriterOutcome, WriterRequest, WriterResponse } from './writer.js';

const db = new Database((workerData as { path: string }).path);
// The write lock is waited for in commitBatch below, not by SQLite's busy handler.
db.pragma('busy_timeout = 0');
db.pragma('synchronous = FULL');
// The checkpointer thread (checkpoint-thread.ts) copies the WAL back as it grows, and restartWal
// below starts it over. This commit-time checkpoint is only the backstop (at 64 MB of WAL), for when
// a restart keeps failing, such as while another process holds a long read.
db.pragma('wal_autocheckpoint = 16000');
// better-sqlite3 builds SQLite with a 16 MB page cache per connection. Inserts touch a few pages of
// each index, which the OS page cache serves as well; SQLite's own 2 MB default keeps the writer's
// RSS 16 MB lower at the same throughput (measured at 1M stored meetings).
db.pragma('cache_size = -2000');
const insert = db.prepare(INSERT_MEETING);
const liveByKey = db.prepare<[string, string, string, string], MeetingRow>(LIVE_MEETING_BY_KEY);
const updateIfUnchanged = db.prepare(UPDATE_MEETING_IF_UNCHANGED);
const deleteMeeting = db.prepare(DELETE_MEETING);

/**
 * Starts the WAL over from its beginning, which SQLite does only when every frame in it has been
 * copied back while no commit is under way: the checkpointer thread's passes never get that moment
 * under steady writes, and without it the WAL grows until the 64 MB backstop above stalls a commit
 * for 100+ ms. Here, between two batches, it copies only what the checkpointer has not yet.
 */
function restartWal() {
  // A reader holding an old snapshot (another process, say) must not hold up commits: wait briefly,
  // and if it is still there the WAL stays as it is until the next restart.
  db.pragma('busy_timeout = 10');
  try {
    db.pragma('wal_checkpoint(RESTART)');
  } catch {
    // Frames not copied stay in the WAL; the next restart or checkpoint copies them.
  } finally {
    db.pragma('busy_timeout = 0');
  }
}

// Several processes on one file take turns at the write lock. SQLite's busy handler sleeps 1, 2,
// 5, 10 … then 100 ms between tries, and a writer committing back to back (as group commit does
// under load) takes every gap meanwhile: with --workers 2, creates waited up to 1.5 s. Instead,
// a writer kept waiting polls, every POLL_MS at first (up to MAX_POLL_MS for a lock held long), and
// while others are about (it was kept waiting in the last CONTENDED_MS) it leaves YIELD_MS between
// its commits, in which a polling writer gets its turn.
const POLL_MS = 0.1;
const MAX_POLL_MS = 1;
const YIELD_MS = 0.3;
const CONTENDED_MS = 200;
const nap = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(nap, 0, 0, ms);
let lastKeptWaiting = -Infinity;

function commitBatch(items: WriterItem[]): WriterOutcome[] {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let poll = POLL_MS; ; poll = Math.min(poll * 1.05, MAX_POLL_MS)) {
    try {
      return runBatch.immediate(items);
    } catch (error) {
      // BEGIN IMMEDIATE failed: nothing of the batch ran. Past the deadline, the caller answers 503.
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      lastKeptWaiting = Date.now();
      sleep(poll);
    }
  }
}

const runBatch = db.transaction((items: WriterItem[]): WriterOutcome[] => {
  const winners = new Map<string, InsertOutcome>();
  return items.map((item) => {
    if (item.kind === 'insertOrGet') return insertOrGetStep(insert, liveByKey, item.columns, item.expiryCutoff, winners);
    // Neither can break a constraint: no unique index (the id, the key) covers a column an update sets.
    const run = item.kind === 'update' ? updateIfUnchanged.run({ ...item.columns, expected: item.expected }) : deleteMeeting.run(item.id, item.tenantId);
    return { changed: run.changes === 1 };
  });
});

parentPort!.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  if (request.restartWal) restartWal();
  let response: WriterResponse;
  try {
    response = { outcomes: commitBatch(request.items) };
  } catch (error) {
    response = { error: { code: (error as { code?: string }).code, message: (error as Error).message } };
  }
  parentPort!.postMessage(response);
  if (Date.now() - lastKeptWaiting < CONTENDED_MS) sleep(YIELD_MS);
});
