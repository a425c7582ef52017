// What keeps credentials out of the request log: every string the log keeps passes a Scrubber,
// which replaces the request's own bearer token and anything shaped like a JWT, and JSON members
// named like credentials lose their values. Bodies are redacted copy-on-write (an untouched body is
// kept by reference, not copied) and the work per body is bounded: past `maxChars` a body becomes
// a truncated text.

export const REDACTED = '[redacted]';

/** OAuth and password members, in what a client sends (bodies and query parameters). */
export const SENSITIVE_REQUEST_KEYS: ReadonlySet<string> = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'client_assertion',
  'password',
  'code',
  'assertion',
]);

/** In answers `code` is Graph's error code, which the log must keep; the rest stay hidden. */
export const SENSITIVE_RESPONSE_KEYS: ReadonlySet<string> = new Set([...SENSITIVE_REQUEST_KEYS].filter((key) => key !== 'code'));

// A JWT's header and payload are base64url JSON objects, so both start with `eyJ` ('{"').
const JWT = /eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*/g;

export class Scrubber {
  constructor(private readonly token: string | undefined) {}

  string(value: string): string {
    let text = value;
    if (this.token && text.includes(this.token)) text = text.replaceAll(this.token, REDACTED);
    if (text.includes('eyJ')) text = text.replace(JWT, REDACTED);
    return text;
  }

  /** A JSON text: token and JWT strings replaced, credential members' values hidden. */
  jsonText(text: string, keys: ReadonlySet<string>): string {
    return this.string(text).replace(keyValuePattern(keys), (_match, key: string) => `"${key}":"${REDACTED}"`);
  }
}

const patterns = new WeakMap<ReadonlySet<string>, RegExp>();

/** `"key": value` for the given member names; a string value may be cut short by truncation. */
function keyValuePattern(keys: ReadonlySet<string>): RegExp {
  let pattern = patterns.get(keys);
  if (!pattern) {
    pattern = new RegExp(`"(${[...keys].join('|')})"\\s*:\\s*(?:"(?:[^"\\\\]|\\\\.)*(?:"|$)|[^,}\\]\\s]+)`, 'gi');
    patterns.set(keys, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/** Whether a JSON text names any of the keys as a member (a cheap test before parsing it). */
export function mentionsKey(text: string, keys: ReadonlySet<string>): boolean {
  return keyValuePattern(keys).test(text);
}

/** Work left for one body, in characters of its strings and member names. */
class Budget {
  exceeded = false;
  constructor(private left: number) {}

  spend(chars: number): boolean {
    this.left -= chars;
    if (this.left < 0) this.exceeded = true;
    return !this.exceeded;
  }
}

/**
 * A parsed JSON value with credentials removed: the same value when there was nothing to remove,
 * otherwise a copy of just the objects and arrays on the way to what changed. Returns a truncated
 * JSON text instead when the value is larger than `maxChars`.
 */
export function redactJson(value: unknown, scrubber: Scrubber, keys: ReadonlySet<string>, maxChars: number): unknown {
  const budget = new Budget(maxChars);
  const redacted = redactValue(value, scrubber, keys, budget);
  if (!budget.exceeded) return redacted;
  return truncate(scrubber.jsonText(JSON.stringify(value), keys), maxChars);
}

function redactValue(value: unknown, scrubber: Scrubber, keys: ReadonlySet<string>, budget: Budget): unknown {
  if (typeof value === 'string') return budget.spend(value.length) ? scrubber.string(value) : value;
  if (value === null || typeof value !== 'object') {
    budget.spend(8);
    return value;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length && !budget.exceeded; i++) {
      const redacted = redactValue(value[i], scrubber, keys, budget);
      if (redacted !== value[i]) (copy ??= value.slice())[i] = redacted;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(record)) {
    if (!budget.spend(key.length + 4)) break;
    const member = record[key];
    const redacted = keys.has(key.toLowerCase()) ? REDACTED : redactValue(member, scrubber, keys, budget);
    const name = scrubber.string(key);
    if (name !== key) {
      copy ??= { ...record };
      delete copy[key];
      copy[name] = redacted;
    } else if (redacted !== member) (copy ??= { ...record })[key] = redacted;
  }
  return copy ?? value;
}

/**
 * The first `maxChars` characters and a marker saying how long the text was. The result is a new
 * string, so the log never keeps a large body alive through a slice of it.
 */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const kept = Buffer.from(text.slice(0, maxChars), 'utf8').toString('utf8');
  return `${kept}…[truncated by the request log: ${text.length} characters in all]`;
}
