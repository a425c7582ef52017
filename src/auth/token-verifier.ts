// Bearer token → Principal. One path for every auth mode: only where the keys come from differs.
import { decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { AuthenticationFailed } from './errors.js';
import { type IssuerPolicy, issuerPolicy } from './issuer-policy.js';
import { type Principal, principalFromClaims } from './principal.js';

/** Asymmetric algorithms only: never `none`, never HMAC (which a public key could forge). */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const CLOCK_SKEW_SECONDS = 30;
/** Verified tokens kept at most: by count, and by the characters of their texts (the keys). */
export const TOKEN_CACHE_ENTRIES = 10_000;
export const TOKEN_CACHE_CHARS = 8 * 1024 * 1024;
/** Tokens longer than this are verified every time rather than cached (real ones are 1–3 KB). */
const CACHEABLE_TOKEN_CHARS = 16 * 1024;
/**
 * The cache is looked up by the token's last characters (the end of its signature) and an entry is
 * used only when its whole text equals the token: hashing a new 1–3 KB header string on every
 * request was 3% of the read path, comparing it is a memory compare.
 */
const LOOKUP_CHARS = 32;

interface CachedToken {
  token: string;
  principal: Principal;
  expiresAtMs: number;
}

const lookupKey = (token: string) => token.slice(-LOOKUP_CHARS);

export interface VerifierOptions {
  /** The one accepted `iss`, or a policy (Entra's `{tenantid}` templates). */
  issuer: string | IssuerPolicy;
  audiences: string[];
  keys: JWTVerifyGetKey;
  /** Tenants whose tokens are accepted (normalized ids); empty or absent: any tenant. */
  tenants?: readonly string[];
  now?: () => number;
}

const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Entra's tokens for Microsoft Graph itself carry a `nonce` header and are signed over its hash:
 * only Graph can verify them. Tell the caller what to do instead of a bare signature failure.
 */
function graphOnlyToken(token: string): boolean {
  try {
    return 'nonce' in decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

const GRAPH_ONLY_TOKEN =
  'Access token validation failure. The token has a nonce header: Entra issued it for Microsoft Graph, and only Graph can verify it. ' +
  'Request a token for an API of your own and accept it with --audience.';

function failure(error: unknown, token: string): AuthenticationFailed {
  if (error instanceof AuthenticationFailed) return error;
  if (error instanceof errors.JWSSignatureVerificationFailed && graphOnlyToken(token)) return new AuthenticationFailed(GRAPH_ONLY_TOKEN);
  if (error instanceof errors.JWTExpired) return new AuthenticationFailed('Lifetime validation failed, the token is expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new AuthenticationFailed('Lifetime validation failed, the token is not yet valid.');
    if (error.claim === 'aud') return new AuthenticationFailed('Access token validation failure. Invalid audience.');
    if (error.claim === 'iss') return new AuthenticationFailed('Access token validation failure. Invalid issuer.');
  }
  return new AuthenticationFailed('Access token validation failure.');
}

// The token each cached principal was verified from: one shared copy of its text, for whoever must
// keep a request's token past the request (the request log, to redact it from what it shows).
const verifiedTokens = new WeakMap<Principal, string>();

/** The cached text of the token `principal` was verified from, when the verifier keeps it. */
export function verifiedTokenOf(principal: Principal): string | undefined {
  return verifiedTokens.get(principal);
}

export class TokenVerifier {
  // Verified tokens, reused until they expire: signature checks are the costliest step of a request.
  private readonly cache = new Map<string, CachedToken>();
  private cachedChars = 0;
  private readonly now: () => number;
  private keys: JWTVerifyGetKey;
  /** Moves with every key change, so a verification that began with old keys is not cached after it. */
  private keyGeneration = 0;
  private readonly issuers: IssuerPolicy;
  private readonly tenants: ReadonlySet<string> | null;

  constructor(private readonly options: VerifierOptions) {
    this.now = options.now ?? Date.now;
    this.keys = options.keys;
    this.issuers = typeof options.issuer === 'string' ? issuerPolicy([options.issuer]) : options.issuer;
    this.tenants = options.tenants?.length ? new Set(options.tenants) : null;
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
    const key = lookupKey(token);
    const cached = this.cache.get(key);
    if (cached?.token === token) {
      if (cached.expiresAtMs + CLOCK_SKEW_SECONDS * 1000 > this.now()) return cached.principal;
      this.forget(key);
    }
    if (!JWS_COMPACT.test(token)) throw new AuthenticationFailed('CompactToken parsing failed with error code: 80049217');
    try {
      const generation = this.keyGeneration;
      // `iss` is checked below: with a template, the accepted value depends on the token's `tid`.
      const { payload } = await jwtVerify(token, this.keys, {
        audience: this.options.audiences,
        algorithms: ALLOWED_ALGORITHMS,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      });
      if (!this.issuers.accepts(payload.iss, payload.tid)) throw new AuthenticationFailed('Access token validation failure. Invalid issuer.');
      const principal = principalFromClaims(payload);
      if (this.tenants && !this.tenants.has(principal.tenantId)) {
        throw new AuthenticationFailed(`Access token validation failure. Tokens of tenant '${principal.tenantId}' are not accepted by this server.`);
      }
      if (generation === this.keyGeneration) this.remember(key, token, principal, payload.exp! * 1000);
      return principal;
    } catch (error) {
      throw failure(error, token);
    }
  }

  private remember(key: string, token: string, principal: Principal, expiresAtMs: number) {
    if (token.length > CACHEABLE_TOKEN_CHARS) return;
    // A valid token sharing another's last characters (never seen in practice) takes its place.
    this.forget(key);
    // Drop the oldest entries first; a Map iterates in insertion order.
    while (this.cache.size >= TOKEN_CACHE_ENTRIES || (this.cache.size > 0 && this.cachedChars + token.length > TOKEN_CACHE_CHARS)) {
      this.forget(this.cache.keys().next().value!);
    }
    this.cache.set(key, { token, principal, expiresAtMs });
    verifiedTokens.set(principal, token);
    this.cachedChars += token.length;
  }

  private forget(key: string) {
    const entry = this.cache.get(key);
    if (!entry) return;
    this.cache.delete(key);
    this.cachedChars -= entry.token.length;
  }
}
