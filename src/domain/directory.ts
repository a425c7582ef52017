// Tenants, users and application access policies: who exists, and which app may act for whom.

export interface Tenant {
  id: string;
  displayName: string | null;
}

export interface DirectoryUser {
  tenantId: string;
  id: string;
  userPrincipalName: string | null;
  displayName: string | null;
}

/** An application access policy entry: an app granted for listed users, or tenant-wide. */
export interface AccessPolicy {
  appId: string;
  /** User object ids; `'global'` grants the app for every user without a policy of their own. */
  users: string[] | 'global';
}

/** A registered application (an app registration in Entra terms). */
export interface DirectoryApp {
  appId: string;
  displayName: string | null;
  /** Application permissions granted to it (e.g. OnlineMeetings.ReadWrite.All). */
  roles: string[];
  redirectUris: string[];
}

/** A secret or password as a seed carries it: plain text to hash, or a hash exported earlier. */
export type SeedCredential = { plain: string } | { hash: string; hint: string | null };

export interface SeedApp extends DirectoryApp {
  secrets: SeedCredential[];
  /** PEM certificates (public keys only) for certificate credentials. */
  certificates: string[];
}

/** A named application access policy (New-CsApplicationAccessPolicy) and whom it is granted to. */
export interface NamedAccessPolicy {
  name: string;
  appIds: string[];
  /** User object ids it is granted to (Grant-CsApplicationAccessPolicy -Identity). */
  users: string[];
  /** Granted tenant-wide (Grant-CsApplicationAccessPolicy -Global). */
  global: boolean;
}

/** A tenant's apps (credentials as hashes), named policies and password hashes, as a snapshot carries them. */
export interface TenantCredentials {
  apps: Array<DirectoryApp & { secretHashes: { hash: string; hint: string | null }[]; certificates: string[] }>;
  accessPolicies: NamedAccessPolicy[];
  /** User object id → password hash. */
  passwordHashes: Record<string, string>;
}

export type SeedUser = Omit<DirectoryUser, 'tenantId'> & { password?: SeedCredential };

export interface DirectorySeed {
  tenants: Array<
    Tenant & { users: SeedUser[]; applicationAccessPolicies: AccessPolicy[]; apps?: SeedApp[]; policies?: NamedAccessPolicy[] }
  >;
}

/** The app ids granted for one user, split by how they were granted. */
export interface AccessPolicyGrants {
  userScoped: string[];
  global: string[];
}

/**
 * Teams' rule: a policy granted to the user replaces the tenant-wide one for that user,
 * so a global grant only counts for users with no grant of their own.
 */
export function isAppAllowed(appId: string, grants: AccessPolicyGrants): boolean {
  const effective = grants.userScoped.length > 0 ? grants.userScoped : grants.global;
  return effective.some((id) => id.toLowerCase() === appId.toLowerCase());
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** Entra object ids are GUIDs compared without case; keep them lower-case everywhere. */
export function normalizeObjectId(id: string): string {
  return isGuid(id) ? id.toLowerCase() : id;
}

/**
 * The JSON pointer (`/tenants/0/users/1/displayName`) of the first string in `value` holding U+0000,
 * if any. PostgreSQL text cannot store it, so directory values with it are refused on every engine.
 */
export function nulPointer(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, member] of Object.entries(value)) {
    const found = nulPointer(member, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`);
    if (found !== undefined) return found;
  }
  return undefined;
}
