// Authorization codes and refresh tokens, as JWTs signed with the dev issuer's key: self-contained,
// so they survive a restart and work on every process sharing the database. Their audiences are not
// Graph's, so the API never accepts them as access tokens. A code is single-use across processes:
// its redemption claims its id once in the store, which deletes the claims of expired codes as it
// goes (an expired code is refused before its claim is looked at), so they do not pile up.
import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { type Clock, systemClock } from '../../domain/clock.js';
import type { Store } from '../../store/store.js';
import type { DevIssuer } from '../dev-issuer.js';

const CODE_AUDIENCE = 'urn:graph-meetings:entra:authorization-code';
const REFRESH_AUDIENCE = 'urn:graph-meetings:entra:refresh-token';
/** Entra's: codes live 10 minutes; refresh tokens 90 days. */
export const CODE_LIFETIME_SECONDS = 10 * 60;
export const REFRESH_LIFETIME_SECONDS = 90 * 24 * 3600;
/**
 * How long past its code's expiry a claim is kept: a process whose clock lags behind the pruning
 * one's by less than this still finds the claim of a code it does not yet see as expired.
 */
export const CLAIM_GRACE_SECONDS = 5 * 60;

export interface CodeGrant {
  tid: string;
  oid: string;
  /** The client the code was issued to. */
  azp: string;
  redirect_uri: string;
  scope: string;
  nonce?: string;
  code_challenge?: string;
  code_challenge_method?: 'S256' | 'plain';
}

export interface RefreshGrant {
  tid: string;
  oid: string;
  azp: string;
  scope: string;
}

export class GrantTokens {
  constructor(
    private readonly issuer: DevIssuer,
    private readonly store: Store,
    private readonly issuerUrl: string,
    /** Issues, checks and prunes on one clock, so a claim is only pruned once its code is refused. */
    private readonly clock: Clock = systemClock,
  ) {}

  issueCode(grant: CodeGrant): Promise<string> {
    return this.issuer.signAs(this.issuerUrl, { ...grant, jti: randomUUID() }, CODE_AUDIENCE, CODE_LIFETIME_SECONDS, this.seconds());
  }

  issueRefreshToken(grant: RefreshGrant): Promise<string> {
    return this.issuer.signAs(this.issuerUrl, { ...grant, jti: randomUUID() }, REFRESH_AUDIENCE, REFRESH_LIFETIME_SECONDS, this.seconds());
  }

  /** The code's grant; undefined when it is not one of ours or has expired. */
  async readCode(code: string): Promise<(CodeGrant & { jti: string; exp: number }) | undefined> {
    return this.read(code, CODE_AUDIENCE);
  }

  async readRefreshToken(token: string): Promise<RefreshGrant | undefined> {
    return this.read(token, REFRESH_AUDIENCE);
  }

  /** True for the first redemption of this code (as readCode gave it), on any process. */
  async redeemOnce(code: { jti: string; exp: number }): Promise<boolean> {
    return this.store.redeemCode(code.jti, code.exp, this.seconds() - CLAIM_GRACE_SECONDS);
  }

  private seconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  private async read<T>(token: string, audience: string): Promise<T | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.issuer.keys, {
        audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(this.clock.now()),
      });
      return payload as T;
    } catch {
      return undefined;
    }
  }
}
