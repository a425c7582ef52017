// A local issuer shaped like Microsoft Entra ID: multi-tenant discovery (`issuer` with the
// `{tenantid}` template, as login.microsoftonline.com/common/v2.0 publishes it), one JWKS for all
// tenants, and v1 and v2 access tokens. v1 tokens carry Entra's fixed v1 issuer
// https://sts.windows.net/{tid}/ although this issuer runs on 127.0.0.1.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
interface SigningKey {
  kid: string;
  key: PrivateKey;
}

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
/** The client app delegated tokens are issued to. */
export const CLIENT_APP_ID = 'c11e0000-0000-4000-8000-0000000000c1';

export const v1Issuer = (tid: string) => `https://sts.windows.net/${tid}/`;

type User = { tenantId: string; id: string; upn: string; name?: string };
type App = { tenantId: string; appId: string };

const v1 = (tenantId: string, claims: Record<string, unknown>) => ({ ver: '1.0', aud: GRAPH_RESOURCE, iss: v1Issuer(tenantId), tid: tenantId, ...claims });

export interface TokenOptions {
  /** Overrides the issuer this shape would carry. */
  iss?: string;
  /** Claims merged over the shape's; undefined removes one. */
  claims?: Record<string, unknown>;
  /** Sign with this key (default: the first published one). */
  signer?: SigningKey;
  /** Extra protected-header parameters. */
  header?: Record<string, unknown>;
}

async function newKey(): Promise<{ signer: SigningKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { signer: { kid, key: privateKey }, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export class EntraTestIssuer {
  requests = { discovery: 0, jwks: 0 };
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly signer: SigningKey,
    private readonly published: JWK[],
  ) {}

  static async start(): Promise<EntraTestIssuer> {
    const first = await newKey();
    let issuer!: EntraTestIssuer;
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const discovery = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(path);
      res.setHeader('content-type', 'application/json');
      if (discovery) {
        issuer.requests.discovery++;
        const tenant = discovery[1]!;
        // Entra: common and organizations name the template; a tenant's own document its issuer.
        const named = tenant === 'common' || tenant === 'organizations' ? '{tenantid}' : tenant;
        res.end(JSON.stringify({ issuer: `${issuer.url}/${named}/v2.0`, jwks_uri: `${issuer.url}/${tenant}/discovery/v2.0/keys` }));
      } else if (/^\/[^/]+\/discovery\/v2\.0\/keys$/.test(path)) {
        issuer.requests.jwks++;
        res.end(JSON.stringify({ keys: issuer.published }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    issuer = new EntraTestIssuer(server, `http://127.0.0.1:${port}`, first.signer, [first.jwk]);
    return issuer;
  }

  /** The multi-tenant issuer to configure, like https://login.microsoftonline.com/common/v2.0. */
  get common(): string {
    return `${this.url}/common/v2.0`;
  }

  v2Issuer(tid: string): string {
    return `${this.url}/${tid}/v2.0`;
  }

  /** Publishes a new key (a rotation); tokens signed with it name its kid. */
  async rotateIn(): Promise<SigningKey> {
    const next = await newKey();
    this.published.push(next.jwk);
    return next.signer;
  }

  /** A key never published: its kid is unknown to every verifier. */
  async unpublished(): Promise<SigningKey> {
    return (await newKey()).signer;
  }

  /** v2 delegated: azp, preferred_username, no upn, no idtyp (Entra adds it only as an optional claim). */
  v2User(user: User, scp = 'OnlineMeetings.ReadWrite', options: TokenOptions = {}) {
    const claims = { oid: user.id, sub: `s-${user.id}`, azp: CLIENT_APP_ID, azpacr: '0', preferred_username: user.upn, name: user.name, scp };
    return this.sign(this.v2(user.tenantId, claims), options);
  }

  /** v1 delegated, as Graph's tokens are: appid, upn and unique_name, iss https://sts.windows.net/{tid}/. */
  v1User(user: User, scp = 'OnlineMeetings.ReadWrite', options: TokenOptions = {}) {
    const claims = { oid: user.id, sub: `s-${user.id}`, appid: CLIENT_APP_ID, appidacr: '0', upn: user.upn, unique_name: user.upn, name: user.name, scp };
    return this.sign(v1(user.tenantId, claims), options);
  }

  /** v2 application: azp, idtyp app, roles. */
  v2App(app: App, roles = ['OnlineMeetings.ReadWrite.All'], options: TokenOptions = {}) {
    const claims = { oid: randomUUID(), sub: app.appId, azp: app.appId, azpacr: '1', idtyp: 'app', roles };
    return this.sign(this.v2(app.tenantId, claims), options);
  }

  /** v1 application without idtyp: told apart from a user token by roles and no scp. */
  v1App(app: App, roles = ['OnlineMeetings.ReadWrite.All'], options: TokenOptions = {}) {
    return this.sign(v1(app.tenantId, { oid: randomUUID(), sub: app.appId, appid: app.appId, appidacr: '1', roles }), options);
  }

  private v2(tenantId: string, claims: Record<string, unknown>) {
    return { ver: '2.0', aud: GRAPH_APP_ID, iss: this.v2Issuer(tenantId), tid: tenantId, ...claims };
  }

  private sign(shape: Record<string, unknown>, options: TokenOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { ...shape, iat: now, nbf: now, exp: now + 3600, ...options.claims };
    if (options.iss !== undefined) claims.iss = options.iss;
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
    const signer = options.signer ?? this.signer;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'JWT', ...options.header }).sign(signer.key);
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
