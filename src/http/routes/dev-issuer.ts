// The built-in issuer's public face: OpenID discovery and its JWKS (no token needed).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEV_ISSUER_PATH, type DevIssuer, devDiscoveryDocument } from '../../auth/dev-issuer.js';

export function registerDevIssuerRoutes(app: FastifyInstance, issuer: DevIssuer, publicUrl: (r: FastifyRequest) => string) {
  app.get(`${DEV_ISSUER_PATH}/.well-known/openid-configuration`, async (request) =>
    devDiscoveryDocument(publicUrl(request)),
  );
  app.get(`${DEV_ISSUER_PATH}/discovery/keys`, async () => issuer.jwks);
}
