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
  /** The public half of the current signing key. */
  readonly jwks: JSONWebKeySet;
  /** Verification keys for the current signing key. */
  readonly keys: JWTVerifyGetKey;
  sign(claims: Record<string, unknown>, audience: string, lifetimeSeconds: number): Promise<string>;
  /**
   * As sign, with another `iss` (the Entra-compatible token service's per-tenant issuers) and,
   * optionally, the issue time (seconds since the epoch; now by default).
   */
  signAs(issuer: string, claims: Record<string, unknown>, audience: string, lifetimeSeconds: number, issuedAt?: number): Promise<string>;
  /**
   * Reads the signing key from the store again (a directory reset deletes it; the first process to
   * need one after that stores a new one for all). True when the key changed.
   */
  reload(): Promise<boolean>;
}

interface SigningKey {
  /** The stored private JWK, as text. */
  stored: string;
  kid: string;
  jwks: JSONWebKeySet;
  keys: JWTVerifyGetKey;
  privateKey: Awaited<ReturnType<typeof importJWK>>;
}

async function newSigningKey(): Promise<string> {
  const { privateKey } = await generateKeyPair(ALGORITHM, { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return JSON.stringify({ ...jwk, kid: randomUUID(), alg: ALGORITHM, use: 'sig' });
}

const storedSigningKey = (store: Store) => store.getOrCreateSetting(SETTING, newSigningKey);

async function signingKey(stored: string): Promise<SigningKey> {
  const privateJwk = JSON.parse(stored) as JWK;
  const { kty, n, e, kid, alg, use } = privateJwk;
  const jwks: JSONWebKeySet = { keys: [{ kty, n, e, kid, alg, use }] };
  return { stored, kid: kid!, jwks, keys: createLocalJWKSet(jwks), privateKey: await importJWK(privateJwk, ALGORITHM) };
}

export async function loadDevIssuer(store: Store): Promise<DevIssuer> {
  let current = await signingKey(await storedSigningKey(store));
  async function signAs(issuer: string, claims: Record<string, unknown>, audience: string, lifetimeSeconds: number, issuedAt?: number) {
    const { kid, privateKey } = current;
    const now = issuedAt ?? Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALGORITHM, kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetimeSeconds)
      .sign(privateKey);
  }
  return {
    issuer: DEV_ISSUER,
    get jwks() {
      return current.jwks;
    },
    get keys() {
      return current.keys;
    },
    sign(claims, audience, lifetimeSeconds) {
      return signAs(DEV_ISSUER, claims, audience, lifetimeSeconds);
    },
    signAs,
    async reload() {
      const stored = await storedSigningKey(store);
      if (stored === current.stored) return false;
      current = await signingKey(stored);
      return true;
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
