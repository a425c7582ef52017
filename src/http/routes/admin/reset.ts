// POST /__admin/reset: a clean server between tests. `{}` wipes every meeting, fault rule, limit
// counter and the clock setting (and, through `resets`, each process's request log);
// `{"tenant":…}` only that tenant's meetings and their attendance; `{"directory":true}` also the
// whole directory (tenants, users, apps and their credentials, application and named access
// policies) and the dev issuer's signing key with its redeemed sign-in codes. Answers what was reset.
import type { FastifyInstance } from 'fastify';
import { isGuid, normalizeObjectId } from '../../../domain/directory.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

const resetSchema = {
  type: 'object',
  properties: { tenant: { type: 'string' }, directory: { type: 'boolean' } },
  additionalProperties: false,
};

interface ResetBody {
  tenant?: string;
  directory?: boolean;
}

export function registerResetRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { store, control } = deps;
  registerResource(admin, '/reset', {
    POST: {
      schema: { body: resetSchema },
      // No body at all means the same as `{}`.
      preValidation: async (request) => {
        request.body ??= {};
      },
      handler: async (request) => {
        const { tenant, directory = false } = request.body as ResetBody;
        if (tenant === undefined) {
          const { meetingsDeleted } = await store.control.reset({ directory });
          await control.changed();
          return { scope: 'all', directory, meetingsDeleted };
        }
        if (!isGuid(tenant)) throw graphErrors.badRequest(`Invalid value for 'tenant': '${tenant}' is not a tenant id (a GUID).`);
        if (directory) {
          throw graphErrors.badRequest(
            "'directory' resets the whole directory and the signing key, so it does not go with 'tenant'. To replace one tenant's directory, import a snapshot.",
          );
        }
        const { meetingsDeleted } = await store.control.reset({ tenantId: tenant });
        await control.changed();
        return { scope: 'tenant', tenant: normalizeObjectId(tenant), meetingsDeleted };
      },
    },
  });
}
