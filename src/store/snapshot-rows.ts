// Turning a tenant's rows into a snapshot and back, shared by the SQL adapters.
import type { AccessPolicy } from '../domain/directory.js';
import type { TenantSnapshot } from '../control/ports.js';
import { type SqlWrite, tenantCredentialWrites } from './directory-admin.js';
import { GLOBAL_GRANT, meetingColumns, meetingFromRow, normalizeId } from './rows.js';

/** access_policies rows (user '*' = tenant-wide) grouped into one policy per app, in app order. */
export function policiesFromRows(rows: { user_id: string; app_id: string }[]): AccessPolicy[] {
  const byApp = new Map<string, string[]>();
  for (const row of rows) byApp.set(row.app_id, [...(byApp.get(row.app_id) ?? []), row.user_id]);
  const policies: AccessPolicy[] = [];
  for (const [appId, users] of byApp) {
    if (users.includes(GLOBAL_GRANT)) policies.push({ appId, users: 'global' });
    const scoped = users.filter((u) => u !== GLOBAL_GRANT);
    if (scoped.length > 0) policies.push({ appId, users: scoped });
  }
  return policies;
}

/** The access_policies rows of a snapshot's policies. */
export function policyRows(policies: AccessPolicy[]): { userId: string; appId: string }[] {
  return policies.flatMap((p) =>
    (p.users === 'global' ? [GLOBAL_GRANT] : p.users.map(normalizeId)).map((userId) => ({ userId, appId: normalizeId(p.appId) })),
  );
}

/** The meetings table's columns of a snapshot's meeting; its JSON text is kept as it was. */
export function snapshotMeetingColumns(tenantId: string, meeting: TenantSnapshot['meetings'][number]) {
  return meetingColumns(meetingFromRow({ tenant_id: tenantId, organizer_id: meeting.organizerId, properties: meeting.properties }));
}

/**
 * The writes of a snapshot's apps, named policies and password hashes (none in a version 1
 * document), for the import's transaction: they go after its users and before its meetings.
 */
export function snapshotCredentialWrites(tenantId: string, snapshot: TenantSnapshot): SqlWrite[] {
  return tenantCredentialWrites(tenantId, snapshot.credentials ?? { apps: [], accessPolicies: [], passwordHashes: {} });
}
