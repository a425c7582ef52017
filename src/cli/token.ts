// `graph-meetings token`: mint a dev-issuer token for a user or an application, printing only the token.
import { applicationClaims, DEFAULT_APPLICATION_ROLES, DEFAULT_DELEGATED_SCOPES, delegatedClaims, derivedGuid } from '../auth/dev-token-claims.js';
import { DEV_TENANT_ID, loadDevIssuer } from '../auth/dev-issuer.js';
import { ConfigError, DEFAULT_CONFIG } from '../config/config.js';
import { loadDirectoryFile } from '../config/directory-file.js';
import { type DirectoryUser, isGuid, normalizeObjectId } from '../domain/directory.js';
import type { DirectoryRepository } from '../domain/ports.js';
import { openStore } from '../store/open-store.js';

export interface TokenFlags {
  db: string;
  user?: string;
  app?: string;
  tenant?: string;
  name?: string;
  scopes?: string[];
  roles?: string[];
  audience?: string[];
  lifetime: number;
  directory?: string;
}

/** The user named by --user: from the directory when known there, otherwise provisioned now. */
async function resolveUser(directory: DirectoryRepository, ref: string, tenant: string | undefined, name?: string) {
  if (tenant) {
    const known = await directory.findUser(tenant, ref);
    if (known) return known;
  } else {
    const matches = isGuid(ref) ? [] : await directory.findUsersByUpn(ref);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new ConfigError(`user ${ref} exists in several tenants (${matches.map((m) => m.tenantId).join(', ')}); pass --tenant`);
    }
  }
  const tenantId = normalizeObjectId(tenant ?? DEV_TENANT_ID);
  const user: DirectoryUser = isGuid(ref)
    ? { tenantId, id: normalizeObjectId(ref), userPrincipalName: null, displayName: name ?? null }
    : { tenantId, id: derivedGuid('user', tenantId, ref.toLowerCase()), userPrincipalName: ref, displayName: name ?? ref.split('@')[0]! };
  return directory.provisionUser(user);
}

export async function token(flags: TokenFlags): Promise<string> {
  if (!flags.user === !flags.app) throw new ConfigError('pass exactly one of --user <upn-or-id> and --app <appId>');
  if (flags.tenant && !isGuid(flags.tenant)) throw new ConfigError(`invalid --tenant '${flags.tenant}': expected a GUID`);
  if (flags.app && !isGuid(flags.app)) throw new ConfigError(`invalid --app '${flags.app}': expected a GUID (the application's client id)`);
  const store = await openStore(flags.db);
  try {
    if (flags.directory) await store.seedDirectory(await loadDirectoryFile(flags.directory));
    const issuer = await loadDevIssuer(store);
    const audience = flags.audience?.[0] ?? DEFAULT_CONFIG.audiences[0]!;
    if (flags.user) {
      const user = await resolveUser(store, flags.user, flags.tenant, flags.name);
      return issuer.sign(delegatedClaims(user, flags.scopes ?? DEFAULT_DELEGATED_SCOPES), audience, flags.lifetime);
    }
    const tenantId = normalizeObjectId(flags.tenant ?? DEV_TENANT_ID);
    const appId = normalizeObjectId(flags.app!);
    return issuer.sign(applicationClaims(tenantId, appId, flags.roles ?? DEFAULT_APPLICATION_ROLES), audience, flags.lifetime);
  } finally {
    await store.close();
  }
}
