// Fault rules (`/__admin/faults`): what a rule looks like, how a posted one is checked, which
// requests it matches, and whether it fires on the n-th of them. The decision is a pure function
// of the rule and n (the rule's shared match counter), so every process, and every run, agrees on
// which calls fail.
import { parseInstant } from '../domain/instant.js';

export type FaultResponse =
  | { status: 429 | 503; retryAfter: number }
  | { status: 500 | 502 | 504 }
  | { delayMs: number }
  | { drop: true };

export interface FaultMatch {
  method?: string;
  path?: string;
  tenant?: string;
  app?: string;
  user?: string;
}

/** A rule as stored and shown: every default filled in, optional limits absent when unset. */
export interface FaultRule {
  match: FaultMatch;
  after: number;
  count?: number;
  probability: number;
  seed: number;
  from?: string;
  until?: string;
  respond: FaultResponse;
}

export type StoredFaultRule = { id: string } & FaultRule;

/** A rule that is not valid; the message names the member at fault. */
export class InvalidFaultRule extends Error {}

const STATUSES = [429, 500, 502, 503, 504] as const;
const MAX_RETRY_AFTER_SECONDS = 86_400;
const MAX_DELAY_MS = 300_000;
const MAX_SEED = 0xffff_ffff;
/** Retry-After when a 429 or 503 rule gives none. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
const RULE_MEMBERS = ['match', 'after', 'count', 'probability', 'seed', 'from', 'until', 'respond'];
const MATCH_MEMBERS = ['method', 'path', 'tenant', 'app', 'user'];
const HTTP_METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const SHOWN_VALUE_LENGTH = 80;

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing';
  return text.length > SHOWN_VALUE_LENGTH ? `${text.slice(0, SHOWN_VALUE_LENGTH)}…` : text;
}

const invalid = (member: string, expected: string, value: unknown) =>
  new InvalidFaultRule(`Invalid value for '${member}': expected ${expected}, got ${shown(value)}.`);

function onlyMembers(object: Json, allowed: readonly string[], where: string) {
  for (const name of Object.keys(object)) {
    if (!allowed.includes(name)) {
      throw new InvalidFaultRule(`Unknown member '${where}${name.slice(0, SHOWN_VALUE_LENGTH)}' in the fault rule; allowed: ${allowed.join(', ')}.`);
    }
  }
}

function integer(object: Json, member: string, min: number, max: number, where = ''): number | undefined {
  const value = object[member];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(where + member, `a whole number from ${min} to ${max}`, value);
  }
  return value;
}

function text(object: Json, member: string, where: string): string | undefined {
  const value = object[member];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw invalid(where + member, 'a non-empty string', value);
  return value.trim();
}

function parseMatch(raw: unknown): FaultMatch {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw invalid('match', 'an object with any of method, path, tenant, app, user', raw);
  onlyMembers(raw, MATCH_MEMBERS, 'match.');
  const match: FaultMatch = {};
  const method = text(raw, 'method', 'match.');
  if (method !== undefined) {
    if (!HTTP_METHOD.test(method)) throw invalid('match.method', 'an HTTP method such as POST', raw.method);
    match.method = method.toUpperCase();
  }
  const path = text(raw, 'path', 'match.');
  if (path !== undefined) {
    if (!path.startsWith('/') && !path.startsWith('*')) {
      throw invalid('match.path', "a path with its version, such as '/v1.0/users/*/onlineMeetings' ('*' matches anything)", raw.path);
    }
    match.path = path;
  }
  for (const member of ['tenant', 'app', 'user'] as const) {
    const value = text(raw, member, 'match.');
    if (value !== undefined) match[member] = value;
  }
  return match;
}

function parseInstantMember(raw: Json, member: 'from' | 'until'): number | undefined {
  const value = raw[member];
  if (value === undefined) return undefined;
  const instant = typeof value === 'string' ? parseInstant(value) : undefined;
  if (!instant) throw invalid(member, 'an ISO 8601 date-time with an offset, such as 2027-01-01T09:00:00Z', value);
  return instant.ms;
}

function parseRespond(raw: unknown): FaultResponse {
  const kinds = '{"status":429|503,"retryAfter":S}, {"status":500|502|504}, {"delayMs":N} or {"drop":true}';
  if (!isObject(raw)) throw invalid('respond', kinds, raw);
  const given = ['status', 'delayMs', 'drop'].filter((kind) => raw[kind] !== undefined);
  if (given.length !== 1) {
    throw new InvalidFaultRule(`Invalid value for 'respond': expected exactly one of ${kinds}.`);
  }
  if (raw.drop !== undefined) {
    onlyMembers(raw, ['drop'], 'respond.');
    if (raw.drop !== true) throw invalid('respond.drop', 'true', raw.drop);
    return { drop: true };
  }
  if (raw.delayMs !== undefined) {
    onlyMembers(raw, ['delayMs'], 'respond.');
    return { delayMs: integer(raw, 'delayMs', 0, MAX_DELAY_MS, 'respond.')! };
  }
  const status = raw.status;
  if (!STATUSES.includes(status as (typeof STATUSES)[number])) throw invalid('respond.status', `one of ${STATUSES.join(', ')}`, status);
  if (status === 429 || status === 503) {
    onlyMembers(raw, ['status', 'retryAfter'], 'respond.');
    // Graph's throttling always asks for at least a second (graphErrors.tooManyRequests).
    const retryAfter = integer(raw, 'retryAfter', status === 429 ? 1 : 0, MAX_RETRY_AFTER_SECONDS, 'respond.');
    return { status, retryAfter: retryAfter ?? DEFAULT_RETRY_AFTER_SECONDS };
  }
  onlyMembers(raw, ['status'], 'respond.');
  return { status: status as 500 | 502 | 504 };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** Checks a rule as posted (or read from a --faults file) and fills in its defaults. */
export function parseFaultRule(raw: unknown): FaultRule {
  if (!isObject(raw)) throw new InvalidFaultRule('A fault rule must be a JSON object with at least a \'respond\' member.');
  onlyMembers(raw, RULE_MEMBERS, '');
  if (raw.respond === undefined) throw new InvalidFaultRule("Missing 'respond': what the rule answers with.");
  const probability = raw.probability;
  if (probability !== undefined && (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))) {
    throw invalid('probability', 'a number from 0 to 1', probability);
  }
  const from = parseInstantMember(raw, 'from');
  const until = parseInstantMember(raw, 'until');
  if (from !== undefined && until !== undefined && until <= from) {
    throw new InvalidFaultRule("Invalid value for 'until': it must be later than 'from'.");
  }
  // Members in the documented order, optional ones only when given.
  return {
    match: parseMatch(raw.match),
    after: integer(raw, 'after', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    ...optional('count', integer(raw, 'count', 0, Number.MAX_SAFE_INTEGER)),
    probability: (probability as number | undefined) ?? 1,
    seed: integer(raw, 'seed', 0, MAX_SEED) ?? 0,
    ...optional('from', from === undefined ? undefined : new Date(from).toISOString()),
    ...optional('until', until === undefined ? undefined : new Date(until).toISOString()),
    respond: parseRespond(raw.respond),
  };
}

/** What a rule is matched against (its `user` separately: see matchesUser). */
export interface FaultSubject {
  method: string;
  /** The request path with its version, no query string, percent-decoded. */
  path: string;
  tenant: string;
  app: string | null;
}

/** `*` matches any characters, '/' included; everything else literally, without case. */
export function globPattern(glob: string): RegExp {
  const source = glob
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'is');
}

/** murmur3's 32-bit finalizer: a well-spread hash of one 32-bit value. */
function mix32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The seeded draw for the n-th match, in [0, 1): a hash of (seed, n), so no sequence state exists anywhere. */
export function draw(seed: number, n: number): number {
  let h = mix32(seed ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(n >>> 0, 0x27d4eb2f));
  h = mix32(h ^ Math.floor(n / 0x1_0000_0000));
  return h / 0x1_0000_0000;
}

/** A stored rule, ready to match: its glob compiled, its window in milliseconds, its firing history cached. */
export class ActiveFaultRule {
  private readonly path: RegExp | undefined;
  private readonly fromMs: number;
  private readonly untilMs: number;
  /** Firings among matches after+1..upTo (a cache: the count could be recomputed from scratch). */
  private history = { upTo: 0, fired: 0 };

  constructor(
    readonly id: string,
    readonly rule: FaultRule,
  ) {
    this.path = rule.match.path === undefined ? undefined : globPattern(rule.match.path);
    this.fromMs = rule.from === undefined ? -Infinity : Date.parse(rule.from);
    this.untilMs = rule.until === undefined ? Infinity : Date.parse(rule.until);
    this.history.upTo = rule.after;
  }

  get stored(): StoredFaultRule {
    return { id: this.id, ...this.rule };
  }

  /** Every condition but `user` (which may need a directory lookup), at `nowMs` on the server's clock. */
  matches(subject: FaultSubject, nowMs: number): boolean {
    const { match } = this.rule;
    if (nowMs < this.fromMs || nowMs >= this.untilMs) return false;
    if (match.method !== undefined && match.method !== subject.method.toUpperCase()) return false;
    if (this.path && !this.path.test(subject.path)) return false;
    if (match.tenant !== undefined && match.tenant.toLowerCase() !== subject.tenant.toLowerCase()) return false;
    if (match.app !== undefined && match.app.toLowerCase() !== subject.app?.toLowerCase()) return false;
    return true;
  }

  /** Whether the rule's `user` is among `users` (lower-case ids and UPNs); true when it names none. */
  matchesUser(users: readonly string[]): boolean {
    const user = this.rule.match.user;
    return user === undefined || users.includes(user.toLowerCase());
  }

  get needsUser(): boolean {
    return this.rule.match.user !== undefined;
  }

  /** Whether the n-th matching request (n = 1, 2, 3…) gets the fault. */
  fires(n: number): boolean {
    if (!this.drawFires(n)) return false;
    return this.rule.count === undefined || this.firedBefore(n) < this.rule.count;
  }

  /** After the n-th match fired: whether that was the last firing its `count` allows. */
  exhaustedAt(n: number): boolean {
    return this.rule.count !== undefined && this.firedBefore(n) + 1 >= this.rule.count;
  }

  /** `after` and `probability` alone. */
  private drawFires(n: number): boolean {
    if (n <= this.rule.after) return false;
    return this.rule.probability >= 1 || draw(this.rule.seed, n) < this.rule.probability;
  }

  /** Firings among matches after+1..n-1; stops counting once `count` is reached (nothing fires after). */
  private firedBefore(n: number): number {
    const count = this.rule.count ?? Infinity;
    if (this.rule.probability >= 1) return Math.min(Math.max(0, n - 1 - this.rule.after), count);
    // Matches arrive nearly in order, so the count usually extends the cached one.
    if (this.history.upTo > n - 1) this.history = { upTo: this.rule.after, fired: 0 };
    let { upTo, fired } = this.history;
    while (upTo < n - 1 && fired < count) {
      upTo++;
      if (this.drawFires(upTo)) fired++;
    }
    this.history = { upTo, fired };
    return fired;
  }
}
