// SQLite adapter (better-sqlite3): WAL, synchronous=FULL, and writers that wait their turn for the
// lock, so several server processes can share one file and a reply is only sent after its data is
// on disk. Meeting writes commit on the writer thread (writer.ts), other writes on the main
// connection (main-writes.ts).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AccessPolicyGrants, DirectorySeed, DirectoryUser } from '../../domain/directory.js';
import type { Meeting } from '../../domain/meeting.js';
import type { MeetingLookup } from '../../domain/ports.js';
import { StoreUnavailable } from '../errors.js';
import type { Store } from '../store.js';
import { MEETING_ROW_COLUMNS, meetingColumns, meetingFromRow, type MeetingRow, normalizeId, GLOBAL_GRANT, userFromRow, type UserRow } from '../rows.js';
import { MIGRATIONS } from '../migrations.js';
import type { StoreObserver } from '../observer.js';
import {
  BUSY_TIMEOUT_MS,
  DELETE_MEETING,
  INSERT_MEETING,
  insertOrGetStep,
  LIVE_MEETING_BY_KEY,
  UPDATE_MEETING_IF_UNCHANGED,
} from './statements.js';
import { type MeetingWrites, SqliteWriter } from './writer.js';
import { MainConnectionWrites, type Write } from './main-writes.js';
import { RecentMeetings } from './recent-meetings.js';
import { ChangeMarks } from './change-marks.js';
import { SqliteControlStore } from './control-store.js';
import { SqliteAttendanceStore } from './attendance-store.js';
import { SqliteBrowseStore } from './browse-store.js';
import { sqliteDirectoryAdmin } from './directory-admin-store.js';

type InsertOrGetResult = { meeting: Meeting; created: boolean };

const noop = () => undefined;

const meetingOf = (row: MeetingRow | undefined) => (row ? meetingFromRow(row) : undefined);

export class SqliteStore implements Store {
  private readonly statements;
  readonly control: SqliteControlStore;
  readonly attendance: SqliteAttendanceStore;
  readonly browse: SqliteBrowseStore;
  readonly directoryAdmin;
  private readonly recent: RecentMeetings;
  /** One IMMEDIATE transaction on the main connection, without sleeping on the event loop (main-writes.ts). */
  private readonly write: Write;
  /** Through the writer thread; on the main connection for an in-memory database. */
  private readonly meetingWrites: MeetingWrites;
  /** The last update queued for each meeting being updated here (updateMeeting). */
  private readonly updateTurns = new Map<string, Promise<void>>();

  private constructor(
    private readonly db: Database.Database,
    readonly description: string,
    /** Inserts go through the writer thread; an in-memory database has only this connection. */
    private readonly writer: SqliteWriter | undefined,
  ) {
    this.statements = {
      liveMeetingByKey: db.prepare<[string, string, string, string], MeetingRow>(LIVE_MEETING_BY_KEY),
      meetingsByJoinWebUrl: db.prepare<[string, string], MeetingRow>(
        `SELECT ${MEETING_ROW_COLUMNS} FROM meetings WHERE tenant_id = ? AND join_web_url = ?`,
      ),
      meetingsByJoinMeetingId: db.prepare<[string, string], MeetingRow>(
        `SELECT ${MEETING_ROW_COLUMNS} FROM meetings WHERE tenant_id = ? AND join_meeting_id = ?`,
      ),
      meetingsByVtcId: db.prepare<[string, string], MeetingRow>(
        `SELECT ${MEETING_ROW_COLUMNS} FROM meetings WHERE tenant_id = ? AND video_teleconference_id = ?`,
      ),
      updateMeeting: db.prepare(UPDATE_MEETING_IF_UNCHANGED),
      deleteMeeting: db.prepare(DELETE_MEETING),
      meetingById: db.prepare<[string, string], MeetingRow>(
        `SELECT ${MEETING_ROW_COLUMNS} FROM meetings WHERE id = ? AND tenant_id = ?`,
      ),
      insertMeeting: db.prepare(INSERT_MEETING),
      userByIdOrUpn: db.prepare<[string, string, string], UserRow>(
        'SELECT tenant_id, id, upn, display_name FROM users WHERE tenant_id = ? AND (id = ? OR upn_lower = ?) LIMIT 1',
      ),
      usersByUpn: db.prepare<[string], UserRow>(
        'SELECT tenant_id, id, upn, display_name FROM users WHERE upn_lower = ? ORDER BY tenant_id',
      ),
      insertTenant: db.prepare('INSERT INTO tenants (id, display_name) VALUES (?, ?) ON CONFLICT (id) DO NOTHING'),
      upsertTenant: db.prepare(
        'INSERT INTO tenants (id, display_name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name',
      ),
      insertUser: db.prepare(
        'INSERT INTO users (tenant_id, id, upn, upn_lower, display_name) VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, id) DO NOTHING',
      ),
      upsertUser: db.prepare(
        `INSERT INTO users (tenant_id, id, upn, upn_lower, display_name) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, id) DO UPDATE SET upn = excluded.upn, upn_lower = excluded.upn_lower,
                                                   display_name = excluded.display_name`,
      ),
      userById: db.prepare<[string, string], UserRow>(
        'SELECT tenant_id, id, upn, display_name FROM users WHERE tenant_id = ? AND id = ?',
      ),
      deletePolicies: db.prepare('DELETE FROM access_policies WHERE tenant_id = ?'),
      insertPolicy: db.prepare(
        'INSERT INTO access_policies (tenant_id, user_id, app_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      getSetting: db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE name = ?'),
      insertSetting: db.prepare('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
      pruneRedeemedCodes: db.prepare('DELETE FROM redeemed_codes WHERE expires_at < ?'),
      claimCode: db.prepare('INSERT INTO redeemed_codes (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING'),
      ping: db.prepare('SELECT 1'),
    };
    this.write = new MainConnectionWrites(db, writer).run;
    const s = this.statements;
    this.meetingWrites = writer ?? {
      insertOrGet: (columns, expiryCutoff) => this.write(() => insertOrGetStep(s.insertMeeting, s.liveMeetingByKey, columns, expiryCutoff, new Map())),
      updateIfUnchanged: (columns, expected) => this.write(() => s.updateMeeting.run({ ...columns, expected }).changes === 1),
      delete: (id, tenantId) => this.write(() => s.deleteMeeting.run(id, tenantId).changes === 1),
    };
    const marks = new ChangeMarks(db);
    this.recent = new RecentMeetings(marks);
    this.control = new SqliteControlStore(db, this.write, marks, (othersMark) => this.recent.revalidate(othersMark));
    this.attendance = new SqliteAttendanceStore(db, this.write);
    this.browse = new SqliteBrowseStore(db);
    this.directoryAdmin = sqliteDirectoryAdmin(db, this.write);
  }

  static async open(path: string, description: string, observer?: StoreObserver): Promise<SqliteStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    // Busy timeout first: switching to WAL and migrating wait for other processes' locks.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    await withBusyRetry(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    await withBusyRetry(() => migrate(db));
    // WAL checkpoints run on the writer's checkpointer thread (writer.ts), off the event loop too.
    return new SqliteStore(db, description, path === ':memory:' ? undefined : new SqliteWriter(path, observer));
  }

  async findLiveMeetingByKey(tenantId: string, organizerId: string, externalId: string, expiryCutoff: string) {
    const tenant = normalizeId(tenantId);
    const organizer = normalizeId(organizerId);
    return this.recent.liveByKey(tenant, organizer, externalId, expiryCutoff, () =>
      meetingOf(this.statements.liveMeetingByKey.get(tenant, organizer, externalId, expiryCutoff)),
    );
  }

  async insertOrGetMeeting(meeting: Meeting, expiryCutoff: string): Promise<InsertOrGetResult> {
    if (!this.db.open) throw new StoreUnavailable('the store is closed');
    const columns = meetingColumns(meeting);
    const outcome = await this.meetingWrites.insertOrGet(columns, expiryCutoff);
    if ('failed' in outcome) throw new Error(outcome.failed);
    // The writer's commit may have replaced an expired meeting under this key.
    if (outcome.created) this.recent.forget();
    return outcome.created ? { meeting, created: true } : { meeting: meetingFromRow(outcome.row), created: false };
  }

  async getMeeting(tenantId: string, meetingId: string) {
    const tenant = normalizeId(tenantId);
    return this.recent.byMeetingId(tenant, meetingId, () => meetingOf(this.statements.meetingById.get(meetingId, tenant)));
  }

  async findMeetings(tenantId: string, lookup: MeetingLookup) {
    const tenant = normalizeId(tenantId);
    const s = this.statements;
    const rows =
      'joinWebUrl' in lookup
        ? s.meetingsByJoinWebUrl.all(tenant, lookup.joinWebUrl)
        : 'joinMeetingId' in lookup
          ? s.meetingsByJoinMeetingId.all(tenant, lookup.joinMeetingId)
          : s.meetingsByVtcId.all(tenant, lookup.videoTeleconferenceId);
    return rows.map(meetingFromRow);
  }

  async updateMeeting(tenantId: string, meetingId: string, change: (current: Meeting) => Meeting) {
    const tenant = normalizeId(tenantId);
    // This process's updates of one meeting take turns, so that they do not undo each other's
    // compare-and-set (below) and read again; across processes the compare-and-set alone decides.
    const key = `${tenant}\n${meetingId}`;
    const turn = (this.updateTurns.get(key) ?? Promise.resolve()).then(() => this.compareAndSetMeeting(tenant, meetingId, change));
    const done = turn.then(noop, noop);
    this.updateTurns.set(key, done);
    try {
      return await turn;
    } finally {
      if (this.updateTurns.get(key) === done) this.updateTurns.delete(key);
    }
  }

  private async compareAndSetMeeting(tenant: string, meetingId: string, change: (current: Meeting) => Meeting) {
    // Compare-and-set on the stored text: an update computed from a state that another update (any
    // process) has since replaced is not applied, and the change runs again on the new state.
    for (;;) {
      const row = this.statements.meetingById.get(meetingId, tenant);
      if (!row) return undefined;
      const updated = change(meetingFromRow(row));
      if (await this.meetingWrites.updateIfUnchanged(meetingColumns(updated), row.properties)) {
        this.recent.forget();
        return updated;
      }
    }
  }

  async deleteMeeting(tenantId: string, meetingId: string) {
    const tenant = normalizeId(tenantId);
    const deleted = await this.meetingWrites.delete(meetingId, tenant);
    if (deleted) this.recent.forget();
    return deleted;
  }

  async findUser(tenantId: string, idOrUpn: string) {
    const row = this.statements.userByIdOrUpn.get(normalizeId(tenantId), normalizeId(idOrUpn), idOrUpn.toLowerCase());
    return row ? userFromRow(row) : undefined;
  }

  async findUsersByUpn(upn: string) {
    return this.statements.usersByUpn.all(upn.toLowerCase()).map(userFromRow);
  }

  async provisionUser(user: DirectoryUser) {
    const tenantId = normalizeId(user.tenantId);
    const id = normalizeId(user.id);
    const row = await this.write(() => {
      this.statements.insertTenant.run(tenantId, null);
      this.statements.insertUser.run(tenantId, id, user.userPrincipalName, user.userPrincipalName?.toLowerCase() ?? null, user.displayName);
      return this.statements.userById.get(tenantId, id);
    });
    return userFromRow(row!);
  }

  async accessPolicyGrants(tenantId: string, userId: string): Promise<AccessPolicyGrants> {
    return this.directoryAdmin.accessPolicyGrants(tenantId, userId);
  }

  async seedDirectory(seed: DirectorySeed) {
    const s = this.statements;
    await this.write(() => {
      for (const tenant of seed.tenants) {
        const tenantId = normalizeId(tenant.id);
        s.upsertTenant.run(tenantId, tenant.displayName);
        for (const user of tenant.users) {
          const upn = user.userPrincipalName;
          s.upsertUser.run(tenantId, normalizeId(user.id), upn, upn?.toLowerCase() ?? null, user.displayName);
        }
        // The file is the whole truth about a tenant's policies: replace, don't accumulate.
        s.deletePolicies.run(tenantId);
        for (const policy of tenant.applicationAccessPolicies) {
          const appId = normalizeId(policy.appId);
          const users = policy.users === 'global' ? [GLOBAL_GRANT] : policy.users.map(normalizeId);
          for (const userId of users) s.insertPolicy.run(tenantId, userId, appId);
        }
      }
    });
    await this.directoryAdmin.seedExtras(seed);
  }

  async getOrCreateSetting(name: string, create: () => Promise<string>) {
    const existing = this.statements.getSetting.get(name);
    if (existing) return existing.value;
    this.statements.insertSetting.run(name, await create());
    return this.statements.getSetting.get(name)!.value;
  }

  async redeemCode(jti: string, expiresAt: number, pruneBefore: number) {
    // The primary key makes the claim single, across processes; expired claims go in the same commit.
    return this.write(() => {
      this.statements.pruneRedeemedCodes.run(pruneBefore);
      return this.statements.claimCode.run(jti, expiresAt).changes === 1;
    });
  }

  async ping() {
    this.statements.ping.get();
  }

  async close() {
    await this.writer?.close();
    if (this.db.open) this.db.close();
  }
}

/**
 * SQLite answers SQLITE_BUSY at once, without the busy timeout, where waiting could deadlock —
 * as when several processes switch a new file to WAL together. Such steps are retried here.
 */
async function withBusyRetry<T>(step: () => T): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return step();
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
    }
  }
}

/** Applies missing migrations inside one write transaction, so concurrent starters serialize. */
function migrate(db: Database.Database) {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const applied = new Set(
      db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all().map((r) => r.version),
    );
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
    }
  }).immediate();
}

