// Minting dev-issuer tokens for a user (delegated) or an application (app-only): the one place shared by
// `graph-meetings token` and POST /__admin/tokens, so both hand out exactly the same tokens.
import type { DirectoryUser } from '../domain/directory.js';
import { isGuid, normalizeObjectId } from '../domain/directory.js';
import type { DirectoryRepository } from '../domain/ports.js';
import { DEV_TENANT_ID, type DevIssuer } from './dev-issuer.js';
import { applicationClaims, DEFAULT_APPLICATION_ROLES, DEFAULT_DELEGATED_SCOPES, delegatedClaims, derivedGuid } from './dev-token-claims.js';

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 3600;
/** A day longer than a year would only hide mistakes; tokens past this are refused. */
const MAX_TOKEN_LIFETIME_SECONDS = 366 * 24 * 3600;

export interface DevTokenRequest {
  /** userPrincipalName or object id: a delegated token for that user (provisioned when unknown). */
  user?: string;
  /** Application (client) id: an app-only token. */
  app?: string;
  tenant?: string;
  /** Display name for a user provisioned now. */
  name?: string;
  scopes?: string[];
  roles?: string[];
  audience: string;
  lifetime: number;
}

/** The request names no valid token; its message says what to change. */
export class InvalidTokenRequest extends Error {}

/** The user named by `ref`: from the directory when known there, otherwise provisioned now. */
async function resolveUser(directory: DirectoryRepository, ref: string, tenant: string | undefined, name?: string) {
  if (tenant) {
    const known = await directory.findUser(tenant, ref);
    if (known) return known;
  } else {
    const matches = isGuid(ref) ? [] : await directory.findUsersByUpn(ref);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new InvalidTokenRequest(`user ${ref} exists in several tenants (${matches.map((m) => m.tenantId).join(', ')}); pass a tenant`);
    }
  }
  const tenantId = normalizeObjectId(tenant ?? DEV_TENANT_ID);
  const user: DirectoryUser = isGuid(ref)
    ? { tenantId, id: normalizeObjectId(ref), userPrincipalName: null, displayName: name ?? null }
    : { tenantId, id: derivedGuid('user', tenantId, ref.toLowerCase()), userPrincipalName: ref, displayName: name ?? ref.split('@')[0]! };
  return directory.provisionUser(user);
}

/** Throws InvalidTokenRequest when `request` cannot name a token (checked before any database work). */
export function checkDevTokenRequest(request: DevTokenRequest) {
  if (!request.user === !request.app) throw new InvalidTokenRequest('pass exactly one of user (a userPrincipalName or object id) and app (an application id)');
  if (request.tenant !== undefined && !isGuid(request.tenant)) throw new InvalidTokenRequest(`invalid tenant '${request.tenant}': expected a GUID`);
  if (request.app !== undefined && !isGuid(request.app)) {
    throw new InvalidTokenRequest(`invalid app '${request.app}': expected a GUID (the application's client id)`);
  }
  const { lifetime } = request;
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new InvalidTokenRequest(`invalid lifetime '${lifetime}': a whole number of seconds from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`);
  }
}

/** Signs a token for `request`, provisioning the user in `directory` when it does not exist yet. */
export async function mintDevToken(issuer: DevIssuer, directory: DirectoryRepository, request: DevTokenRequest): Promise<string> {
  checkDevTokenRequest(request);
  if (request.user) {
    const user = await resolveUser(directory, request.user, request.tenant, request.name);
    return issuer.sign(delegatedClaims(user, request.scopes ?? DEFAULT_DELEGATED_SCOPES), request.audience, request.lifetime);
  }
  const tenantId = normalizeObjectId(request.tenant ?? DEV_TENANT_ID);
  const appId = normalizeObjectId(request.app!);
  return issuer.sign(applicationClaims(tenantId, appId, request.roles ?? DEFAULT_APPLICATION_ROLES), request.audience, request.lifetime);
}
