// Graph's "2,000 meetings per user each month", or another number: counted in the store, so every
// process on the database shares one count per organizer and calendar month (UTC, on the server's
// virtual clock, so moving the clock into the next month starts a new count).
import { CreationLimitReached } from '../domain/errors.js';
import type { CreationQuota, GiveBack } from '../domain/ports.js';
import type { ControlRepository } from './ports.js';

/** The month containing `nowMs`, as the store keys its counts: 'YYYY-MM' (UTC). */
export function monthWindow(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

/** Whole seconds, rounded up, from `nowMs` to 00:00:00Z on the first day of the next month. */
export function secondsUntilNextMonth(nowMs: number): number {
  const now = new Date(nowMs);
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.ceil((next - nowMs) / 1000);
}

export class MonthlyCreationLimit implements CreationQuota {
  constructor(
    private readonly counts: Pick<ControlRepository, 'reserveCreation' | 'releaseCreation'>,
    private readonly perMonth: number,
  ) {}

  async take(tenantId: string, organizerId: string, nowMs: number): Promise<GiveBack> {
    // The month is fixed here: a creation given back returns to the month it was taken from.
    const window = monthWindow(nowMs);
    if (!(await this.counts.reserveCreation(tenantId, organizerId, window, this.perMonth))) {
      throw new CreationLimitReached(secondsUntilNextMonth(nowMs));
    }
    return () => this.counts.releaseCreation(tenantId, organizerId, window);
  }
}
