// /__admin/snapshot: one tenant, whole (directory and meetings), out as a document (GET ?tenant=)
// and back in (POST), replacing the tenant. The document's format: control/snapshot.ts.
import type { FastifyInstance } from 'fastify';
import { MeetingIdTaken } from '../../../control/ports.js';
import { InvalidSnapshot, parseSnapshotDocument, snapshotDocument, snapshotSummary } from '../../../control/snapshot.js';
import { isGuid } from '../../../domain/directory.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

/** A tenant's meetings take ~3 KB each: the server's --max-body would stop a snapshot at a few hundred. */
export const SNAPSHOT_MAX_BYTES = 256 * 1024 * 1024;

/** The one query parameter, `tenant`, as a GUID. */
function tenantParameter(query: Record<string, unknown>): string {
  const unknown = Object.keys(query).find((name) => name !== 'tenant');
  if (unknown !== undefined) throw graphErrors.badRequest(`Unknown query parameter '${unknown}': the only one is 'tenant'.`);
  const tenant = query.tenant;
  if (tenant === undefined || tenant === '') {
    throw graphErrors.badRequest("The 'tenant' query parameter is required: GET /__admin/snapshot?tenant=<tenant id>.");
  }
  if (typeof tenant !== 'string' || !isGuid(tenant)) {
    throw graphErrors.badRequest(`Invalid value for 'tenant': ${JSON.stringify(tenant)} is not a tenant id (a GUID).`);
  }
  return tenant;
}

export function registerSnapshotRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { store, clock } = deps;
  registerResource(admin, '/snapshot', {
    GET: {
      handler: async (request) => {
        const tenant = tenantParameter(request.query as Record<string, unknown>);
        // Credentials included, read in the same transaction as the rest of the tenant.
        const snapshot = await store.control.exportTenant(tenant);
        if (!snapshot) throw graphErrors.notFound(`Tenant ${tenant} has no directory entry and no meetings.`);
        return snapshotDocument(snapshot, new Date(clock.now()).toISOString());
      },
    },
    POST: {
      bodyLimit: SNAPSHOT_MAX_BYTES,
      // The server-wide error mapping would name --max-body as the limit.
      errorHandler: (error) => {
        if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') throw graphErrors.payloadTooLarge(SNAPSHOT_MAX_BYTES);
        throw error;
      },
      handler: async (request) => {
        let snapshot;
        try {
          snapshot = parseSnapshotDocument(request.body);
        } catch (error) {
          if (error instanceof InvalidSnapshot) throw graphErrors.badRequest(error.message);
          throw error;
        }
        try {
          // One transaction, credentials included: a failure leaves the tenant as it was.
          await store.control.importTenant(snapshot);
          await deps.control.changed();
        } catch (error) {
          if (error instanceof MeetingIdTaken) {
            throw graphErrors.conflict(`${error.message} Meeting ids are unique across tenants: reset tenant ${error.tenantId} first, or import into another server.`);
          }
          throw error;
        }
        return snapshotSummary(snapshot);
      },
    },
  });
}
