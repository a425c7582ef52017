// Run as a child process with NODE_EXTRA_CA_CERTS set (MSAL needs an https authority it trusts), the
// way a user's app runs against `serve --tls`: @azure/identity's credentials and @azure/msal-node,
// unmodified but for the authority host and instance discovery. Prints one JSON line.
//   node --import tsx test/helpers/entra-client.ts '<json request>'
// Request: { mode, server, tenant, clientId, ... } — see run() for each mode's fields.
import { ClientCertificateCredential, ClientSecretCredential, UsernamePasswordCredential } from '@azure/identity';
import { ConfidentialClientApplication, CryptoProvider, PublicClientApplication } from '@azure/msal-node';
import { graphSdk } from './graph-client.js';

interface Request {
  mode: 'secret' | 'certificate' | 'password' | 'auth-url' | 'redeem';
  server: string;
  tenant: string;
  clientId: string;
  secret?: string;
  /** PEM: private key and certificate. */
  certificate?: string;
  sendCertificateChain?: boolean;
  username?: string;
  password?: string;
  scopes?: string[];
  redirectUri?: string;
  code?: string;
  verifier?: string;
  /** After the token: create a meeting with the official Graph SDK, for this user (app tokens) or /me. */
  meetingFor?: string;
}

const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';

function identityOptions(server: string) {
  return { authorityHost: server, disableInstanceDiscovery: true };
}

async function createMeeting(request: Request, token: string) {
  const { client } = graphSdk(request.server, async () => token, { allowedHosts: [new URL(request.server).hostname] });
  const meeting = { subject: 'Via the Entra-compatible token service', startDateTime: new Date('2030-01-01T10:00:00Z'), endDateTime: new Date('2030-01-01T11:00:00Z') };
  const created = request.meetingFor === 'me' ? await client.me.onlineMeetings.post(meeting) : await client.users.byUserId(request.meetingFor!).onlineMeetings.post(meeting);
  return { id: created?.id, subject: created?.subject };
}

async function credentialToken(request: Request, credential: { getToken(scopes: string | string[]): Promise<{ token: string } | null> }) {
  const first = await credential.getToken(request.scopes ?? [GRAPH_DEFAULT]);
  const again = await credential.getToken(request.scopes ?? [GRAPH_DEFAULT]);
  const meeting = request.meetingFor ? await createMeeting(request, first!.token) : undefined;
  return { token: first!.token, cachedSecondCall: again!.token === first!.token, meeting };
}

function msalConfig(request: Request) {
  return {
    auth: {
      clientId: request.clientId,
      authority: `${request.server}/${request.tenant}`,
      knownAuthorities: [new URL(request.server).host],
      ...(request.secret ? { clientSecret: request.secret } : {}),
    },
  };
}

async function run(request: Request): Promise<unknown> {
  switch (request.mode) {
    case 'secret':
      return credentialToken(request, new ClientSecretCredential(request.tenant, request.clientId, request.secret!, identityOptions(request.server)));
    case 'certificate':
      return credentialToken(
        request,
        new ClientCertificateCredential(
          request.tenant,
          request.clientId,
          { certificate: request.certificate! },
          { ...identityOptions(request.server), sendCertificateChain: request.sendCertificateChain ?? false },
        ),
      );
    case 'password': {
      const credential = new UsernamePasswordCredential(request.tenant, request.clientId, request.username!, request.password!, identityOptions(request.server));
      return credentialToken(request, credential);
    }
    case 'auth-url': {
      const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
      const app = new PublicClientApplication(msalConfig(request));
      const url = await app.getAuthCodeUrl({
        scopes: request.scopes ?? ['OnlineMeetings.ReadWrite'],
        redirectUri: request.redirectUri!,
        codeChallenge: challenge,
        codeChallengeMethod: 'S256',
        state: 'state-123',
        nonce: 'nonce-456',
        loginHint: request.username,
      });
      return { url, verifier };
    }
    case 'redeem': {
      const app = request.secret ? new ConfidentialClientApplication(msalConfig(request)) : new PublicClientApplication(msalConfig(request));
      const result = await app.acquireTokenByCode({
        code: request.code!,
        scopes: request.scopes ?? ['OnlineMeetings.ReadWrite'],
        redirectUri: request.redirectUri!,
        codeVerifier: request.verifier,
      });
      const meeting = request.meetingFor ? await createMeeting(request, result.accessToken) : undefined;
      return { token: result.accessToken, idToken: result.idToken, username: result.account?.username, tenantId: result.tenantId, meeting };
    }
  }
}

run(JSON.parse(process.argv[2]!) as Request).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: Error & { errorCode?: string; code?: string; statusCode?: number }) => {
    process.stdout.write(`${JSON.stringify({ error: error.message, errorCode: error.errorCode ?? error.code, statusCode: error.statusCode })}\n`);
    process.exitCode = 1;
  },
);
