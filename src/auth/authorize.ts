// Principal + addressed path → the user the call acts for, or a refusal (spec §3.5, in that order):
// route/token compatibility, permission, user resolution, application access policy.
import { type AccessPolicyGrants, type DirectoryUser, isAppAllowed } from '../domain/directory.js';
import { UserNotFound } from '../domain/errors.js';
import type { DirectoryRepository } from '../domain/ports.js';
import { DelegatedOnlyRoute, InsufficientPrivileges, NoAccessPolicy } from './errors.js';
import { type Operation, requirePermission } from './permissions.js';
import type { ApplicationPrincipal, DelegatedPrincipal, Principal } from './principal.js';

/** Whose onlineMeetings a path addresses. */
export type Owner = { kind: 'me' } | { kind: 'user'; ref: string } | { kind: 'communications' } | { kind: 'app' };

/** The tenant id of personal Microsoft accounts, which online meetings do not support. */
const MSA_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const SELF_CACHE_LIMIT = 10_000;

export interface Caller {
  principal: Principal;
  /** The user the call acts for; undefined for an application on /communications or /app. */
  user?: DirectoryUser;
}

export class Authorizer {
  // Delegated callers already in the directory; provisioning is a write we do once per process.
  private readonly knownSelves = new Map<string, DirectoryUser>();
  // Only with a propagation delay: each answer is kept that long, as the real service lags.
  private readonly grantsSeen = new Map<string, { grants: AccessPolicyGrants; at: number }>();

  constructor(
    private readonly directory: DirectoryRepository,
    /** --policy-propagation-delay: how long an access policy answer may lag a change (real time). */
    private readonly policyPropagationDelayMs = 0,
  ) {}

  /** After a reset the directory may have lost them: each is provisioned again on its next call. */
  forgetProvisionedUsers() {
    this.knownSelves.clear();
  }

  async authorize(principal: Principal, owner: Owner, operation: Operation): Promise<Caller> {
    if (owner.kind === 'me' && principal.kind === 'application') throw new DelegatedOnlyRoute();
    if (principal.tenantId === MSA_TENANT) {
      throw new InsufficientPrivileges('Personal Microsoft accounts are not supported for online meetings.');
    }
    requirePermission(principal, operation);
    if (principal.kind === 'delegated') {
      const self = await this.self(principal);
      if (owner.kind === 'user' && !isSameUser(self, owner.ref)) throw new InsufficientPrivileges();
      return { principal, user: self };
    }
    if (owner.kind === 'user') return { principal, user: await this.actFor(principal, owner.ref) };
    return { principal };
  }

  /** An application acting for a user: the user must exist and an access policy must cover it. */
  async actFor(principal: ApplicationPrincipal, userRef: string): Promise<DirectoryUser> {
    const user = await this.directory.findUser(principal.tenantId, userRef);
    if (!user) throw new UserNotFound(userRef);
    await this.requireAccessPolicy(principal, user.id);
    return user;
  }

  async requireAccessPolicy(principal: ApplicationPrincipal, userId: string): Promise<void> {
    const grants = await this.grants(principal.tenantId, userId);
    if (!isAppAllowed(principal.appId, grants)) throw new NoAccessPolicy();
  }

  /** Read on every call (a change through any process holds at once), unless a delay is set. */
  private async grants(tenantId: string, userId: string): Promise<AccessPolicyGrants> {
    if (this.policyPropagationDelayMs <= 0) return this.directory.accessPolicyGrants(tenantId, userId);
    const key = `${tenantId}/${userId}`.toLowerCase();
    const seen = this.grantsSeen.get(key);
    if (seen && Date.now() - seen.at < this.policyPropagationDelayMs) return seen.grants;
    const grants = await this.directory.accessPolicyGrants(tenantId, userId);
    if (this.grantsSeen.size >= SELF_CACHE_LIMIT) this.grantsSeen.clear();
    this.grantsSeen.set(key, { grants, at: Date.now() });
    return grants;
  }

  /** The delegated caller's directory entry, provisioned from the token's claims the first time. */
  private async self(principal: DelegatedPrincipal): Promise<DirectoryUser> {
    const key = `${principal.tenantId}/${principal.userId}`;
    const cached = this.knownSelves.get(key);
    if (cached) return cached;
    const user = await this.directory.provisionUser({
      tenantId: principal.tenantId,
      id: principal.userId,
      userPrincipalName: principal.userPrincipalName,
      displayName: principal.displayName,
    });
    if (this.knownSelves.size >= SELF_CACHE_LIMIT) this.knownSelves.clear();
    this.knownSelves.set(key, user);
    return user;
  }
}

function isSameUser(user: DirectoryUser, ref: string): boolean {
  const lower = ref.toLowerCase();
  return user.id === lower || user.userPrincipalName?.toLowerCase() === lower;
}
