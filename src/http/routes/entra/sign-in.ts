// GET /{tenant}/oauth2/v2.0/authorize: the authorization-code flow's sign-in page. The client and
// redirect URI are checked first (a mismatch is shown on the page, never sent anywhere); other
// problems go back to the redirect URI as `error`/`error_description`, as Entra does. POST is the
// page's own form: a right name and password answer the redirect URI with a single-use code bound
// to the client, the redirect URI and the PKCE challenge (response_mode query or form_post).
// No sign-in session is kept: every authorize request shows the page, so `prompt=none` answers
// login_required; `login_hint` fills in the name.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientInfo } from '../../../auth/entra/claims.js';
import { EntraError, entraErrors } from '../../../auth/entra/errors.js';
import type { GrantTokens } from '../../../auth/entra/grant-tokens.js';
import { delegatedScopes } from '../../../auth/entra/scopes.js';
import { resolveTenant } from '../../../auth/entra/tenant.js';
import { signInUser } from '../../../auth/entra/user-sign-in.js';
import type { DirectoryApp } from '../../../domain/directory.js';
import type { Store } from '../../../store/store.js';
import { PAGE_CSP, setPageSecurityHeaders } from '../../page-security.js';
import { ENTRA_ASSETS_PATH, FORM_POST_SCRIPT, SIGN_IN_STYLES } from './sign-in-assets.js';
import { renderFormPost, renderSignInError, renderSignInPage } from './sign-in-page.js';

export interface SignInDeps {
  store: Store;
  grants: GrantTokens;
  origin: (request: FastifyRequest) => string;
}

/** The authorize request's parameters the page carries through its form. */
const CARRIED = ['client_id', 'response_type', 'redirect_uri', 'scope', 'state', 'nonce', 'response_mode', 'code_challenge', 'code_challenge_method', 'prompt', 'login_hint'];

type Params = Record<string, string | undefined>;

interface ValidRequest {
  app: DirectoryApp;
  /** The tenant the app is registered in. */
  appTenant: string;
  redirectUri: string;
  responseMode: 'query' | 'form_post';
}

/** Shown on the page: there is no trustworthy place to send it. */
class PageError extends Error {}

/** Sent back to the redirect URI. */
class RedirectError extends Error {
  constructor(
    readonly error: string,
    readonly entra: EntraError,
  ) {
    super(entra.message);
  }
}

/**
 * `redirectUri`: where the page's form may end up. CSP's form-action also governs the redirect that
 * answers the form, so the client's registered redirect URI is allowed besides this server.
 */
function sendPage(reply: FastifyReply, status: number, markup: string, redirectUri?: string) {
  setPageSecurityHeaders(reply);
  if (redirectUri) reply.header('content-security-policy', PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${new URL(redirectUri).origin}`));
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(markup);
}

async function findApp(store: Store, tenantId: string | undefined, clientId: string): Promise<{ app: DirectoryApp; tenant: string } | undefined> {
  const tenants = tenantId ? [tenantId] : (await store.directoryAdmin.listTenants()).map((t) => t.id);
  for (const tenant of tenants) {
    const app = await store.directoryAdmin.findApp(tenant, clientId).catch(() => undefined);
    if (app) return { app, tenant };
  }
  return undefined;
}

/** The client and its redirect URI; a PageError when either is wrong. */
async function validateClient(store: Store, segment: string, params: Params): Promise<ValidRequest> {
  let tenantId: string | undefined;
  try {
    tenantId = (await resolveTenant(store.directoryAdmin, segment)).tenantId;
  } catch (error) {
    throw new PageError((error as Error).message);
  }
  for (const name of ['client_id', 'redirect_uri']) if (!params[name]) throw new PageError(entraErrors.missingParameter(name).message);
  const found = await findApp(store, tenantId, params.client_id!);
  if (!found) throw new PageError(entraErrors.unknownClient(params.client_id!, tenantId ?? segment).message);
  if (!found.app.redirectUris.includes(params.redirect_uri!)) throw new PageError(entraErrors.redirectMismatch(params.client_id!).message);
  const responseMode = params.response_mode === 'form_post' ? 'form_post' : 'query';
  return { app: found.app, appTenant: found.tenant, redirectUri: params.redirect_uri!, responseMode };
}

/** The rest of the request; a RedirectError for the client to read. */
function validateRequest(params: Params) {
  const mode = params.response_mode ?? 'query';
  if (mode !== 'query' && mode !== 'form_post') throw new RedirectError('invalid_request', entraErrors.invalidParameter('response_mode', "'query' or 'form_post'"));
  if (!params.response_type) throw new RedirectError('invalid_request', entraErrors.missingParameter('response_type'));
  if (params.response_type !== 'code') throw new RedirectError('unsupported_response_type', entraErrors.invalidParameter('response_type', "only 'code' is supported"));
  if (!params.scope) throw new RedirectError('invalid_request', entraErrors.missingParameter('scope'));
  try {
    delegatedScopes(params.scope);
  } catch (error) {
    throw new RedirectError('invalid_scope', error as EntraError);
  }
  const method = params.code_challenge_method;
  if (method !== undefined && method !== 'S256' && method !== 'plain') throw new RedirectError('invalid_request', entraErrors.invalidParameter('code_challenge_method', "'S256' or 'plain'"));
}

/** The answer to the client: at its redirect URI, in the query or as a posted form. */
function answer(reply: FastifyReply, valid: ValidRequest, fields: Record<string, string>) {
  if (valid.responseMode === 'form_post') {
    return sendPage(reply, 200, renderFormPost(valid.redirectUri, fields), valid.redirectUri);
  }
  const location = new URL(valid.redirectUri);
  for (const [name, value] of Object.entries(fields)) location.searchParams.set(name, value);
  return reply.code(302).header('cache-control', 'no-store').header('location', location.href).send();
}

function errorFields(params: Params, error: RedirectError): Record<string, string> {
  return {
    error: error.error,
    error_description: error.entra.message,
    error_codes: String(error.entra.code),
    ...(params.state === undefined ? {} : { state: params.state }),
  };
}

const carried = (params: Params) => Object.fromEntries(CARRIED.filter((name) => params[name] !== undefined && name !== 'login_hint').map((name) => [name, params[name]!]));

/** The request's parameters as single strings; a parameter given twice (or not as text) is refused. */
function singleValued(source: unknown): Params {
  const params: Params = {};
  for (const [name, value] of Object.entries((source ?? {}) as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new PageError(entraErrors.invalidParameter(name, 'expected a single text value').message);
    params[name] = value;
  }
  return params;
}

export function registerSignInRoutes(scope: FastifyInstance, deps: SignInDeps) {
  const path = '/:tenant/oauth2/v2.0/authorize';
  const action = (request: FastifyRequest<{ Params: { tenant: string } }>) => `/${encodeURIComponent(request.params.tenant)}/oauth2/v2.0/authorize`;

  async function handle(request: FastifyRequest<{ Params: { tenant: string } }>, reply: FastifyReply, source: unknown, signIn: boolean) {
    let valid: ValidRequest;
    let params: Params;
    try {
      params = singleValued(source);
      valid = await validateClient(deps.store, request.params.tenant, params);
    } catch (error) {
      if (error instanceof PageError) return sendPage(reply, 400, renderSignInError(error.message));
      throw error;
    }
    try {
      validateRequest(params);
      if (!signIn && params.prompt === 'none') {
        throw new RedirectError('login_required', new EntraError(400, 'invalid_grant', 50058, 'A silent sign-in request was sent but no user is signed in.'));
      }
    } catch (error) {
      if (error instanceof RedirectError) return answer(reply, valid, errorFields(params, error));
      throw error;
    }
    const view = { action: action(request), appName: valid.app.displayName ?? valid.app.appId, carried: carried(params), username: params.username ?? params.login_hint ?? '' };
    if (!signIn) return sendPage(reply, 200, renderSignInPage(view), valid.redirectUri);
    const user = await signInUser(deps.store, valid.appTenant, params.username ?? '', params.password ?? '');
    if (!user) {
      return sendPage(reply, 200, renderSignInPage({ ...view, error: `${entraErrors.wrongPassword().message} Check the name and password and try again.` }), valid.redirectUri);
    }
    const code = await deps.grants.issueCode({
      tid: user.tenantId,
      oid: user.id,
      azp: valid.app.appId,
      redirect_uri: valid.redirectUri,
      scope: params.scope!,
      ...(params.nonce ? { nonce: params.nonce } : {}),
      ...(params.code_challenge ? { code_challenge: params.code_challenge, code_challenge_method: (params.code_challenge_method ?? 'plain') as 'S256' | 'plain' } : {}),
    });
    return answer(reply, valid, { code, ...(params.state === undefined ? {} : { state: params.state }), client_info: clientInfo(user) });
  }

  scope.get<{ Params: { tenant: string } }>(path, (request, reply) => handle(request, reply, request.query, false));
  scope.post<{ Params: { tenant: string } }>(path, (request, reply) => handle(request, reply, request.body, true));
  scope.get(`${ENTRA_ASSETS_PATH}/sign-in.css`, (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(SIGN_IN_STYLES));
  scope.get(`${ENTRA_ASSETS_PATH}/form-post.js`, (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(FORM_POST_SCRIPT));
}
