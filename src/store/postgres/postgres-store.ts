// PostgreSQL adapter (pg): a pool of connections shared by the requests of one process; any number
// of processes on any number of machines share the database. Uniqueness is the unique index's job;
// insert-or-get is one INSERT … ON CONFLICT, falling back to the row that won. The pool follows the
// writable primary of a multi-host URL across failovers (primary-pool.ts).
import type pg from 'pg';
import type { AccessPolicyGrants, DirectorySeed, DirectoryUser } from '../../domain/directory.js';
import type { Meeting } from '../../domain/meeting.js';
import type { MeetingLookup } from '../../domain/ports.js';
import { StoreUnavailable } from '../errors.js';
import { MIGRATIONS } from '../migrations.js';
import type { StoreObserver } from '../observer.js';
import { parseConninfo } from './conninfo.js';
import { isUnavailable } from './failures.js';
import { PrimaryPool } from './primary-pool.js';
import { PostgresControlStore } from './control-store.js';
import { PostgresAttendanceStore } from './attendance-store.js';
import { PostgresBrowseStore } from './browse-store.js';
import { postgresDirectoryAdmin } from './directory-admin-store.js';
import { MEETING_ROW_COLUMNS, meetingColumns, meetingFromRow, type MeetingRow, normalizeId, GLOBAL_GRANT, userFromRow, type UserRow } from '../rows.js';
import type { Store } from '../store.js';

// Arbitrary constants naming this application's advisory locks.
const MIGRATION_LOCK = 0x67_6d_01;
const SEED_LOCK = 0x67_6d_02;

export interface PostgresOptions {
  poolSize: number;
  /** Longest a statement may run (ms). */
  statementTimeoutMs: number;
  /** Longest to wait for a connection to one host (ms); the URL's connect_timeout wins. */
  connectTimeoutMs: number;
  observer?: StoreObserver;
}

export const DEFAULT_POSTGRES_OPTIONS: PostgresOptions = { poolSize: 10, statementTimeoutMs: 5_000, connectTimeoutMs: 3_000 };

const MEETING_COLUMNS = MEETING_ROW_COLUMNS;

/** Named statements: pg prepares each once per connection and reuses the plan. */
const SQL = {
  insertMeeting: {
    name: 'insert-meeting',
    text: `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id,
                                  video_teleconference_id, expiry_date_time, properties)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL
           DO UPDATE SET id = EXCLUDED.id, join_web_url = EXCLUDED.join_web_url,
             join_meeting_id = EXCLUDED.join_meeting_id, video_teleconference_id = EXCLUDED.video_teleconference_id,
             expiry_date_time = EXCLUDED.expiry_date_time, properties = EXCLUDED.properties
           WHERE meetings.expiry_date_time <= $10
           RETURNING id`,
  },
  liveMeetingByKey: {
    name: 'live-meeting-by-key',
    text: `SELECT ${MEETING_COLUMNS} FROM meetings
           WHERE tenant_id = $1 AND organizer_id = $2 AND external_id = $3 AND expiry_date_time > $4`,
  },
  meetingById: { name: 'meeting-by-id', text: `SELECT ${MEETING_COLUMNS} FROM meetings WHERE id = $1 AND tenant_id = $2` },
  meetingByIdForUpdate: {
    name: 'meeting-by-id-for-update',
    text: `SELECT ${MEETING_COLUMNS} FROM meetings WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
  },
  meetingsByJoinWebUrl: {
    name: 'meetings-by-join-web-url',
    text: `SELECT ${MEETING_COLUMNS} FROM meetings WHERE tenant_id = $1 AND join_web_url = $2`,
  },
  meetingsByJoinMeetingId: {
    name: 'meetings-by-join-meeting-id',
    text: `SELECT ${MEETING_COLUMNS} FROM meetings WHERE tenant_id = $1 AND join_meeting_id = $2`,
  },
  meetingsByVtcId: {
    name: 'meetings-by-vtc-id',
    text: `SELECT ${MEETING_COLUMNS} FROM meetings WHERE tenant_id = $1 AND video_teleconference_id = $2`,
  },
  updateMeeting: {
    name: 'update-meeting',
    text: `UPDATE meetings SET join_web_url = $3, join_meeting_id = $4, video_teleconference_id = $5,
             expiry_date_time = $6, properties = $7
           WHERE id = $1 AND tenant_id = $2`,
  },
  deleteMeeting: { name: 'delete-meeting', text: 'DELETE FROM meetings WHERE id = $1 AND tenant_id = $2' },
  userByIdOrUpn: {
    name: 'user-by-id-or-upn',
    text: 'SELECT tenant_id, id, upn, display_name FROM users WHERE tenant_id = $1 AND (id = $2 OR upn_lower = $3) LIMIT 1',
  },
  usersByUpn: {
    name: 'users-by-upn',
    text: 'SELECT tenant_id, id, upn, display_name FROM users WHERE upn_lower = $1 ORDER BY tenant_id',
  },
  userById: { name: 'user-by-id', text: 'SELECT tenant_id, id, upn, display_name FROM users WHERE tenant_id = $1 AND id = $2' },
  insertTenant: { name: 'insert-tenant', text: 'INSERT INTO tenants (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING' },
  upsertTenant: {
    name: 'upsert-tenant',
    text: 'INSERT INTO tenants (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name',
  },
  insertUser: {
    name: 'insert-user',
    text: 'INSERT INTO users (tenant_id, id, upn, upn_lower, display_name) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, id) DO NOTHING',
  },
  upsertUser: {
    name: 'upsert-user',
    text: `INSERT INTO users (tenant_id, id, upn, upn_lower, display_name) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (tenant_id, id) DO UPDATE SET upn = EXCLUDED.upn, upn_lower = EXCLUDED.upn_lower,
                                                     display_name = EXCLUDED.display_name`,
  },
  deletePolicies: { name: 'delete-policies', text: 'DELETE FROM access_policies WHERE tenant_id = $1' },
  insertPolicy: {
    name: 'insert-policy',
    text: 'INSERT INTO access_policies (tenant_id, user_id, app_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
  },
  getSetting: { name: 'get-setting', text: 'SELECT value FROM settings WHERE name = $1' },
  insertSetting: {
    name: 'insert-setting',
    text: 'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
  },
  // The primary key makes the claim single, across processes. Expired claims go in the same
  // statement; those another redemption is deleting are left to it (no waiting, no deadlock).
  redeemCode: {
    name: 'redeem-code',
    text: `WITH pruned AS (
             DELETE FROM redeemed_codes WHERE jti IN (SELECT jti FROM redeemed_codes WHERE expires_at < $3 FOR UPDATE SKIP LOCKED))
           INSERT INTO redeemed_codes (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING
           RETURNING jti`,
  },
} as const;

type Statement = (typeof SQL)[keyof typeof SQL];
type Queryable = PrimaryPool | pg.PoolClient;

function isLookup(statement: Statement): boolean {
  return /^\s*SELECT\b/i.test(statement.text);
}

function meetingParams(meeting: Meeting) {
  const c = meetingColumns(meeting);
  return [c.id, c.tenant_id, c.organizer_id, c.external_id, c.join_web_url, c.join_meeting_id, c.video_teleconference_id, c.expiry_date_time, c.properties];
}

export class PostgresStore implements Store {
  readonly control: PostgresControlStore;
  readonly attendance: PostgresAttendanceStore;
  readonly browse: PostgresBrowseStore;
  readonly directoryAdmin;

  private constructor(
    private readonly pool: PrimaryPool,
    readonly description: string,
  ) {
    const access = {
      query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => this.guard(() => this.pool.query<R>({ text, values: values ?? [] })),
      transaction: <T>(work: (client: pg.PoolClient) => Promise<T>) => this.transaction(work),
    };
    this.control = new PostgresControlStore(access);
    this.attendance = new PostgresAttendanceStore(access);
    this.browse = new PostgresBrowseStore(access);
    this.directoryAdmin = postgresDirectoryAdmin(access);
  }

  /** `url`: a libpq URI, one host or several (conninfo.ts). */
  static async open(url: string, description: string, options: PostgresOptions = DEFAULT_POSTGRES_OPTIONS): Promise<PostgresStore> {
    const info = parseConninfo(url);
    const pool = new PrimaryPool(info, {
      poolSize: options.poolSize,
      statementTimeoutMs: options.statementTimeoutMs,
      connectTimeoutMs: info.connectTimeoutMs ?? options.connectTimeoutMs,
      applicationName: 'graph-meetings',
      observer: options.observer,
    });
    const store = new PostgresStore(pool, description);
    try {
      await store.migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  /** Applies missing migrations under an advisory lock, so processes starting together take turns. */
  async migrate(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
        const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
        const applied = new Set(rows.map((r) => r.version));
        for (const migration of MIGRATIONS) {
          if (applied.has(migration.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(migration.sql);
            await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    });
  }

  async insertOrGetMeeting(meeting: Meeting, expiryCutoff: string) {
    const params = meetingParams(meeting);
    const [, tenantId, organizerId, externalId] = params;
    // A concurrent delete can remove the winner between the two statements; then try again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const inserted = await this.run(this.pool, SQL.insertMeeting, [...params, expiryCutoff]);
      if (inserted.rowCount === 1) return { meeting, created: true };
      const winner = await this.run<MeetingRow>(this.pool, SQL.liveMeetingByKey, [tenantId, organizerId, externalId, expiryCutoff]);
      if (winner.rows[0]) return { meeting: meetingFromRow(winner.rows[0]), created: false };
    }
    throw new Error('meeting key kept changing under concurrent deletes');
  }

  async findLiveMeetingByKey(tenantId: string, organizerId: string, externalId: string, expiryCutoff: string) {
    const { rows } = await this.run<MeetingRow>(this.pool, SQL.liveMeetingByKey, [normalizeId(tenantId), normalizeId(organizerId), externalId, expiryCutoff]);
    return rows[0] ? meetingFromRow(rows[0]) : undefined;
  }

  async getMeeting(tenantId: string, meetingId: string) {
    const { rows } = await this.run<MeetingRow>(this.pool, SQL.meetingById, [meetingId, normalizeId(tenantId)]);
    return rows[0] ? meetingFromRow(rows[0]) : undefined;
  }

  async findMeetings(tenantId: string, lookup: MeetingLookup) {
    const [statement, value] =
      'joinWebUrl' in lookup
        ? [SQL.meetingsByJoinWebUrl, lookup.joinWebUrl]
        : 'joinMeetingId' in lookup
          ? [SQL.meetingsByJoinMeetingId, lookup.joinMeetingId]
          : [SQL.meetingsByVtcId, lookup.videoTeleconferenceId];
    const { rows } = await this.run<MeetingRow>(this.pool, statement, [normalizeId(tenantId), value]);
    return rows.map(meetingFromRow);
  }

  async updateMeeting(tenantId: string, meetingId: string, change: (current: Meeting) => Meeting) {
    return this.transaction(async (client) => {
      // FOR UPDATE: a concurrent update of the same meeting waits for this one and then sees its result.
      const { rows } = await this.run<MeetingRow>(client, SQL.meetingByIdForUpdate, [meetingId, normalizeId(tenantId)]);
      if (!rows[0]) return undefined;
      const updated = change(meetingFromRow(rows[0]));
      const c = meetingColumns(updated);
      await this.run(client, SQL.updateMeeting, [c.id, c.tenant_id, c.join_web_url, c.join_meeting_id, c.video_teleconference_id, c.expiry_date_time, c.properties]);
      return updated;
    });
  }

  async deleteMeeting(tenantId: string, meetingId: string) {
    const result = await this.run(this.pool, SQL.deleteMeeting, [meetingId, normalizeId(tenantId)]);
    return result.rowCount === 1;
  }

  async findUser(tenantId: string, idOrUpn: string) {
    const { rows } = await this.run<UserRow>(this.pool, SQL.userByIdOrUpn, [normalizeId(tenantId), normalizeId(idOrUpn), idOrUpn.toLowerCase()]);
    return rows[0] ? userFromRow(rows[0]) : undefined;
  }

  async findUsersByUpn(upn: string) {
    const { rows } = await this.run<UserRow>(this.pool, SQL.usersByUpn, [upn.toLowerCase()]);
    return rows.map(userFromRow);
  }

  async provisionUser(user: DirectoryUser) {
    const tenantId = normalizeId(user.tenantId);
    const id = normalizeId(user.id);
    return this.transaction(async (client) => {
      await this.run(client, SQL.insertTenant, [tenantId, null]);
      await this.run(client, SQL.insertUser, [tenantId, id, user.userPrincipalName, user.userPrincipalName?.toLowerCase() ?? null, user.displayName]);
      const { rows } = await this.run<UserRow>(client, SQL.userById, [tenantId, id]);
      return userFromRow(rows[0]!);
    });
  }

  async accessPolicyGrants(tenantId: string, userId: string): Promise<AccessPolicyGrants> {
    return this.directoryAdmin.accessPolicyGrants(tenantId, userId);
  }

  async seedDirectory(seed: DirectorySeed) {
    await this.transaction(async (client) => {
      // Several processes may load the same file at once: one at a time, each sees the last's result.
      await client.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
      for (const tenant of seed.tenants) {
        const tenantId = normalizeId(tenant.id);
        await this.run(client, SQL.upsertTenant, [tenantId, tenant.displayName]);
        for (const user of tenant.users) {
          const upn = user.userPrincipalName;
          await this.run(client, SQL.upsertUser, [tenantId, normalizeId(user.id), upn, upn?.toLowerCase() ?? null, user.displayName]);
        }
        // The file is the whole truth about a tenant's policies: replace, don't accumulate.
        await this.run(client, SQL.deletePolicies, [tenantId]);
        for (const policy of tenant.applicationAccessPolicies) {
          const users = policy.users === 'global' ? [GLOBAL_GRANT] : policy.users.map(normalizeId);
          for (const userId of users) await this.run(client, SQL.insertPolicy, [tenantId, userId, normalizeId(policy.appId)]);
        }
      }
    });
    await this.directoryAdmin.seedExtras(seed);
  }

  async getOrCreateSetting(name: string, create: () => Promise<string>) {
    const existing = await this.run<{ value: string }>(this.pool, SQL.getSetting, [name]);
    if (existing.rows[0]) return existing.rows[0].value;
    await this.run(this.pool, SQL.insertSetting, [name, await create()]);
    const stored = await this.run<{ value: string }>(this.pool, SQL.getSetting, [name]);
    return stored.rows[0]!.value;
  }

  async redeemCode(jti: string, expiresAt: number, pruneBefore: number) {
    return (await this.run(this.pool, SQL.redeemCode, [jti, expiresAt, pruneBefore])).rows.length === 1;
  }

  async ping() {
    await this.guard(() => this.pool.query('SELECT 1'));
  }

  async close() {
    await this.pool.end();
  }

  private run<R extends pg.QueryResultRow = pg.QueryResultRow>(db: Queryable, statement: Statement, values: unknown[]): Promise<pg.QueryResult<R>> {
    // PostgreSQL text cannot hold U+0000 (it rejects the query), so no stored value contains one:
    // a lookup by such a value finds nothing, exactly as it does on SQLite.
    if (values.some((v) => typeof v === 'string' && v.includes('\u0000')) && isLookup(statement)) {
      return Promise.resolve({ rows: [] as R[], rowCount: 0 } as unknown as pg.QueryResult<R>);
    }
    const query = { name: statement.name, text: statement.text, values };
    return this.guard(() => (db instanceof PrimaryPool ? db.query<R>(query) : db.query<R>(query)));
  }

  /** Connection failures and timeouts become StoreUnavailable (503); anything else stays a bug. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error;
      throw isUnavailable(error) ? new StoreUnavailable((error as Error).message, { cause: error }) : error;
    }
  }

  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.guard(() => this.pool.connect());
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      if (isUnavailable(error) || error instanceof StoreUnavailable) broken = error as Error;
      throw error;
    } finally {
      // A connection that failed mid-way is discarded rather than handed to the next request; the
      // error tells the pool whether its server is lost (then the primary is looked up again).
      client.release(broken);
    }
  }

  /**
   * BEGIN … COMMIT; a reply is only sent after COMMIT succeeded and, with synchronous replication,
   * was confirmed by a standby. An unknown outcome (connection lost during COMMIT) is an error.
   */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await this.guard(() => client.query('BEGIN'));
      try {
        const result = await work(client);
        await this.guard(async () => {
          await client.query('COMMIT');
          this.pool.confirmCommit(client);
        });
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
  }
}
