// Write transactions on the main connection (the control state, attendance, the directory, a
// snapshot import; meeting writes too where there is no writer thread, as in memory), taken
// without ever sleeping on the event loop.
//
// SQLite's busy handler waits for the write lock by sleeping the calling thread (1, 2, 5 … 100 ms
// between tries, up to the busy timeout). On the main connection that thread is the event loop:
// such a write arriving while the writer thread committed creates back to back slept there, and
// every request in flight waited with it, up to 15 s. Here a write first holds back this process's
// writer thread (its batches already sent are committed first, new ones wait), then tries the lock
// without waiting; while another process holds it, it tries again on a timer, the event loop
// serving meanwhile.
import type Database from 'better-sqlite3';
import { StoreUnavailable } from '../errors.js';
import { BUSY_TIMEOUT_MS } from './statements.js';
import type { SqliteWriter } from './writer.js';

/** Between two tries for a lock another process holds. */
const RETRY_MS = 1;

export type Write = <T>(work: () => T) => Promise<T>;

export class MainConnectionWrites {
  private readonly noWait;
  private readonly wait;

  constructor(
    private readonly db: Database.Database,
    /** This process's writer thread, if any: it commits on a connection of its own. */
    private readonly writer: SqliteWriter | undefined,
  ) {
    this.noWait = db.prepare(`PRAGMA busy_timeout = 0`);
    this.wait = db.prepare(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }

  /** Runs `work` in one IMMEDIATE transaction; resolves after its commit. */
  readonly run: Write = async (work) => {
    const resume = await this.writer?.pause();
    try {
      const deadline = Date.now() + BUSY_TIMEOUT_MS;
      for (;;) {
        const outcome = this.attempt(work);
        if (outcome.committed) return outcome.result;
        // A lock still held by another process after the busy timeout means "try later" (503).
        if (Date.now() > deadline) throw new StoreUnavailable('the database stayed locked by another process');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    } finally {
      resume?.();
    }
  };

  private attempt<T>(work: () => T): { committed: true; result: T } | { committed: false } {
    // Reads keep the busy timeout (in WAL they wait only through rare recoveries); the write lock is tried once.
    this.noWait.get();
    try {
      return { committed: true, result: this.db.transaction(work).immediate() };
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_BUSY') return { committed: false };
      if (code === 'SQLITE_LOCKED') throw new StoreUnavailable((error as Error).message);
      throw error;
    } finally {
      this.wait.get();
    }
  }
}
