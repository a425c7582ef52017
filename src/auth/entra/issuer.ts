// Issuers of the Entra-compatible token service: `<origin the client used>/{tenant}/v2.0`, like
// login.microsoftonline.com's. The origin is the one the client reached us at (or --public-url), so
// MSAL's authority, the discovery document and the tokens' `iss` all agree whichever name it used.
import { DEV_ISSUER } from '../dev-issuer.js';
import type { IssuerPolicy } from '../issuer-policy.js';

const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;
const ENTRA_ISSUER = /^(https?:\/\/[^/]+)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/v2\.0$/;

/** The origin for URLs in answers: --public-url, else the scheme and Host the client used. */
export function clientOrigin(configured: string | undefined, request: { protocol: string; host: string }): string {
  if (configured) return configured.replace(/\/+$/, '');
  // A Host header that is not a plain host[:port] is not echoed into URLs.
  return `${request.protocol}://${HOST.test(request.host) ? request.host : 'localhost'}`;
}

export const entraIssuer = (origin: string, tenantId: string) => `${origin}/${tenantId}/v2.0`;

/**
 * The dev issuer's own `iss`, or the token service's `<origin>/<tid>/v2.0` for the token's own tenant.
 * Any origin is accepted unless --public-url fixes it: only this server holds the signing key, and a
 * client may reach it by several names (localhost, 127.0.0.1).
 */
export function devIssuerPolicy(publicUrl: string | undefined): IssuerPolicy {
  const fixedOrigin = publicUrl?.replace(/\/+$/, '');
  return {
    issuers: [DEV_ISSUER, entraIssuer(fixedOrigin ?? '<this server>', '{tenantid}')],
    accepts(iss, tenantId) {
      if (iss === DEV_ISSUER) return true;
      if (typeof iss !== 'string' || typeof tenantId !== 'string') return false;
      const match = ENTRA_ISSUER.exec(iss);
      if (!match || match[2] !== tenantId.toLowerCase()) return false;
      return fixedOrigin === undefined || match[1] === fixedOrigin;
    },
  };
}
