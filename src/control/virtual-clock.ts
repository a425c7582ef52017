// The server's clock, which a test may move or freeze (`/__admin/clock`). It governs everything a
// meeting is stamped and judged with (default times, creation and update times, expiry), the
// limit and fault windows, and the token service's codes and refresh tokens. Access tokens stay on
// real time, so a test that jumps ahead keeps its token. The setting is kept in the store and
// applied here by ControlState, so every process on the database tells the same time.
import type { Clock } from '../domain/clock.js';
import { EARLIEST_INSTANT, LATEST_INSTANT } from '../domain/instant.js';

/** Real time moved by an offset, or stopped at one instant. */
export type ClockSetting = { frozen: false; offsetMs: number } | { frozen: true; atMs: number };

export class ClockOutOfRange extends Error {}

export class VirtualClock implements Clock {
  private setting: ClockSetting | null = null;

  /** `base` is real time (tests of the server itself may inject another). */
  constructor(private readonly base: Clock) {}

  now(): number {
    const s = this.setting;
    if (!s) return this.base.now();
    return s.frozen ? s.atMs : this.base.now() + s.offsetMs;
  }

  get frozen(): boolean {
    return this.setting?.frozen ?? false;
  }

  /** Applies the stored setting (JSON text, or null for real time). */
  apply(stored: string | null) {
    this.setting = stored === null ? null : (JSON.parse(stored) as ClockSetting);
  }

  /** The stored form of "now is `atMs`, frozen or running from there". */
  settingAt(atMs: number, frozen: boolean): string {
    if (!Number.isFinite(atMs) || atMs < EARLIEST_INSTANT.ms || atMs > LATEST_INSTANT.ms) {
      throw new ClockOutOfRange('The clock must stay between 0001-01-01 and 9999-12-31.');
    }
    const setting: ClockSetting = frozen ? { frozen: true, atMs } : { frozen: false, offsetMs: atMs - this.base.now() };
    return JSON.stringify(setting);
  }

  /** What `GET /__admin/clock` shows. */
  describe(): { now: string; frozen: boolean } {
    return { now: new Date(this.now()).toISOString(), frozen: this.frozen };
  }
}
