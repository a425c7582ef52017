// --auth oidc with Entra's tokens, against a local issuer shaped like Entra (helpers/entra-issuer.ts):
// the multi-tenant `{tenantid}` issuer template with the token's own tid substituted, Entra's v1
// issuer https://sts.windows.net/{tid}/, the tenant allow-list (--tenant / GRAPH_MEETINGS_TENANTS),
// v1 and v2 token shapes through real HTTP calls, and key rotation (an unknown kid refetches the
// JWKS at most once per minute). All calls are real HTTP against servers on real ports.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { JWKS_MAX_AGE_MS, JWKS_REFETCH_INTERVAL_MS } from '../src/auth/remote-key-set.js';
import { type CliServer, killAllChildren, startCliServer } from './helpers/cli.js';
import { EntraTestIssuer, v1Issuer } from './helpers/entra-issuer.js';
import { expectGraphError } from './helpers/graph-assert.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FRANK, ROGUE_APP } from './helpers/fixtures.js';
import { type RunningServer, startServer, tempDir, writeDirectory } from './helpers/server.js';

const ME = '/v1.0/me/onlineMeetings';
const usersPath = (id: string) => `/v1.0/users/${id}/onlineMeetings`;
const INVALID_ISSUER = 'Access token validation failure. Invalid issuer.';
/** Users of Contoso the directory does not list: provisioned from their token's claims. */
const NEWCOMER = () => ({ tenantId: CONTOSO, id: randomUUID(), upn: `new-${randomUUID().slice(0, 8)}@contoso.example`, name: 'New Comer' });

interface Meeting {
  participants: { organizer: { upn: string | null; identity: { user: { id: string; tenantId: string } } } };
}

let entra: EntraTestIssuer;
before(async () => {
  entra = await EntraTestIssuer.start();
});
after(async () => {
  await killAllChildren();
  await entra.stop();
});

function oidcServer(config: Record<string, unknown> = {}, issuer = entra.common) {
  return startServer({ directory: DIRECTORY, config: { auth: 'oidc', issuer, ...config } });
}

/** A server started in-process or through the CLI: both take the token and JSON body the same way. */
interface Target {
  request(path: string, init: { method: string; token: string; json: unknown }): Promise<Response>;
}

function createOrGet(target: Target, base: string, token: string, organizerId?: string) {
  const body = { externalId: `e-${randomUUID()}`, ...(organizerId ? { participants: { organizer: { identity: { user: { id: organizerId } } } } } : {}) };
  return target.request(`${base}/createOrGet`, { method: 'POST', token, json: body });
}

async function expectMeeting(response: Promise<Response>, status = 201): Promise<Meeting> {
  const res = await response;
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as Meeting;
}

async function expect401(response: Promise<Response>, message: string | RegExp) {
  const res = await response;
  await expectGraphError(res, 401, { code: 'InvalidAuthenticationToken', message });
}

describe('multi-tenant issuer: --issuer <entra>/common/v2.0 (discovery names …/{tenantid}/v2.0)', () => {
  let server: RunningServer;
  before(async () => {
    server = await oidcServer();
  });
  after(() => server.close());

  test('v2 delegated token (azp, preferred_username, no idtyp) of Contoso: iss is the template with its tid', async () => {
    const meeting = await expectMeeting(createOrGet(server, ME, await entra.v2User(ALICE)));
    assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
    assert.equal(meeting.participants.organizer.identity.user.tenantId, CONTOSO);
  });

  test('v2 delegated token of another tenant (Fabrikam) is accepted too: no allow-list', async () => {
    const meeting = await expectMeeting(createOrGet(server, ME, await entra.v2User(FRANK)));
    assert.equal(meeting.participants.organizer.identity.user.tenantId, FABRIKAM);
  });

  test("v1 delegated token (appid, upn, iss https://sts.windows.net/{tid}/) is accepted for an Entra v2 issuer", async () => {
    const meeting = await expectMeeting(createOrGet(server, ME, await entra.v1User(BOB)));
    assert.equal(meeting.participants.organizer.identity.user.id, BOB.id);
  });

  test('a user not in the directory gets the UPN of the token: preferred_username (v2), upn (v1)', async () => {
    for (const mint of [entra.v2User.bind(entra), entra.v1User.bind(entra)]) {
      const user = NEWCOMER();
      const meeting = await expectMeeting(createOrGet(server, ME, await mint(user)));
      assert.equal(meeting.participants.organizer.identity.user.id, user.id);
      assert.equal(meeting.participants.organizer.upn, user.upn);
    }
  });

  test('v2 app token (azp, idtyp app) with an access policy creates for the user; on /me it is refused as an app', async () => {
    const token = await entra.v2App(BOOKING_APP);
    const meeting = await expectMeeting(createOrGet(server, usersPath(ALICE.id), token, ALICE.id));
    assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
    const meOnly = '/me request is only valid with delegated authentication flow.';
    await expectGraphError(await createOrGet(server, ME, token), 400, { code: 'BadRequest', message: meOnly });
  });

  test('v1 app token without idtyp (appid, roles, no scp) is an application: global policy grants, none refuses', async () => {
    await expectMeeting(createOrGet(server, usersPath(BOB.id), await entra.v1App(CRM_APP), BOB.id));
    await expectGraphError(await createOrGet(server, usersPath(BOB.id), await entra.v1App(ROGUE_APP), BOB.id), 403, {
      message: 'No Application Access Policy found for this app',
    });
  });

  test("tid substitution: a token of tenant A carrying tenant B's issuer is refused, v2 and v1", async () => {
    await expect401(createOrGet(server, ME, await entra.v2User(ALICE, undefined, { iss: entra.v2Issuer(FABRIKAM) })), INVALID_ISSUER);
    await expect401(createOrGet(server, ME, await entra.v1User(ALICE, undefined, { iss: v1Issuer(FABRIKAM) })), INVALID_ISSUER);
    // The same token with its own tenant's issuer passes (the refusal was the issuer).
    await expectMeeting(createOrGet(server, ME, await entra.v2User(ALICE, undefined, { iss: entra.v2Issuer(CONTOSO) })));
  });

  test('other issuers are refused: the template itself, another host, common, no tid, a tid with a slash', async () => {
    const cases: Array<[string, Promise<string>]> = [
      ['the literal template', entra.v2User(ALICE, undefined, { iss: `${entra.url}/{tenantid}/v2.0` })],
      ['Entra itself (another host)', entra.v2User(ALICE, undefined, { iss: `https://login.microsoftonline.com/${CONTOSO}/v2.0` })],
      ['the common endpoint', entra.v2User(ALICE, undefined, { iss: entra.common })],
      ['v1 issuer without trailing slash', entra.v1User(ALICE, undefined, { iss: `https://sts.windows.net/${CONTOSO}` })],
      ['no iss', entra.v2User(ALICE, undefined, { claims: { iss: undefined } })],
      ['tid reshaping the URL', entra.v2User(ALICE, undefined, { iss: `${entra.url}/x/y/v2.0`, claims: { tid: 'x/y' } })],
    ];
    for (const [name, token] of cases) {
      const res = await createOrGet(server, ME, await token);
      await expectGraphError(res, 401, { code: 'InvalidAuthenticationToken', message: /^Access token validation failure\./ }).catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
    }
  });

  test("a token Entra issued for Graph itself (nonce header, signed over the nonce's hash) gets a 401 saying what to do", async () => {
    // Entra signs over the SHA-256 of the nonce and then writes the nonce itself into the header.
    const signed = await entra.v1User(ALICE, undefined, { header: { nonce: 'hashed-nonce' } });
    const [, payload, signature] = signed.split('.');
    const header = JSON.parse(Buffer.from(signed.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    const token = [Buffer.from(JSON.stringify({ ...header, nonce: 'original-nonce' })).toString('base64url'), payload, signature].join('.');
    await expect401(createOrGet(server, ME, token), /only Graph can verify it.*--audience/);
  });

  test('a token without tid is refused', async () => {
    await expect401(createOrGet(server, ME, await entra.v2User(ALICE, undefined, { claims: { tid: undefined } })), /^Access token validation failure\./);
  });
});

describe('tenant allow-list (--tenant, GRAPH_MEETINGS_TENANTS)', () => {
  let server: RunningServer;
  before(async () => {
    // Given in capitals: tenant ids compare as GUIDs.
    server = await oidcServer({ tenants: [CONTOSO.toUpperCase()] });
  });
  after(() => server.close());

  test('a listed tenant is accepted, v2 and v1', async () => {
    await expectMeeting(createOrGet(server, ME, await entra.v2User(ALICE)));
    await expectMeeting(createOrGet(server, ME, await entra.v1User(ALICE)));
  });

  test('another tenant: 401 InvalidAuthenticationToken naming the tenant, for users and apps', async () => {
    const message = `Access token validation failure. Tokens of tenant '${FABRIKAM}' are not accepted by this server.`;
    await expect401(createOrGet(server, ME, await entra.v2User(FRANK)), message);
    await expect401(createOrGet(server, usersPath(FRANK.id), await entra.v1App({ tenantId: FABRIKAM, appId: randomUUID() }), FRANK.id), message);
  });

  test('the CLI: GRAPH_MEETINGS_TENANTS (comma-separated) and --tenant', async () => {
    const dir = tempDir();
    const directory = writeDirectory(dir, DIRECTORY);
    const oidc = ['--auth', 'oidc', '--issuer', entra.common, '--directory', directory, '--log-level', 'warn'];
    const args = (db: string) => ['--port', '0', '--db', `sqlite:${dir}/${db}`, ...oidc];
    const servers: CliServer[] = [];
    try {
      servers.push(await startCliServer(args('env.db'), { env: { GRAPH_MEETINGS_TENANTS: `${FABRIKAM}, ${randomUUID()}` } }));
      servers.push(await startCliServer([...args('flag.db'), '--tenant', FABRIKAM]));
      for (const cli of servers) {
        assert.match(cli.stdout(), new RegExp(`tenants ${FABRIKAM}`));
        await expectMeeting(createOrGet(cli, ME, await entra.v2User(FRANK)));
        await expect401(createOrGet(cli, ME, await entra.v2User(ALICE)), /Tokens of tenant '7d1e2a3b-1111/);
      }
    } finally {
      await Promise.all(servers.map((cli) => cli.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an invalid --tenant is a configuration error', async () => {
    await assert.rejects(oidcServer({ tenants: ['a/b'] }), /invalid --tenant 'a\/b'/);
  });
});

describe('issuer forms', () => {
  test("--reject-v1-tokens: Entra's v1 issuer is refused, v2 still accepted", async () => {
    const server = await oidcServer({ rejectV1Tokens: true });
    try {
      await expect401(createOrGet(server, ME, await entra.v1User(ALICE)), INVALID_ISSUER);
      await expectMeeting(createOrGet(server, ME, await entra.v2User(ALICE)));
    } finally {
      await server.close();
    }
  });

  test("a single tenant's issuer (…/<tid>/v2.0): its v2 and v1 issuers only", async () => {
    const server = await oidcServer({}, entra.v2Issuer(CONTOSO));
    try {
      await expectMeeting(createOrGet(server, ME, await entra.v2User(ALICE)));
      await expectMeeting(createOrGet(server, ME, await entra.v1User(ALICE)));
      await expect401(createOrGet(server, ME, await entra.v2User(FRANK)), INVALID_ISSUER);
      await expect401(createOrGet(server, ME, await entra.v1User(FRANK)), INVALID_ISSUER);
    } finally {
      await server.close();
    }
  });

  test('organizations, and the template itself given as --issuer (discovered through common)', async () => {
    for (const issuer of [`${entra.url}/organizations/v2.0`, `${entra.url}/{tenantid}/v2.0`]) {
      const server = await oidcServer({}, issuer);
      try {
        await expectMeeting(createOrGet(server, ME, await entra.v2User(FRANK)));
        await expectMeeting(createOrGet(server, ME, await entra.v1User(ALICE)));
      } finally {
        await server.close();
      }
    }
  });

  test("an issuer whose keys cannot be read fails start-up, naming the keys' URL", async () => {
    const keyless = createServer((_req, res) => {
      const { port } = keyless.address() as AddressInfo;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: `http://127.0.0.1:${port}/{tenantid}/v2.0`, jwks_uri: 'http://127.0.0.1:9/keys' }));
    });
    await new Promise<void>((resolve) => keyless.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = keyless.address() as AddressInfo;
      await assert.rejects(oidcServer({}, `http://127.0.0.1:${port}/common/v2.0`), /cannot read the issuer's keys http:\/\/127\.0\.0\.1:9\/keys/);
    } finally {
      keyless.closeAllConnections();
      await new Promise((resolve) => keyless.close(resolve));
    }
  });

  test('a discovery document naming another issuer fails start-up', async () => {
    // Contoso's document names …/<contoso>/v2.0 exactly, so a configured form with a slash differs.
    await assert.rejects(oidcServer({}, `${entra.v2Issuer(CONTOSO)}/`), /names issuer/);
  });
});

describe('key rotation: an unknown kid refetches the JWKS at most once per minute', () => {
  // Its own issuer, so its JWKS requests are this server's only. The server's clock stands still
  // unless moved here, so however slowly the machine runs, only these steps count as time.
  let rotating: EntraTestIssuer;
  let server: RunningServer;
  let offsetMs = 0;
  before(async () => {
    rotating = await EntraTestIssuer.start();
    const startMs = Date.now();
    server = await oidcServer({ clock: { now: () => startMs + offsetMs } }, rotating.common);
  });
  after(async () => {
    await server.close();
    await rotating.stop();
  });

  const unknownKidBurst = async (count: number) => {
    const tokens = await Promise.all(Array.from({ length: count }, async () => rotating.v2User(ALICE, undefined, { signer: await rotating.unpublished() })));
    const responses = await Promise.all(tokens.map((token) => createOrGet(server, ME, token)));
    for (const res of responses) await expectGraphError(res, 401, { code: 'InvalidAuthenticationToken' });
  };

  test('the keys are read once at start; known keys never refetch', async () => {
    assert.equal(rotating.requests.jwks, 1);
    for (let i = 0; i < 5; i++) await expectMeeting(createOrGet(server, ME, await rotating.v2User(ALICE)));
    assert.equal(rotating.requests.jwks, 1);
  });

  test('within the minute after a fetch, a burst of unknown kids fetches nothing', async () => {
    await unknownKidBurst(30);
    assert.equal(rotating.requests.jwks, 1);
  });

  test('a minute later, a concurrent burst of unknown kids fetches exactly once', async () => {
    offsetMs += JWKS_REFETCH_INTERVAL_MS;
    await unknownKidBurst(30);
    assert.equal(rotating.requests.jwks, 2);
    await unknownKidBurst(10);
    assert.equal(rotating.requests.jwks, 2);
  });

  test('a key rotated in is accepted after the refetch the minute allows, and then without fetching', async () => {
    const rotated = await rotating.rotateIn();
    const token = await rotating.v2User(ALICE, undefined, { signer: rotated });
    // The last fetch was less than a minute ago (on the moved clock): not yet.
    offsetMs += JWKS_REFETCH_INTERVAL_MS - 1_000;
    await expect401(createOrGet(server, ME, token), /^Access token validation failure\./);
    assert.equal(rotating.requests.jwks, 2);
    offsetMs += 1_000;
    await expectMeeting(createOrGet(server, ME, token));
    assert.equal(rotating.requests.jwks, 3);
    await expectMeeting(createOrGet(server, ME, await rotating.v2User(ALICE, undefined, { signer: rotated })));
    await expectMeeting(createOrGet(server, usersPath(BOB.id), await rotating.v1App(CRM_APP, undefined, { signer: rotated }), BOB.id));
    assert.equal(rotating.requests.jwks, 3);
  });

  test('keys older than the maximum age are read again on the next request (once)', async () => {
    offsetMs += JWKS_MAX_AGE_MS;
    const tokens = await Promise.all(Array.from({ length: 5 }, () => rotating.v2User(ALICE)));
    await Promise.all(tokens.map((token) => expectMeeting(createOrGet(server, ME, token))));
    assert.equal(rotating.requests.jwks, 4);
  });
});
