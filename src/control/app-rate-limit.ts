// Graph's "2,000 requests per second per app", or another number. Counted in this process only:
// with N processes behind a load balancer an app gets up to N times the rate (a shared count would
// cost a database round trip on every request). Windows are whole seconds of real time, not of the
// virtual clock: a test that freezes the clock would otherwise never see a window end.
import type { Clock } from '../domain/clock.js';

export class AppRateLimit {
  /** Requests counted per app in the current second only, so memory holds one second's apps. */
  private counts = new Map<string, number>();
  private window = -1;

  constructor(
    private readonly perSecond: number,
    /** Real time (tests of the server itself inject another). */
    private readonly time: Clock,
  ) {}

  /**
   * Counts a request of `appId`: 0 when it may go ahead, otherwise the whole seconds until the window
   * frees (at least 1). A refused request is not counted.
   */
  take(appId: string): number {
    const nowMs = this.time.now();
    const window = Math.floor(nowMs / 1000);
    if (window !== this.window) {
      this.window = window;
      this.counts = new Map();
    }
    const count = this.counts.get(appId) ?? 0;
    if (count >= this.perSecond) return Math.max(1, Math.ceil(((window + 1) * 1000 - nowMs) / 1000));
    this.counts.set(appId, count + 1);
    return 0;
  }
}
