// The Entra-compatible token service (--auth dev), on Entra's paths:
//   GET  /{tenant}/v2.0/.well-known/openid-configuration
//   GET  /{tenant}/discovery/v2.0/keys
//   POST /{tenant}/oauth2/v2.0/token        (form-encoded; Entra's error bodies)
//   GET  /{tenant}/oauth2/v2.0/authorize    (the sign-in page; POST is the page's form)
// Registered as one encapsulated plugin: its form parser and error shape stay out of the Graph API.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DevIssuer } from '../../../auth/dev-issuer.js';
import { EntraError, entraErrors } from '../../../auth/entra/errors.js';
import { GrantTokens } from '../../../auth/entra/grant-tokens.js';
import { clientOrigin } from '../../../auth/entra/issuer.js';
import { resolveTenant } from '../../../auth/entra/tenant.js';
import { TokenService } from '../../../auth/entra/token-service.js';
import { DEV_ISSUER } from '../../../auth/dev-issuer.js';
import type { Clock } from '../../../domain/clock.js';
import type { Store } from '../../../store/store.js';
import { clientRequestIdOf, GraphError } from '../../graph-errors.js';
import { AdminRateLimit } from '../admin/admin-rate-limit.js';
import { entraDiscoveryDocument } from './discovery.js';
import { registerFormBody } from './form-body.js';
import { registerSignInRoutes } from './sign-in.js';

export interface EntraDeps {
  store: Store;
  issuer: DevIssuer;
  /** The audience of access tokens for Graph (the first --audience). */
  audience: string;
  /** --public-url: fixes the origin in issuers and endpoints; else the one each client used. */
  publicUrl: string | undefined;
  /** The server's virtual clock (/__admin/clock): codes and refresh tokens expire by it. */
  clock: Clock;
}

interface TenantParams {
  tenant: string;
}

/** Token endpoint budget per client id (or address), and for refused credentials per address. */
const CALLS_PER_SECOND = 50;
const BURST = 200;
const FAILURES_PER_MINUTE = 60;
/** What AdminRateLimit.refuse hands back while the address is within its failure budget. */
const REFUSED = new GraphError(400, 'refused', 'refused');

export function sendEntraError(request: FastifyRequest, reply: FastifyReply, error: EntraError) {
  return reply.code(error.status).headers(error.headers).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(error.body(clientRequestIdOf(request)));
}

/** The HTTP basic form of client_secret_basic, when the body does not carry the client itself. */
function basicCredentials(request: FastifyRequest): Record<string, string> {
  const header = request.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return {};
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return {};
  try {
    return { client_id: decodeURIComponent(decoded.slice(0, colon)), client_secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    throw entraErrors.invalidParameter('Authorization', 'client_secret_basic credentials must be form-encoded');
  }
}

export async function registerEntraRoutes(app: FastifyInstance, deps: EntraDeps) {
  const grants = new GrantTokens(deps.issuer, deps.store, DEV_ISSUER, deps.clock);
  const service = new TokenService({ store: deps.store, issuer: deps.issuer, grants, audience: deps.audience });
  const limit = new AdminRateLimit({ callsPerSecond: CALLS_PER_SECOND, burst: BURST, failuresPerMinute: FAILURES_PER_MINUTE });
  const origin = (request: FastifyRequest) => clientOrigin(deps.publicUrl, request);

  await app.register(async (scope) => {
    registerFormBody(scope);
    scope.setErrorHandler((error, request, reply) => {
      if (error instanceof EntraError) return sendEntraError(request, reply, error);
      const status = (error as { statusCode?: number }).statusCode;
      // A body that is not a form (JSON, too large, unreadable): Entra finds no grant_type in it.
      if (status && status < 500) return sendEntraError(request, reply, entraErrors.missingParameter('grant_type'));
      throw error;
    });

    scope.get<{ Params: TenantParams }>('/:tenant/v2.0/.well-known/openid-configuration', async (request, reply) => {
      const tenant = await resolveTenant(deps.store.directoryAdmin, request.params.tenant);
      reply.header('cache-control', 'max-age=86400, private');
      return entraDiscoveryDocument(origin(request), tenant.segment, tenant.tenantId);
    });

    scope.get<{ Params: TenantParams }>('/:tenant/discovery/v2.0/keys', async (request) => {
      await resolveTenant(deps.store.directoryAdmin, request.params.tenant);
      return deps.issuer.jwks;
    });

    scope.post<{ Params: TenantParams; Body: Record<string, string> | undefined }>('/:tenant/oauth2/v2.0/token', async (request, reply) => {
      // Entra reads form bodies only: a JSON body (which the server's own parser takes) holds no grant_type.
      const form = request.headers['content-type']?.toLowerCase().startsWith('application/x-www-form-urlencoded');
      const params = { ...basicCredentials(request), ...(form ? (request.body ?? {}) : {}) };
      try {
        limit.admit(params.client_id ?? request.ip);
      } catch (error) {
        throw entraErrors.tooManyRequests((error as GraphError).headers['retry-after'] ?? '1');
      }
      try {
        const answer = await service.token({ origin: origin(request), tenantSegment: request.params.tenant, params });
        return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(answer);
      } catch (error) {
        // Refused credentials count against the caller's address: guessing secrets or passwords is slow.
        if (error instanceof EntraError && (error.error === 'invalid_client' || error.error === 'invalid_grant')) {
          const refusal = limit.refuse(request.ip, REFUSED);
          if (refusal !== REFUSED) throw entraErrors.tooManyRequests(refusal.headers['retry-after'] ?? '1');
        }
        throw error;
      }
    });

    registerSignInRoutes(scope, { store: deps.store, grants, origin });
  });
}
