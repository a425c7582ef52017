// The Entra-compatible token service of --auth dev, over `serve --tls`: discovery and keys on the
// origin the client used, @azure/identity's ClientSecretCredential, ClientCertificateCredential and
// UsernamePasswordCredential and @azure/msal-node's authorization-code flow (the sign-in page in
// Chromium) run unmodified in child processes trusting the local CA, their tokens used with the
// official Graph SDK; every token-endpoint error in Entra's shape; tokens valid across a restart.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequestRaw } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { decodeJwt, decodeProtectedHeader, importPKCS8, SignJWT } from 'jose';
import { type CliServer, ROOT, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { httpsRequest, httpsStatus } from './helpers/https.js';
import { launchBrowser, screenshot } from './helpers/browser.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { type RunningServer, startServer, tempDir, writeDirectory } from './helpers/server.js';

x509.cryptoProvider.set(webcrypto as never);

const TENANT = '7a1c0f3e-2b4d-4e5f-8a9b-0c1d2e3f4a5b';
const OTHER_TENANT = '7a1c0f3e-2b4d-4e5f-8a9b-0c1d2e3f4a99';
const SECRET_APP = '11111111-aaaa-4bbb-8ccc-000000000001';
const CERT_APP = '11111111-aaaa-4bbb-8ccc-000000000002';
const PUBLIC_APP = '11111111-aaaa-4bbb-8ccc-000000000003';
const WEB_APP = '11111111-aaaa-4bbb-8ccc-000000000004';
const UNKNOWN_APP = '11111111-aaaa-4bbb-8ccc-0000000000ff';
const SECRET = 'the-app-secret~0123456789';
const WEB_SECRET = 'the-web-app-secret~9876543210';
const ALICE = { id: '22222222-aaaa-4bbb-8ccc-000000000001', userPrincipalName: 'alice@contoso.example', displayName: 'Alice Adams', password: 'Alice-Pa55word!' };
const REDIRECT_URI = 'http://localhost:3000/callback';
const GRAPH_DEFAULT = 'https://graph.microsoft.com/.default';

let dir: string;
let db: string;
let caFile: string;
let ca: string;
let server: CliServer;
let certificate: { keyPem: string; certPem: string };

/** A self-signed RSA certificate, as `az ad app credential reset --create-cert` gives. */
async function rsaCertificate() {
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=entra-test-app',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: algorithm,
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { keyPem: `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`, certPem: `${cert.toString('pem')}\n` };
}

function startTls(): Promise<CliServer> {
  return startCliServer(['--port', '0', '--log-level', 'warn', '--tls', '--db', db, '--directory', join(dir, 'directory.json')], {
    healthz: (url) => httpsStatus(readFileSync(caFile, 'utf8'))(url),
  });
}

interface FormAnswer {
  status: number;
  json: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** POSTs an application/x-www-form-urlencoded body (fields, or as text) over HTTPS trusting the local CA. */
function postForm(path: string, fields: Record<string, string> | string, headers: Record<string, string> = {}): Promise<FormAnswer> {
  const body = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
  return new Promise((resolve, reject) => {
    const req = httpsRequestRaw(
      `${server.url}${path}`,
      { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, json: JSON.parse(text) as Record<string, unknown>, headers: response.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const tokenPath = (tenant = TENANT) => `/${tenant}/oauth2/v2.0/token`;

/** Runs test/helpers/entra-client.ts with NODE_EXTRA_CA_CERTS, as a user's app would run. */
async function entraClient(request: Record<string, unknown>): Promise<Record<string, unknown>> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !['NODE_EXTRA_CA_CERTS', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS'].includes(name)));
  const payload = JSON.stringify({ server: server.url, tenant: TENANT, ...request });
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/entra-client.ts'), payload], {
    cwd: ROOT,
    env: { ...clean, NODE_EXTRA_CA_CERTS: caFile },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await within(new Promise((resolve) => child.once('close', resolve)), 60_000, `entra-client ${String(request.mode)}`);
  const line = stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `no result from entra-client ${String(request.mode)}: ${stdout}\n${stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** Entra's error body: the name, the AADSTS code first in the description and in error_codes, ids, a timestamp. */
function assertEntraError(answer: FormAnswer, status: number, error: string, code: number) {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json.error, error);
  assert.match(String(answer.json.error_description), new RegExp(`^AADSTS${code}: `));
  assert.deepEqual(answer.json.error_codes, [code]);
  assert.match(String(answer.json.trace_id), /^[0-9a-f-]{36}$/);
  assert.match(String(answer.json.correlation_id), /^[0-9a-f-]{36}$/);
  assert.match(String(answer.json.timestamp), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
}

before(async () => {
  dir = tempDir('graph-meetings-entra-');
  db = `sqlite:${join(dir, 'meetings.db')}`;
  caFile = join(dir, 'tls', 'ca.pem');
  certificate = await rsaCertificate();
  writeDirectory(dir, {
    tenants: [
      {
        id: TENANT,
        displayName: 'Contoso',
        users: [ALICE, { id: '22222222-aaaa-4bbb-8ccc-000000000002', userPrincipalName: 'bob@contoso.example', displayName: 'Bob' }],
        apps: [
          { appId: SECRET_APP, displayName: 'Daemon', secrets: [SECRET], roles: ['OnlineMeetings.ReadWrite.All'] },
          { appId: CERT_APP, displayName: 'Certificate daemon', certificates: [certificate.certPem], roles: ['OnlineMeetings.ReadWrite.All'] },
          { appId: PUBLIC_APP, displayName: 'Desktop app', redirectUris: [REDIRECT_URI] },
          { appId: WEB_APP, displayName: 'Web app', secrets: [WEB_SECRET], redirectUris: [REDIRECT_URI] },
        ],
        policies: [{ name: 'daemons', appIds: [SECRET_APP, CERT_APP], global: true }],
      },
      { id: OTHER_TENANT, users: [] },
    ],
  });
  server = await startTls();
  ca = readFileSync(caFile, 'utf8');
});
after(async () => {
  await server?.stop();
  await killAllChildren();
});

describe('discovery and keys', () => {
  test('the discovery document names this origin, the tenant issuer and the endpoints on it', async () => {
    const answer = await httpsRequest(`${server.url}/${TENANT}/v2.0/.well-known/openid-configuration`, { ca });
    assert.equal(answer.status, 200);
    const doc = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(doc.issuer, `${server.url}/${TENANT}/v2.0`);
    assert.equal(doc.token_endpoint, `${server.url}/${TENANT}/oauth2/v2.0/token`);
    assert.equal(doc.authorization_endpoint, `${server.url}/${TENANT}/oauth2/v2.0/authorize`);
    assert.equal(doc.jwks_uri, `${server.url}/${TENANT}/discovery/v2.0/keys`);
    // Reached by another name, the same server answers with that name.
    const byName = await httpsRequest(`${server.url.replace('127.0.0.1', 'localhost')}/organizations/v2.0/.well-known/openid-configuration`, { ca });
    const named = JSON.parse(byName.body) as Record<string, unknown>;
    assert.equal(named.issuer, `${server.url.replace('127.0.0.1', 'localhost')}/{tenantid}/v2.0`);
  });

  test('the keys are the persisted dev signing key; an unknown tenant is AADSTS90002', async () => {
    const keys = JSON.parse((await httpsRequest(`${server.url}/${TENANT}/discovery/v2.0/keys`, { ca })).body) as { keys: { kid: string; kty: string }[] };
    const devKeys = JSON.parse((await httpsRequest(`${server.url}/dev-issuer/discovery/keys`, { ca })).body) as typeof keys;
    assert.deepEqual(keys, devKeys);
    assert.equal(keys.keys[0]!.kty, 'RSA');
    const unknown = await postForm(tokenPath('3f2504e0-4f89-41d3-9a0c-0305e82c3301'), { grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: SECRET, scope: GRAPH_DEFAULT });
    assertEntraError(unknown, 400, 'invalid_request', 90002);
    const discovery = await httpsRequest(`${server.url}/not-a-tenant/v2.0/.well-known/openid-configuration`, { ca });
    assert.equal(discovery.status, 400);
    assert.equal((JSON.parse(discovery.body) as { error_codes: number[] }).error_codes[0], 90002);
  });
});

describe('client credentials', () => {
  test('ClientSecretCredential gets an app token with the app roles, and the Graph SDK uses it', async () => {
    const result = await entraClient({ mode: 'secret', clientId: SECRET_APP, secret: SECRET, meetingFor: ALICE.id });
    assert.equal(result.error, undefined, JSON.stringify(result));
    const claims = decodeJwt(String(result.token));
    assert.equal(claims.iss, `${server.url}/${TENANT}/v2.0`);
    assert.equal(claims.ver, '2.0');
    assert.equal(claims.idtyp, 'app');
    assert.equal(claims.azp, SECRET_APP);
    assert.equal(claims.azpacr, '1');
    assert.equal(claims.tid, TENANT);
    assert.deepEqual(claims.roles, ['OnlineMeetings.ReadWrite.All']);
    assert.equal(result.cachedSecondCall, true, 'MSAL serves the second call from its cache');
    assert.equal((result.meeting as { subject: string }).subject, 'Via the Entra-compatible token service');
  });

  test('ClientCertificateCredential (a client assertion) gets an app token', async () => {
    const result = await entraClient({ mode: 'certificate', clientId: CERT_APP, certificate: `${certificate.keyPem}${certificate.certPem}`, meetingFor: ALICE.id });
    assert.equal(result.error, undefined, JSON.stringify(result));
    const claims = decodeJwt(String(result.token));
    assert.equal(claims.azp, CERT_APP);
    assert.equal(claims.azpacr, '2');
    assert.ok(result.meeting);
  });

  for (const alg of ['RS256', 'PS256'] as const) {
    test(`a client assertion signed ${alg} is accepted within the 5-minute skew, refused beyond it`, async () => {
      const key = await importPKCS8(certificate.keyPem, alg);
      const thumbprint = createHash('sha1').update(new X509Certificate(certificate.certPem).raw).digest('base64url');
      const assertion = (skewSeconds: number) => {
        const now = Math.floor(Date.now() / 1000) + skewSeconds;
        return new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg, x5t: thumbprint })
          .setIssuer(CERT_APP)
          .setSubject(CERT_APP)
          .setAudience(`${server.url}${tokenPath()}`)
          .setIssuedAt(now)
          .setNotBefore(now)
          .setExpirationTime(now + 600)
          .sign(key);
      };
      const form = (clientAssertion: string) => ({
        grant_type: 'client_credentials',
        client_id: CERT_APP,
        scope: GRAPH_DEFAULT,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion,
      });
      assert.equal((await postForm(tokenPath(), form(await assertion(4 * 60)))).status, 200, 'not yet valid by 4 minutes: within the skew');
      assertEntraError(await postForm(tokenPath(), form(await assertion(6 * 60))), 401, 'invalid_client', 700027);
      assertEntraError(await postForm(tokenPath(), form(await assertion(-17 * 60))), 401, 'invalid_client', 700027);
    });
  }
});

describe('token endpoint errors', () => {
  const base = { grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: SECRET, scope: GRAPH_DEFAULT };
  const without = (name: keyof typeof base) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== name));

  test('a missing parameter is invalid_request AADSTS900144', async () => {
    for (const name of ['grant_type', 'client_id', 'scope'] as const) {
      const answer = await postForm(tokenPath(), without(name));
      assertEntraError(answer, 400, 'invalid_request', 900144);
      assert.match(String(answer.json.error_description), new RegExp(`'${name}'`));
    }
  });

  test('an unknown grant type is unsupported_grant_type AADSTS70003', async () => {
    assertEntraError(await postForm(tokenPath(), { ...base, grant_type: 'urn:ietf:params:oauth:grant-type:device_code' }), 400, 'unsupported_grant_type', 70003);
  });

  test('a named scope on client credentials is invalid_scope', async () => {
    assertEntraError(await postForm(tokenPath(), { ...base, scope: 'https://graph.microsoft.com/OnlineMeetings.ReadWrite.All' }), 400, 'invalid_scope', 1002012);
  });

  test('an unknown client id is unauthorized_client AADSTS700016', async () => {
    assertEntraError(await postForm(tokenPath(), { ...base, client_id: UNKNOWN_APP }), 400, 'unauthorized_client', 700016);
  });

  test('a wrong secret is invalid_client 401 AADSTS7000215; no credential at all AADSTS7000218', async () => {
    assertEntraError(await postForm(tokenPath(), { ...base, client_secret: 'wrong' }), 401, 'invalid_client', 7000215);
    assertEntraError(await postForm(tokenPath(), without('client_secret')), 401, 'invalid_client', 7000218);
    // A confidential app on a delegated grant without its credential, too.
    const password = { grant_type: 'password', client_id: WEB_APP, scope: 'openid', username: ALICE.userPrincipalName, password: ALICE.password };
    assertEntraError(await postForm(tokenPath(), password), 401, 'invalid_client', 7000218);
  });

  test('a wrong password is invalid_grant AADSTS50126; a bad refresh token or code is invalid_grant', async () => {
    const password = { grant_type: 'password', client_id: PUBLIC_APP, scope: 'openid', username: ALICE.userPrincipalName, password: 'wrong' };
    assertEntraError(await postForm(tokenPath(), password), 400, 'invalid_grant', 50126);
    assertEntraError(await postForm(tokenPath(), { ...password, username: 'bob@contoso.example' }), 400, 'invalid_grant', 50126);
    assertEntraError(await postForm(tokenPath(), { grant_type: 'refresh_token', client_id: PUBLIC_APP, refresh_token: 'garbage' }), 400, 'invalid_grant', 9002313);
    assertEntraError(
      await postForm(tokenPath(), { grant_type: 'authorization_code', client_id: PUBLIC_APP, code: 'garbage', redirect_uri: REDIRECT_URI }),
      400,
      'invalid_grant',
      70008,
    );
  });

  test('a JSON body finds no grant_type; the client-request-id comes back as correlation_id', async () => {
    const json = await httpsRequest(`${server.url}${tokenPath()}`, { ca, json: base });
    assert.equal(json.status, 400);
    assert.deepEqual((JSON.parse(json.body) as { error_codes: number[] }).error_codes, [900144]);
    const correlation = randomUUID();
    const answer = await postForm(tokenPath(), { ...base, client_secret: 'wrong' }, { 'client-request-id': correlation });
    assert.equal(answer.json.correlation_id, correlation);
  });

  test('client credentials need the tenant id in the authority; client_secret_basic is accepted', async () => {
    assertEntraError(await postForm(tokenPath('common'), base), 400, 'invalid_request', 900023);
    const basic = Buffer.from(`${SECRET_APP}:${encodeURIComponent(SECRET)}`).toString('base64');
    const answer = await postForm(tokenPath(), { grant_type: 'client_credentials', scope: GRAPH_DEFAULT }, { authorization: `Basic ${basic}` });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(decodeJwt(String(answer.json.access_token)).azp, SECRET_APP);
  });

  test('hostile input gets a 400 in Entra\'s shape or the error page, never a 500', async () => {
    const twice = `${new URLSearchParams(base).toString()}&client_id=${UNKNOWN_APP}`;
    const answer = await postForm(tokenPath(), twice);
    assertEntraError(answer, 400, 'invalid_request', 900144);
    assertEntraError(await postForm(tokenPath(), {}, { authorization: `Basic ${Buffer.from('a:%E').toString('base64')}` }), 400, 'invalid_request', 900144);
    for (const query of [
      `client_id=${PUBLIC_APP}&client_id=${WEB_APP}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`,
      `client_id=${PUBLIC_APP}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=a&scope=b`,
      'client_id=%00&redirect_uri=x',
    ]) {
      const page = await httpsRequest(`${server.url}/${TENANT}/oauth2/v2.0/authorize?${query}`, { ca });
      assert.equal(page.status, 400, query);
      assert.match(page.body, /id="sign-in-error"/);
    }
  });

  test('no secret, password or token reaches the server output or the request log', async () => {
    const answer = await postForm(tokenPath(), { grant_type: 'password', client_id: PUBLIC_APP, scope: 'openid', username: ALICE.userPrincipalName, password: ALICE.password });
    await postForm(tokenPath(), base);
    const adminKey = (await runCli(['admin-key', '--db', db])).stdout.trim();
    const log = await httpsRequest(`${server.url}/__admin/requests?limit=50`, { ca, headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(log.status, 200, log.body);
    const output = `${log.body}${server.stdout()}${server.stderr()}`;
    for (const secret of [SECRET, ALICE.password, String(answer.json.access_token)]) assert.ok(!output.includes(secret), `the output holds ${secret.slice(0, 12)}…`);
  });
});

describe('delegated flows', () => {
  test('UsernamePasswordCredential (a public client) gets a delegated token, and the Graph SDK creates a meeting for /me', async () => {
    const result = await entraClient({
      mode: 'password',
      clientId: PUBLIC_APP,
      username: ALICE.userPrincipalName,
      password: ALICE.password,
      scopes: ['https://graph.microsoft.com/OnlineMeetings.ReadWrite'],
      meetingFor: 'me',
    });
    assert.equal(result.error, undefined, JSON.stringify(result));
    const claims = decodeJwt(String(result.token));
    assert.equal(claims.scp, 'OnlineMeetings.ReadWrite');
    assert.equal(claims.oid, ALICE.id);
    assert.equal(claims.preferred_username, ALICE.userPrincipalName);
    assert.equal(claims.name, ALICE.displayName);
    assert.equal(claims.azp, PUBLIC_APP);
    assert.equal(claims.azpacr, '0');
    assert.equal(claims.ver, '2.0');
    assert.ok(result.meeting);
  });

  test('the password grant answers id_token and refresh_token; refresh_token gives new tokens to that client only', async () => {
    const first = await postForm(tokenPath(), {
      grant_type: 'password',
      client_id: PUBLIC_APP,
      scope: 'https://graph.microsoft.com/.default openid profile offline_access',
      username: ALICE.userPrincipalName,
      password: ALICE.password,
    });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(decodeJwt(String(first.json.access_token)).scp, 'OnlineMeetings.ReadWrite', '.default gives OnlineMeetings.ReadWrite');
    const idToken = decodeJwt(String(first.json.id_token));
    assert.equal(idToken.aud, PUBLIC_APP);
    assert.equal(idToken.preferred_username, ALICE.userPrincipalName);
    assert.equal(decodeProtectedHeader(String(first.json.id_token)).alg, 'RS256');
    assert.equal(first.json.token_type, 'Bearer');
    const refreshed = await postForm(tokenPath(), { grant_type: 'refresh_token', client_id: PUBLIC_APP, refresh_token: String(first.json.refresh_token) });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
    assert.equal(decodeJwt(String(refreshed.json.access_token)).oid, ALICE.id);
    assert.ok(refreshed.json.refresh_token);
    const stolen = await postForm(tokenPath(), {
      grant_type: 'refresh_token',
      client_id: WEB_APP,
      client_secret: WEB_SECRET,
      refresh_token: String(first.json.refresh_token),
    });
    assertEntraError(stolen, 400, 'invalid_grant', 9002313);
    // Without offline_access / openid: neither a refresh token nor an id token.
    const plain = await postForm(tokenPath(), {
      grant_type: 'password',
      client_id: PUBLIC_APP,
      scope: 'OnlineMeetings.Read',
      username: ALICE.userPrincipalName,
      password: ALICE.password,
    });
    assert.equal(plain.json.refresh_token, undefined);
    assert.equal(plain.json.id_token, undefined);
    const mail = { grant_type: 'password', client_id: PUBLIC_APP, scope: 'Mail.Send', username: ALICE.userPrincipalName, password: ALICE.password };
    assertEntraError(await postForm(tokenPath(), mail), 400, 'invalid_scope', 70011);
  });

  test('on /organizations the user\'s own tenant issues the token', async () => {
    const answer = await postForm(tokenPath('organizations'), {
      grant_type: 'password',
      client_id: PUBLIC_APP,
      scope: 'OnlineMeetings.ReadWrite',
      username: ALICE.userPrincipalName,
      password: ALICE.password,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const claims = decodeJwt(String(answer.json.access_token));
    assert.equal(claims.tid, TENANT);
    assert.equal(claims.iss, `${server.url}/${TENANT}/v2.0`);
  });
});

describe('authorization code with PKCE through the sign-in page', () => {
  for (const client of [
    { name: 'a public client', clientId: PUBLIC_APP, secret: undefined },
    { name: 'a confidential web app', clientId: WEB_APP, secret: WEB_SECRET },
  ]) {
    test(`MSAL getAuthCodeUrl, the page in Chromium, acquireTokenByCode (${client.name})`, async () => {
      const authUrl = await entraClient({ mode: 'auth-url', clientId: client.clientId, redirectUri: REDIRECT_URI, username: ALICE.userPrincipalName, scopes: ['OnlineMeetings.ReadWrite'] });
      assert.equal(authUrl.error, undefined, JSON.stringify(authUrl));
      const browser = await launchBrowser();
      let callback: URL;
      try {
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        const page = await context.newPage();
        // A route handler sees no redirect target: wait for the request the 302 leads to (nothing listens there).
        const redirected = page.waitForRequest((request) => request.url().startsWith(REDIRECT_URI), { timeout: 30_000 }).then((request) => new URL(request.url()));
        await page.goto(String(authUrl.url));
        if (client.secret) await screenshot(page, 'entra-sign-in-page');
        assert.equal(await page.inputValue('#username'), ALICE.userPrincipalName, 'login_hint fills in the name');
        await page.fill('#password', 'wrong password');
        await page.click('#sign-in-submit');
        assert.match((await page.textContent('#sign-in-error')) ?? '', /AADSTS50126/);
        await page.fill('#password', ALICE.password);
        await page.click('#sign-in-submit');
        callback = await within(redirected, 15_000, 'the redirect to the client');
      } finally {
        await browser.close();
      }
      assert.equal(callback.searchParams.get('state'), 'state-123');
      const code = callback.searchParams.get('code')!;
      assert.ok(code);
      const redeem = { mode: 'redeem', clientId: client.clientId, secret: client.secret, redirectUri: REDIRECT_URI, code, verifier: authUrl.verifier, meetingFor: 'me' };
      const result = await entraClient(redeem);
      assert.equal(result.error, undefined, JSON.stringify(result));
      assert.equal(decodeJwt(String(result.token)).scp, 'OnlineMeetings.ReadWrite');
      assert.equal(decodeJwt(String(result.idToken)).nonce, 'nonce-456');
      assert.equal(result.username, ALICE.userPrincipalName);
      assert.ok(result.meeting);
      // The code is single-use.
      const again = await postForm(tokenPath(), {
        grant_type: 'authorization_code',
        client_id: client.clientId,
        ...(client.secret ? { client_secret: client.secret } : {}),
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: String(authUrl.verifier),
      });
      assertEntraError(again, 400, 'invalid_grant', 54005);
    });
  }

  test('a code is bound to its PKCE verifier and redirect URI; an unregistered redirect URI is refused on the page', async () => {
    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
      const verifier = 'v'.repeat(50);
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const query = (redirect: string) =>
        new URLSearchParams({ client_id: PUBLIC_APP, response_type: 'code', redirect_uri: redirect, scope: 'openid offline_access OnlineMeetings.Read', code_challenge: challenge, code_challenge_method: 'S256', response_mode: 'form_post', state: 's' });
      const refused = await page.goto(`${server.url}/${TENANT}/oauth2/v2.0/authorize?${query('https://evil.example/cb')}`);
      assert.equal(refused!.status(), 400);
      assert.match((await page.textContent('#sign-in-error')) ?? '', /AADSTS50011/);
      const posted = new Promise<string>((resolve) => {
        void page.route(`${REDIRECT_URI}**`, async (route) => {
          resolve(route.request().postData() ?? '');
          await route.fulfill({ status: 200, body: 'ok' });
        });
      });
      await page.goto(`${server.url}/${TENANT}/oauth2/v2.0/authorize?${query(REDIRECT_URI)}`);
      await page.fill('#username', ALICE.userPrincipalName);
      await page.fill('#password', ALICE.password);
      await page.click('#sign-in-submit');
      const form = new URLSearchParams(await within(posted, 15_000, 'the form_post answer'));
      assert.equal(form.get('state'), 's');
      const code = form.get('code')!;
      const redeem = { grant_type: 'authorization_code', client_id: PUBLIC_APP, code, redirect_uri: REDIRECT_URI };
      assertEntraError(await postForm(tokenPath(), { ...redeem, code_verifier: 'w'.repeat(50) }), 400, 'invalid_grant', 501481);
      assertEntraError(await postForm(tokenPath(), { ...redeem, redirect_uri: 'http://localhost:3000/other', code_verifier: verifier }), 400, 'invalid_request', 50011);
      const ok = await postForm(tokenPath(), { ...redeem, code_verifier: verifier });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.ok(ok.json.refresh_token);
    } finally {
      await browser.close();
    }
  });
});

test('prompt=none answers login_required at the redirect URI (no sign-in session is kept)', async () => {
  const query = new URLSearchParams({ client_id: PUBLIC_APP, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'none', state: 'silent' });
  const answer = await new Promise<{ status: number; location: string }>((resolve, reject) => {
    httpsRequestRaw(`${server.url}/${TENANT}/oauth2/v2.0/authorize?${query}`, { ca, agent: false }, (response) => {
      response.resume().on('end', () => resolve({ status: response.statusCode!, location: String(response.headers.location) }));
    })
      .on('error', reject)
      .end();
  });
  assert.equal(answer.status, 302);
  const location = new URL(answer.location);
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT_URI);
  assert.equal(location.searchParams.get('error'), 'login_required');
  assert.match(location.searchParams.get('error_description')!, /^AADSTS50058: /);
  assert.equal(location.searchParams.get('state'), 'silent');
});

describe('restart', () => {
  test('tokens stay valid across a restart (the signing key is persisted); graph-meetings token still works', async () => {
    const answer = await postForm(tokenPath(), { grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: SECRET, scope: GRAPH_DEFAULT });
    const token = String(answer.json.access_token);
    const devToken = (await runCli(['token', '--user', ALICE.userPrincipalName, '--db', db])).stdout.trim();
    await server.stop();
    server = await startTls();
    const meetings = await httpsRequest(`${server.url}/v1.0/users/${ALICE.id}/onlineMeetings?$filter=JoinWebUrl eq 'x'`, {
      ca,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.notEqual(meetings.status, 401, meetings.body);
    const me = await httpsRequest(`${server.url}/v1.0/me/onlineMeetings/createOrGet`, {
      ca,
      headers: { authorization: `Bearer ${devToken}` },
      json: { externalId: 'after-restart', subject: 's', startDateTime: '2030-01-01T10:00:00Z', endDateTime: '2030-01-01T11:00:00Z' },
    });
    assert.ok(me.status === 200 || me.status === 201, me.body);
  });

  test('refused credentials are throttled per address: 429 with Retry-After in Entra\'s shape', async () => {
    // An unknown user costs no hash check, so the failure budget (60 a minute) runs out fast.
    const guess = { grant_type: 'password', client_id: PUBLIC_APP, scope: 'openid', username: 'nobody@contoso.example', password: 'guess' };
    let answer: FormAnswer | undefined;
    for (let i = 0; i < 80 && answer?.status !== 429; i++) answer = await postForm(tokenPath(), guess);
    assertEntraError(answer!, 429, 'temporarily_unavailable', 50196);
    assert.ok(Number(answer!.headers['retry-after']) >= 1);
  });
});

describe('on PostgreSQL, across two processes sharing the database', () => {
  let first: RunningServer;
  let second: RunningServer;
  const directory = {
    tenants: [
      {
        id: TENANT,
        users: [ALICE],
        apps: [
          { appId: SECRET_APP, secrets: [SECRET], roles: ['OnlineMeetings.ReadWrite.All'] },
          { appId: PUBLIC_APP, redirectUris: [REDIRECT_URI] },
        ],
      },
    ],
  };

  before(async () => {
    const url = await freshDatabase((await testPostgres()).url);
    first = await startServer({ directory, config: { db: url } });
    second = await startServer({ directory, config: { db: url } });
  });
  after(async () => {
    await first?.close();
    await second?.close();
  });

  const form = (server: RunningServer, path: string, fields: Record<string, string>) =>
    fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  test('a code signed in on one process is redeemed once on any; refresh tokens work on the other', async () => {
    const verifier = 'p'.repeat(60);
    const signIn = await form(first, `/${TENANT}/oauth2/v2.0/authorize`, {
      client_id: PUBLIC_APP,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'OnlineMeetings.ReadWrite offline_access',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      username: ALICE.userPrincipalName,
      password: ALICE.password,
    });
    assert.equal(signIn.status, 302, await signIn.text());
    const code = new URL(signIn.headers.get('location')!).searchParams.get('code')!;
    const redeem = { grant_type: 'authorization_code', client_id: PUBLIC_APP, code, redirect_uri: REDIRECT_URI, code_verifier: verifier };
    const [a, b] = await Promise.all([form(second, tokenPath(), redeem), form(first, tokenPath(), redeem)]);
    const statuses = [a.status, b.status].sort();
    assert.deepEqual(statuses, [200, 400], 'exactly one redemption succeeds');
    const winner = (a.status === 200 ? a : b).json() as Promise<Record<string, string>>;
    const loser = (await (a.status === 200 ? b : a).json()) as { error_codes: number[] };
    assert.deepEqual(loser.error_codes, [54005]);
    const refreshed = await form(second, tokenPath(), { grant_type: 'refresh_token', client_id: PUBLIC_APP, refresh_token: (await winner).refresh_token! });
    assert.equal(refreshed.status, 200);
    const token = ((await refreshed.json()) as { access_token: string }).access_token;
    const created = await first.request('/v1.0/me/onlineMeetings/createOrGet', {
      method: 'POST',
      token,
      json: { externalId: 'pg-entra', subject: 's', startDateTime: '2030-01-01T10:00:00Z', endDateTime: '2030-01-01T11:00:00Z' },
    });
    assert.ok(created.status === 200 || created.status === 201, await created.text());
  });

  test('client credentials against the PostgreSQL directory', async () => {
    const answer = await form(second, tokenPath(), { grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: SECRET, scope: GRAPH_DEFAULT });
    assert.equal(answer.status, 200);
    assert.deepEqual(decodeJwt(((await answer.json()) as { access_token: string }).access_token).roles, ['OnlineMeetings.ReadWrite.All']);
    const wrong = await form(first, tokenPath(), { grant_type: 'client_credentials', client_id: SECRET_APP, client_secret: 'nope', scope: GRAPH_DEFAULT });
    assert.equal(wrong.status, 401);
  });
});
