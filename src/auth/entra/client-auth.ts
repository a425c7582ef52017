// Who the client is and how it proved it: a client secret, a client assertion (a JWT signed with the
// private key of one of the app's certificates, RS256 or PS256, accepted within Entra's 5-minute
// skew), or nothing for a public client (an app registered with neither secret nor certificate).
import { createPublicKey, X509Certificate } from 'node:crypto';
import { errors, jwtVerify } from 'jose';
import type { DirectoryApp } from '../../domain/directory.js';
import type { DirectoryAdmin } from '../../store/directory-admin.js';
import type { ClientAuthentication } from './claims.js';
import { EntraError, entraErrors } from './errors.js';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_SKEW_SECONDS = 5 * 60;

export interface AuthenticatedClient {
  app: DirectoryApp;
  azpacr: ClientAuthentication;
  /** No secret or certificate registered. */
  publicClient: boolean;
}

export interface ClientAuthRequest {
  tenantId: string;
  params: Record<string, string | undefined>;
  /** Values a client assertion's `aud` may take (the token endpoint as the client named it). */
  assertionAudiences: string[];
}

async function verifyAssertion(admin: DirectoryAdmin, tenantId: string, clientId: string, assertion: string, audiences: string[]) {
  const certificates = await admin.appCertificates(tenantId, clientId);
  if (certificates.length === 0) throw entraErrors.invalidAssertion(`no certificate is registered for app '${clientId}'`);
  let reason = 'the signature matches none of the app\'s certificates';
  for (const { pem } of certificates) {
    try {
      const key = createPublicKey(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'pem' }));
      const { payload } = await jwtVerify(assertion, key, {
        algorithms: ['RS256', 'PS256'],
        audience: audiences,
        clockTolerance: ASSERTION_SKEW_SECONDS,
        requiredClaims: ['exp', 'iss', 'sub'],
      });
      if (payload.iss !== clientId || payload.sub !== clientId) throw entraErrors.invalidAssertion("'iss' and 'sub' must both be the client id");
      return;
    } catch (error) {
      if (error instanceof EntraError) throw error;
      // A signature failure only means "not this certificate"; anything else says what is wrong.
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) reason = error instanceof Error ? error.message : String(error);
    }
  }
  throw entraErrors.invalidAssertion(reason);
}

/** The registered app behind `client_id`, authenticated by whatever credential the request carries. */
export async function authenticateClient(admin: DirectoryAdmin, request: ClientAuthRequest): Promise<AuthenticatedClient> {
  const { tenantId, params } = request;
  const clientId = params.client_id!;
  const listing = (await admin.listApps(tenantId)).find((app) => app.appId === clientId.toLowerCase());
  if (!listing) throw entraErrors.unknownClient(clientId, tenantId);
  const { secrets, certificates, ...app } = listing;
  const publicClient = secrets.length === 0 && certificates.length === 0;
  if (params.client_assertion !== undefined || params.client_assertion_type !== undefined) {
    if (params.client_assertion_type !== ASSERTION_TYPE) throw entraErrors.invalidParameter('client_assertion_type', `expected '${ASSERTION_TYPE}'`);
    if (!params.client_assertion) throw entraErrors.missingParameter('client_assertion');
    await verifyAssertion(admin, tenantId, app.appId, params.client_assertion, request.assertionAudiences);
    return { app, azpacr: '2', publicClient };
  }
  if (params.client_secret !== undefined) {
    if (!(await admin.verifyAppSecret(tenantId, app.appId, params.client_secret))) throw entraErrors.wrongSecret(clientId);
    return { app, azpacr: '1', publicClient };
  }
  if (!publicClient) throw entraErrors.credentialRequired();
  return { app, azpacr: '0', publicClient };
}
