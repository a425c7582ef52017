// What a PostgreSQL failure means for a request: the database is unavailable (503, retry later) or
// it is a bug (500); and whether the server behind a pool is lost (gone, restarting, or no longer
// the writable primary), so that its pooled connections are dropped and the primary is looked up again.

/** No host of the URL is a server we may write to right now. */
export class NoWritablePrimary extends Error {
  /** sqlclient_unable_to_establish_sqlconnection */
  readonly code = '08001';
  override name = 'NoWritablePrimary';
}

/** The server is reachable but is not what target_session_attrs asks for (a standby, or read-only). */
export class NotWritable extends Error {
  readonly code = '25006';
  override name = 'NotWritable';
}

/**
 * A commit returned, but the synchronous standby never confirmed it: PostgreSQL warns "canceling
 * wait for synchronous replication" when the wait is interrupted (statement_timeout, cancel) and
 * then reports success. Such a commit may be missing after a failover, so it is not a success.
 */
export class UnconfirmedCommit extends Error {
  /** transaction_resolution_unknown */
  readonly code = '08007';
  override name = 'UnconfirmedCommit';
}

// SQLSTATEs and socket errors meaning the server is gone, going, or not a writable primary.
const LOST_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  '57P01', // admin_shutdown: terminating connection due to administrator command (fast shutdown, demotion)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the database system is starting up / shutting down / in recovery mode
  '25006', // read_only_sql_transaction: a write reached a standby or a demoted primary
]);
const LOST_MESSAGES =
  /Connection terminated|connection.*(closed|ended)|Client has encountered a connection error|not queryable|timeout expired|Query read timeout|in recovery mode|read-only transaction|Cannot use a pool after calling end/i;

// Unavailable, but the server may well be fine: too many connections, a statement timeout, a pool
// with no free connection in time.
const BUSY_CODES = new Set(['53300', '57014', '08007']);
const BUSY_MESSAGES = /timeout/i;

interface DriverError {
  code?: string;
  message?: string;
}

/** The server behind the connection is gone or no longer a writable primary. */
export function isServerLost(error: unknown): boolean {
  const { code, message } = (error ?? {}) as DriverError;
  if (code && (LOST_CODES.has(code) || (code.startsWith('08') && code !== '08007'))) return true;
  return LOST_MESSAGES.test(message ?? '');
}

/** The database cannot serve this request now (a 503): lost, busy, or no primary. */
export function isUnavailable(error: unknown): boolean {
  if (isServerLost(error)) return true;
  const { code, message } = (error ?? {}) as DriverError;
  if (code && BUSY_CODES.has(code)) return true;
  return BUSY_MESSAGES.test(message ?? '');
}
