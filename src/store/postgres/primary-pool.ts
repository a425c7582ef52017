// Follows the writable primary of a PostgreSQL HA formation (pg_auto_failover, Patroni…) the way
// libpq does with a multi-host URL and target_session_attrs, on top of node-postgres, which has no
// multi-host support of its own:
//   * the hosts are tried in order; a host is taken when a connection to it succeeds and it is what
//     target_session_attrs asks for (read-write: `transaction_read_only` is off; primary: not
//     `pg_is_in_recovery()`); sslmode decides TLS per host as in libpq (prefer falls back to plain);
//   * the chosen host gets an ordinary pg.Pool; every new connection of that pool is checked again
//     (pg-pool's onConnect hook), so a pool never hands out a connection to a standby;
//   * a failure meaning the server is lost (connection refused/reset, shutdown, read-only, a
//     connection to a standby) retires that pool — its idle connections are closed at once, busy
//     ones when they are released — and the next request looks for the primary again. Failed
//     look-ups are remembered for a moment so a request storm does not become a connection storm.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import pg from 'pg';
import type { PoolUse, StoreObserver } from '../observer.js';
import { type Conninfo, describeHost, type PostgresHost } from './conninfo.js';
import { isServerLost, NoWritablePrimary, NotWritable, UnconfirmedCommit } from './failures.js';

export interface PrimaryPoolOptions {
  /** Connections per pool (there is one pool at a time, plus one draining during a switch). */
  poolSize: number;
  /** Server-side statement_timeout; the client gives up a second later. */
  statementTimeoutMs: number;
  /** Per host, for each connection attempt; 0 waits forever. */
  connectTimeoutMs: number;
  applicationName: string;
  /** Metrics, when on: reads the pool's use. */
  observer?: StoreObserver;
}

/** How long a failed search for the primary answers for itself before the hosts are tried again. */
const RELOCATE_BACKOFF_MS = 250;
const IDLE_TIMEOUT_MS = 30_000;

type Ssl = false | ConnectionOptions;

interface Member {
  host: PostgresHost;
  pool: pg.Pool;
}

/** The TLS attempts libpq makes for an sslmode, in order. */
function sslAttempts(info: Conninfo, host: PostgresHost): Ssl[] {
  // libpq never uses TLS over a Unix-domain socket.
  if (host.host.startsWith('/')) return [false];
  const files: ConnectionOptions = {
    ...(info.sslcert ? { cert: readFileSync(info.sslcert) } : {}),
    ...(info.sslkey ? { key: readFileSync(info.sslkey) } : {}),
  };
  const unverified: ConnectionOptions = { ...files, rejectUnauthorized: false };
  const trusted = (): ConnectionOptions => {
    // sslrootcert=system (or no root.crt): Node's trust store. Otherwise the file, as in libpq.
    const path = info.sslrootcert ?? join(homedir(), '.postgresql', 'root.crt');
    const ca = info.sslrootcert === 'system' || (!info.sslrootcert && !existsSync(path)) ? {} : { ca: readFileSync(path) };
    return { ...files, ...ca, rejectUnauthorized: true };
  };
  switch (info.sslmode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, unverified];
    case 'prefer':
      return [unverified, false];
    case 'require':
      // As libpq: encrypted; verified against the CA only when a root certificate is given.
      return [info.sslrootcert ? { ...trusted(), checkServerIdentity: () => undefined } : unverified];
    case 'verify-ca':
      return [{ ...trusted(), checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [trusted()];
  }
}

/** A socket-level failure: the host is down or unreachable, so another TLS attempt cannot help. */
function hostUnreachable(error: unknown): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return (code !== undefined && /^E[A-Z]+$/.test(code)) || /timeout/i.test(message ?? '');
}

export class PrimaryPool {
  private member: Member | undefined;
  private locating: Promise<Member> | undefined;
  private failure: { until: number; error: Error } | undefined;
  private closed = false;
  /** Clients that were told a commit's wait for the synchronous standby was cancelled. */
  private readonly unconfirmed = new WeakSet<pg.ClientBase>();

  constructor(
    readonly info: Conninfo,
    private readonly options: PrimaryPoolOptions,
  ) {
    options.observer?.poolUse?.(() => this.use());
  }

  /** The current primary's pool: its connections and waiting callers (none while there is no primary). */
  use(): PoolUse {
    const pool = this.member?.pool;
    return pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : { total: 0, idle: 0, waiting: 0 };
  }

  /** A connection to the primary; release it with the error that broke it, if any. */
  async connect(): Promise<pg.PoolClient> {
    for (let attempt = 0; ; attempt++) {
      const member = await this.primary();
      try {
        const client = await member.pool.connect();
        this.watch(client, member);
        return client;
      } catch (error) {
        this.failed(member, error);
        // The pool was retired between being chosen and being used: once more, with the new one.
        if (attempt === 0 && this.member !== member && !this.closed) continue;
        throw error;
      }
    }
  }

  /** One statement on a pooled connection (autocommit: its commit is this statement's). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: string | pg.QueryConfig): Promise<pg.QueryResult<R>> {
    const client = await this.connect();
    let failure: Error | undefined;
    try {
      const result = await client.query<R>(config);
      this.confirmCommit(client);
      return result;
    } catch (error) {
      failure = error as Error;
      throw error;
    } finally {
      client.release(failure);
    }
  }

  /** Throws UnconfirmedCommit when the last commit on this connection was not confirmed by a synchronous standby. */
  confirmCommit(client: pg.ClientBase): void {
    if (this.unconfirmed.has(client)) {
      throw new UnconfirmedCommit('the commit was not confirmed by a synchronous standby; its outcome after a failover is unknown');
    }
  }

  async end(): Promise<void> {
    this.closed = true;
    const member = this.member;
    this.member = undefined;
    await member?.pool.end().catch(() => undefined);
  }

  /** The current primary's pool, looking for it when there is none. */
  private primary(): Promise<Member> {
    if (this.closed) return Promise.reject(new Error('the database connection pool is closed'));
    if (this.member) return Promise.resolve(this.member);
    if (this.failure && Date.now() < this.failure.until) return Promise.reject(this.failure.error);
    this.locating ??= this.locate().then(
      (member) => {
        this.locating = undefined;
        if (this.closed) {
          void member.pool.end().catch(() => undefined);
          throw new Error('the database connection pool is closed');
        }
        this.member = member;
        this.failure = undefined;
        return member;
      },
      (error: Error) => {
        this.locating = undefined;
        this.failure = { until: Date.now() + RELOCATE_BACKOFF_MS, error };
        throw error;
      },
    );
    return this.locating;
  }

  /** Tries the hosts in order; the first that accepts a connection of the wanted kind wins. */
  private async locate(): Promise<Member> {
    const reasons: string[] = [];
    for (const host of this.info.hosts) {
      try {
        return this.createMember(host, await this.probe(host));
      } catch (error) {
        reasons.push(`${describeHost(host)}: ${(error as Error).message}`);
      }
    }
    const wanted = this.info.targetSessionAttrs === 'any' ? 'reachable' : 'writable primary';
    throw new NoWritablePrimary(`no ${wanted} server (${reasons.join('; ')})`);
  }

  /** Connects once to check the host (and learn whether TLS works there); returns the TLS settings to use. */
  private async probe(host: PostgresHost): Promise<Ssl> {
    const attempts = sslAttempts(this.info, host);
    let lastError: unknown;
    for (const ssl of attempts) {
      const client = new pg.Client(this.clientConfig(host, ssl));
      client.on('error', () => undefined);
      try {
        await client.connect();
        await this.checkSession(client, host);
        return ssl;
      } catch (error) {
        lastError = error;
        if (error instanceof NotWritable || hostUnreachable(error)) break;
      } finally {
        // Not awaited: ending a connection that never opened may not settle.
        void client.end().catch(() => undefined);
      }
    }
    throw lastError;
  }

  /** target_session_attrs, checked as libpq does. */
  private async checkSession(client: pg.ClientBase, host: PostgresHost): Promise<void> {
    const attrs = this.info.targetSessionAttrs;
    if (attrs === 'any') return;
    const { rows } = await client.query<{ in_recovery: boolean; read_only: string }>(
      "SELECT pg_is_in_recovery() AS in_recovery, current_setting('transaction_read_only') AS read_only",
    );
    const row = rows[0]!;
    if (attrs === 'primary' && row.in_recovery) throw new NotWritable('in recovery (a standby)');
    if (attrs === 'read-write' && row.read_only === 'on') throw new NotWritable('read-only (transaction_read_only is on)');
  }

  private createMember(host: PostgresHost, ssl: Ssl): Member {
    const pool = new pg.Pool({
      ...this.clientConfig(host, ssl),
      max: this.options.poolSize,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      // Every new connection is checked: after a failover this host may have become a standby.
      onConnect: async (client: pg.ClientBase) => {
        client.on('notice', (notice: { message?: string }) => {
          if (/synchronous replication/i.test(notice.message ?? '')) this.unconfirmed.add(client);
        });
        await this.checkSession(client, host);
      },
    });
    const member: Member = { host, pool };
    // An idle connection dropped by the server: it must not crash the process, and it tells us
    // the server may be gone.
    pool.on('error', (error) => this.failed(member, error));
    return member;
  }

  private clientConfig(host: PostgresHost, ssl: Ssl): pg.ClientConfig {
    const { info, options } = this;
    return {
      host: host.host,
      port: host.port,
      ...(info.user !== undefined ? { user: info.user } : {}),
      ...(info.password !== undefined ? { password: info.password } : {}),
      ...(info.database !== undefined ? { database: info.database } : {}),
      ...(info.options !== undefined ? { options: info.options } : {}),
      ssl,
      application_name: info.applicationName ?? options.applicationName,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1_000,
      // libpq's default too: a peer that vanished without a word is noticed on idle connections.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    };
  }

  /** While a client is lent out: its connection errors retire its pool, and release() reports failures. */
  private watch(client: pg.PoolClient, member: Member): void {
    this.unconfirmed.delete(client);
    const onError = (error: Error) => this.failed(member, error);
    client.on('error', onError);
    const release = client.release;
    client.release = (error?: Error | boolean) => {
      client.off('error', onError);
      if (error instanceof Error) this.failed(member, error.cause instanceof Error ? error.cause : error);
      release(error);
    };
  }

  /** Retires the pool when the failure means its server is lost; the next request looks again. */
  private failed(member: Member, error: unknown): void {
    if (!isServerLost(error) || this.member !== member) return;
    this.member = undefined;
    void member.pool.end().catch(() => undefined);
  }
}
