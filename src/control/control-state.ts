// Each process's copy of the shared control record (control/ports.ts). Every request first makes
// sure the copy is current (a version check), so a fault added or a clock moved through any process
// holds for the next request on every other. Parts of the toolkit subscribe to changes.
//
// Requests share the version reads: one read answers every request that asked before the read
// began, which is all the guarantee needs (a change made before a request was sent was committed
// before that read began). A read begins at the end of the event-loop pass in which it was first
// asked for (its check phase, once the pass has taken in what arrived), or, while another read is
// still under way (a PostgreSQL round trip), as soon as that one ends; a request never takes the
// answer of a read that began before it asked. So a busy process reads the version once per pass
// (SQLite) or once per round trip (PostgreSQL) rather than once per request.
import type { ControlRecord, ControlRepository } from './ports.js';

export type ControlListener = (record: ControlRecord, previous: ControlRecord | undefined) => void | Promise<void>;

export class ControlState {
  private record: ControlRecord | undefined;
  private loading: Promise<void> | undefined;
  private readonly listeners: ControlListener[] = [];
  /** The check that begins next, shared by every request that asks before it begins. */
  private nextCheck: Promise<void> | undefined;
  /** A version read under way (asynchronous stores only). */
  private reading: Promise<number> | undefined;

  constructor(private readonly repository: ControlRepository) {}

  /** Called for the current record at once (when loaded) and on every change after. */
  subscribe(listener: ControlListener) {
    this.listeners.push(listener);
  }

  /** Brings the copy up to date, as of a version read that begins after this call. */
  refresh(): Promise<void> {
    this.nextCheck ??= new Promise<number>((resolve, reject) => {
      const begin = () => {
        this.nextCheck = undefined;
        try {
          resolve(this.readVersion());
        } catch (error) {
          reject(error); // a closed store, say: the requests waiting are answered with it
        }
      };
      if (this.reading) this.reading.then(begin, begin);
      else setImmediate(begin);
    }).then((version) => (this.isCurrent(version) ? undefined : this.catchUp(version)));
    return this.nextCheck;
  }

  private readVersion(): number | Promise<number> {
    const read = this.repository.controlVersion();
    if (typeof read === 'number') return read;
    this.reading = read;
    const done = () => {
      if (this.reading === read) this.reading = undefined;
    };
    read.then(done, done);
    return read;
  }

  private isCurrent(version: number): boolean {
    return this.record !== undefined && this.record.version >= version;
  }

  private async catchUp(version: number) {
    // A read already under way may have started before this version was written: then read again.
    while (!this.isCurrent(version)) await this.reload();
  }

  /** After a change made through this process: a read that starts now sees it. */
  async changed(): Promise<void> {
    await this.loading?.catch(() => undefined);
    await this.reload();
  }

  private reload(): Promise<void> {
    this.loading ??= this.read().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async read() {
    const next = await this.repository.readControl();
    const previous = this.record;
    if (previous && previous.version >= next.version) return;
    this.record = next;
    for (const listener of this.listeners) await listener(next, previous);
  }

  get current(): ControlRecord | undefined {
    return this.record;
  }
}
