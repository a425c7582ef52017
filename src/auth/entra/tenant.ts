// The {tenant} segment of the token service's paths: a tenant GUID of the directory, or
// `common`/`organizations` for delegated flows (the user's own tenant is then used).
import { isGuid, normalizeObjectId } from '../../domain/directory.js';
import type { DirectoryAdmin } from '../../store/directory-admin.js';
import { entraErrors } from './errors.js';

export const MULTI_TENANT_SEGMENTS = new Set(['common', 'organizations']);

export interface TenantSegment {
  /** As in the path, for URLs the client compares with its authority. */
  segment: string;
  /** The tenant id; undefined for common/organizations. */
  tenantId: string | undefined;
}

export async function resolveTenant(admin: DirectoryAdmin, segment: string): Promise<TenantSegment> {
  if (MULTI_TENANT_SEGMENTS.has(segment.toLowerCase())) return { segment, tenantId: undefined };
  if (!isGuid(segment)) throw entraErrors.unknownTenant(segment);
  const tenantId = normalizeObjectId(segment);
  const known = (await admin.listTenants()).some((t) => t.id === tenantId);
  if (!known) throw entraErrors.unknownTenant(segment);
  return { segment, tenantId };
}
