// The SQLite checkpointer thread: copies committed WAL frames back into the database file on a
// connection of its own. PASSIVE checkpoints never block the writer or readers, so commits no
// longer stall while a checkpoint copies megabytes and fsyncs the database file.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { BUSY_TIMEOUT_MS } from './statements.js';
import type { CheckpointDone } from './writer.js';

const db = new Database((workerData as { path: string }).path);
db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
db.pragma('synchronous = FULL');

parentPort!.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let walFrames = 0;
  try {
    // The second pass copies what was committed during the first, so that when the writer restarts
    // the WAL (writer-thread.ts) it has little left to copy while commits wait.
    for (let pass = 0; pass < 2; pass++) walFrames = (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
  } catch {
    // A checkpoint that could not run leaves the frames in the WAL; the next one (or the writer's own) copies them.
  }
  parentPort!.postMessage({ walFrames } satisfies CheckpointDone);
});
