// The request log (`/__admin/requests`): the last N Graph API requests this process served, for a
// test to assert what its app sent. It lives in this process's memory only (unlike faults, clock and
// limit counters, which are shared through the store). Entries are recorded already redacted (see
// redaction.ts); this module keeps them in a ring buffer and answers filtered reads.
import type { Operation } from '../auth/permissions.js';
import { globPattern } from './fault-rules.js';
import { requestPath } from './fault-injector.js';

export interface LoggedUser {
  id: string;
  userPrincipalName: string | null;
}

/** One request, as kept: redacted when recorded, shaped for JSON and HAR when read. */
export interface LoggedRequest {
  /** Real time of arrival, in milliseconds since the epoch (not the virtual clock). */
  arrivedAt: number;
  /** Time of arrival on this process's monotonic clock (performance.now()), for intervals between requests. */
  startedAt: number;
  method: string;
  /** As the client sent it, without the query string. */
  path: string;
  /** The query parameters in order, decoded. */
  query: [string, string][];
  /** 0 when the connection was closed without an answer. */
  status: number;
  durationMs: number;
  requestId: string;
  /** The client-request-id header as sent; null when the client sent none. */
  clientRequestId: string | null;
  tenant: string | null;
  app: string | null;
  /** The delegated caller; null for application tokens and unauthenticated calls. */
  user: LoggedUser | null;
  /** Parsed JSON, or a truncated JSON text for a large body; null without a body. */
  requestBody: unknown;
  requestContentType: string | null;
  /** The body as sent (JSON text, parsed when read); null without one. */
  responseText: string | null;
  responseContentType: string | null;
  /** The Retry-After the answer carried, in seconds. */
  retryAfter: number | null;
  operation: Operation | null;
  /** The token's delegated scopes or application roles; null without a verified token. */
  permissions: string[] | null;
  fault: { ruleId: string; respond: Record<string, unknown> } | null;
  /** The request-id of the $batch request this was an item of. */
  batchRequestId: string | null;
  /** For HAR: scheme and host the client used, HTTP version, a few non-sensitive headers. */
  origin: string;
  httpVersion: string;
  requestHeaders: [string, string][];
  responseHeaders: [string, string][];
}

/** An entry as `GET /__admin/requests` shows it. */
export function publicEntry(entry: LoggedRequest) {
  return {
    time: new Date(entry.arrivedAt).toISOString(),
    method: entry.method,
    path: entry.path,
    query: queryObject(entry.query),
    status: entry.status,
    durationMs: entry.durationMs,
    requestId: entry.requestId,
    clientRequestId: entry.clientRequestId,
    tenant: entry.tenant,
    app: entry.app,
    user: entry.user,
    requestBody: entry.requestBody,
    responseBody: responseBody(entry),
    fault: entry.fault,
    retryAfter: entry.retryAfter,
    operation: entry.operation,
    permissions: entry.permissions,
    batchRequestId: entry.batchRequestId,
  };
}

/** `{name: value}`, or `{name: [values…]}` for a parameter given more than once. */
function queryObject(pairs: readonly [string, string][]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of pairs) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/** The answer's body: parsed when it is whole JSON, otherwise the text. */
function responseBody(entry: LoggedRequest): unknown {
  const text = entry.responseText;
  if (text === null) return null;
  if (!JSON_MEDIA_TYPE.test(entry.responseContentType ?? '')) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface RequestFilter {
  tenant?: string;
  app?: string;
  /** Object id or UPN of the delegated caller. */
  user?: string;
  method?: string;
  /** Case-insensitive glob ('*' matches anything), as a fault rule's `path`. */
  path?: string;
  /** An exact status ('429', '0' for dropped connections) or a class ('5xx'). */
  status?: string;
  limit?: number;
}

/** A filter parameter that is not valid; the message names it. */
export class InvalidRequestFilter extends Error {}

const FILTER_NAMES = ['tenant', 'app', 'user', 'method', 'path', 'status', 'limit'] as const;
const STATUS = /^(?:\d{1,3}|[1-5]xx)$/i;

/** Reads a filter from query parameters (strings); throws InvalidRequestFilter for bad ones. */
export function parseRequestFilter(query: Record<string, unknown>, allowed: readonly string[] = []): RequestFilter {
  const filter: RequestFilter = {};
  for (const [name, value] of Object.entries(query)) {
    if (allowed.includes(name)) continue;
    if (!(FILTER_NAMES as readonly string[]).includes(name)) {
      throw new InvalidRequestFilter(`Unknown query parameter '${name}'; the filters are ${FILTER_NAMES.join(', ')}.`);
    }
    if (typeof value !== 'string') throw new InvalidRequestFilter(`The query parameter '${name}' may be given once.`);
    if (value === '') continue;
    if (name === 'limit') {
      if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
        throw new InvalidRequestFilter(`Invalid value for 'limit': '${value}' is not a whole number of at least 1.`);
      }
      filter.limit = Number(value);
    } else if (name === 'status' && !STATUS.test(value)) {
      throw new InvalidRequestFilter(`Invalid value for 'status': '${value}' is neither a status (429) nor a class (5xx).`);
    } else filter[name as Exclude<(typeof FILTER_NAMES)[number], 'limit'>] = value;
  }
  return filter;
}

type Test = (entry: LoggedRequest) => boolean;

const same = (a: string | null | undefined, b: string) => a?.toLowerCase() === b.toLowerCase();

function matcher(filter: RequestFilter): Test {
  const tests: Test[] = [];
  const { tenant, app, user, method, path, status } = filter;
  if (tenant !== undefined) tests.push((e) => same(e.tenant, tenant));
  if (app !== undefined) tests.push((e) => same(e.app, app));
  if (user !== undefined) tests.push((e) => same(e.user?.id, user) || same(e.user?.userPrincipalName, user));
  if (method !== undefined) tests.push((e) => same(e.method, method));
  if (path !== undefined) {
    const pattern = globPattern(path);
    tests.push((e) => pattern.test(e.path) || pattern.test(requestPath(e.path)));
  }
  if (status !== undefined) {
    const statusClass = /^([1-5])xx$/i.exec(status)?.[1];
    tests.push(statusClass ? (e) => Math.floor(e.status / 100) === Number(statusClass) : (e) => e.status === Number(status));
  }
  return (entry) => tests.every((test) => test(entry));
}

/**
 * An entry, or how to build it: redaction is done when the log is read, not on the request path.
 * `kept` are the texts the log kept for it (see `add`), in the order given.
 */
export type PendingEntry = LoggedRequest | { build(kept: KeptTexts | undefined): LoggedRequest | undefined };
export type KeptTexts = readonly (string | undefined)[];

/**
 * A pending entry's texts (its answer's body, its request's URL, headers, id…) up to this many UTF-8
 * bytes in all are kept in the log's own memory, outside V8's heap. Held as strings, each lived as
 * long as its entry (~1,000 requests), long enough to be promoted and then collected by the old
 * generation's collector: under load that was most of what the log cost (existing-key createOrGet
 * went from ~35.8k to ~38k req/s with the strings dropped).
 */
export const KEPT_TEXT_BYTES = 8 * 1024;
/** Texts kept per entry, at most. */
export const MAX_KEPT_TEXTS = 24;

/** One fixed region of bytes per ring slot: a slot's texts are replaced when its entry is. */
class TextSlots {
  /** Allocated on first use, never zero-filled: pages become resident only as slots are written. */
  private bytes: Buffer | undefined;
  /** The UTF-8 length of each slot's texts, written one after the other; -1 when the slot holds none. */
  private readonly byteLengths: Int32Array;
  /** Per slot, how many texts it holds. */
  private readonly counts: Uint8Array;
  /** Per slot, each text's length in UTF-16 units (which UTF-8 round trips keep); -1 for undefined. */
  private readonly lengths: Int32Array;

  constructor(private readonly capacity: number) {
    this.byteLengths = new Int32Array(capacity).fill(-1);
    this.counts = new Uint8Array(capacity);
    this.lengths = new Int32Array(capacity * MAX_KEPT_TEXTS);
  }

  /** Keeps `texts` in `slot`; false (and nothing kept) when they do not fit. */
  put(slot: number, texts: KeptTexts): boolean {
    if (texts.length > MAX_KEPT_TEXTS) return false;
    let units = 0;
    for (const text of texts) units += text?.length ?? 0;
    if (units > KEPT_TEXT_BYTES) return false; // at least one byte per UTF-16 unit
    const joined = texts.join(''); // undefined joins as ''
    this.bytes ??= Buffer.allocUnsafeSlow(this.capacity * KEPT_TEXT_BYTES);
    const written = this.bytes.write(joined, slot * KEPT_TEXT_BYTES, KEPT_TEXT_BYTES, 'utf8');
    // write() stops before a character that would not fit, so only a nearly full slot can hide a cut.
    if (written > KEPT_TEXT_BYTES - 4 && Buffer.byteLength(joined, 'utf8') !== written) return false;
    this.byteLengths[slot] = written;
    this.counts[slot] = texts.length;
    const base = slot * MAX_KEPT_TEXTS;
    texts.forEach((text, i) => (this.lengths[base + i] = text === undefined ? -1 : text.length));
    return true;
  }

  drop(slot: number) {
    this.byteLengths[slot] = -1;
  }

  /** The slot's texts, handed over once. */
  take(slot: number): KeptTexts | undefined {
    const byteLength = this.byteLengths[slot]!;
    if (byteLength < 0) return undefined;
    this.byteLengths[slot] = -1;
    const start = slot * KEPT_TEXT_BYTES;
    const joined = this.bytes!.toString('utf8', start, start + byteLength);
    const texts: (string | undefined)[] = [];
    const base = slot * MAX_KEPT_TEXTS;
    let at = 0;
    for (let i = 0; i < this.counts[slot]!; i++) {
      const length = this.lengths[base + i]!;
      if (length < 0) texts.push(undefined);
      else texts.push(joined.slice(at, (at += length)));
    }
    return texts;
  }

  clear() {
    this.byteLengths.fill(-1);
  }
}

/** A ring buffer of the last `capacity` requests; capacity 0 keeps nothing. */
export class RequestLog {
  private readonly slots: (PendingEntry | undefined)[];
  private readonly texts: TextSlots;
  private next = 0;
  private size = 0;
  /** Told of each pending entry pushed out of the log unread, which nothing else holds then. */
  onEvicted: ((entry: Exclude<PendingEntry, LoggedRequest>) => void) | undefined;

  constructor(readonly capacity: number) {
    this.slots = new Array<PendingEntry | undefined>(capacity);
    this.texts = new TextSlots(capacity);
  }

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /**
   * Adds an entry, and for a pending one the texts to hand back to its `build`: true when the log
   * kept them, so that the caller need not hold them.
   */
  add(entry: PendingEntry, texts?: KeptTexts): boolean {
    if (this.capacity === 0) return false;
    const slot = this.next;
    const pushedOut = this.slots[slot];
    this.slots[slot] = entry;
    if (pushedOut !== undefined && 'build' in pushedOut) this.onEvicted?.(pushedOut);
    this.next = (slot + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    this.texts.drop(slot);
    return texts !== undefined && 'build' in entry && this.texts.put(slot, texts);
  }

  clear() {
    this.slots.fill(undefined);
    this.texts.clear();
    this.next = 0;
    this.size = 0;
  }

  /** The matching entries, newest first, at most `filter.limit` of them. */
  find(filter: RequestFilter = {}): LoggedRequest[] {
    const matches = matcher(filter);
    const limit = filter.limit ?? Infinity;
    const found: LoggedRequest[] = [];
    for (let i = 1; i <= this.size && found.length < limit; i++) {
      const entry = this.entryAt((this.next - i + this.capacity) % this.capacity);
      if (entry && matches(entry)) found.push(entry);
    }
    return found;
  }

  /** The entry in a slot, built (once) if it is still pending. */
  private entryAt(index: number): LoggedRequest | undefined {
    const slot = this.slots[index];
    if (slot === undefined || !('build' in slot)) return slot;
    const entry = slot.build(this.texts.take(index));
    this.slots[index] = entry;
    return entry;
  }
}
