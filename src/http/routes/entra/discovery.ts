// Entra's v2 OpenID discovery document, every endpoint on the origin the client used. For
// common/organizations the issuer is the `{tenantid}` template, as Entra's is.
import { entraIssuer } from '../../../auth/entra/issuer.js';

export function entraDiscoveryDocument(origin: string, segment: string, tenantId: string | undefined) {
  const base = `${origin}/${segment}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: entraIssuer(origin, tenantId ?? '{tenantid}'),
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    code_challenge_methods_supported: ['S256', 'plain'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'password', 'refresh_token'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'name', 'preferred_username', 'oid', 'tid', 'ver', 'azp', 'azpacr', 'idtyp', 'scp', 'roles'],
    tenant_region_scope: null,
    cloud_instance_name: 'graph-meetings.localhost',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}
