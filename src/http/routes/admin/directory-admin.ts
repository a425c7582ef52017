// /__admin/directory/…: directory administration (tenants, users, apps and their roles, named
// application access policies, import/export of the seed format). Every change is made in the
// database and moves the control version, so it holds on every process at its next request.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { certificateThumbprint, newClientSecret } from '../../../auth/credential-hash.js';
import { ConfigError } from '../../../config/config.js';
import { directoryFromJson } from '../../../config/directory-file.js';
import { isGuid, nulPointer } from '../../../domain/directory.js';
import { DirectoryEntryNotFound, TenantNotFound } from '../../../store/directory-admin.js';
import { graphErrors } from '../../graph-errors.js';
import { type HttpMethod, type MethodRoute, registerResource } from '../../resource.js';
import { propertyPath } from '../../validation-errors.js';
import type { AdminDeps } from './index.js';

const text = (max = 256) => ({ type: 'string', minLength: 1, maxLength: max, pattern: '^[^\\u0000-\\u001f]*$' });
const guid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };
const body = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: false,
});

const schemas = {
  tenant: body({ id: guid, displayName: text() }, ['id']),
  user: body({ id: guid, userPrincipalName: text(), displayName: text(), password: text(1024) }, ['userPrincipalName']),
  app: body({
    appId: guid,
    displayName: text(),
    roles: { type: 'array', items: text(), maxItems: 100 },
    redirectUris: { type: 'array', items: text(2048), maxItems: 100 },
    certificates: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 65_536 }, maxItems: 20 },
    /** false: register a public client (no secret). */
    secret: { type: 'boolean' },
  }),
  role: body({ role: text() }, ['role']),
  policy: body({ appIds: { type: 'array', items: guid, maxItems: 1000 } }, ['appIds']),
  grant: body({ user: text(), global: { const: true } }),
};

/** PostgreSQL text cannot hold U+0000: refused here, before any engine sees it, so both behave alike. */
async function refuseNul(request: FastifyRequest) {
  const at = nulPointer(request.body);
  if (at !== undefined) throw graphErrors.badRequest(`Invalid value for '${propertyPath(at) || 'body'}': must not contain U+0000 (the NUL character).`);
}

/** A directory route: every method's body is checked for U+0000 first. */
function resource(admin: FastifyInstance, url: string, methods: Partial<Record<HttpMethod, MethodRoute>>) {
  registerResource(admin, url, Object.fromEntries(Object.entries(methods).map(([method, route]) => [method, { preValidation: refuseNul, ...route }])));
}

/** Store refusals as Graph errors: unknown entries are 404s, malformed documents 400s. */
async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TenantNotFound || error instanceof DirectoryEntryNotFound) throw graphErrors.notFound(error.message);
    if (error instanceof ConfigError) throw graphErrors.badRequest(error.message);
    throw error;
  }
}

function requireGuid(value: string, what: string): string {
  if (!isGuid(value)) throw graphErrors.badRequest(`Invalid ${what} '${value.slice(0, 100)}': expected a GUID.`);
  return value.toLowerCase();
}

const notFound = (what: string) => graphErrors.notFound(`${what} was not found.`);
const created = (reply: FastifyReply, value: unknown) => reply.code(201).send(value);

export function registerDirectoryAdminRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const directory = deps.store.directoryAdmin;
  /** After a change made here: this process's copy of the control record (and what hangs on it) is current. */
  const changed = async <T>(value: T): Promise<T> => {
    await deps.control.changed();
    return value;
  };
  /** DELETE: 204 when something was removed, 404 naming `what` otherwise. */
  const removal = (what: string, remove: (request: FastifyRequest) => Promise<boolean>) => ({
    handler: async (request: FastifyRequest, reply: FastifyReply) =>
      answer(async () => {
        if (!(await remove(request))) throw notFound(what);
        await changed(undefined);
        return reply.code(204).send();
      }),
  });
  type TenantParams = { tenantId: string };
  const tenantOf = (params: unknown) => requireGuid((params as TenantParams).tenantId, 'tenant id');

  resource(admin, '/directory/export', {
    GET: {
      schema: { querystring: body({ tenant: { anyOf: [guid, { type: 'array', items: guid }] } }) },
      handler: async (request) => {
        const { tenant } = request.query as { tenant?: string | string[] };
        return directory.exportDirectory(tenant === undefined ? undefined : [tenant].flat());
      },
    },
  });
  resource(admin, '/directory/import', {
    POST: {
      handler: async (request) =>
        answer(async () => {
          const seed = directoryFromJson(request.body, 'in the request');
          await deps.store.seedDirectory(seed);
          return changed({ tenants: seed.tenants.map((t) => t.id.toLowerCase()) });
        }),
    },
  });

  resource(admin, '/directory/tenants', {
    GET: { handler: async () => ({ value: await directory.listTenants() }) },
    POST: {
      schema: { body: schemas.tenant },
      handler: async (request, reply) => {
        const { id, displayName } = request.body as { id: string; displayName?: string };
        const isNew = await directory.addTenant(id, displayName ?? null);
        return reply.code(isNew ? 201 : 200).send(await changed({ id: id.toLowerCase(), displayName: displayName ?? null }));
      },
    },
  });
  resource(admin, '/directory/tenants/:tenantId', {
    DELETE: removal('The tenant', (request) => directory.removeTenant(tenantOf(request.params))),
  });

  resource(admin, '/directory/tenants/:tenantId/users', {
    GET: { handler: async (request) => answer(async () => ({ value: await directory.listUsers(tenantOf(request.params)) })) },
    POST: {
      schema: { body: schemas.user },
      handler: async (request, reply) =>
        answer(async () => {
          const user = request.body as { id?: string; userPrincipalName: string; displayName?: string; password?: string };
          const id = user.id?.toLowerCase() ?? randomUUID();
          await directory.addUser(tenantOf(request.params), { ...user, id, displayName: user.displayName ?? null });
          // The password is never echoed.
          return created(reply, await changed({ id, userPrincipalName: user.userPrincipalName, displayName: user.displayName ?? null, hasPassword: user.password !== undefined }));
        }),
    },
  });
  resource(admin, '/directory/tenants/:tenantId/users/:user', {
    DELETE: removal('The user', (request) => directory.removeUser(tenantOf(request.params), (request.params as { user: string }).user)),
  });

  resource(admin, '/directory/tenants/:tenantId/apps', {
    GET: { handler: async (request) => answer(async () => ({ value: await directory.listApps(tenantOf(request.params)) })) },
    POST: {
      schema: { body: schemas.app },
      handler: async (request, reply) =>
        answer(async () => {
          const app = request.body as { appId?: string; displayName?: string; roles?: string[]; redirectUris?: string[]; certificates?: string[]; secret?: boolean };
          const appId = app.appId?.toLowerCase() ?? randomUUID();
          const secret = app.secret === false ? undefined : newClientSecret();
          const certificates = (app.certificates ?? []).map(checkedCertificate);
          await directory.putApp(tenantOf(request.params), {
            appId,
            displayName: app.displayName ?? null,
            roles: app.roles ?? [],
            redirectUris: app.redirectUris ?? [],
            certificates,
            secrets: secret === undefined ? [] : [{ plain: secret }],
          });
          // The secret is shown this once, as Entra does; only its hash is kept.
          return created(reply, await changed({ appId, displayName: app.displayName ?? null, ...(secret === undefined ? {} : { secret }) }));
        }),
    },
  });
  resource(admin, '/directory/tenants/:tenantId/apps/:appId', {
    DELETE: removal('The app', (request) =>
      directory.removeApp(tenantOf(request.params), requireGuid((request.params as { appId: string }).appId, 'app id')),
    ),
  });
  resource(admin, '/directory/tenants/:tenantId/apps/:appId/roles', {
    POST: {
      schema: { body: schemas.role },
      handler: async (request) =>
        answer(async () => {
          const appId = requireGuid((request.params as { appId: string }).appId, 'app id');
          return changed({ roles: await directory.setRole(tenantOf(request.params), appId, (request.body as { role: string }).role, true) });
        }),
    },
  });
  resource(admin, '/directory/tenants/:tenantId/apps/:appId/roles/:role', {
    DELETE: {
      handler: async (request) =>
        answer(async () => {
          const { appId, role } = request.params as { appId: string; role: string };
          return changed({ roles: await directory.setRole(tenantOf(request.params), requireGuid(appId, 'app id'), role, false) });
        }),
    },
  });

  resource(admin, '/directory/tenants/:tenantId/policies', {
    GET: { handler: async (request) => answer(async () => ({ value: await directory.listPolicies(tenantOf(request.params)) })) },
  });
  resource(admin, '/directory/tenants/:tenantId/policies/:name', {
    PUT: {
      schema: { body: schemas.policy },
      handler: async (request) =>
        answer(async () => {
          const name = policyName(request.params);
          const { appIds } = request.body as { appIds: string[] };
          await directory.putPolicy(tenantOf(request.params), name, appIds);
          return changed({ name, appIds: [...new Set(appIds.map((id) => id.toLowerCase()))] });
        }),
    },
    DELETE: removal('The access policy', (request) => directory.removePolicy(tenantOf(request.params), policyName(request.params))),
  });
  // Grant-CsApplicationAccessPolicy: {"user": id or UPN} or {"global": true}.
  resource(admin, '/directory/tenants/:tenantId/policies/:name/grants', {
    POST: {
      schema: { body: schemas.grant },
      handler: async (request) =>
        answer(async () => {
          const grant = request.body as { user?: string; global?: true };
          if ((grant.user === undefined) === (grant.global === undefined)) throw graphErrors.badRequest("Give either 'user' or 'global': true.");
          const grantee = await directory.grantPolicy(tenantOf(request.params), policyName(request.params), grant.user);
          return changed({ policy: policyName(request.params), ...(grant.global ? { global: true } : { user: grantee }) });
        }),
    },
  });
  // The grant to one user, or `global` for the tenant-wide one.
  resource(admin, '/directory/tenants/:tenantId/policies/:name/grants/:grantee', {
    DELETE: removal('The grant', (request) => {
      const { grantee } = request.params as { grantee: string };
      return directory.revokePolicy(tenantOf(request.params), policyName(request.params), grantee.toLowerCase() === 'global' ? undefined : grantee);
    }),
  });
}

function checkedCertificate(pem: string): string {
  try {
    certificateThumbprint(pem);
    return pem;
  } catch (error) {
    throw graphErrors.badRequest(`Each certificate must be a PEM certificate: ${(error as Error).message}.`);
  }
}

function policyName(params: unknown): string {
  const { name } = params as { name: string };
  if (name.length > 256 || /[\u0000-\u001f]/.test(name)) throw graphErrors.badRequest('Invalid access policy name.');
  return name;
}
