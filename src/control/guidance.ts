// Guidance for the app under test (`/__admin/guidance?app=`): what its logged requests show it
// doing that Graph's guidance advises against. A pure reading of request-log entries.
import { type Operation, PERMISSIONS } from '../auth/permissions.js';
import type { LoggedRequest } from './request-log.js';

export type FindingKind = 'earlyRetry' | 'betaEndpoint' | 'excessPermissions' | 'missingClientRequestId';

export interface Example {
  requestId: string;
  method: string;
  path: string;
  time: string;
  [detail: string]: unknown;
}

export interface Finding {
  kind: FindingKind;
  message: string;
  /** How many requests show it; `examples` names the first few. */
  count: number;
  examples: Example[];
  [detail: string]: unknown;
}

export interface Guidance {
  app: string;
  /** How many of the app's requests the log holds (what the findings are drawn from). */
  requests: number;
  findings: Finding[];
}

const MAX_EXAMPLES = 5;

function example(entry: LoggedRequest, details: Record<string, unknown> = {}): Example {
  return { requestId: entry.requestId, method: entry.method, path: entry.path, time: new Date(entry.arrivedAt).toISOString(), ...details };
}

function finding(kind: FindingKind, message: string, examples: Example[], details: Record<string, unknown> = {}): Finding {
  return { kind, message, count: examples.length, ...details, examples: examples.slice(0, MAX_EXAMPLES) };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The findings for one application (its client id), from the log's entries in any order. */
export function guidanceFor(app: string, entries: readonly LoggedRequest[]): Guidance {
  const own = entries
    .filter((entry) => entry.app?.toLowerCase() === app.toLowerCase())
    .sort((a, b) => a.startedAt - b.startedAt);
  const findings = [earlyRetries(own), betaCalls(own), ...excessPermissions(own), missingClientRequestIds(own)];
  return { app, requests: own.length, findings: findings.filter((f): f is Finding => f !== undefined) };
}

/** A throttled answer (429/503 with Retry-After) and when the same call may be sent again. */
interface Throttle {
  entry: LoggedRequest;
  answeredAt: number;
  readyAt: number;
}

/** Requests sent again (same caller, method and path) before the Retry-After they were given ran out. */
function earlyRetries(entries: readonly LoggedRequest[]): Finding | undefined {
  const throttled = new Map<string, Throttle>();
  const early: Example[] = [];
  for (const entry of entries) {
    const key = [entry.tenant, entry.user?.id, entry.method.toUpperCase(), entry.path.toLowerCase()].join(' ');
    const last = throttled.get(key);
    // A request sent while the throttled one was still unanswered ran beside it: not a retry.
    if (last && entry.startedAt >= last.answeredAt && entry.startedAt < last.readyAt) {
      early.push(
        example(entry, {
          retryOf: last.entry.requestId,
          retryAfter: last.entry.retryAfter,
          waitedMs: Math.round(entry.startedAt - last.answeredAt),
        }),
      );
    }
    if ((entry.status === 429 || entry.status === 503) && entry.retryAfter !== null) {
      const answeredAt = entry.startedAt + entry.durationMs;
      throttled.set(key, { entry, answeredAt, readyAt: answeredAt + entry.retryAfter * 1000 });
    } else if (entry.status !== 0) throttled.delete(key);
  }
  if (early.length === 0) return undefined;
  return finding(
    'earlyRetry',
    `${plural(early.length, 'request was', 'requests were')} retried before the Retry-After given with a 429 or 503 had elapsed. ` +
      'Wait at least Retry-After seconds before sending the same request again: early retries keep an app throttled.',
    early,
  );
}

function betaCalls(entries: readonly LoggedRequest[]): Finding | undefined {
  const beta = entries.filter((entry) => /^\/beta(?:\/|$)/i.test(entry.path)).map((entry) => example(entry));
  if (beta.length === 0) return undefined;
  return finding(
    'betaEndpoint',
    `${plural(beta.length, 'request')} called /beta. Beta APIs may change or go away without notice and are not supported in production apps; use /v1.0 where the operation exists there.`,
    beta,
  );
}

function missingClientRequestIds(entries: readonly LoggedRequest[]): Finding | undefined {
  const missing = entries.filter((entry) => entry.clientRequestId === null).map((entry) => example(entry));
  if (missing.length === 0) return undefined;
  return finding(
    'missingClientRequestId',
    `${plural(missing.length, 'request')} carried no client-request-id header. Send a new GUID with each request, so that a failure can be traced on both sides.`,
    missing,
  );
}

type PermissionKind = 'delegated' | 'application';
const OPERATIONS = Object.keys(PERMISSIONS) as Operation[];

/** How much a permission allows: the number of operations it is accepted for. */
function breadth(kind: PermissionKind, permission: string): number {
  return OPERATIONS.filter((operation) => PERMISSIONS[operation][kind].includes(permission)).length;
}

/** The narrowest permission of the table accepted for every one of the operations. */
export function leastPrivileged(kind: PermissionKind, operations: Iterable<Operation>): string | undefined {
  const accepted = [...operations].map((operation) => PERMISSIONS[operation][kind]);
  if (accepted.length === 0) return undefined;
  const covering = accepted[0]!.filter((permission) => accepted.every((list) => list.includes(permission)));
  return covering.sort((a, b) => breadth(kind, a) - breadth(kind, b))[0];
}

/** Per kind of token: permissions held that allow more than the narrowest one its calls needed. */
function excessPermissions(entries: readonly LoggedRequest[]): Finding[] {
  const findings: Finding[] = [];
  for (const kind of ['application', 'delegated'] as const) {
    // Delegated entries name their user; application entries do not.
    const calls = entries.filter((e) => e.permissions !== null && e.operation !== null && (e.user !== null) === (kind === 'delegated'));
    const operations = new Set(calls.map((e) => e.operation!));
    const needed = leastPrivileged(kind, operations);
    if (needed === undefined) continue;
    const excessOf = (entry: LoggedRequest) =>
      entry.permissions!.filter((p) => breadth(kind, p) > breadth(kind, needed)).sort();
    const excessive = calls.filter((entry) => excessOf(entry).length > 0);
    if (excessive.length === 0) continue;
    const held = [...new Set(excessive.flatMap(excessOf))].sort();
    const performed = OPERATIONS.filter((operation) => operations.has(operation));
    findings.push(
      finding(
        'excessPermissions',
        `The app's ${kind} tokens held ${held.join(', ')}, but its calls only needed ${performed.join(', ')}: ` +
          `${needed} would do. Ask for the least privileged permission that covers what the app does.`,
        excessive.map((entry) => example(entry, { permissions: entry.permissions, operation: entry.operation })),
        { tokenType: kind, held, operations: performed, suggested: needed },
      ),
    );
  }
  return findings;
}
