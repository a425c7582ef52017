// POST /{tenant}/oauth2/v2.0/token: Entra's grants over the directory's apps, secrets, certificates
// and user passwords. Access tokens are signed with the dev issuer's persisted key, `iss` being
// `<origin>/<tenant id>/v2.0` (see issuer.ts).
import type { DirectoryUser } from '../../domain/directory.js';
import type { Store } from '../../store/store.js';
import type { DevIssuer } from '../dev-issuer.js';
import { appAccessClaims, type ClientAuthentication, clientInfo, delegatedAccessClaims, idTokenClaims } from './claims.js';
import { authenticateClient, type AuthenticatedClient } from './client-auth.js';
import { entraErrors } from './errors.js';
import { GrantTokens } from './grant-tokens.js';
import { entraIssuer } from './issuer.js';
import { checkClientCredentialsScope, delegatedScopes } from './scopes.js';
import { type TenantSegment, resolveTenant } from './tenant.js';
import { pkceMatches } from './pkce.js';
import { signInUser } from './user-sign-in.js';

export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
const GRAPH = 'https://graph.microsoft.com';

export type TokenParams = Record<string, string | undefined>;

export interface TokenRequest {
  /** The origin the client used (for `iss` and the assertion audience). */
  origin: string;
  tenantSegment: string;
  params: TokenParams;
}

export interface TokenAnswer {
  token_type: 'Bearer';
  scope: string;
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

export interface TokenServiceDeps {
  store: Store;
  issuer: DevIssuer;
  grants: GrantTokens;
  /** The audience of access tokens for Graph (the first --audience). */
  audience: string;
}

function required(params: TokenParams, ...names: string[]) {
  for (const name of names) if (!params[name]) throw entraErrors.missingParameter(name);
}

interface DelegatedGrant {
  user: DirectoryUser;
  client: AuthenticatedClient;
  /** The scopes asked for, as the client wrote them. */
  scope: string;
  nonce?: string;
}

export class TokenService {
  constructor(private readonly deps: TokenServiceDeps) {}

  private get admin() {
    return this.deps.store.directoryAdmin;
  }

  async token(request: TokenRequest): Promise<TokenAnswer> {
    const { params } = request;
    required(params, 'grant_type');
    const grant = params.grant_type!;
    if (!['client_credentials', 'password', 'refresh_token', 'authorization_code'].includes(grant)) throw entraErrors.unsupportedGrantType(grant);
    required(params, 'client_id');
    const tenant = await resolveTenant(this.admin, request.tenantSegment);
    switch (grant) {
      case 'client_credentials':
        return this.clientCredentials(request, tenant);
      case 'password':
        return this.password(request, tenant);
      case 'refresh_token':
        return this.refreshToken(request, tenant);
      default:
        return this.authorizationCode(request, tenant);
    }
  }

  private client(request: TokenRequest, tenantId: string) {
    const endpoint = (segment: string) => `${request.origin}/${segment}/oauth2/v2.0/token`;
    return authenticateClient(this.admin, {
      tenantId,
      params: request.params,
      assertionAudiences: [endpoint(request.tenantSegment), endpoint(tenantId), entraIssuer(request.origin, tenantId)],
    });
  }

  private async clientCredentials(request: TokenRequest, tenant: TenantSegment): Promise<TokenAnswer> {
    const { params } = request;
    required(params, 'scope');
    if (!tenant.tenantId) throw entraErrors.tenantRequired(tenant.segment);
    if (params.client_secret === undefined && params.client_assertion === undefined) {
      // Checked before the app is looked up: Entra names the missing credential first.
      if (!(await this.admin.findApp(tenant.tenantId, params.client_id!))) throw entraErrors.unknownClient(params.client_id!, tenant.tenantId);
      throw entraErrors.credentialRequired();
    }
    const client = await this.client(request, tenant.tenantId);
    checkClientCredentialsScope(params.scope!);
    const claims = appAccessClaims(tenant.tenantId, client.app.appId, client.app.roles, client.azpacr);
    return {
      token_type: 'Bearer',
      scope: params.scope!,
      ...this.lifetimes(),
      access_token: await this.deps.issuer.signAs(entraIssuer(request.origin, tenant.tenantId), claims, this.deps.audience, ACCESS_TOKEN_LIFETIME_SECONDS),
    };
  }

  private async password(request: TokenRequest, tenant: TenantSegment): Promise<TokenAnswer> {
    const { params } = request;
    required(params, 'scope', 'username', 'password');
    const user = await signInUser(this.deps.store, tenant.tenantId, params.username!, params.password!);
    if (!user) throw entraErrors.wrongPassword();
    const client = await this.client(request, user.tenantId);
    return this.delegated(request, { user, client, scope: params.scope! });
  }

  private async refreshToken(request: TokenRequest, tenant: TenantSegment): Promise<TokenAnswer> {
    const { params } = request;
    required(params, 'refresh_token');
    const grant = await this.deps.grants.readRefreshToken(params.refresh_token!);
    if (!grant) throw entraErrors.badRefreshToken('is malformed, expired or was not issued by this service');
    if (grant.azp !== params.client_id!.toLowerCase()) throw entraErrors.badRefreshToken('was issued to another client');
    if (tenant.tenantId && tenant.tenantId !== grant.tid) throw entraErrors.badRefreshToken('was issued in another tenant');
    const user = await this.deps.store.findUser(grant.tid, grant.oid);
    if (!user) throw entraErrors.badRefreshToken('belongs to a user who is no longer in the directory');
    const client = await this.client(request, grant.tid);
    return this.delegated(request, { user, client, scope: params.scope ?? grant.scope });
  }

  private async authorizationCode(request: TokenRequest, tenant: TenantSegment): Promise<TokenAnswer> {
    const { params } = request;
    required(params, 'code', 'redirect_uri');
    const code = await this.deps.grants.readCode(params.code!);
    if (!code) throw entraErrors.badCode('the code is malformed, expired or was not issued by this service');
    if (code.azp !== params.client_id!.toLowerCase()) throw entraErrors.badCode('the code was issued to another client');
    if (tenant.tenantId && tenant.tenantId !== code.tid) throw entraErrors.badCode('the code was issued in another tenant');
    if (code.redirect_uri !== params.redirect_uri) throw entraErrors.redirectMismatch(params.client_id!);
    if (code.code_challenge) {
      required(params, 'code_verifier');
      if (!pkceMatches(code.code_challenge, code.code_challenge_method ?? 'plain', params.code_verifier!)) throw entraErrors.pkceMismatch();
    }
    const client = await this.client(request, code.tid);
    if (!(await this.deps.grants.redeemOnce(code))) throw entraErrors.usedCode();
    const user = await this.deps.store.findUser(code.tid, code.oid);
    if (!user) throw entraErrors.badCode('the user is no longer in the directory');
    return this.delegated(request, { user, client, scope: params.scope ?? code.scope, nonce: code.nonce });
  }

  private async delegated(request: TokenRequest, grant: DelegatedGrant): Promise<TokenAnswer> {
    const { user, client } = grant;
    const scopes = delegatedScopes(grant.scope);
    const iss = entraIssuer(request.origin, user.tenantId);
    const azpacr: ClientAuthentication = client.azpacr;
    const answer: TokenAnswer = {
      token_type: 'Bearer',
      scope: [...scopes.graph.map((s) => `${GRAPH}/${s}`), ...(scopes.openid ? ['openid', 'profile'] : []), ...(scopes.offlineAccess ? ['offline_access'] : [])].join(' '),
      ...this.lifetimes(),
      access_token: await this.deps.issuer.signAs(iss, delegatedAccessClaims(user, client.app.appId, scopes.graph, azpacr), this.deps.audience, ACCESS_TOKEN_LIFETIME_SECONDS),
      client_info: clientInfo(user),
    };
    if (scopes.offlineAccess) {
      answer.refresh_token = await this.deps.grants.issueRefreshToken({ tid: user.tenantId, oid: user.id, azp: client.app.appId, scope: grant.scope });
    }
    if (scopes.openid) {
      answer.id_token = await this.deps.issuer.signAs(iss, idTokenClaims(user, client.app.appId, grant.nonce), client.app.appId, ACCESS_TOKEN_LIFETIME_SECONDS);
    }
    return answer;
  }

  private lifetimes() {
    return { expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, ext_expires_in: ACCESS_TOKEN_LIFETIME_SECONDS };
  }
}
