// POST /__admin/tokens: a dev-issuer token for a user or an app, exactly as `graph-meetings token`
// mints it, for test helpers that talk to the server only over HTTP.
import type { FastifyInstance } from 'fastify';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, InvalidTokenRequest, mintDevToken } from '../../../auth/dev-tokens.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

const names = { anyOf: [{ type: 'array', items: { type: 'string', minLength: 1 } }, { type: 'string' }] };
const tokenRequestSchema = {
  type: 'object',
  properties: {
    user: { type: 'string', minLength: 1 },
    app: { type: 'string' },
    tenant: { type: 'string' },
    name: { type: 'string' },
    scopes: names,
    roles: names,
    lifetime: { type: 'integer' },
  },
  additionalProperties: false,
};

interface TokenRequestBody {
  user?: string;
  app?: string;
  tenant?: string;
  name?: string;
  scopes?: string[] | string;
  roles?: string[] | string;
  lifetime?: number;
}

/** Scopes and roles as a list, or as one string separated by spaces or commas (as in `scp`). */
const nameList = (value: string[] | string | undefined) => (typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value);

export function registerTokenRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { devIssuer, audience, store } = deps;
  registerResource(admin, '/tokens', {
    POST: {
      schema: { body: tokenRequestSchema },
      handler: async (request) => {
        if (!devIssuer) {
          throw graphErrors.badRequest(
            'This server validates tokens from an external issuer (--auth oidc), so it mints none: get tokens from that issuer. /__admin/tokens works in --auth dev mode.',
          );
        }
        const body = request.body as TokenRequestBody;
        const lifetime = body.lifetime ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
        try {
          const accessToken = await mintDevToken(devIssuer, store, {
            ...body,
            scopes: nameList(body.scopes),
            roles: nameList(body.roles),
            audience,
            lifetime,
          });
          return { token_type: 'Bearer', access_token: accessToken, expires_in: lifetime };
        } catch (error) {
          if (error instanceof InvalidTokenRequest) throw graphErrors.badRequest(`${error.message}.`);
          throw error;
        }
      },
    },
  });
}
