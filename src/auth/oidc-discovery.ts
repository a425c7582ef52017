// --auth oidc: the issuer's discovery document names its JWKS and its issuer (for Entra's common and
// organizations endpoints a `{tenantid}` template, see issuer-policy.ts). Keys are fetched at start
// and refetched for an unknown `kid` at most once per minute (remote-key-set.ts).
import type { JWTVerifyGetKey } from 'jose';
import { documentIssuerMatches, entraV1Issuer, type IssuerPolicy, issuerPolicy, TENANT_PLACEHOLDER } from './issuer-policy.js';
import { RemoteKeySet } from './remote-key-set.js';

const DISCOVERY_TIMEOUT_MS = 10_000;

export class IssuerUnavailable extends Error {}

export interface OidcKeys {
  /** The configured issuer, for messages. */
  issuer: string;
  /** The `iss` values accepted: the document's issuer (maybe a template), and Entra's v1 issuer. */
  issuers: IssuerPolicy;
  jwksUri: string;
  keys: JWTVerifyGetKey;
  keySet: RemoteKeySet;
}

export interface DiscoveryOptions {
  /** Accept Entra's v1 issuer for an issuer in Entra's v2 form (default true). */
  acceptV1Tokens?: boolean;
  /** Time for the JWKS refetch interval (tests move it). */
  now?: () => number;
}

/** An issuer given as a template (…/{tenantid}/v2.0) is discovered through Entra's common endpoint. */
function discoverableIssuer(issuer: string): string {
  return issuer.replaceAll(TENANT_PLACEHOLDER, 'common');
}

export function discoveryUrl(issuer: string): string {
  return `${discoverableIssuer(issuer).replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

export async function discoverIssuer(issuer: string, options: DiscoveryOptions = {}): Promise<OidcKeys> {
  const url = discoveryUrl(issuer);
  let document: { issuer?: unknown; jwks_uri?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (error) {
    throw new IssuerUnavailable(`cannot read the issuer's discovery document ${url}: ${(error as Error).message}`);
  }
  if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) {
    throw new IssuerUnavailable(`the discovery document ${url} has no jwks_uri`);
  }
  const documentIssuer = typeof document.issuer === 'string' ? document.issuer : issuer;
  if (!documentIssuerMatches(discoverableIssuer(issuer), documentIssuer) && documentIssuer !== issuer) {
    throw new IssuerUnavailable(`the discovery document ${url} names issuer '${documentIssuer}', not '${issuer}'`);
  }
  const v1 = options.acceptV1Tokens === false ? undefined : entraV1Issuer(documentIssuer);
  const keySet = new RemoteKeySet(new URL(document.jwks_uri), options.now);
  try {
    await keySet.load();
  } catch (error) {
    throw new IssuerUnavailable((error as Error).message);
  }
  return {
    issuer,
    issuers: issuerPolicy(v1 ? [documentIssuer, v1] : [documentIssuer]),
    jwksUri: document.jwks_uri,
    keys: keySet.getKey,
    keySet,
  };
}
