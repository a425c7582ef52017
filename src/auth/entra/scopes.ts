// Entra's scope rules for tokens for Microsoft Graph. Client credentials take only
// `<resource>/.default`; delegated flows take named Graph scopes (any delegated onlineMeetings scope:
// there is no consent model) and OpenID Connect's own scopes, which shape the answer, not the token.
import { DEFAULT_DELEGATED_SCOPES } from '../dev-token-claims.js';
import { entraErrors } from './errors.js';

const GRAPH_RESOURCES = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'];
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
/** The delegated permissions a token for this server may carry (online-meetings-api.md §3). */
const DELEGATED_SCOPES = new Map(
  ['OnlineMeetings.Read', 'OnlineMeetings.ReadWrite', 'OnlineMeetingArtifact.Read.All', 'User.Read'].map((s) => [s.toLowerCase(), s]),
);
/** What `.default` grants a delegated client (the seed format's documented default). */
const DEFAULT_SCOPE = ['OnlineMeetings.ReadWrite'];

const words = (scope: string) => scope.split(' ').filter(Boolean);

/** `https://graph.microsoft.com/.default` (or the GUID form); the resource, or undefined. */
function defaultScopeResource(scope: string): string | undefined {
  const match = /^(.*?)\/?\.default$/i.exec(scope);
  return match && GRAPH_RESOURCES.some((r) => r.toLowerCase() === match[1]!.toLowerCase()) ? match[1] : undefined;
}

/** Client credentials: exactly one Graph `.default` scope. */
export function checkClientCredentialsScope(scope: string) {
  const requested = words(scope);
  const named = requested.find((s) => !defaultScopeResource(s));
  if (named) throw entraErrors.scopeOnClientCredentials(named);
  if (requested.length !== 1) throw entraErrors.invalidScope(scope);
}

export interface DelegatedScopes {
  /** Graph permissions for the access token's `scp`. */
  graph: string[];
  openid: boolean;
  offlineAccess: boolean;
}

/** Delegated flows: named scopes (`https://graph.microsoft.com/X` or bare `X`), `.default`, OIDC's. */
export function delegatedScopes(scope: string): DelegatedScopes {
  const graph = new Set<string>();
  let openid = false;
  let offlineAccess = false;
  for (const requested of words(scope)) {
    const lower = requested.toLowerCase();
    if (OIDC_SCOPES.has(lower)) {
      openid ||= lower === 'openid';
      offlineAccess ||= lower === 'offline_access';
      continue;
    }
    if (defaultScopeResource(requested)) {
      DEFAULT_SCOPE.forEach((s) => graph.add(s));
      continue;
    }
    const bare = GRAPH_RESOURCES.reduce((s, resource) => (s.startsWith(`${resource.toLowerCase()}/`) ? s.slice(resource.length + 1) : s), lower);
    const known = DELEGATED_SCOPES.get(bare);
    if (!known) throw entraErrors.invalidScope(requested);
    graph.add(known);
  }
  // Only OIDC scopes asked for: Entra answers with a token for Graph's User.Read.
  return { graph: graph.size ? [...graph] : DEFAULT_DELEGATED_SCOPES.filter((s) => s === 'User.Read'), openid, offlineAccess };
}
