// Group commit through the writer thread (writer-thread.ts). Meeting writes (inserts, updates,
// deletes) arriving while a batch is being committed wait and go together in the next one: one
// transaction and one fsync for all of them, and the event loop keeps serving reads meanwhile.
// Each caller is answered after its commit.
import { Worker } from 'node:worker_threads';
import { StoreUnavailable } from '../errors.js';
import type { StoreObserver } from '../observer.js';
import type { InsertOutcome, MeetingColumns as Columns } from './statements.js';

/** One write of a batch; each runs on its own within the batch's transaction. */
export type WriterItem =
  | { kind: 'insertOrGet'; columns: Columns; expiryCutoff: string }
  /** Applied only while the stored text is `expected` (UPDATE_MEETING_IF_UNCHANGED). */
  | { kind: 'update'; columns: Columns; expected: string }
  | { kind: 'delete'; id: string; tenantId: string };
/** An update's or a delete's outcome: whether a row changed. */
export type ChangeOutcome = { changed: boolean };
export type WriterOutcome = InsertOutcome | ChangeOutcome;

/** Meeting writes, each resolved after its commit: the writer thread's, or inline where there is none. */
export interface MeetingWrites {
  insertOrGet(columns: Columns, expiryCutoff: string): Promise<InsertOutcome>;
  /** True when the meeting was still stored as `expected` and now holds `columns`. */
  updateIfUnchanged(columns: Columns, expected: string): Promise<boolean>;
  /** True when a meeting was deleted. */
  delete(id: string, tenantId: string): Promise<boolean>;
}

export interface WriterRequest {
  items: WriterItem[];
  /** Restart the WAL before this batch (see writer-thread.ts). */
  restartWal: boolean;
}
/** The checkpointer thread's answer: how many frames the WAL held at its last pass. */
export interface CheckpointDone {
  walFrames: number;
}
export type WriterResponse = { outcomes: WriterOutcome[] } | { error: { code?: string; message: string } };

interface Pending {
  item: WriterItem;
  resolve(outcome: WriterOutcome): void;
  reject(error: unknown): void;
}

const MAX_BATCHES_IN_FLIGHT = 2;
/**
 * Stored text per batch (UTF-16 units): the thread holds a batch and its copy for SQLite while it
 * commits, within a small heap. A burst of large meetings (the body limit is 1 MB) would otherwise
 * be one batch of 100+ MB, stop the thread at its heap limit, and fail every create in it.
 */
const MAX_BATCH_TEXT = 4 * 1024 * 1024;
/** Meetings committed between two checkpoints (~1 MB of WAL each at ~4 KB a row). */
const CHECKPOINT_EVERY = 256;
/** WAL frames (4 KB pages) past which the writer restarts the WAL: 32 MB, half the writer's backstop. */
const RESTART_WAL_AT = 8192;

// The thread always runs the compiled file: under tsx (the tests run src/ after `npm run build`)
// this module is TypeScript, and tsx's loader does not reach worker threads on Node 20.
const threadFile = (name: string) =>
  import.meta.url.endsWith('.ts') ? new URL(`../../../dist/store/sqlite/${name}.js`, import.meta.url) : new URL(`./${name}.js`, import.meta.url);
const THREAD = threadFile('writer-thread');
const CHECKPOINT_THREAD = threadFile('checkpoint-thread');

export class SqliteWriter implements MeetingWrites {
  private worker: Worker | undefined;
  private queue: Pending[] = [];
  /** Batches sent to the thread, oldest first; it commits them one after the other. */
  private inFlight: Pending[][] = [];
  private closed = false;
  private drained: (() => void) | undefined;
  /** Writes on the main connection waiting for, or holding, the write lock (main-writes.ts). */
  private pauses = 0;
  private idle: (() => void)[] = [];
  private readonly checkpointer: Checkpointer;

  constructor(
    private readonly path: string,
    private readonly observer?: StoreObserver,
  ) {
    this.checkpointer = new Checkpointer(path);
  }

  insertOrGet(columns: Columns, expiryCutoff: string): Promise<InsertOutcome> {
    return this.enqueue({ kind: 'insertOrGet', columns, expiryCutoff }) as Promise<InsertOutcome>;
  }

  async updateIfUnchanged(columns: Columns, expected: string): Promise<boolean> {
    return ((await this.enqueue({ kind: 'update', columns, expected })) as ChangeOutcome).changed;
  }

  async delete(id: string, tenantId: string): Promise<boolean> {
    return ((await this.enqueue({ kind: 'delete', id, tenantId })) as ChangeOutcome).changed;
  }

  private enqueue(item: WriterItem): Promise<WriterOutcome> {
    if (this.closed) return Promise.reject(new StoreUnavailable('the store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.flush();
    });
  }

  /**
   * Holds back new batches until the returned function is called (once); resolves once the batches
   * already sent have been committed, so that the write lock is this thread's to give.
   */
  async pause(): Promise<() => void> {
    this.pauses++;
    if (this.inFlight.length > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    return () => {
      this.pauses--;
      this.flush();
    };
  }

  /** Commits what is queued, then stops the thread. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight.length > 0 || this.queue.length > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await closeThread(worker);
    await this.checkpointer.close();
  }

  private flush() {
    if (this.inFlight.length === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
    if (this.pauses > 0) return;
    if (this.queue.length === 0) {
      if (this.inFlight.length === 0) this.drained?.();
      return;
    }
    // One batch committing and one waiting in the thread's inbox: the thread never waits for us,
    // and what arrives meanwhile gathers into the next batch.
    while (this.queue.length > 0 && this.inFlight.length < MAX_BATCHES_IN_FLIGHT) {
      const batch = this.takeBatch();
      this.inFlight.push(batch);
      this.observer?.writeBatch?.(batch.length);
      const request: WriterRequest = {
        items: batch.map(({ item }) => item),
        restartWal: this.checkpointer.takeRestartDue(),
      };
      const worker = this.thread();
      // Keeps the process alive while a commit is pending; an idle thread does not.
      worker.ref();
      worker.postMessage(request);
    }
  }

  /** The oldest queued inserts, up to MAX_BATCH_TEXT of stored text (at least one). */
  private takeBatch(): Pending[] {
    let text = 0;
    let count = 0;
    while (count < this.queue.length) {
      const { item } = this.queue[count]!;
      text += item.kind === 'delete' ? 0 : item.columns.properties.length;
      if (count > 0 && text > MAX_BATCH_TEXT) break;
      count++;
    }
    if (count === this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      return batch;
    }
    return this.queue.splice(0, count);
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(THREAD, {
      workerData: { path: this.path },
      execArgv: [],
      // A small heap: the thread only moves rows.
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    worker.on('message', (response: WriterResponse) => this.settle(response));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.fail(new Error('the SQLite writer thread stopped'));
    });
    this.worker = worker;
    return worker;
  }

  private settle(response: WriterResponse) {
    const batch = this.inFlight.shift() ?? [];
    if (this.queue.length === 0 && this.inFlight.length === 0) this.worker?.unref();
    if ('error' in response) {
      const { code, message } = response.error;
      const error = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? new StoreUnavailable(message) : Object.assign(new Error(message), { code });
      for (const pending of batch) pending.reject(error);
    } else {
      batch.forEach((pending, i) => pending.resolve(response.outcomes[i]!));
      this.checkpointer.committed(batch.length);
    }
    this.flush();
  }

  /** The thread died: whatever it was committing has an unknown outcome, so it is an error. */
  private fail(error: unknown) {
    const batches = this.inFlight;
    this.inFlight = [];
    for (const pending of batches.flat()) pending.reject(new StoreUnavailable((error as Error).message ?? String(error)));
    this.flush();
  }
}

/**
 * Asks the checkpointer thread for PASSIVE checkpoints every CHECKPOINT_EVERY commits, one at a time,
 * and says when the WAL has grown enough for the writer to restart it.
 */
class Checkpointer {
  private worker: Worker | undefined;
  private sinceLast = 0;
  private running = false;
  private closing = false;
  private restartDue = false;

  constructor(private readonly path: string) {}

  /** True once after a checkpoint found the WAL past RESTART_WAL_AT. */
  takeRestartDue(): boolean {
    const due = this.restartDue;
    this.restartDue = false;
    return due;
  }

  committed(count: number) {
    this.sinceLast += count;
    this.next();
  }

  private next() {
    if (this.running || this.closing || this.sinceLast < CHECKPOINT_EVERY) return;
    this.sinceLast = 0;
    this.running = true;
    const worker = this.thread();
    worker.ref();
    worker.postMessage('checkpoint');
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(CHECKPOINT_THREAD, {
      workerData: { path: this.path },
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 },
    });
    const done = ({ walFrames }: CheckpointDone) => {
      if (walFrames >= RESTART_WAL_AT) this.restartDue = true;
      this.running = false;
      // Closing holds the thread referenced until it has exited (closeThread): a checkpoint that
      // ends meanwhile must not let the process's event loop end before the exit is seen.
      if (!this.closing) worker.unref();
      this.next();
    };
    worker.on('message', done);
    // The writer's own checkpoints still run: a lost checkpointer costs speed, never data.
    worker.on('error', () => undefined);
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.running = false;
    });
    this.worker = worker;
    return worker;
  }

  async close() {
    this.closing = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await closeThread(worker);
  }
}

/** Asks a thread to close its connection and waits until it has exited. */
async function closeThread(worker: Worker) {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.ref(); // until it has closed its connection
  worker.postMessage('close');
  await exited;
}
