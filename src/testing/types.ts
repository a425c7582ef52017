// The test helper's public types: the control API's JSON shapes, as a test writes and reads them.
import type { FaultMatch, FaultResponse, FaultRule as StoredRule, StoredFaultRule } from '../control/fault-rules.js';
import type { Limits } from '../control/limits.js';

/** A directory seed, the same shape as a `serve --directory` file. */
export interface DirectorySeedFile {
  tenants: Array<{
    id: string;
    displayName?: string;
    users?: Array<{ id: string; userPrincipalName?: string; displayName?: string }>;
    /** `users` for the users it is granted for, or `scope: 'global'` for the whole tenant. */
    applicationAccessPolicies?: Array<{ appId: string; users?: string[]; scope?: string }>;
  }>;
}

export type { Limits };

export interface GraphMeetingsOptions {
  /** Tenants, users and access policies to load at start-up: a seed object, or the path of a seed file. */
  directory?: DirectorySeedFile | string;
  /** Database URL (`sqlite:<path>` or `postgres://…`); default: a new SQLite file, removed by close(). */
  db?: string;
  /** Graph's limits: 'off' (the default), 'graph' (the documented numbers) or your own numbers. */
  limits?: 'off' | 'graph' | Limits;
  /** Fault rules active from the first request on. */
  faults?: FaultRule[];
  /** Base URL for join links and @odata.context (default: the listening address). */
  publicUrl?: string;
  /** Extra environment variables for the server process. */
  env?: Record<string, string>;
  /** How long to wait for the server to listen, in milliseconds (default 60,000). */
  startTimeoutMs?: number;
}

/**
 * A fault rule as a test writes it (see the README's fault injection section): only `respond` is
 * required; a 429 or 503 without `retryAfter` says 1 second. The server answers with the stored rule.
 */
export type FaultRule = Partial<Omit<StoredRule, 'respond'>> & { respond: FaultResponse | { status: 429 | 503 } };

export type { FaultMatch, FaultResponse, StoredFaultRule };

export interface ClockState {
  /** The server's current time (ISO 8601). */
  now: string;
  frozen: boolean;
}

export type TokenOptions =
  | { user: string; tenant?: string; name?: string; scopes?: string[] | string; lifetime?: number }
  | { app: string; tenant?: string; roles?: string[] | string; lifetime?: number };

export interface RequestFilter {
  tenant?: string;
  app?: string;
  /** Object id or userPrincipalName of the delegated caller. */
  user?: string;
  method?: string;
  /** Case-insensitive glob ('*' matches anything), as a fault rule's `path`. */
  path?: string;
  /** An exact status (429; 0 for dropped connections) or a class ('5xx'). */
  status?: number | string;
  limit?: number;
}

/** One entry of the server's request log (newest first). Tokens and secrets never appear in it. */
export interface RequestLogEntry {
  /** Arrival, in real time (ISO 8601). */
  time: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  /** 0 when the connection was closed without an answer. */
  status: number;
  durationMs: number;
  requestId: string;
  clientRequestId: string | null;
  tenant: string | null;
  app: string | null;
  user: { id: string; userPrincipalName: string | null } | null;
  requestBody: unknown;
  responseBody: unknown;
  /** The fault rule that answered, if one did. */
  fault: { ruleId: string; respond: Record<string, unknown> } | null;
  retryAfter: number | null;
  operation: string | null;
  /** The token's delegated scopes or application roles. */
  permissions: string[] | null;
  batchRequestId: string | null;
}

export interface ResetOptions {
  /** Only this tenant's meetings; fault rules and the clock stay. */
  tenant?: string;
  /** Also wipe the directory (tenants, users, access policies). */
  directory?: boolean;
}

/** A tenant's directory and meetings, as snapshot() exports it and restore() takes it back. */
export type Snapshot = Record<string, unknown>;

/** Graph's error body, as the control API answers it. */
export interface GraphErrorBody {
  code: string;
  message: string;
  innerError?: Record<string, unknown>;
}
