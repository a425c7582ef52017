// Claims of the token service's tokens, shaped like Entra's v2 tokens: access tokens for Graph
// (app-only with `idtyp` "app" and `roles`; delegated with `scp`) and id tokens for the client.
import type { DirectoryUser } from '../../domain/directory.js';
import { derivedGuid } from '../dev-token-claims.js';

/** How the client proved itself: 0 public client, 1 secret, 2 certificate (Entra's azpacr). */
export type ClientAuthentication = '0' | '1' | '2';

export function appAccessClaims(tenantId: string, appId: string, roles: string[], azpacr: ClientAuthentication) {
  const servicePrincipalId = derivedGuid('sp', tenantId, appId);
  return { ver: '2.0', idtyp: 'app', tid: tenantId, oid: servicePrincipalId, sub: servicePrincipalId, azp: appId, azpacr, roles };
}

export function delegatedAccessClaims(user: DirectoryUser, appId: string, scopes: string[], azpacr: ClientAuthentication) {
  return {
    ver: '2.0',
    idtyp: 'user',
    tid: user.tenantId,
    oid: user.id,
    sub: derivedGuid('sub', user.tenantId, user.id, appId),
    azp: appId,
    azpacr,
    scp: scopes.join(' '),
    name: user.displayName ?? undefined,
    preferred_username: user.userPrincipalName ?? undefined,
  };
}

/** The id token's claims (its audience is the client id). */
export function idTokenClaims(user: DirectoryUser, appId: string, nonce: string | undefined) {
  return {
    ver: '2.0',
    tid: user.tenantId,
    oid: user.id,
    sub: derivedGuid('sub', user.tenantId, user.id, appId),
    name: user.displayName ?? undefined,
    preferred_username: user.userPrincipalName ?? undefined,
    nonce,
  };
}

/** MSAL's client_info: the account's home ids, base64url JSON. */
export const clientInfo = (user: DirectoryUser) => Buffer.from(JSON.stringify({ uid: user.id, utid: user.tenantId })).toString('base64url');
