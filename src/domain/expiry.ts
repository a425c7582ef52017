// Meetings expire (spec §9): past expiryDateTime they are gone, and their externalId is free again.
import { addMilliseconds, DAY_MS, formatInstant, parseInstant } from './instant.js';
import type { Meeting } from './meeting.js';

/** The comparable form of "now" for expiry checks (expiryDateTime strings sort chronologically). */
export function expiryCutoff(nowMs: number): string {
  return formatInstant({ ms: nowMs, ticks: 0 });
}

export function isExpired(meeting: Meeting, nowMs: number): boolean {
  return meeting.properties.expiryDateTime <= expiryCutoff(nowMs);
}

/** Meetings expire this long after their end, or after their last creation/update if that is later. */
export const EXPIRY_MS = 60 * DAY_MS;

/** The expiryDateTime of a meeting ending at `end` (formatted) that is created or updated now. */
export function expiryAfter(end: string, nowMs: number): string {
  const now = expiryCutoff(nowMs);
  return formatInstant(addMilliseconds(parseInstant(end > now ? end : now)!, EXPIRY_MS));
}
