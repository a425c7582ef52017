// GET /__admin/directory: tenants, users, apps and access policies, for the web console. The apps
// are those the access policies name, plus those seen in this process's request log.
import type { FastifyInstance } from 'fastify';
import type { TenantAccessPolicy } from '../../../control/browse-ports.js';
import type { LoggedRequest } from '../../../control/request-log.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

interface App {
  appId: string;
  /** Tenants where a policy grants it or where it called. */
  tenants: string[];
  /** How many access policies name it. */
  accessPolicies: number;
  /** Its requests in this process's request log. */
  requestsSeen: number;
  lastSeen: string | null;
}

function appsOf(policies: TenantAccessPolicy[], requests: LoggedRequest[]): App[] {
  const apps = new Map<string, App & { tenantSet: Set<string> }>();
  const app = (appId: string) => {
    const id = appId.toLowerCase();
    let entry = apps.get(id);
    if (!entry) {
      entry = { appId: id, tenants: [], accessPolicies: 0, requestsSeen: 0, lastSeen: null, tenantSet: new Set() };
      apps.set(id, entry);
    }
    return entry;
  };
  for (const policy of policies) {
    const entry = app(policy.appId);
    entry.accessPolicies++;
    entry.tenantSet.add(policy.tenantId);
  }
  // The log is newest first: the first entry of an app is its last request.
  for (const request of requests) {
    if (!request.app) continue;
    const entry = app(request.app);
    entry.requestsSeen++;
    entry.lastSeen ??= new Date(request.arrivedAt).toISOString();
    if (request.tenant) entry.tenantSet.add(request.tenant.toLowerCase());
  }
  return [...apps.values()]
    .map(({ tenantSet, ...entry }) => ({ ...entry, tenants: [...tenantSet].sort() }))
    .sort((a, b) => (a.appId < b.appId ? -1 : 1));
}

export function registerDirectoryRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { store, requestLog } = deps;
  registerResource(admin, '/directory', {
    GET: {
      handler: async (request) => {
        const unknown = Object.keys(request.query as Record<string, unknown>)[0];
        if (unknown !== undefined) throw graphErrors.badRequest(`Unknown query parameter '${unknown}'; /__admin/directory takes none.`);
        const listing = await store.browse.directory();
        return {
          tenants: listing.tenants,
          users: listing.users,
          apps: appsOf(listing.accessPolicies, requestLog.find()),
          accessPolicies: listing.accessPolicies,
          truncated: listing.truncated,
        };
      },
    },
  });
}
