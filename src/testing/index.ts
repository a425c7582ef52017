// `graph-meetings/testing`: start a real graph-meetings server for a test and control it — tokens,
// faults, the virtual clock, reset, snapshots and the request log — through its control API.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlClient } from './control-client.js';
import { serveArgs } from './serve-args.js';
import { startServerProcess } from './server-process.js';
import type {
  ClockState,
  FaultRule,
  GraphMeetingsOptions,
  RequestFilter,
  RequestLogEntry,
  ResetOptions,
  Snapshot,
  StoredFaultRule,
  TokenOptions,
} from './types.js';

export { ControlApiError } from './control-client.js';
export type * from './types.js';

const DEFAULT_START_TIMEOUT_MS = 60_000;

export interface GraphMeetings {
  /** The server's root, e.g. 'http://127.0.0.1:41234'. */
  readonly url: string;
  /** The Graph base URL: url + '/v1.0'. */
  readonly graphUrl: string;
  /** The control API's key (Authorization: Bearer <adminKey> on /__admin). */
  readonly adminKey: string;
  /** A dev-issuer access token for a user (delegated) or an app (app-only). */
  token(options: TokenOptions): Promise<string>;
  faults: {
    add(rule: FaultRule): Promise<StoredFaultRule>;
    list(): Promise<StoredFaultRule[]>;
    remove(id: string): Promise<void>;
    clear(): Promise<void>;
  };
  clock: {
    get(): Promise<ClockState>;
    /** Moves the clock to `date`; `frozen` stops it there (default: keeps the current setting). */
    set(date: Date | string, options?: { frozen?: boolean }): Promise<ClockState>;
    /** Moves the clock forward by an ISO 8601 duration ('P61D', 'PT1H') or milliseconds. */
    advance(by: string | number): Promise<ClockState>;
    /** Back to real time. */
    reset(): Promise<ClockState>;
  };
  /** The request log, newest first. */
  requests(filter?: RequestFilter): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  /** Wipes everything (meetings, faults, clock, counters, request log), or one tenant's meetings. */
  reset(options?: ResetOptions): Promise<void>;
  /** One tenant's directory and meetings. */
  snapshot(tenant: string): Promise<Snapshot>;
  /** Replaces the snapshot's tenant with it. */
  restore(snapshot: Snapshot): Promise<void>;
  /** Stops the server, frees its port and removes its temp files. Safe to call more than once. */
  close(): Promise<void>;
}

const query = (filter: RequestFilter = {}) => {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filter)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
};

/** Starts a graph-meetings server on a free port (temp SQLite, dev auth) and returns its controls. */
export async function startGraphMeetings(options: GraphMeetingsOptions = {}): Promise<GraphMeetings> {
  const dir = await mkdtemp(join(tmpdir(), 'graph-meetings-testing-'));
  const adminKey = randomBytes(24).toString('base64url');
  let server;
  try {
    server = await startServerProcess(await serveArgs(dir, adminKey, options), {
      cwd: dir,
      env: options.env,
      timeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      cleanupOnExit: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const { url } = server;
  const call = controlClient(url, adminKey, server.describeExit);
  let closed: Promise<void> | undefined;

  return {
    url,
    graphUrl: `${url}/v1.0`,
    adminKey,
    async token(tokenOptions) {
      return (await call<{ access_token: string }>('POST', '/tokens', tokenOptions)).access_token;
    },
    faults: {
      add: (rule) => call('POST', '/faults', rule),
      list: async () => (await call<{ value: StoredFaultRule[] }>('GET', '/faults')).value,
      remove: async (id) => void (await call('DELETE', `/faults/${encodeURIComponent(id)}`)),
      clear: async () => void (await call('DELETE', '/faults')),
    },
    clock: {
      get: () => call('GET', '/clock'),
      set: (date, { frozen } = {}) => call('PUT', '/clock', { now: typeof date === 'string' ? date : date.toISOString(), frozen }),
      advance: (by) => call('POST', '/clock/advance', { by }),
      reset: () => call('DELETE', '/clock'),
    },
    requests: async (filter) => (await call<{ value: RequestLogEntry[] }>('GET', `/requests${query(filter)}`)).value,
    clearRequests: async () => void (await call('DELETE', '/requests')),
    reset: async (resetOptions = {}) => void (await call('POST', '/reset', resetOptions)),
    snapshot: (tenant) => call('GET', `/snapshot${query({ tenant })}`),
    restore: async (snapshot) => void (await call('POST', '/snapshot', snapshot)),
    close() {
      closed ??= server.stop().then(() => rm(dir, { recursive: true, force: true }));
      return closed;
    },
  };
}
