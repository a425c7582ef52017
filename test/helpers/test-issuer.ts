// A real OIDC issuer for tests: serves discovery and JWKS over HTTP and signs tokens with RS256.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface SignOptions {
  /** Claims merged over the defaults; a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  kid?: string;
  /** Sign with this key instead of the published one (same kid unless given). */
  key?: PrivateKey;
  alg?: string;
  expiresInSeconds?: number;
  notBeforeInSeconds?: number;
  issuer?: string;
  audience?: string;
}

export class TestIssuer {
  requests = { discovery: 0, jwks: 0 };
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly kid: string,
    readonly privateKey: PrivateKey,
    readonly publicJwk: JWK,
    private extraKeys: JWK[] = [],
  ) {}

  static async start(): Promise<TestIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    let issuer!: TestIssuer;
    const server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        issuer.requests.discovery++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: issuer.url, jwks_uri: `${issuer.url}/keys` }));
      } else if (req.url === '/keys') {
        issuer.requests.jwks++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [issuer.publicJwk, ...issuer.extraKeys] }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    issuer = new TestIssuer(server, `http://127.0.0.1:${port}`, kid, privateKey, publicJwk);
    return issuer;
  }

  /** Publishes another key (as after a key rotation). */
  async rotateIn(): Promise<{ kid: string; key: PrivateKey }> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    this.extraKeys.push({ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' });
    return { kid, key: privateKey };
  }

  async sign(options: SignOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = { ver: '1.0', ...options.claims };
    for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? this.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.url)
      .setAudience(options.audience ?? GRAPH_AUDIENCE)
      .setIssuedAt(now)
      .setNotBefore(now + (options.notBeforeInSeconds ?? 0))
      .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
      .sign(options.key ?? this.privateKey);
  }

  /** A delegated (user) token. */
  userToken(user: { tenantId: string; id: string; upn?: string; name?: string }, scopes = 'OnlineMeetings.ReadWrite', extra: SignOptions = {}) {
    return this.sign({
      ...extra,
      claims: {
        idtyp: 'user',
        tid: user.tenantId,
        oid: user.id,
        sub: `sub-${user.id}`,
        upn: user.upn,
        name: user.name,
        appid: '11111111-1111-4111-8111-111111111111',
        scp: scopes,
        ...extra.claims,
      },
    });
  }

  /** An application (app-only) token. */
  appToken(app: { tenantId: string; appId: string }, roles = ['OnlineMeetings.ReadWrite.All'], extra: SignOptions = {}) {
    return this.sign({
      ...extra,
      claims: { idtyp: 'app', tid: app.tenantId, oid: app.appId, sub: app.appId, appid: app.appId, roles, ...extra.claims },
    });
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
