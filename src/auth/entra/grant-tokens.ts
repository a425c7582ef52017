// Authorization codes and refresh tokens, as JWTs signed with the dev issuer's key: self-contained,
// so they need no table, survive a restart and work on every process sharing the database. Their
// audiences are not Graph's, so the API never accepts them as access tokens. A code is single-use
// across processes: its redemption claims its id once through the store's settings (insert-if-absent).
import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import type { Store } from '../../store/store.js';
import type { DevIssuer } from '../dev-issuer.js';

const CODE_AUDIENCE = 'urn:graph-meetings:entra:authorization-code';
const REFRESH_AUDIENCE = 'urn:graph-meetings:entra:refresh-token';
/** Entra's: codes live 10 minutes; refresh tokens 90 days. */
export const CODE_LIFETIME_SECONDS = 10 * 60;
export const REFRESH_LIFETIME_SECONDS = 90 * 24 * 3600;

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
  ) {}

  issueCode(grant: CodeGrant): Promise<string> {
    return this.issuer.signAs(this.issuerUrl, { ...grant, jti: randomUUID() }, CODE_AUDIENCE, CODE_LIFETIME_SECONDS);
  }

  issueRefreshToken(grant: RefreshGrant): Promise<string> {
    return this.issuer.signAs(this.issuerUrl, { ...grant, jti: randomUUID() }, REFRESH_AUDIENCE, REFRESH_LIFETIME_SECONDS);
  }

  /** The code's grant; undefined when it is not one of ours or has expired. */
  async readCode(code: string): Promise<(CodeGrant & { jti: string }) | undefined> {
    return this.read(code, CODE_AUDIENCE);
  }

  async readRefreshToken(token: string): Promise<RefreshGrant | undefined> {
    return this.read(token, REFRESH_AUDIENCE);
  }

  /** True for the first redemption of the code with this id, on any process. */
  async redeemOnce(jti: string): Promise<boolean> {
    const mine = randomUUID();
    return (await this.store.getOrCreateSetting(`entra-code-redeemed:${jti}`, async () => mine)) === mine;
  }

  private async read<T>(token: string, audience: string): Promise<T | undefined> {
    try {
      const { payload } = await jwtVerify(token, this.issuer.keys, { audience, algorithms: ['RS256'], requiredClaims: ['exp', 'jti'] });
      return payload as T;
    } catch {
      return undefined;
    }
  }
}
