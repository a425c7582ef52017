// Each process's copy of the shared control record (control/ports.ts). Every request first makes
// sure the copy is current (one cheap version check), so a fault added or a clock moved through any
// process holds for the next request on every other. Parts of the toolkit subscribe to changes.
//
// Where the check is a round trip (PostgreSQL), concurrent requests share it: one read answers every
// request that arrived before the read was sent, which is all the guarantee needs (a change made
// before a request was sent was committed before that read began). A request arriving while a read
// is under way waits for the next one, never for the earlier answer. So a busy process makes about
// one check per round trip rather than one per request.
import type { ControlRecord, ControlRepository } from './ports.js';

export type ControlListener = (record: ControlRecord, previous: ControlRecord | undefined) => void | Promise<void>;

export class ControlState {
  private record: ControlRecord | undefined;
  private loading: Promise<void> | undefined;
  private readonly listeners: ControlListener[] = [];
  /** The version read under way (asynchronous stores); it may have begun before a given caller arrived. */
  private versionRead: Promise<number> | undefined;
  /** The read that begins once that one ends, shared by everyone who arrived meanwhile. */
  private nextVersionRead: Promise<number> | undefined;

  constructor(private readonly repository: ControlRepository) {}

  /** Called for the current record at once (when loaded) and on every change after. */
  subscribe(listener: ControlListener) {
    this.listeners.push(listener);
  }

  /** Brings the copy up to date: undefined when it already was and the store could tell at once. */
  refresh(): Promise<void> | undefined {
    if (this.versionRead) return this.afterVersion(this.joinNextVersionRead());
    const version = this.repository.controlVersion();
    if (typeof version === 'number') return this.isCurrent(version) ? undefined : this.catchUp(version);
    return this.afterVersion(this.track(version));
  }

  private afterVersion(version: Promise<number>): Promise<void> {
    return version.then((v) => (this.isCurrent(v) ? undefined : this.catchUp(v)));
  }

  private track(read: Promise<number>): Promise<number> {
    this.versionRead = read;
    const done = () => {
      if (this.versionRead === read) this.versionRead = undefined;
    };
    read.then(done, done);
    return read;
  }

  private joinNextVersionRead(): Promise<number> {
    this.nextVersionRead ??= this.versionRead!.then(
      () => this.beginNextVersionRead(),
      () => this.beginNextVersionRead(),
    );
    return this.nextVersionRead;
  }

  private beginNextVersionRead(): Promise<number> {
    this.nextVersionRead = undefined;
    return this.track(Promise.resolve(this.repository.controlVersion()));
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
