// Claims of the tokens the dev issuer mints, shaped like Graph's v1.0 access tokens (protocol §10).
import { createHash } from 'node:crypto';
import type { DirectoryUser } from '../domain/directory.js';
import { DEV_CLIENT_APP_ID } from './dev-issuer.js';

export const DEFAULT_DELEGATED_SCOPES = ['OnlineMeetings.ReadWrite', 'User.Read'];
export const DEFAULT_APPLICATION_ROLES = ['OnlineMeetings.ReadWrite.All'];

/** A stable GUID-shaped value derived from text (object ids for provisioned users and apps). */
export function derivedGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function delegatedClaims(user: DirectoryUser, scopes: string[]) {
  return {
    ver: '1.0',
    idtyp: 'user',
    tid: user.tenantId,
    oid: user.id,
    sub: derivedGuid('sub', user.tenantId, user.id),
    upn: user.userPrincipalName ?? undefined,
    unique_name: user.userPrincipalName ?? undefined,
    name: user.displayName ?? undefined,
    appid: DEV_CLIENT_APP_ID,
    app_displayname: 'graph-meetings dev client',
    appidacr: '0',
    scp: scopes.join(' '),
  };
}

export function applicationClaims(tenantId: string, appId: string, roles: string[]) {
  const servicePrincipalId = derivedGuid('sp', tenantId, appId);
  return {
    ver: '1.0',
    idtyp: 'app',
    tid: tenantId,
    oid: servicePrincipalId,
    sub: servicePrincipalId,
    appid: appId,
    appidacr: '1',
    roles,
  };
}
