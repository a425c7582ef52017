// --auth dev: a built-in token issuer. Its signing key lives in the database (created once, shared by
// every process on that database), it publishes discovery and JWKS like any OIDC issuer, and its
// tokens are checked by the same TokenVerifier as an external issuer's.
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import type { Store } from '../store/store.js';

/** The dev issuer's `iss`. It does not depend on the server's address, so tokens survive a port change. */
export const DEV_ISSUER = 'http://graph-meetings.localhost/dev-issuer';
/** Client id the dev issuer puts in delegated tokens (the "app" the developer signs in with). */
export const DEV_CLIENT_APP_ID = '0d1e5c7a-6a8b-4f53-9c1e-3a2b7d6e8f90';
export const DEV_TENANT_ID = 'c0ffee00-0b0e-4d0c-a000-000000000001';
export const DEV_ISSUER_PATH = '/dev-issuer';
const ALGORITHM = 'RS256';
const SETTING = 'dev-issuer-signing-key';

export interface DevIssuer {
  issuer: string;
  jwks: JSONWebKeySet;
  keys: JWTVerifyGetKey;
  sign(claims: Record<string, unknown>, audience: string, lifetimeSeconds: number): Promise<string>;
}

async function newSigningKey(): Promise<string> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return JSON.stringify({ ...jwk, kid: randomUUID(), alg: ALGORITHM, use: 'sig' });
}

export async function loadDevIssuer(store: Store): Promise<DevIssuer> {
  const privateJwk = JSON.parse(await store.getOrCreateSetting(SETTING, newSigningKey)) as JWK;
  const { kty, n, e, kid, alg, use } = privateJwk;
  const jwks: JSONWebKeySet = { keys: [{ kty, n, e, kid, alg, use }] };
  const privateKey = await importJWK(privateJwk, ALGORITHM);
  return {
    issuer: DEV_ISSUER,
    jwks,
    keys: createLocalJWKSet(jwks),
    async sign(claims, audience, lifetimeSeconds) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: ALGORITHM, kid: kid!, typ: 'JWT' })
        .setIssuer(DEV_ISSUER)
        .setAudience(audience)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + lifetimeSeconds)
        .sign(privateKey);
    },
  };
}

/** OpenID discovery document for the dev issuer, as served under {baseUrl}/dev-issuer. */
export function devDiscoveryDocument(baseUrl: string) {
  return {
    issuer: DEV_ISSUER,
    jwks_uri: `${baseUrl}${DEV_ISSUER_PATH}/discovery/keys`,
    token_endpoint_auth_methods_supported: ['none'],
    response_types_supported: ['token'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: [ALGORITHM],
    claims_supported: ['aud', 'iss', 'iat', 'nbf', 'exp', 'tid', 'oid', 'sub', 'scp', 'roles', 'idtyp', 'upn', 'name', 'appid'],
  };
}
