// An issuer's signing keys (JWKS), fetched at start and again when a token names a key we do not
// know (the issuer rotated its keys) — at most once per JWKS_REFETCH_INTERVAL_MS, however many such
// tokens arrive, so forged kids cannot make us hammer the issuer. Keys older than JWKS_MAX_AGE_MS are
// refetched on next use (a key the issuer withdrew stops verifying); a failed refetch keeps the old keys.
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export const JWKS_REFETCH_INTERVAL_MS = 60_000;
export const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 5_000;

type LocalKeySet = ReturnType<typeof createLocalJWKSet>;

export class RemoteKeySet {
  /** Fetches attempted (tests and diagnostics). */
  fetches = 0;
  private local?: LocalKeySet;
  private loadedAtMs = Number.NEGATIVE_INFINITY;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<void>;

  constructor(
    readonly url: URL,
    private readonly now: () => number = Date.now,
  ) {}

  /** The first fetch: an issuer whose keys cannot be read fails start-up rather than every request. */
  async load(): Promise<void> {
    await this.fetchOnce();
    if (!this.local) throw new Error(`cannot read the issuer's keys ${this.url.href}`);
  }

  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (!this.local || this.now() - this.loadedAtMs >= JWKS_MAX_AGE_MS) await this.refetchIfAllowed();
    if (!this.local) throw new errors.JWKSTimeout(`the issuer's keys ${this.url.href} are unavailable`);
    try {
      return await this.local(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || !(await this.refetchIfAllowed())) throw error;
      return this.local(header, token);
    }
  };

  /** Joins a fetch in progress, or starts one if the interval allows; true when keys may have changed. */
  private async refetchIfAllowed(): Promise<boolean> {
    if (!this.inFlight && this.now() - this.lastAttemptMs < JWKS_REFETCH_INTERVAL_MS) return false;
    await this.fetchOnce();
    return true;
  }

  private fetchOnce(): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptMs = this.now();
    this.fetches++;
    try {
      const response = await fetch(this.url, { signal: AbortSignal.timeout(JWKS_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!response.ok) return void (await response.body?.cancel());
      const document = (await response.json()) as Partial<JSONWebKeySet>;
      if (!Array.isArray(document.keys)) return;
      this.local = createLocalJWKSet({ keys: document.keys });
      this.loadedAtMs = this.now();
    } catch {
      // Unreachable or not JSON: keep the keys we have; the next attempt waits for the interval.
    }
  }
}
