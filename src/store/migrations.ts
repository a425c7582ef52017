// Versioned schema, one list for every SQL engine: only portable SQL (text columns, partial unique
// index, ON CONFLICT), so SQLite, PostgreSQL and Postgres-compatible engines share it.
// Append new versions; never edit an applied one.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'directory, meetings, settings',
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        display_name TEXT
      );
      CREATE TABLE users (
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        id TEXT NOT NULL,
        upn TEXT,
        upn_lower TEXT,
        display_name TEXT,
        PRIMARY KEY (tenant_id, id)
      );
      CREATE INDEX users_by_upn ON users (upn_lower);
      -- user_id '*' is a tenant-wide (global) grant.
      CREATE TABLE access_policies (
        tenant_id TEXT NOT NULL REFERENCES tenants(id),
        user_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id, app_id)
      );
      -- properties is the meeting's JSON text, kept as text so its member order survives.
      CREATE TABLE meetings (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        organizer_id TEXT NOT NULL,
        external_id TEXT,
        join_web_url TEXT NOT NULL,
        join_meeting_id TEXT NOT NULL,
        video_teleconference_id TEXT,
        expiry_date_time TEXT NOT NULL,
        properties TEXT NOT NULL
      );
      -- The createOrGet key: at most one meeting per (tenant, organizer, externalId).
      CREATE UNIQUE INDEX meetings_by_key ON meetings (tenant_id, organizer_id, external_id)
        WHERE external_id IS NOT NULL;
      CREATE INDEX meetings_by_join_web_url ON meetings (tenant_id, join_web_url);
      CREATE INDEX meetings_by_join_meeting_id ON meetings (tenant_id, join_meeting_id);
      CREATE INDEX meetings_by_vtc_id ON meetings (tenant_id, video_teleconference_id);
      CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'repair expiry dates written past year 9999',
    // Before dates were clamped, an end near 9999-12-31 gave an expiry such as `+010000-02-29…`,
    // which sorts before every real date, so a live meeting looked expired and lost its key. Such a
    // row is the newest holder of its key: give it the latest expiry Graph can express.
    sql: `
      UPDATE meetings
      SET properties = replace(properties, '"expiryDateTime":"' || expiry_date_time || '"',
                               '"expiryDateTime":"9999-12-31T23:59:59.9999999Z"'),
          expiry_date_time = '9999-12-31T23:59:59.9999999Z'
      WHERE expiry_date_time LIKE '+%' OR expiry_date_time LIKE '-%';
    `,
  },
  {
    version: 3,
    name: 'testing toolkit: control state, fault rules, creation counters',
    // One row of shared control state; `version` changes with every write so each process can tell
    // cheaply whether its cached copy is current.
    sql: `
      CREATE TABLE control_state (
        id INTEGER PRIMARY KEY,
        version BIGINT NOT NULL,
        clock TEXT,
        resets BIGINT NOT NULL
      );
      INSERT INTO control_state (id, version, clock, resets) VALUES (1, 0, NULL, 0);
      CREATE TABLE fault_rules (
        id TEXT PRIMARY KEY,
        position BIGINT NOT NULL,
        rule TEXT NOT NULL,
        matched BIGINT NOT NULL
      );
      CREATE TABLE creation_counts (
        tenant_id TEXT NOT NULL,
        organizer_id TEXT NOT NULL,
        time_window TEXT NOT NULL,
        created BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, organizer_id, time_window)
      );
    `,
  },
  {
    version: 4,
    name: 'attendance intervals (join page, attendance reports)',
    // One row per Join; Leave fills leave_date_time. No foreign key to meetings: a meeting replaced
    // by createOrGet changes its id in place, and reports are only reached through a live meeting.
    sql: `
      CREATE TABLE attendance_intervals (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        meeting_id TEXT NOT NULL,
        user_tenant_id TEXT,
        user_id TEXT,
        display_name TEXT,
        email_address TEXT,
        role TEXT NOT NULL,
        join_date_time TEXT NOT NULL,
        leave_date_time TEXT
      );
      CREATE INDEX attendance_intervals_by_meeting ON attendance_intervals (tenant_id, meeting_id, join_date_time);
    `,
  },
  {
    version: 5,
    name: 'directory administration: apps, credentials, passwords, named access policies',
    // Secrets and passwords only as scrypt hashes (auth/credential-hash.ts). Roles and redirect URIs
    // are JSON arrays of text. A user (or '*', tenant-wide) holds at most one named policy, as in Teams.
    // No foreign keys: resets and snapshot imports delete a tenant's rows table by table.
    sql: `
      CREATE TABLE apps (
        tenant_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        display_name TEXT,
        roles TEXT NOT NULL,
        redirect_uris TEXT NOT NULL,
        PRIMARY KEY (tenant_id, app_id)
      );
      CREATE TABLE app_secrets (
        tenant_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        id TEXT NOT NULL,
        hash TEXT NOT NULL,
        hint TEXT,
        created_date_time TEXT NOT NULL,
        PRIMARY KEY (tenant_id, app_id, id)
      );
      CREATE TABLE app_certificates (
        tenant_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        thumbprint TEXT NOT NULL,
        pem TEXT NOT NULL,
        PRIMARY KEY (tenant_id, app_id, thumbprint)
      );
      ALTER TABLE users ADD COLUMN password_hash TEXT;
      CREATE TABLE policy_apps (
        tenant_id TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        app_id TEXT NOT NULL,
        PRIMARY KEY (tenant_id, policy_name, app_id)
      );
      CREATE TABLE named_policies (
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (tenant_id, name)
      );
      CREATE TABLE policy_grants (
        tenant_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        policy_name TEXT NOT NULL,
        PRIMARY KEY (tenant_id, user_id)
      );
    `,
  },
  {
    version: 6,
    name: 'redeemed authorization codes, with their expiry',
    // The Entra token service's single use: one row per redeemed code (its jti), claimed by the
    // primary key, pruned once the code has expired (expires_at: its exp, seconds since the epoch).
    // The settings rows that held them before carry no expiry: they move here as never expiring (a
    // whole directory reset clears them, as it replaces the key that signed those codes).
    sql: `
      CREATE TABLE redeemed_codes (
        jti TEXT PRIMARY KEY,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX redeemed_codes_by_expiry ON redeemed_codes (expires_at);
      INSERT INTO redeemed_codes (jti, expires_at)
        SELECT substr(name, 21), 253402300799 FROM settings WHERE name LIKE 'entra-code-redeemed:%';
      DELETE FROM settings WHERE name LIKE 'entra-code-redeemed:%';
    `,
  },
];
