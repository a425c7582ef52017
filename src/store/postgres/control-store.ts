// The testing toolkit's shared state on PostgreSQL (control/ports.ts). Every change to the control
// record moves its version in the same transaction; each request reads the version (one indexed
// row, a prepared statement), so a change made through any process holds for the next request on
// every other. (A LISTEN/NOTIFY cache saved that round trip but could lose the race against the
// next request on a busy machine: a notification is not ordered with another connection's traffic.)
import type pg from 'pg';
import { type ControlRecord, type ControlRepository, MeetingIdTaken, type ResetScope, type TenantSnapshot } from '../../control/ports.js';
import { DIRECTORY_ADMIN_TABLES, tenantCredentialReads } from '../directory-admin.js';
import { normalizeId } from '../rows.js';
import { policiesFromRows, policyRows, snapshotCredentialWrites, snapshotMeetingColumns } from '../snapshot-rows.js';
import { runWork } from './sql-work.js';

export interface PostgresAccess {
  /** One statement, errors mapped like every other store call. */
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

export class PostgresControlStore implements ControlRepository {
  constructor(private readonly db: PostgresAccess) {}

  async controlVersion() {
    const { rows } = await this.db.query<{ version: string }>('SELECT version FROM control_state WHERE id = 1');
    return Number(rows[0]!.version);
  }

  async readControl(): Promise<ControlRecord> {
    return this.db.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const state = await client.query<{ version: string; clock: string | null; resets: string }>(
        'SELECT version, clock, resets FROM control_state WHERE id = 1',
      );
      const faults = await client.query<{ id: string; rule: string }>('SELECT id, rule FROM fault_rules ORDER BY position');
      const row = state.rows[0]!;
      return { version: Number(row.version), clock: row.clock, resets: Number(row.resets), faults: faults.rows };
    });
  }

  async setClock(clock: string | null) {
    await this.changeControl((client) => client.query('UPDATE control_state SET clock = $1 WHERE id = 1', [clock]));
  }

  async addFault(id: string, rule: string) {
    await this.changeControl((client) =>
      client.query(
        // A rule already there under that id stays as it is (start-up rules: every process adds them).
        `INSERT INTO fault_rules (id, position, rule, matched) VALUES ($1, (SELECT COALESCE(MAX(position), 0) + 1 FROM fault_rules), $2, 0)
         ON CONFLICT (id) DO NOTHING`,
        [id, rule],
      ),
    );
  }

  async deleteFault(id: string) {
    return this.changeControl(async (client) => (await client.query('DELETE FROM fault_rules WHERE id = $1', [id])).rowCount === 1);
  }

  async clearFaults() {
    await this.changeControl((client) => client.query('DELETE FROM fault_rules'));
  }

  async countFaultMatch(id: string) {
    const { rows } = await this.db.query<{ matched: string }>(
      'UPDATE fault_rules SET matched = matched + 1 WHERE id = $1 RETURNING matched',
      [id],
    );
    return rows[0] ? Number(rows[0].matched) : undefined;
  }

  async reserveCreation(tenantId: string, organizerId: string, window: string, limit: number) {
    if (limit <= 0) return false;
    const { rows } = await this.db.query(
      `INSERT INTO creation_counts (tenant_id, organizer_id, time_window, created) VALUES ($1, $2, $3, 1)
       ON CONFLICT (tenant_id, organizer_id, time_window) DO UPDATE SET created = creation_counts.created + 1
       WHERE creation_counts.created < $4
       RETURNING created`,
      [normalizeId(tenantId), normalizeId(organizerId), window, limit],
    );
    return rows.length === 1;
  }

  async releaseCreation(tenantId: string, organizerId: string, window: string) {
    await this.db.query(
      'UPDATE creation_counts SET created = created - 1 WHERE tenant_id = $1 AND organizer_id = $2 AND time_window = $3 AND created > 0',
      [normalizeId(tenantId), normalizeId(organizerId), window],
    );
  }

  async reset(scope: ResetScope) {
    return this.db.transaction(async (client) => {
      if (scope.tenantId !== undefined) {
        const tenantId = normalizeId(scope.tenantId);
        const deleted = await client.query('DELETE FROM meetings WHERE tenant_id = $1', [tenantId]);
        // Attendance goes with its meetings: a re-imported meeting id must not bring old attendance back.
        await client.query('DELETE FROM attendance_intervals WHERE tenant_id = $1', [tenantId]);
        if (scope.directory) {
          await deleteTenantDirectory(client, tenantId);
          await client.query('DELETE FROM tenants WHERE id = $1', [tenantId]);
        }
        return { meetingsDeleted: deleted.rowCount ?? 0 };
      }
      const deleted = await client.query('DELETE FROM meetings');
      await client.query('DELETE FROM attendance_intervals');
      await client.query('DELETE FROM fault_rules');
      await client.query('DELETE FROM creation_counts');
      if (scope.directory) {
        for (const table of DIRECTORY_ADMIN_TABLES) await client.query(`DELETE FROM ${table}`);
        await client.query('DELETE FROM access_policies');
        await client.query('DELETE FROM users');
        await client.query('DELETE FROM tenants');
        await client.query("DELETE FROM settings WHERE name = 'dev-issuer-signing-key'");
        // Codes signed with the key just deleted can no longer be read: their claims are useless.
        await client.query('DELETE FROM redeemed_codes');
      }
      await client.query('UPDATE control_state SET clock = NULL, resets = resets + 1 WHERE id = 1');
      await bumpVersion(client);
      return { meetingsDeleted: deleted.rowCount ?? 0 };
    });
  }

  async exportTenant(tenantId: string): Promise<TenantSnapshot | undefined> {
    const id = normalizeId(tenantId);
    // One snapshot for every read, credentials included: a change committed meanwhile is wholly out.
    return this.db.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const tenant = await client.query<{ display_name: string | null }>('SELECT display_name FROM tenants WHERE id = $1', [id]);
      const meetings = await client.query<{ organizer_id: string; properties: string }>(
        'SELECT organizer_id, properties FROM meetings WHERE tenant_id = $1 ORDER BY id',
        [id],
      );
      if (tenant.rows.length === 0 && meetings.rows.length === 0) return undefined;
      const users = await client.query<{ id: string; upn: string | null; display_name: string | null }>(
        'SELECT id, upn, display_name FROM users WHERE tenant_id = $1 ORDER BY id',
        [id],
      );
      const policies = await client.query<{ user_id: string; app_id: string }>(
        'SELECT user_id, app_id FROM access_policies WHERE tenant_id = $1 ORDER BY app_id, user_id',
        [id],
      );
      return {
        tenant: { id, displayName: tenant.rows[0]?.display_name ?? null },
        users: users.rows.map((u) => ({ id: u.id, userPrincipalName: u.upn, displayName: u.display_name })),
        applicationAccessPolicies: policiesFromRows(policies.rows),
        meetings: meetings.rows.map((m) => ({ organizerId: m.organizer_id, properties: m.properties })),
        credentials: await runWork(client, tenantCredentialReads(id)),
      };
    });
  }

  async importTenant(snapshot: TenantSnapshot) {
    const tenantId = normalizeId(snapshot.tenant.id);
    const meetings = snapshot.meetings.map((meeting) => snapshotMeetingColumns(tenantId, meeting));
    const policies = policyRows(snapshot.applicationAccessPolicies);
    const credentials = snapshotCredentialWrites(tenantId, snapshot);
    await this.db.transaction(async (client) => {
      // It replaces apps and secrets: in turn with the directory's other writers.
      await lockDirectory(client);
      await client.query('DELETE FROM meetings WHERE tenant_id = $1', [tenantId]);
      await client.query('DELETE FROM attendance_intervals WHERE tenant_id = $1', [tenantId]);
      await deleteTenantDirectory(client, tenantId);
      await client.query(
        'INSERT INTO tenants (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name',
        [tenantId, snapshot.tenant.displayName],
      );
      // Rows go in by the batch (one statement per IMPORT_BATCH rows), as columns of arrays.
      for (const users of batches(snapshot.users)) {
        await client.query(
          `INSERT INTO users (tenant_id, id, upn, upn_lower, display_name)
           SELECT $1::text, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])`,
          [
            tenantId,
            users.map((u) => normalizeId(u.id)),
            users.map((u) => u.userPrincipalName),
            users.map((u) => u.userPrincipalName?.toLowerCase() ?? null),
            users.map((u) => u.displayName),
          ],
        );
      }
      for (const rows of batches(policies)) {
        await client.query(
          `INSERT INTO access_policies (tenant_id, user_id, app_id)
           SELECT $1::text, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
          [tenantId, rows.map((r) => r.userId), rows.map((r) => r.appId)],
        );
      }
      for (const { sql, params } of credentials) await client.query(sql, params);
      for (const rows of batches(meetings)) {
        // This tenant's meetings are gone, so a meeting still holding one of the ids is another tenant's.
        const taken = await client.query<{ id: string; tenant_id: string }>(
          'SELECT id, tenant_id FROM meetings WHERE id = ANY($1::text[]) LIMIT 1',
          [rows.map((c) => c.id)],
        );
        if (taken.rows[0]) throw new MeetingIdTaken(taken.rows[0].id, taken.rows[0].tenant_id);
        await client.query(
          `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id,
                                 video_teleconference_id, expiry_date_time, properties)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`,
          [
            rows.map((c) => c.id),
            rows.map((c) => c.tenant_id),
            rows.map((c) => c.organizer_id),
            rows.map((c) => c.external_id),
            rows.map((c) => c.join_web_url),
            rows.map((c) => c.join_meeting_id),
            rows.map((c) => c.video_teleconference_id),
            rows.map((c) => c.expiry_date_time),
            rows.map((c) => c.properties),
          ],
        );
      }
      // The directory changed: every process notices at its next request.
      await bumpVersion(client);
    });
  }

  private async changeControl<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.db.transaction(async (client) => {
      const result = await work(client);
      await bumpVersion(client);
      return result;
    });
  }
}

export async function bumpVersion(client: pg.PoolClient) {
  await client.query('UPDATE control_state SET version = version + 1 WHERE id = 1');
}

/** Directory writes take turns (a seed loaded by several processes at once replaces secrets). */
export async function lockDirectory(client: pg.PoolClient) {
  await client.query("SELECT pg_advisory_xact_lock(hashtext('graph-meetings directory'))");
}

const IMPORT_BATCH = 1_000;

function* batches<T>(items: T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += IMPORT_BATCH) yield items.slice(i, i + IMPORT_BATCH);
}

async function deleteTenantDirectory(client: pg.PoolClient, tenantId: string) {
  await client.query('DELETE FROM access_policies WHERE tenant_id = $1', [tenantId]);
  await client.query('DELETE FROM users WHERE tenant_id = $1', [tenantId]);
  await client.query('DELETE FROM creation_counts WHERE tenant_id = $1', [tenantId]);
  for (const table of DIRECTORY_ADMIN_TABLES) await client.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenantId]);
}
