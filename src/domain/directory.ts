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

export interface DirectorySeed {
  tenants: Array<Tenant & { users: Omit<DirectoryUser, 'tenantId'>[]; applicationAccessPolicies: AccessPolicy[] }>;
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
