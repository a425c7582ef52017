// Bearer token → Principal. One path for every auth mode: only where the keys come from differs.
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AuthenticationFailed } from './errors.js';
import { type Principal, principalFromClaims } from './principal.js';

/** Asymmetric algorithms only: never `none`, never HMAC (which a public key could forge). */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const CLOCK_SKEW_SECONDS = 30;
/** Verified tokens kept at most: by count, and by the characters of their texts (the keys). */
export const TOKEN_CACHE_ENTRIES = 10_000;
export const TOKEN_CACHE_CHARS = 8 * 1024 * 1024;
/** Tokens longer than this are verified every time rather than cached (real ones are 1–3 KB). */
const CACHEABLE_TOKEN_CHARS = 16 * 1024;

export interface VerifierOptions {
  issuer: string;
  audiences: string[];
  keys: JWTVerifyGetKey;
  now?: () => number;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function failure(error: unknown): AuthenticationFailed {
  if (error instanceof AuthenticationFailed) return error;
  if (error instanceof errors.JWTExpired) return new AuthenticationFailed('Lifetime validation failed, the token is expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new AuthenticationFailed('Lifetime validation failed, the token is not yet valid.');
    if (error.claim === 'aud') return new AuthenticationFailed('Access token validation failure. Invalid audience.');
    if (error.claim === 'iss') return new AuthenticationFailed('Access token validation failure. Invalid issuer.');
  }
  return new AuthenticationFailed('Access token validation failure.');
}

export class TokenVerifier {
  // Verified tokens, reused until they expire: signature checks are the costliest step of a request.
  private readonly cache = new Map<string, { principal: Principal; expiresAtMs: number }>();
  private cachedChars = 0;
  private readonly now: () => number;
  private keys: JWTVerifyGetKey;
  /** Moves with every key change, so a verification that began with old keys is not cached after it. */
  private keyGeneration = 0;

  constructor(private readonly options: VerifierOptions) {
    this.now = options.now ?? Date.now;
    this.keys = options.keys;
  }

  /** The issuer's keys changed (the dev issuer's after a directory reset): tokens verified before are checked again. */
  replaceKeys(keys: JWTVerifyGetKey) {
    this.keys = keys;
    this.keyGeneration++;
    this.cache.clear();
    this.cachedChars = 0;
  }

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw new AuthenticationFailed('Access token is empty.');
    const cached = this.cache.get(token);
    if (cached) {
      if (cached.expiresAtMs + CLOCK_SKEW_SECONDS * 1000 > this.now()) return cached.principal;
      this.forget(token);
    }
    if (!JWS_COMPACT.test(token)) throw new AuthenticationFailed('CompactToken parsing failed with error code: 80049217');
    try {
      const generation = this.keyGeneration;
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audiences,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      });
      const principal = principalFromClaims(payload);
      if (generation === this.keyGeneration) this.remember(token, principal, payload.exp! * 1000);
      return principal;
    } catch (error) {
      throw failure(error);
    }
  }

  private remember(token: string, principal: Principal, expiresAtMs: number) {
    if (token.length > CACHEABLE_TOKEN_CHARS) return;
    // Drop the oldest entries first; a Map iterates in insertion order.
    while (this.cache.size >= TOKEN_CACHE_ENTRIES || (this.cache.size > 0 && this.cachedChars + token.length > TOKEN_CACHE_CHARS)) {
      this.forget(this.cache.keys().next().value!);
    }
    this.cache.set(token, { principal, expiresAtMs });
    this.cachedChars += token.length;
  }

  private forget(token: string) {
    if (this.cache.delete(token)) this.cachedChars -= token.length;
  }
}
