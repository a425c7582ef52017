// The testing toolkit's shared state on SQLite (control/ports.ts). Every write is one IMMEDIATE
// transaction on the main connection (main-writes.ts); the version check is one indexed read.
import type Database from 'better-sqlite3';
import { type ControlRecord, type ControlRepository, MeetingIdTaken, type ResetScope, type TenantSnapshot } from '../../control/ports.js';
import { DIRECTORY_ADMIN_TABLES, tenantCredentialReads } from '../directory-admin.js';
import { normalizeId } from '../rows.js';
import { policiesFromRows, policyRows, snapshotCredentialWrites, snapshotMeetingColumns } from '../snapshot-rows.js';
import type { ChangeMarks } from './change-marks.js';
import { runWork, runWrite } from './directory-admin-store.js';
import type { Write } from './main-writes.js';

export class SqliteControlStore implements ControlRepository {
  private readonly s;
  /** The version last read, and the change marks as they stood just before. */
  private known: { others: number; own: number; version: number } | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly write: Write,
    private readonly marks: ChangeMarks,
    /** Told at every version check (the point from which the requests waiting on it are served), with `marks.others()` read there. */
    private readonly atVersionCheck: (othersMark: number) => void,
  ) {
    this.s = {
      version: db.prepare<[], number>('SELECT version FROM control_state WHERE id = 1').pluck(),
      state: db.prepare<[], { version: number; clock: string | null; resets: number }>(
        'SELECT version, clock, resets FROM control_state WHERE id = 1',
      ),
      bump: db.prepare('UPDATE control_state SET version = version + 1 WHERE id = 1'),
      setClock: db.prepare('UPDATE control_state SET clock = ? WHERE id = 1'),
      faults: db.prepare<[], { id: string; rule: string }>('SELECT id, rule FROM fault_rules ORDER BY position'),
      addFault: db.prepare(
        // A rule already there under that id stays as it is (start-up rules: every process adds them).
        `INSERT INTO fault_rules (id, position, rule, matched) VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM fault_rules), ?, 0)
         ON CONFLICT (id) DO NOTHING`,
      ),
      deleteFault: db.prepare('DELETE FROM fault_rules WHERE id = ?'),
      clearFaults: db.prepare('DELETE FROM fault_rules'),
      countMatch: db.prepare<[string], { matched: number }>('UPDATE fault_rules SET matched = matched + 1 WHERE id = ? RETURNING matched'),
      reserve: db.prepare<[string, string, string, number], { created: number }>(
        `INSERT INTO creation_counts (tenant_id, organizer_id, time_window, created) VALUES (?, ?, ?, 1)
         ON CONFLICT (tenant_id, organizer_id, time_window) DO UPDATE SET created = created + 1 WHERE created < ?
         RETURNING created`,
      ),
      release: db.prepare(
        'UPDATE creation_counts SET created = created - 1 WHERE tenant_id = ? AND organizer_id = ? AND time_window = ? AND created > 0',
      ),
      tenant: db.prepare<[string], { id: string; display_name: string | null }>('SELECT id, display_name FROM tenants WHERE id = ?'),
      users: db.prepare<[string], { id: string; upn: string | null; display_name: string | null }>(
        'SELECT id, upn, display_name FROM users WHERE tenant_id = ? ORDER BY id',
      ),
      policies: db.prepare<[string], { user_id: string; app_id: string }>(
        'SELECT user_id, app_id FROM access_policies WHERE tenant_id = ? ORDER BY app_id, user_id',
      ),
      meetings: db.prepare<[string], { organizer_id: string; properties: string }>(
        'SELECT organizer_id, properties FROM meetings WHERE tenant_id = ? ORDER BY id',
      ),
      meetingTenant: db.prepare<[string], { tenant_id: string }>('SELECT tenant_id FROM meetings WHERE id = ?'),
      // A plain insert: the tenant's meetings were deleted first, so any conflict is an error.
      insertMeeting: db.prepare(
        `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id, video_teleconference_id,
                               expiry_date_time, properties)
         VALUES (@id, @tenant_id, @organizer_id, @external_id, @join_web_url, @join_meeting_id, @video_teleconference_id,
                 @expiry_date_time, @properties)`,
      ),
      upsertTenant: db.prepare(
        'INSERT INTO tenants (id, display_name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name',
      ),
      insertUser: db.prepare('INSERT INTO users (tenant_id, id, upn, upn_lower, display_name) VALUES (?, ?, ?, ?, ?)'),
      insertPolicy: db.prepare('INSERT INTO access_policies (tenant_id, user_id, app_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      deleteTenantMeetings: db.prepare('DELETE FROM meetings WHERE tenant_id = ?'),
      // Attendance goes with its meetings: a re-imported meeting id must not bring old attendance back.
      deleteTenantAttendance: db.prepare('DELETE FROM attendance_intervals WHERE tenant_id = ?'),
      deleteAllAttendance: db.prepare('DELETE FROM attendance_intervals'),
      deleteTenantPolicies: db.prepare('DELETE FROM access_policies WHERE tenant_id = ?'),
      deleteTenantUsers: db.prepare('DELETE FROM users WHERE tenant_id = ?'),
      deleteTenantCounts: db.prepare('DELETE FROM creation_counts WHERE tenant_id = ?'),
      deleteTenant: db.prepare('DELETE FROM tenants WHERE id = ?'),
      deleteAllMeetings: db.prepare('DELETE FROM meetings'),
    };
  }

  controlVersion(): number {
    // One read transaction while nothing has changed: the version is read again only after a commit.
    const others = this.marks.others();
    this.atVersionCheck(others);
    const own = this.marks.own();
    const known = this.known;
    if (known && known.others === others && known.own === own) return known.version;
    const version = Number(this.s.version.get());
    this.known = { others, own, version };
    return version;
  }

  async readControl(): Promise<ControlRecord> {
    // One read transaction, so the rules and the version belong together.
    return this.db.transaction(() => {
      const state = this.s.state.get()!;
      return { version: Number(state.version), clock: state.clock, resets: Number(state.resets), faults: this.s.faults.all() };
    })();
  }

  async setClock(clock: string | null) {
    await this.changeControl(() => this.s.setClock.run(clock));
  }

  async addFault(id: string, rule: string) {
    await this.changeControl(() => this.s.addFault.run(id, rule));
  }

  async deleteFault(id: string) {
    return this.changeControl(() => this.s.deleteFault.run(id).changes === 1);
  }

  async clearFaults() {
    await this.changeControl(() => this.s.clearFaults.run());
  }

  async countFaultMatch(id: string) {
    const row = await this.write(() => this.s.countMatch.get(id));
    return row ? Number(row.matched) : undefined;
  }

  async reserveCreation(tenantId: string, organizerId: string, window: string, limit: number) {
    if (limit <= 0) return false;
    return (await this.write(() => this.s.reserve.get(normalizeId(tenantId), normalizeId(organizerId), window, limit))) !== undefined;
  }

  async releaseCreation(tenantId: string, organizerId: string, window: string) {
    await this.write(() => this.s.release.run(normalizeId(tenantId), normalizeId(organizerId), window));
  }

  async reset(scope: ResetScope) {
    return this.write(() => {
      if (scope.tenantId !== undefined) {
        const tenantId = normalizeId(scope.tenantId);
        const meetingsDeleted = this.s.deleteTenantMeetings.run(tenantId).changes;
        this.s.deleteTenantAttendance.run(tenantId);
        if (scope.directory) {
          this.deleteTenantDirectory(tenantId);
          this.s.deleteTenant.run(tenantId);
        }
        return { meetingsDeleted };
      }
      const meetingsDeleted = this.s.deleteAllMeetings.run().changes;
      this.s.deleteAllAttendance.run();
      this.db.exec('DELETE FROM fault_rules; DELETE FROM creation_counts');
      if (scope.directory) {
        for (const table of DIRECTORY_ADMIN_TABLES) this.db.exec(`DELETE FROM ${table}`);
        this.db.exec("DELETE FROM access_policies; DELETE FROM users; DELETE FROM tenants; DELETE FROM settings WHERE name = 'dev-issuer-signing-key'");
        // Codes signed with the key just deleted can no longer be read: their claims are useless.
        this.db.exec('DELETE FROM redeemed_codes');
      }
      this.db.exec('UPDATE control_state SET clock = NULL, resets = resets + 1, version = version + 1 WHERE id = 1');
      return { meetingsDeleted };
    });
  }

  async exportTenant(tenantId: string): Promise<TenantSnapshot | undefined> {
    const id = normalizeId(tenantId);
    // One read transaction, run synchronously: the tenant and its credentials as of one instant.
    return this.db.transaction(() => {
      const tenant = this.s.tenant.get(id);
      const meetings = this.s.meetings.all(id);
      if (!tenant && meetings.length === 0) return undefined;
      return {
        tenant: { id, displayName: tenant?.display_name ?? null },
        users: this.s.users.all(id).map((u) => ({ id: u.id, userPrincipalName: u.upn, displayName: u.display_name })),
        applicationAccessPolicies: policiesFromRows(this.s.policies.all(id)),
        meetings: meetings.map((m) => ({ organizerId: m.organizer_id, properties: m.properties })),
        credentials: runWork(this.db, tenantCredentialReads(id)),
      };
    })();
  }

  async importTenant(snapshot: TenantSnapshot) {
    const tenantId = normalizeId(snapshot.tenant.id);
    const credentials = snapshotCredentialWrites(tenantId, snapshot);
    await this.write(() => {
      this.s.deleteTenantMeetings.run(tenantId);
      this.s.deleteTenantAttendance.run(tenantId);
      this.deleteTenantDirectory(tenantId);
      this.s.upsertTenant.run(tenantId, snapshot.tenant.displayName);
      for (const user of snapshot.users) {
        const upn = user.userPrincipalName;
        this.s.insertUser.run(tenantId, normalizeId(user.id), upn, upn?.toLowerCase() ?? null, user.displayName);
      }
      for (const { userId, appId } of policyRows(snapshot.applicationAccessPolicies)) this.s.insertPolicy.run(tenantId, userId, appId);
      for (const write of credentials) runWrite(this.db, write);
      for (const meeting of snapshot.meetings) {
        const columns = snapshotMeetingColumns(tenantId, meeting);
        // This tenant's meetings are gone, so a meeting still holding the id is another tenant's.
        const holder = this.s.meetingTenant.get(columns.id);
        if (holder) throw new MeetingIdTaken(columns.id, holder.tenant_id);
        this.s.insertMeeting.run(columns);
      }
      // The directory changed: every process notices at its next request.
      this.s.bump.run();
    });
  }

  private deleteTenantDirectory(tenantId: string) {
    this.s.deleteTenantPolicies.run(tenantId);
    this.s.deleteTenantUsers.run(tenantId);
    this.s.deleteTenantCounts.run(tenantId);
    for (const table of DIRECTORY_ADMIN_TABLES) this.db.prepare(`DELETE FROM ${table} WHERE tenant_id = ?`).run(tenantId);
  }

  /** A change to the control record: the version moves in the same transaction. */
  private changeControl<T>(work: () => T): Promise<T> {
    return this.write(() => {
      const result = work();
      this.s.bump.run();
      return result;
    });
  }
}
