// Each process's copy of the shared control record (control/ports.ts). Every request first makes
// sure the copy is current (one cheap version check), so a fault added or a clock moved through any
// process holds for the next request on every other. Parts of the toolkit subscribe to changes.
import type { ControlRecord, ControlRepository } from './ports.js';

export type ControlListener = (record: ControlRecord, previous: ControlRecord | undefined) => void | Promise<void>;

export class ControlState {
  private record: ControlRecord | undefined;
  private loading: Promise<void> | undefined;
  private readonly listeners: ControlListener[] = [];

  constructor(private readonly repository: ControlRepository) {}

  /** Called for the current record at once (when loaded) and on every change after. */
  subscribe(listener: ControlListener) {
    this.listeners.push(listener);
  }

  /** Brings the copy up to date: undefined when it already was and the store could tell at once. */
  refresh(): Promise<void> | undefined {
    const version = this.repository.controlVersion();
    if (typeof version === 'number') return this.isCurrent(version) ? undefined : this.catchUp(version);
    return version.then((v) => (this.isCurrent(v) ? undefined : this.catchUp(v)));
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
