// The token service's refusals in Entra's shape (error, error_description starting with the AADSTS
// code, error_codes, timestamp, trace_id, correlation_id): MSAL reads `error` and the codes, and users
// search for the AADSTS number.
import { randomUUID } from 'node:crypto';

export type EntraErrorName =
  | 'invalid_request'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unauthorized_client'
  | 'invalid_client'
  | 'invalid_grant'
  | 'temporarily_unavailable';

export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: EntraErrorName,
    readonly code: number,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`AADSTS${code}: ${description}`);
  }

  /** The answer's body; `correlationId` echoes the client's client-request-id when it sent one. */
  body(correlationId: string | undefined, now = new Date()) {
    const traceId = randomUUID();
    const timestamp = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const correlation = correlationId && /^[\w-]{1,64}$/.test(correlationId) ? correlationId : randomUUID();
    return {
      error: this.error,
      error_description: `${this.message} Trace ID: ${traceId} Correlation ID: ${correlation} Timestamp: ${timestamp}`,
      error_codes: [this.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlation,
    };
  }
}

export const entraErrors = {
  missingParameter: (name: string) =>
    new EntraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  invalidParameter: (name: string, why: string) => new EntraError(400, 'invalid_request', 900144, `Invalid value for '${name}': ${why}`),
  unknownTenant: (tenant: string) =>
    new EntraError(
      400,
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    ),
  tenantRequired: (tenant: string) =>
    new EntraError(
      400,
      'invalid_request',
      900023,
      `Specified tenant identifier '${tenant}' is not valid for this grant: an application token needs the tenant's id in the authority.`,
    ),
  unsupportedGrantType: (grant: string) =>
    new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  scopeOnClientCredentials: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  invalidScope: (scope: string) => new EntraError(400, 'invalid_scope', 70011, `The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`),
  unknownClient: (clientId: string, tenant: string) =>
    new EntraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    ),
  wrongSecret: (clientId: string) =>
    new EntraError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`),
  credentialRequired: () =>
    new EntraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  invalidAssertion: (why: string) => new EntraError(401, 'invalid_client', 700027, `Client assertion failed signature validation or is not valid: ${why}`),
  publicClientOnly: (grant: string) =>
    new EntraError(400, 'unauthorized_client', 700025, `Client is public so neither 'client_assertion' nor 'client_secret' should be presented (grant '${grant}').`),
  confidentialOnly: () =>
    new EntraError(400, 'unauthorized_client', 7000112, 'Application is a public client: it has no secret or certificate and cannot use client credentials.'),
  wrongPassword: () => new EntraError(400, 'invalid_grant', 50126, 'Error validating credentials due to invalid username or password.'),
  badCode: (why: string) => new EntraError(400, 'invalid_grant', 70008, `The provided authorization code or refresh token has expired or is not valid: ${why}`),
  usedCode: () => new EntraError(400, 'invalid_grant', 54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.'),
  pkceMismatch: () => new EntraError(400, 'invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'),
  redirectMismatch: (clientId: string) =>
    new EntraError(400, 'invalid_request', 50011, `The redirect URI specified in the request does not match the redirect URIs configured for the application '${clientId}'.`),
  badRefreshToken: (why: string) => new EntraError(400, 'invalid_grant', 9002313, `Invalid request. Request is malformed or invalid: the refresh token ${why}.`),
  tooManyRequests: (retryAfterSeconds: string) =>
    new EntraError(429, 'temporarily_unavailable', 50196, 'The server terminated an operation because it encountered a client request loop. Please contact your app vendor.', {
      'retry-after': retryAfterSeconds,
    }),
};
