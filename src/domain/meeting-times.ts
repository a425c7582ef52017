// Start and end of a meeting (spec §4.3): parsing, defaults, and the rules between them.
import { InvalidRequest } from './errors.js';
import { addMilliseconds, compareInstants, HOUR_MS, type Instant, instantAt, parseInstant } from './instant.js';

export function parseDateTimeProperty(name: string, value: string): Instant {
  const instant = parseInstant(value);
  if (!instant) {
    throw new InvalidRequest(
      `Invalid value '${value.slice(0, 64)}' for '${name}': expected an ISO 8601 date-time with a time-zone offset, such as 2020-02-06T01:49:21.3524945+00:00.`,
    );
  }
  return instant;
}

/** Start/end rules of spec §4.3: defaults, end without start, end before start. */
export function meetingTimes(startText: string | null | undefined, endText: string | null | undefined, nowMs: number) {
  const start = startText == null ? undefined : parseDateTimeProperty('startDateTime', startText);
  const end = endText == null ? undefined : parseDateTimeProperty('endDateTime', endText);
  if (end && !start) throw new InvalidRequest("'endDateTime' cannot be specified without 'startDateTime'.");
  const effectiveStart = start ?? instantAt(nowMs);
  const effectiveEnd = end ?? addMilliseconds(effectiveStart, HOUR_MS);
  if (compareInstants(effectiveEnd, effectiveStart) < 0) {
    throw new InvalidRequest("'endDateTime' must not be earlier than 'startDateTime'.");
  }
  return { start: effectiveStart, end: effectiveEnd };
}
