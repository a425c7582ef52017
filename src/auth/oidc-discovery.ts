// --auth oidc: the issuer's discovery document names its JWKS; keys are fetched and cached by jose,
// and a token with an unknown `kid` triggers at most one refetch per cooldown.
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';

const DISCOVERY_TIMEOUT_MS = 10_000;

export class IssuerUnavailable extends Error {}

export interface OidcKeys {
  issuer: string;
  jwksUri: string;
  keys: JWTVerifyGetKey;
}

export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discoverIssuer(issuer: string): Promise<OidcKeys> {
  const url = discoveryUrl(issuer);
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (error) {
    throw new IssuerUnavailable(`cannot read the issuer's discovery document ${url}: ${(error as Error).message}`);
  }
  if (typeof document.jwks_uri !== 'string') {
    throw new IssuerUnavailable(`the discovery document ${url} has no jwks_uri`);
  }
  if (typeof document.issuer === 'string' && document.issuer !== issuer) {
    throw new IssuerUnavailable(`the discovery document ${url} names issuer '${document.issuer}', not '${issuer}'`);
  }
  const keys = createRemoteJWKSet(new URL(document.jwks_uri), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 5_000,
  });
  return { issuer, jwksUri: document.jwks_uri, keys };
}
