// Who is calling, as read from a verified token's claims (protocol §10.2–10.3).
import { AuthenticationFailed } from './errors.js';
import { normalizeObjectId } from '../domain/directory.js';

export interface DelegatedPrincipal {
  kind: 'delegated';
  tenantId: string;
  userId: string;
  userPrincipalName: string | null;
  displayName: string | null;
  appId: string | null;
  scopes: ReadonlySet<string>;
}

export interface ApplicationPrincipal {
  kind: 'application';
  tenantId: string;
  appId: string;
  roles: ReadonlySet<string>;
}

export type Principal = DelegatedPrincipal | ApplicationPrincipal;

// A claim holding U+0000 is treated as absent: no directory entry can be keyed by it, on any engine.
function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 && !value.includes('\u0000') ? value : null;
}

function lowerSet(values: Iterable<string>): ReadonlySet<string> {
  return new Set([...values].map((v) => v.toLowerCase()));
}

const invalid = () => new AuthenticationFailed('Access token validation failure.');

export function principalFromClaims(claims: Record<string, unknown>): Principal {
  const tenantId = str(claims.tid);
  if (!tenantId) throw invalid();
  const scp = str(claims.scp);
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : null;
  const idtyp = str(claims.idtyp);
  const isApp = idtyp ? idtyp === 'app' : scp === null && roles !== null;
  const appId = str(claims.appid) ?? str(claims.azp);
  if (isApp) {
    if (!appId) throw invalid();
    return { kind: 'application', tenantId: normalizeObjectId(tenantId), appId: normalizeObjectId(appId), roles: lowerSet(roles ?? []) };
  }
  const userId = str(claims.oid);
  if (!userId) throw invalid();
  return {
    kind: 'delegated',
    tenantId: normalizeObjectId(tenantId),
    userId: normalizeObjectId(userId),
    userPrincipalName: str(claims.upn) ?? str(claims.preferred_username) ?? str(claims.unique_name),
    displayName: str(claims.name),
    appId: appId ? normalizeObjectId(appId) : null,
    scopes: lowerSet((scp ?? '').split(' ').filter(Boolean)),
  };
}
