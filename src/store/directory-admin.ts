// Directory administration (apps, credentials, passwords, named access policies) written once for
// every engine: the SQL is portable and uses $n placeholders; each engine supplies a SqlAccess.
// Every change moves the control version in its transaction, so each process notices it on its next
// request (control/control-state.ts) — nothing about the directory is cached without that signal.
import { certificateThumbprint, hashCredential, secretHint, verifyCredential } from '../auth/credential-hash.js';
import type {
  AccessPolicyGrants,
  DirectoryApp,
  DirectorySeed,
  NamedAccessPolicy,
  SeedApp,
  SeedCredential,
  Tenant,
  TenantCredentials,
} from '../domain/directory.js';
import { GLOBAL_GRANT as GLOBAL, normalizeId } from './rows.js';

/** The tables this module adds (migration 5), each keyed by tenant_id: what a tenant reset deletes. */
export const DIRECTORY_ADMIN_TABLES = ['policy_grants', 'policy_apps', 'named_policies', 'app_secrets', 'app_certificates', 'apps'] as const;

/** One statement of this module's SQL, as a unit of work yields it: `all` answers rows, `run` rows changed. */
export interface SqlStep {
  kind: 'all' | 'run';
  sql: string;
  params: unknown[];
}

/**
 * A unit of work, written once for both engines as a generator of its statements. SQLite answers
 * each synchronously, so nothing else on its connection runs between them (no other request's
 * statement inside an open transaction); PostgreSQL awaits each on the transaction's client.
 */
export type SqlWork<T> = Generator<SqlStep, T, unknown>;

function* all<R>(sql: string, params: unknown[] = []): SqlWork<R[]> {
  return (yield { kind: 'all', sql, params }) as R[];
}

function* run(sql: string, params: unknown[] = []): SqlWork<number> {
  return (yield { kind: 'run', sql, params }) as number;
}

export interface SqlAccess {
  /** One statement, outside any transaction (lookups on the token and Graph paths). */
  all<R>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Reads that belong together, on one consistent view. */
  read<T>(work: () => SqlWork<T>): Promise<T>;
  /** All or nothing; the control version moves at its end. */
  write<T>(work: () => SqlWork<T>): Promise<T>;
}

/** One write in this module's SQL, for a unit of work or an engine's own transaction (snapshot imports). */
export interface SqlWrite {
  sql: string;
  params: unknown[];
}

export class TenantNotFound extends Error {}
export class DirectoryEntryNotFound extends Error {}

export interface AppSecretInfo {
  id: string;
  hint: string | null;
  createdDateTime: string;
}
export interface AppListing extends DirectoryApp {
  secrets: AppSecretInfo[];
  certificates: { thumbprint: string }[];
}
export interface UserListing {
  id: string;
  userPrincipalName: string | null;
  displayName: string | null;
  hasPassword: boolean;
  /** The named policy granted to the user, if any. */
  accessPolicy: string | null;
}
export interface TenantListing extends Tenant {
  users: number;
  apps: number;
  /** The named policy granted tenant-wide, if any. */
  globalAccessPolicy: string | null;
}

type AppRow = { app_id: string; display_name: string | null; roles: string; redirect_uris: string };

const appFromRow = (row: AppRow): DirectoryApp => ({
  appId: row.app_id,
  displayName: row.display_name,
  roles: JSON.parse(row.roles) as string[],
  redirectUris: JSON.parse(row.redirect_uris) as string[],
});

/** A credential as stored: hashed now when it came in plain text. */
async function storedCredential(credential: SeedCredential): Promise<{ hash: string; hint: string | null }> {
  return 'plain' in credential ? { hash: await hashCredential(credential.plain), hint: secretHint(credential.plain) } : credential;
}

export class DirectoryAdmin {
  constructor(private readonly db: SqlAccess) {}

  // ── tenants ──
  async listTenants(): Promise<TenantListing[]> {
    const rows = await this.db.all<{ id: string; display_name: string | null; users: number; apps: number; global_policy: string | null }>(
      `SELECT t.id, t.display_name,
         (SELECT COUNT(*) FROM users u WHERE u.tenant_id = t.id) AS users,
         (SELECT COUNT(*) FROM apps a WHERE a.tenant_id = t.id) AS apps,
         (SELECT g.policy_name FROM policy_grants g WHERE g.tenant_id = t.id AND g.user_id = '*') AS global_policy
       FROM tenants t ORDER BY t.id`,
    );
    return rows.map((r) => ({ id: r.id, displayName: r.display_name, users: Number(r.users), apps: Number(r.apps), globalAccessPolicy: r.global_policy }));
  }

  /** Adds the tenant or renames it; true when it was new. */
  async addTenant(id: string, displayName: string | null): Promise<boolean> {
    const tenantId = normalizeId(id);
    return this.db.write(function* () {
      const existed = (yield* all('SELECT id FROM tenants WHERE id = $1', [tenantId])).length > 0;
      yield* run(
        'INSERT INTO tenants (id, display_name) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name',
        [tenantId, displayName],
      );
      return !existed;
    });
  }

  /** The tenant's whole directory (users, apps, policies); its meetings stay. */
  async removeTenant(id: string): Promise<boolean> {
    const tenantId = normalizeId(id);
    return this.db.write(function* () {
      for (const table of [...DIRECTORY_ADMIN_TABLES, 'access_policies', 'users']) {
        yield* run(`DELETE FROM ${table} WHERE tenant_id = $1`, [tenantId]);
      }
      return (yield* run('DELETE FROM tenants WHERE id = $1', [tenantId])) > 0;
    });
  }

  // ── users ──
  async listUsers(tenantId: string): Promise<UserListing[]> {
    return this.db.read(function* () {
      const tenant = yield* requireTenant(tenantId);
      const rows = yield* all<{ id: string; upn: string | null; display_name: string | null; password_hash: string | null; policy: string | null }>(
        `SELECT u.id, u.upn, u.display_name, u.password_hash, g.policy_name AS policy
         FROM users u LEFT JOIN policy_grants g ON g.tenant_id = u.tenant_id AND g.user_id = u.id
         WHERE u.tenant_id = $1 ORDER BY u.upn_lower, u.id`,
        [tenant],
      );
      return rows.map((r) => ({ id: r.id, userPrincipalName: r.upn, displayName: r.display_name, hasPassword: r.password_hash !== null, accessPolicy: r.policy }));
    });
  }

  /** Adds or updates the user; a password given replaces the stored one, none keeps it. */
  async addUser(tenantId: string, user: { id: string; userPrincipalName: string | null; displayName: string | null; password?: string }) {
    const passwordHash = user.password === undefined ? undefined : await hashCredential(user.password);
    await this.db.write(function* () {
      yield* runWrites([upsertUser(yield* requireTenant(tenantId), { ...user, passwordHash })]);
    });
  }

  async removeUser(tenantId: string, idOrUpn: string): Promise<boolean> {
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      const user = yield* userId(tenant, idOrUpn);
      if (!user) return false;
      yield* run('DELETE FROM policy_grants WHERE tenant_id = $1 AND user_id = $2', [tenant, user]);
      yield* run('DELETE FROM access_policies WHERE tenant_id = $1 AND user_id = $2', [tenant, user]);
      return (yield* run('DELETE FROM users WHERE tenant_id = $1 AND id = $2', [tenant, user])) > 0;
    });
  }

  // ── apps ──
  async listApps(tenantId: string): Promise<AppListing[]> {
    return this.db.read(function* () {
      const { apps, secrets, certificates } = yield* appRows(yield* requireTenant(tenantId));
      return apps.map((row) => ({
        ...appFromRow(row),
        secrets: secrets.filter((s) => s.app_id === row.app_id).map((s) => ({ id: s.id, hint: s.hint, createdDateTime: s.created_date_time })),
        certificates: certificates.filter((c) => c.app_id === row.app_id).map((c) => ({ thumbprint: c.thumbprint })),
      }));
    });
  }

  /** Adds or replaces the app registration with its credentials (secrets and certificates replaced). */
  async putApp(tenantId: string, app: SeedApp) {
    const secrets = await Promise.all(app.secrets.map(storedCredential));
    await this.db.write(function* () {
      yield* runWrites(appWrites(yield* requireTenant(tenantId), app, secrets));
    });
  }

  async removeApp(tenantId: string, appId: string): Promise<boolean> {
    const id = normalizeId(appId);
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      yield* run('DELETE FROM app_secrets WHERE tenant_id = $1 AND app_id = $2', [tenant, id]);
      yield* run('DELETE FROM app_certificates WHERE tenant_id = $1 AND app_id = $2', [tenant, id]);
      return (yield* run('DELETE FROM apps WHERE tenant_id = $1 AND app_id = $2', [tenant, id])) > 0;
    });
  }

  /** Grants (or, with grant false, revokes) an application permission; returns the app's roles. */
  async setRole(tenantId: string, appId: string, role: string, grant: boolean): Promise<string[]> {
    const id = normalizeId(appId);
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      const [row] = yield* all<{ roles: string }>('SELECT roles FROM apps WHERE tenant_id = $1 AND app_id = $2', [tenant, id]);
      if (!row) throw new DirectoryEntryNotFound(`App ${appId} is not registered in tenant ${tenant}.`);
      const others = (JSON.parse(row.roles) as string[]).filter((r) => r.toLowerCase() !== role.toLowerCase());
      const roles = grant ? [...others, role].sort() : others;
      yield* run('UPDATE apps SET roles = $3 WHERE tenant_id = $1 AND app_id = $2', [tenant, id, JSON.stringify(roles)]);
      return roles;
    });
  }

  // ── named application access policies ──
  async listPolicies(tenantId: string): Promise<NamedAccessPolicy[]> {
    return this.db.read(function* () {
      return yield* policiesOf(yield* requireTenant(tenantId));
    });
  }

  /** New-CsApplicationAccessPolicy / Set-CsApplicationAccessPolicy: the policy's app ids, replaced. */
  async putPolicy(tenantId: string, name: string, appIds: string[]) {
    await this.db.write(function* () {
      yield* runWrites(policyWrites(yield* requireTenant(tenantId), name, appIds));
    });
  }

  /** Remove-CsApplicationAccessPolicy, with its grants. */
  async removePolicy(tenantId: string, name: string): Promise<boolean> {
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      yield* run('DELETE FROM policy_grants WHERE tenant_id = $1 AND policy_name = $2', [tenant, name]);
      yield* run('DELETE FROM policy_apps WHERE tenant_id = $1 AND policy_name = $2', [tenant, name]);
      return (yield* run('DELETE FROM named_policies WHERE tenant_id = $1 AND name = $2', [tenant, name])) > 0;
    });
  }

  /**
   * Grant-CsApplicationAccessPolicy -PolicyName name -Identity user (or -Global: identity undefined).
   * A user or the tenant holds one policy at a time: granting replaces. Returns the user's object id.
   */
  async grantPolicy(tenantId: string, name: string, identity: string | undefined): Promise<string> {
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      if ((yield* all('SELECT name FROM named_policies WHERE tenant_id = $1 AND name = $2', [tenant, name])).length === 0) {
        throw new DirectoryEntryNotFound(`No application access policy named '${name}' in tenant ${tenant}.`);
      }
      const to = yield* grantee(tenant, identity);
      yield* runWrites([grantWrite(tenant, to, name)]);
      return to;
    });
  }

  /** Grant-CsApplicationAccessPolicy -PolicyName $null: the user (or the tenant) no longer holds this policy. */
  async revokePolicy(tenantId: string, name: string, identity: string | undefined): Promise<boolean> {
    return this.db.write(function* () {
      const tenant = yield* requireTenant(tenantId);
      const from = yield* grantee(tenant, identity);
      return (yield* run('DELETE FROM policy_grants WHERE tenant_id = $1 AND user_id = $2 AND policy_name = $3', [tenant, from, name])) > 0;
    });
  }

  /**
   * The app ids granted for a user, from the seed's policies (access_policies) and from named
   * policies. A per-user grant of either kind replaces the global one (isAppAllowed).
   */
  async accessPolicyGrants(tenantId: string, userId: string): Promise<AccessPolicyGrants> {
    const rows = await this.db.all<{ user_id: string; app_id: string }>(
      `SELECT user_id, app_id FROM access_policies WHERE tenant_id = $1 AND user_id IN ($2, '*')
       UNION ALL
       SELECT g.user_id, p.app_id FROM policy_grants g
         JOIN policy_apps p ON p.tenant_id = g.tenant_id AND p.policy_name = g.policy_name
       WHERE g.tenant_id = $1 AND g.user_id IN ($2, '*')`,
      [normalizeId(tenantId), normalizeId(userId)],
    );
    const grants: AccessPolicyGrants = { userScoped: [], global: [] };
    for (const row of rows) (row.user_id === GLOBAL ? grants.global : grants.userScoped).push(row.app_id);
    return grants;
  }

  // ── the seed format ──
  /** The apps, passwords and named policies of a seed (tenants and users are already stored). */
  async seedExtras(seed: DirectorySeed) {
    const hashed = await Promise.all(
      seed.tenants.map(async (t) => ({
        tenant: t,
        passwords: await Promise.all(t.users.map(async (u) => (u.password ? (await storedCredential(u.password)).hash : undefined))),
        secrets: await Promise.all((t.apps ?? []).map((a) => Promise.all(a.secrets.map(storedCredential)))),
      })),
    );
    if (!seed.tenants.some((t) => t.apps?.length || t.policies?.length || t.users.some((u) => u.password))) return;
    await this.db.write(function* () {
      for (const { tenant, passwords, secrets } of hashed) {
        const tenantId = normalizeId(tenant.id);
        yield* runWrites([
          ...tenant.users.flatMap((user, i) => (passwords[i] ? [passwordWrite(tenantId, user.id, passwords[i])] : [])),
          ...(tenant.apps ?? []).flatMap((app, i) => appWrites(tenantId, app, secrets[i]!)),
          ...(tenant.policies ?? []).flatMap((policy) => namedPolicyWrites(tenantId, policy)),
        ]);
      }
    });
  }

  /** The directory in the seed format, secrets and passwords as hashes only. */
  async exportDirectory(tenantIds?: string[]): Promise<unknown> {
    const wanted = tenantIds?.map(normalizeId);
    return this.db.read(function* () {
      const tenants = (yield* all<{ id: string; display_name: string | null }>('SELECT id, display_name FROM tenants ORDER BY id')).filter(
        (t) => !wanted || wanted.includes(t.id),
      );
      const exported = [];
      for (const t of tenants) {
        const users = yield* userRows(t.id);
        const { apps, secrets, certificates } = yield* appRows(t.id);
        const legacy = yield* all<{ user_id: string; app_id: string }>(
          'SELECT user_id, app_id FROM access_policies WHERE tenant_id = $1 ORDER BY app_id, user_id',
          [t.id],
        );
        exported.push({
          id: t.id,
          ...(t.display_name === null ? {} : { displayName: t.display_name }),
          users: users.map((u) => ({
            id: u.id,
            ...(u.upn === null ? {} : { userPrincipalName: u.upn }),
            ...(u.display_name === null ? {} : { displayName: u.display_name }),
            ...(u.password_hash === null ? {} : { passwordHash: u.password_hash }),
          })),
          apps: apps.map((row) => ({
            ...appFromRow(row),
            displayName: row.display_name ?? undefined,
            secretHashes: secrets.filter((s) => s.app_id === row.app_id).map((s) => ({ hash: s.hash, ...(s.hint === null ? {} : { hint: s.hint }) })),
            certificates: certificates.filter((c) => c.app_id === row.app_id).map((c) => c.pem),
          })),
          policies: yield* policiesOf(t.id),
          applicationAccessPolicies: legacyPolicies(legacy),
        });
      }
      return { tenants: exported };
    });
  }

  // ── verification, for the token service ──
  async findApp(tenantId: string, appId: string): Promise<DirectoryApp | undefined> {
    const [row] = await this.db.all<AppRow>('SELECT app_id, display_name, roles, redirect_uris FROM apps WHERE tenant_id = $1 AND app_id = $2', [
      normalizeId(tenantId),
      normalizeId(appId),
    ]);
    return row ? appFromRow(row) : undefined;
  }

  async appRoles(tenantId: string, appId: string): Promise<string[]> {
    return (await this.findApp(tenantId, appId))?.roles ?? [];
  }

  async appRedirectUris(tenantId: string, appId: string): Promise<string[]> {
    return (await this.findApp(tenantId, appId))?.redirectUris ?? [];
  }

  async appCertificates(tenantId: string, appId: string): Promise<{ thumbprint: string; pem: string }[]> {
    return this.db.all('SELECT thumbprint, pem FROM app_certificates WHERE tenant_id = $1 AND app_id = $2 ORDER BY thumbprint', [
      normalizeId(tenantId),
      normalizeId(appId),
    ]);
  }

  /** True when the secret matches one of the app's; every stored secret is checked (constant work). */
  async verifyAppSecret(tenantId: string, appId: string, secret: string): Promise<boolean> {
    const rows = await this.db.all<{ hash: string }>('SELECT hash FROM app_secrets WHERE tenant_id = $1 AND app_id = $2', [normalizeId(tenantId), normalizeId(appId)]);
    const results = await Promise.all(rows.map((r) => verifyCredential(secret, r.hash)));
    return results.includes(true);
  }

  /** By object id or userPrincipalName; false for a user without a password. */
  async verifyUserPassword(tenantId: string, idOrUpn: string, password: string): Promise<boolean> {
    const [row] = await this.db.all<{ password_hash: string | null }>(
      'SELECT password_hash FROM users WHERE tenant_id = $1 AND (id = $2 OR upn_lower = $3)',
      [normalizeId(tenantId), normalizeId(idOrUpn), idOrUpn.toLowerCase()],
    );
    return row?.password_hash ? verifyCredential(password, row.password_hash) : false;
  }
}

// ── snapshots (control/snapshot.ts), in the engines' own export and import transactions ──

/** A tenant's apps (credentials as hashes), named policies and password hashes, for a snapshot export. */
export function* tenantCredentialReads(tenantId: string): SqlWork<TenantCredentials> {
  const tenant = normalizeId(tenantId);
  const users = yield* userRows(tenant);
  const { apps, secrets, certificates } = yield* appRows(tenant);
  return {
    apps: apps.map((row) => ({
      ...appFromRow(row),
      secretHashes: secrets.filter((s) => s.app_id === row.app_id).map((s) => ({ hash: s.hash, hint: s.hint })),
      certificates: certificates.filter((c) => c.app_id === row.app_id).map((c) => c.pem),
    })),
    accessPolicies: yield* policiesOf(tenant),
    passwordHashes: Object.fromEntries(users.flatMap((u) => (u.password_hash === null ? [] : [[u.id, u.password_hash]]))),
  };
}

/**
 * What a snapshot import writes for the tenant's apps, named policies and password hashes, in the
 * import's own transaction (store/sqlite and store/postgres control-store.ts), after it deleted the
 * tenant's directory and stored its users.
 */
export function tenantCredentialWrites(tenantId: string, credentials: TenantCredentials): SqlWrite[] {
  const tenant = normalizeId(tenantId);
  return [
    ...credentials.apps.flatMap((app) => appWrites(tenant, { ...app, secrets: [] }, app.secretHashes)),
    ...credentials.accessPolicies.flatMap((policy) => namedPolicyWrites(tenant, policy)),
    ...Object.entries(credentials.passwordHashes).map(([user, hash]) => passwordWrite(tenant, user, hash)),
  ];
}

function* requireTenant(tenantId: string): SqlWork<string> {
  const id = normalizeId(tenantId);
  if ((yield* all('SELECT id FROM tenants WHERE id = $1', [id])).length === 0) throw new TenantNotFound(`Tenant ${tenantId} is not in the directory.`);
  return id;
}

function* userId(tenant: string, idOrUpn: string): SqlWork<string | undefined> {
  const [row] = yield* all<{ id: string }>('SELECT id FROM users WHERE tenant_id = $1 AND (id = $2 OR upn_lower = $3)', [
    tenant,
    normalizeId(idOrUpn),
    idOrUpn.toLowerCase(),
  ]);
  return row?.id;
}

/** A user's object id (the user must exist), or '*' for a tenant-wide grant. */
function* grantee(tenant: string, identity: string | undefined): SqlWork<string> {
  if (identity === undefined) return GLOBAL;
  const id = yield* userId(tenant, identity);
  if (!id) throw new DirectoryEntryNotFound(`User ${identity} is not in tenant ${tenant}.`);
  return id;
}

function* userRows(tenant: string) {
  return yield* all<{ id: string; upn: string | null; display_name: string | null; password_hash: string | null }>(
    'SELECT id, upn, display_name, password_hash FROM users WHERE tenant_id = $1 ORDER BY id',
    [tenant],
  );
}

/** The tenant's apps with their secrets (in the order they were given) and certificates. */
function* appRows(tenant: string) {
  const apps = yield* all<AppRow>('SELECT app_id, display_name, roles, redirect_uris FROM apps WHERE tenant_id = $1 ORDER BY app_id', [tenant]);
  // Secret ids are 1, 2, … as text: by length first, so that 10 comes after 9.
  const secrets = yield* all<{ app_id: string; id: string; hash: string; hint: string | null; created_date_time: string }>(
    'SELECT app_id, id, hash, hint, created_date_time FROM app_secrets WHERE tenant_id = $1 ORDER BY created_date_time, length(id), id',
    [tenant],
  );
  const certificates = yield* all<{ app_id: string; thumbprint: string; pem: string }>(
    'SELECT app_id, thumbprint, pem FROM app_certificates WHERE tenant_id = $1 ORDER BY thumbprint',
    [tenant],
  );
  return { apps, secrets, certificates };
}

function upsertUser(tenant: string, user: { id: string; userPrincipalName: string | null; displayName: string | null; passwordHash?: string }): SqlWrite {
  const upn = user.userPrincipalName;
  return {
    sql: `INSERT INTO users (tenant_id, id, upn, upn_lower, display_name, password_hash) VALUES ($1, $2, $3, $4, $5, $6)
          ON CONFLICT (tenant_id, id) DO UPDATE SET upn = excluded.upn, upn_lower = excluded.upn_lower,
            display_name = excluded.display_name, password_hash = COALESCE(excluded.password_hash, users.password_hash)`,
    params: [tenant, normalizeId(user.id), upn, upn?.toLowerCase() ?? null, user.displayName, user.passwordHash ?? null],
  };
}

function* runWrites(writes: SqlWrite[]): SqlWork<void> {
  for (const { sql, params } of writes) yield* run(sql, params);
}

function passwordWrite(tenant: string, userId: string, hash: string): SqlWrite {
  return { sql: 'UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2', params: [tenant, normalizeId(userId), hash] };
}

function appWrites(tenant: string, app: SeedApp, secrets: { hash: string; hint: string | null }[]): SqlWrite[] {
  const appId = normalizeId(app.appId);
  const created = new Date().toISOString();
  return [
    {
      sql: `INSERT INTO apps (tenant_id, app_id, display_name, roles, redirect_uris) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (tenant_id, app_id) DO UPDATE SET display_name = excluded.display_name, roles = excluded.roles,
              redirect_uris = excluded.redirect_uris`,
      params: [tenant, appId, app.displayName, JSON.stringify(app.roles), JSON.stringify(app.redirectUris)],
    },
    { sql: 'DELETE FROM app_secrets WHERE tenant_id = $1 AND app_id = $2', params: [tenant, appId] },
    { sql: 'DELETE FROM app_certificates WHERE tenant_id = $1 AND app_id = $2', params: [tenant, appId] },
    ...secrets.map((secret, i) => ({
      sql: 'INSERT INTO app_secrets (tenant_id, app_id, id, hash, hint, created_date_time) VALUES ($1, $2, $3, $4, $5, $6)',
      params: [tenant, appId, String(i + 1), secret.hash, secret.hint, created],
    })),
    ...app.certificates.map((pem) => ({
      sql: 'INSERT INTO app_certificates (tenant_id, app_id, thumbprint, pem) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      params: [tenant, appId, certificateThumbprint(pem), pem.trim()],
    })),
  ];
}

function policyWrites(tenant: string, name: string, appIds: string[]): SqlWrite[] {
  return [
    { sql: 'INSERT INTO named_policies (tenant_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', params: [tenant, name] },
    { sql: 'DELETE FROM policy_apps WHERE tenant_id = $1 AND policy_name = $2', params: [tenant, name] },
    ...[...new Set(appIds.map(normalizeId))].map((appId) => ({
      sql: 'INSERT INTO policy_apps (tenant_id, policy_name, app_id) VALUES ($1, $2, $3)',
      params: [tenant, name, appId],
    })),
  ];
}

/** A policy with its grants, as a seed or a snapshot lists it. */
function namedPolicyWrites(tenant: string, policy: NamedAccessPolicy): SqlWrite[] {
  return [
    ...policyWrites(tenant, policy.name, policy.appIds),
    ...policy.users.map((user) => grantWrite(tenant, normalizeId(user), policy.name)),
    ...(policy.global ? [grantWrite(tenant, GLOBAL, policy.name)] : []),
  ];
}

function grantWrite(tenant: string, grantee: string, name: string): SqlWrite {
  return {
    sql: 'INSERT INTO policy_grants (tenant_id, user_id, policy_name) VALUES ($1, $2, $3) ON CONFLICT (tenant_id, user_id) DO UPDATE SET policy_name = excluded.policy_name',
    params: [tenant, grantee, name],
  };
}

function* policiesOf(tenant: string): SqlWork<NamedAccessPolicy[]> {
  const names = yield* all<{ name: string }>('SELECT name FROM named_policies WHERE tenant_id = $1 ORDER BY name', [tenant]);
  const apps = yield* all<{ policy_name: string; app_id: string }>('SELECT policy_name, app_id FROM policy_apps WHERE tenant_id = $1 ORDER BY app_id', [tenant]);
  const grants = yield* all<{ policy_name: string; user_id: string }>('SELECT policy_name, user_id FROM policy_grants WHERE tenant_id = $1 ORDER BY user_id', [tenant]);
  return names.map(({ name }) => ({
    name,
    appIds: apps.filter((a) => a.policy_name === name).map((a) => a.app_id),
    users: grants.filter((g) => g.policy_name === name && g.user_id !== GLOBAL).map((g) => g.user_id),
    global: grants.some((g) => g.policy_name === name && g.user_id === GLOBAL),
  }));
}

function legacyPolicies(rows: { user_id: string; app_id: string }[]) {
  const byApp = new Map<string, string[]>();
  for (const row of rows) byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), row.user_id]);
  return [...byApp].flatMap(([appId, users]) => [
    ...(users.includes(GLOBAL) ? [{ appId, scope: 'global' }] : []),
    ...(users.some((u) => u !== GLOBAL) ? [{ appId, users: users.filter((u) => u !== GLOBAL) }] : []),
  ]);
}
