// Graph's DateTimeOffset, held as UTC milliseconds plus the sub-millisecond part in 100 ns ticks,
// because Graph returns 7 fractional digits and JavaScript's Date keeps only 3.

export interface Instant {
  readonly ms: number;
  /** 100-nanosecond units below the millisecond, 0..9999. */
  readonly ticks: number;
}

// The OpenAPI pattern, restricted to four-digit years so every value formats and sorts the same way.
const DATE_TIME_OFFSET =
  /^(\d{4})-(0[1-9]|1[012])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d{1,12}))?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

// Date.UTC maps years below 100 to 19xx, so year 0001 is built by hand.
const YEAR_ONE = (() => {
  const d = new Date(0);
  d.setUTCFullYear(1, 0, 1);
  d.setUTCHours(0, 0, 0, 0);
  return d.getTime();
})();
const YEAR_TEN_THOUSAND = Date.UTC(10000, 0, 1);

/**
 * The range of DateTimeOffset that Graph (and our four-digit text form) can hold. Anything derived
 * from a date (start + 1 h, end + 60 days) is clamped into it: a value past year 9999 would format
 * as `+010000-…`, sort before every real date and make a live meeting look expired.
 */
export const EARLIEST_INSTANT: Instant = { ms: YEAR_ONE, ticks: 0 };
export const LATEST_INSTANT: Instant = { ms: YEAR_TEN_THOUSAND - 1, ticks: 9999 };

const MAX_OFFSET_MINUTES = 14 * 60;

/** Parses an ISO-8601 date-time with a mandatory offset; undefined when it is not one. */
export function parseInstant(text: string): Instant | undefined {
  const m = DATE_TIME_OFFSET.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone] = m as unknown as string[];
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  // Reject dates such as 2023-02-30 that Date would silently roll over.
  if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1) return undefined;
  const digits = frac.padEnd(7, '0');
  let ms = date.getTime() + Number(digits.slice(0, 3));
  const ticks = Number(digits.slice(3, 7));
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const offsetMinutes = Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6));
    // DateTimeOffset's offsets stop at ±14:00.
    if (offsetMinutes > MAX_OFFSET_MINUTES) return undefined;
    ms -= sign * offsetMinutes * 60_000;
  }
  if (ms < YEAR_ONE || ms >= YEAR_TEN_THOUSAND) return undefined;
  return { ms, ticks };
}

/** `2020-09-11T06:30:18.0615989Z`: UTC, always 7 fractional digits, as Graph writes it. */
export function formatInstant(instant: Instant): string {
  const clamped = clampInstant(instant);
  const ms = Math.trunc(clamped.ms); // as Date keeps a time value
  const ticks = clamped.ticks;
  const seconds = Math.floor(ms / 1000);
  return `${secondText(seconds)}${String(ms - seconds * 1000).padStart(3, '0')}${String(ticks).padStart(4, '0')}Z`;
}

// Date's formatting goes through snprintf, a few µs a call, and the seconds a busy server formats
// repeat: every create in one second stamps the same now, now + 1 h and now + 60 days.
const secondTexts = new Map<number, string>();
const SECOND_TEXTS_KEPT = 256;

/** `YYYY-MM-DDTHH:MM:SS.` of a whole number of seconds since 1970 (years 0001..9999). */
function secondText(seconds: number): string {
  let text = secondTexts.get(seconds);
  if (text === undefined) {
    text = new Date(seconds * 1000).toISOString().slice(0, 20);
    if (secondTexts.size >= SECOND_TEXTS_KEPT) secondTexts.clear();
    secondTexts.set(seconds, text);
  }
  return text;
}

export function compareInstants(a: Instant, b: Instant): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.ticks - b.ticks;
}

/** The instant itself when it is in range, else the nearest end of the range. */
export function clampInstant(instant: Instant): Instant {
  if (!(instant.ms >= EARLIEST_INSTANT.ms)) return EARLIEST_INSTANT; // also NaN
  if (instant.ms > LATEST_INSTANT.ms) return LATEST_INSTANT;
  return instant;
}

/** `ms` later (or earlier), never past the ends of the range. */
export function addMilliseconds(instant: Instant, ms: number): Instant {
  return clampInstant({ ms: instant.ms + ms, ticks: instant.ticks });
}

/** Now, with sub-millisecond digits filled in so stamps look like Graph's. */
export function instantAt(epochMs: number, ticks = Math.floor(Math.random() * 10_000)): Instant {
  return { ms: epochMs, ticks };
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
