// Authentication and authorization over real HTTP: bearer-token validation (protocol §5, §10),
// the permission table (spec §3.2), /me with app tokens (§2.3), application access policies (§3.3),
// the app-only /communications and /app routes, delegated callers on /users, tenant isolation and
// provisioning of delegated callers from their token's claims.
import assert from 'node:assert/strict';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair } from 'jose';
import { JWKS_REFETCH_INTERVAL_MS } from '../src/auth/remote-key-set.js';
import { expectGraphError } from './helpers/graph-assert.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FABRIKAM_APP, FRANK, ROGUE_APP } from './helpers/fixtures.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const READ = 'OnlineMeetings.Read';
const READ_WRITE = 'OnlineMeetings.ReadWrite';
const READ_ALL = ['OnlineMeetings.Read.All'];

const ME = '/v1.0/me/onlineMeetings';
const COMMUNICATIONS = '/v1.0/communications/onlineMeetings';
const BETA_APP = '/beta/app/onlineMeetings';
const users = (ref: string) => `/v1.0/users/${encodeURIComponent(ref)}/onlineMeetings`;

const MSG = {
  empty: 'Access token is empty.',
  invalid: /^Access token validation failure\./,
  forbidden: 'Insufficient privileges to complete the operation.',
  noPolicy: 'No Application Access Policy found for this app',
  meOnly: '/me request is only valid with delegated authentication flow.',
};

interface Meeting {
  id: string;
  externalId: string;
  participants: {
    organizer: { upn: string | null; identity: { user: { id: string; displayName: string | null; tenantId: string } } };
  };
}

let issuer: TestIssuer;
let server: RunningServer;
/** A second issuer and server, so JWKS fetch counts are not disturbed by the other tests. */
let jwksIssuer: TestIssuer;
let jwksServer: RunningServer;
/** jwksServer's clock runs ahead by this much: the key-rotation test moves it past the refetch interval. */
let jwksClockOffsetMs = 0;

before(async () => {
  [issuer, jwksIssuer] = await Promise.all([TestIssuer.start(), TestIssuer.start()]);
  [server, jwksServer] = await Promise.all([
    startServer({ issuer, directory: DIRECTORY }),
    startServer({ issuer: jwksIssuer, directory: DIRECTORY, config: { clock: { now: () => Date.now() + jwksClockOffsetMs } } }),
  ]);
  await expectMeeting(createOrGet(ME, await jwksIssuer.userToken(ALICE), externalId('prime'), jwksServer), 201);
});
after(async () => {
  await Promise.all([server.close(), jwksServer.close()]);
  await Promise.all([issuer.stop(), jwksIssuer.stop()]);
});

// ---------------------------------------------------------------- helpers

const externalId = (label: string) => ({ externalId: `${label}-${randomUUID()}` });

function createOrGet(base: string, token: string | undefined, body: object, target = server) {
  return target.request(`${base}/createOrGet`, { method: 'POST', token, json: body });
}

function getMeeting(base: string, id: string, token: string) {
  return server.request(`${base}/${encodeURIComponent(id)}`, { token });
}

/** A createOrGet body naming the organizer, as an app must on /communications and /app. */
function withOrganizer(userId: string, label = 'organizer') {
  return { ...externalId(label), participants: { organizer: { identity: { user: { id: userId } } } } };
}

async function expectMeeting(response: Promise<Response> | Response, status: number): Promise<Meeting> {
  const res = await response;
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text) as Meeting;
}

/** The Graph error shape and request-id correlation (shared helper) plus, on 401, WWW-Authenticate. */
async function expectError(response: Promise<Response> | Response, status: number, code: string, message?: string | RegExp) {
  const res = await response;
  await expectGraphError(res, status, { code, message });
  if (status === 401) assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

/** A token with the claims of `token` under another header and signature. */
function reforge(token: string, header: object, sign: (signingInput: string) => string): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${token.split('.')[1]}`;
  return `${signingInput}.${sign(signingInput)}`;
}

/** HS256 keyed with the issuer's public RSA key: the classic algorithm-confusion forgery. */
async function hmacKeyedWith(secret: string): Promise<string> {
  return reforge(await issuer.userToken(ALICE), { alg: 'HS256', typ: 'JWT', kid: issuer.kid }, (input) =>
    createHmac('sha256', secret).update(input).digest('base64url'),
  );
}

const bearer = async (token: string | Promise<string>) => `Bearer ${await token}`;

async function foreignKey() {
  return (await generateKeyPair('RS256', { extractable: true })).privateKey;
}

/** An unknown-kid token: signed by a key the issuer never published. */
async function unknownKidToken(target = issuer) {
  return target.userToken(ALICE, READ_WRITE, { kid: randomUUID(), key: await foreignKey() });
}

// ---------------------------------------------------------------- 1. bearer tokens

describe('bearer token validation (POST /v1.0/me/onlineMeetings/createOrGet)', () => {
  const refused: Array<{ name: string; authorization: () => Promise<string | undefined>; message?: string | RegExp }> = [
    { name: 'no Authorization header', authorization: async () => undefined, message: MSG.empty },
    { name: 'an empty Bearer value', authorization: async () => 'Bearer ', message: MSG.empty },
    { name: 'a non-Bearer scheme', authorization: async () => `Basic ${await issuer.userToken(ALICE)}` },
    { name: 'a bearer value that is not a JWT', authorization: async () => 'Bearer abc', message: 'CompactToken parsing failed with error code: 80049217' },
    {
      name: 'an expired token (exp 1 h ago)',
      authorization: () => bearer(issuer.userToken(ALICE, READ_WRITE, { expiresInSeconds: -3600 })),
      message: 'Lifetime validation failed, the token is expired.',
    },
    {
      name: 'a token not yet valid (nbf in 1 h)',
      authorization: () => bearer(issuer.userToken(ALICE, READ_WRITE, { notBeforeInSeconds: 3600 })),
      message: /^Lifetime validation failed/,
    },
    {
      name: 'a token for another audience',
      authorization: () => bearer(issuer.userToken(ALICE, READ_WRITE, { audience: 'api://some-other-api' })),
      message: 'Access token validation failure. Invalid audience.',
    },
    {
      name: 'a token from another issuer',
      authorization: () => bearer(issuer.userToken(ALICE, READ_WRITE, { issuer: `https://sts.windows.net/${CONTOSO}/` })),
      message: MSG.invalid,
    },
    { name: 'a token signed by an unknown key (random kid)', authorization: () => bearer(unknownKidToken()), message: MSG.invalid },
    {
      name: 'a token with the published kid but signed by another key',
      authorization: async () => bearer(issuer.userToken(ALICE, READ_WRITE, { key: await foreignKey() })),
      message: MSG.invalid,
    },
    {
      name: 'an unsigned alg "none" token',
      authorization: async () => bearer(reforge(await issuer.userToken(ALICE), { alg: 'none', typ: 'JWT' }, () => '')),
      message: MSG.invalid,
    },
    {
      name: "an HS256 token keyed with the issuer's public key (PEM)",
      authorization: () => bearer(hmacKeyedWith(createPublicKey({ key: issuer.publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string)),
      message: MSG.invalid,
    },
    {
      name: "an HS256 token keyed with the issuer's public key (JWK JSON)",
      authorization: () => bearer(hmacKeyedWith(JSON.stringify(issuer.publicJwk))),
      message: MSG.invalid,
    },
    {
      name: 'a token without tid',
      authorization: () => bearer(issuer.userToken(ALICE, READ_WRITE, { claims: { tid: undefined } })),
      message: MSG.invalid,
    },
  ];

  for (const { name, authorization, message } of refused) {
    test(`401 for ${name}`, async () => {
      const value = await authorization();
      const headers: Record<string, string> = value === undefined ? {} : { authorization: value };
      const res = server.request(`${ME}/createOrGet`, { method: 'POST', headers, json: externalId('bad-token') });
      await expectError(res, 401, 'InvalidAuthenticationToken', message);
    });
  }

  test('403 for a delegated token without an OnlineMeetings scope', async () => {
    await expectError(createOrGet(ME, await issuer.userToken(ALICE, 'User.Read'), externalId('no-scope')), 403, 'Forbidden', MSG.forbidden);
  });

  test('403 for an app token without an OnlineMeetings role', async () => {
    const token = await issuer.appToken(BOOKING_APP, ['User.Read.All']);
    await expectError(createOrGet(users(ALICE.id), token, externalId('no-role')), 403, 'Forbidden', MSG.forbidden);
  });

  test('the Bearer scheme is case-insensitive', async () => {
    const headers = { authorization: `bearer ${await issuer.userToken(ALICE)}` };
    await expectMeeting(server.request(`${ME}/createOrGet`, { method: 'POST', headers, json: externalId('scheme') }), 201);
  });

  test('spaces around the token are allowed; a space or tab inside the value makes it no token', async () => {
    const token = await issuer.userToken(ALICE);
    const withAuthorization = (authorization: string, key: string) =>
      server.request(`${ME}/createOrGet`, { method: 'POST', headers: { authorization }, json: externalId(key) });
    await expectMeeting(withAuthorization(`Bearer   ${token}  `, 'spaced'), 201);
    await expectMeeting(withAuthorization(`Bearer\t${token}`, 'tab'), 201);
    for (const [split, name] of [[`${token} ${token}`, 'two values'], [`${token.slice(0, 40)}\t${token.slice(40)}`, 'a tab inside']] as const) {
      const response = await withAuthorization(`Bearer ${split}`, name);
      assert.equal(response.status, 401, name);
    }
  });

  test("a verified token's signature is not reused for other claims or another header: the whole token is checked", async () => {
    const token = await issuer.userToken(ALICE, READ);
    // Verified, and cached for its lifetime.
    await expectError(createOrGet(ME, token, externalId('cached')), 403, 'Forbidden', MSG.forbidden);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = base64url(JSON.stringify({ ...claims, scp: READ_WRITE }));
    await expectError(createOrGet(ME, `${header}.${widened}.${signature}`, externalId('widened')), 401, 'InvalidAuthenticationToken', MSG.invalid);
    const otherHeader = base64url(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), x: 1 }));
    await expectError(createOrGet(ME, `${otherHeader}.${payload}.${signature}`, externalId('header')), 401, 'InvalidAuthenticationToken', MSG.invalid);
    // The original still works from the cache.
    await expectError(createOrGet(ME, token, externalId('cached-again')), 403, 'Forbidden', MSG.forbidden);
  });

  for (const audience of ['https://graph.microsoft.com', 'https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000']) {
    test(`accepts the Graph audience ${audience}`, async () => {
      const token = await issuer.userToken(ALICE, READ_WRITE, { audience });
      const meeting = await expectMeeting(createOrGet(ME, token, externalId('audience')), 201);
      assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
    });
  }
});

describe('signing keys (JWKS)', () => {
  test('a burst of unknown-kid tokens refetches the JWKS at most twice', async () => {
    const before = jwksIssuer.requests.jwks;
    const tokens = await Promise.all(Array.from({ length: 40 }, () => unknownKidToken(jwksIssuer)));
    const responses = await Promise.all(tokens.map((token) => createOrGet(ME, token, externalId('hammer'), jwksServer)));
    for (const res of responses) await expectError(res, 401, 'InvalidAuthenticationToken', MSG.invalid);
    assert.ok(jwksIssuer.requests.jwks - before <= 2, `${jwksIssuer.requests.jwks - before} JWKS fetches for 40 tokens`);
  });

  test('a key rotated in after start is accepted: its unknown kid triggers one refetch once the interval allows', async () => {
    const rotated = await jwksIssuer.rotateIn();
    const token = await jwksIssuer.userToken(ALICE, READ_WRITE, { kid: rotated.kid, key: rotated.key });
    const before = jwksIssuer.requests.jwks;
    const body = externalId('rotated');
    // An unknown kid refetches the keys at most once a minute (test/entra-oidc.test.ts covers the limit).
    jwksClockOffsetMs += JWKS_REFETCH_INTERVAL_MS;
    await expectMeeting(createOrGet(ME, token, body, jwksServer), 201);
    assert.equal(jwksIssuer.requests.jwks - before, 1);
  });
});

// ---------------------------------------------------------------- 2–8. authorization

describe('authorization', () => {
  let aliceMeeting: Meeting;
  let bobMeeting: Meeting;
  const aliceToken = (scopes = READ_WRITE) => issuer.userToken(ALICE, scopes);
  const app = (which: { tenantId: string; appId: string }, roles?: string[]) => issuer.appToken(which, roles);

  before(async () => {
    aliceMeeting = await expectMeeting(createOrGet(ME, await aliceToken(), externalId('alice')), 201);
    bobMeeting = await expectMeeting(createOrGet(ME, await issuer.userToken(BOB), externalId('bob')), 201);
  });

  describe('permission table', () => {
    test('GET /me/onlineMeetings/{id} accepts OnlineMeetings.Read and OnlineMeetings.ReadWrite', async () => {
      for (const scope of [READ, READ_WRITE, `User.Read ${READ}`]) {
        const meeting = await expectMeeting(getMeeting(ME, aliceMeeting.id, await aliceToken(scope)), 200);
        assert.equal(meeting.id, aliceMeeting.id, scope);
      }
    });

    test('createOrGet refuses a delegated token with OnlineMeetings.Read only', async () => {
      await expectError(createOrGet(ME, await aliceToken(READ), externalId('read-only')), 403, 'Forbidden', MSG.forbidden);
    });

    test('an app with OnlineMeetings.Read.All can GET via /users/{id} but not createOrGet', async () => {
      const token = await app(CRM_APP, READ_ALL);
      assert.equal((await expectMeeting(getMeeting(users(BOB.id), bobMeeting.id, token), 200)).id, bobMeeting.id);
      await expectError(createOrGet(users(BOB.id), token, externalId('read-all')), 403, 'Forbidden', MSG.forbidden);
    });
  });

  describe('order of checks (spec §3.5)', () => {
    test('authentication comes before the body: an anonymous malformed or non-JSON body → 401', async () => {
      for (const [contentType, body] of [['application/json', '{"externalId":'], ['text/plain', 'hello']] as const) {
        const res = server.request(`${ME}/createOrGet`, { method: 'POST', headers: { 'content-type': contentType }, body });
        await expectError(res, 401, 'InvalidAuthenticationToken', MSG.empty);
      }
    });

    test('permission before user resolution, user resolution before policy, policy before the body', async () => {
      await expectError(createOrGet(users(randomUUID()), await app(CRM_APP, READ_ALL), externalId('order')), 403, 'Forbidden', MSG.forbidden);
      await expectError(createOrGet(users(randomUUID()), await app(ROGUE_APP), externalId('order')), 404, 'Request_ResourceNotFound');
      await expectError(createOrGet(users(BOB.id), await app(ROGUE_APP), { subject: 'no externalId' }), 403, 'Forbidden', MSG.noPolicy);
      await expectError(createOrGet(users(BOB.id), await app(CRM_APP), { subject: 'no externalId' }), 400, 'BadRequest');
    });

    test('a personal Microsoft account (MSA tenant) → 403', async () => {
      const token = await issuer.userToken({ ...ALICE, tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad' });
      await expectError(createOrGet(ME, token, externalId('msa')), 403, 'Forbidden');
    });
  });

  describe('app token on /me', () => {
    test('createOrGet → 400', async () => {
      await expectError(createOrGet(ME, await app(BOOKING_APP), externalId('app-me')), 400, 'BadRequest', MSG.meOnly);
    });

    test('GET by id → 400', async () => {
      await expectError(getMeeting(ME, aliceMeeting.id, await app(BOOKING_APP)), 400, 'BadRequest', MSG.meOnly);
    });
  });

  describe('application access policy on /users/{id}', () => {
    const cases = [
      { name: 'BOOKING_APP', app: BOOKING_APP, user: ALICE, allowed: true, why: 'user-scoped grant' },
      { name: 'BOOKING_APP', app: BOOKING_APP, user: BOB, allowed: false, why: 'granted for Alice only' },
      { name: 'CRM_APP', app: CRM_APP, user: BOB, allowed: true, why: 'global grant' },
      { name: 'CRM_APP', app: CRM_APP, user: ALICE, allowed: false, why: "Alice's own grant replaces the global one" },
      { name: 'ROGUE_APP', app: ROGUE_APP, user: BOB, allowed: false, why: 'no policy' },
    ];
    for (const { name, app: which, user, allowed, why } of cases) {
      test(`${name} for ${user.name}: ${allowed ? '201' : '403'} (${why})`, async () => {
        const res = createOrGet(users(user.id), await app(which), externalId('policy'));
        if (!allowed) return expectError(res, 403, 'Forbidden', MSG.noPolicy);
        const meeting = await expectMeeting(res, 201);
        assert.equal(meeting.participants.organizer.identity.user.id, user.id);
        assert.equal(meeting.participants.organizer.upn, user.upn);
      });
    }

    test('the policy gates GET as well', async () => {
      await expectMeeting(getMeeting(users(BOB.id), bobMeeting.id, await app(CRM_APP)), 200);
      await expectError(getMeeting(users(BOB.id), bobMeeting.id, await app(ROGUE_APP)), 403, 'Forbidden', MSG.noPolicy);
    });

    test('an unknown user id → 404 Request_ResourceNotFound', async () => {
      await expectError(createOrGet(users(randomUUID()), await app(CRM_APP), externalId('ghost')), 404, 'Request_ResourceNotFound');
    });

    test('a user addressed by UPN (any case) or upper-case object id shares the object id key space', async () => {
      const token = await app(BOOKING_APP);
      const body = externalId('upn');
      const created = await expectMeeting(createOrGet(users(ALICE.upn.toUpperCase()), token, body), 201);
      assert.equal(created.participants.organizer.identity.user.id, ALICE.id);
      for (const ref of [ALICE.id, ALICE.id.toUpperCase(), 'Alice@Contoso.Example']) {
        assert.equal((await expectMeeting(createOrGet(users(ref), token, body), 200)).id, created.id, ref);
      }
    });

    test("an app of another tenant cannot see or create for a Contoso user (404)", async () => {
      const token = await app(FABRIKAM_APP);
      await expectError(createOrGet(users(ALICE.id), token, externalId('cross-tenant')), 404, 'Request_ResourceNotFound');
      await expectError(getMeeting(users(ALICE.id), aliceMeeting.id, token), 404, 'Request_ResourceNotFound');
    });
  });

  describe('/communications and /beta/app createOrGet', () => {
    for (const base of [COMMUNICATIONS, BETA_APP]) {
      test(`${base}: an app names the organizer, subject to the access policy`, async () => {
        const meeting = await expectMeeting(createOrGet(base, await app(CRM_APP), withOrganizer(BOB.id)), 201);
        assert.equal(meeting.participants.organizer.identity.user.id, BOB.id);
        await expectError(createOrGet(base, await app(ROGUE_APP), withOrganizer(BOB.id)), 403, 'Forbidden', MSG.noPolicy);
        await expectError(createOrGet(base, await app(CRM_APP), withOrganizer(ALICE.id)), 403, 'Forbidden', MSG.noPolicy);
      });

      test(`${base}: an app that names no organizer → 400`, async () => {
        await expectError(createOrGet(base, await app(CRM_APP), externalId('no-organizer')), 400, 'BadRequest');
      });

      test(`${base}: an organizer outside the app's tenant → 404`, async () => {
        await expectError(createOrGet(base, await app(FABRIKAM_APP), withOrganizer(ALICE.id)), 404, 'Request_ResourceNotFound');
      });
    }

    test('/communications and /me share the key space of the organizer (app and delegated)', async () => {
      const body = withOrganizer(BOB.id, 'shared');
      const viaApp = await expectMeeting(createOrGet(COMMUNICATIONS, await app(CRM_APP), body), 201);
      const viaMe = await expectMeeting(createOrGet(ME, await issuer.userToken(BOB), { externalId: body.externalId }), 200);
      assert.equal(viaMe.id, viaApp.id);
    });

    test('a delegated caller on /communications acts for itself, in the /me key space', async () => {
      const body = externalId('delegated-communications');
      const created = await expectMeeting(createOrGet(COMMUNICATIONS, await aliceToken(), body), 201);
      assert.equal(created.participants.organizer.identity.user.id, ALICE.id);
      assert.equal((await expectMeeting(createOrGet(ME, await aliceToken(), body), 200)).id, created.id);
    });

    test("GET /communications/onlineMeetings/{id} by an app follows the organizer's access policy", async () => {
      assert.equal((await expectMeeting(getMeeting(COMMUNICATIONS, bobMeeting.id, await app(CRM_APP, READ_ALL)), 200)).id, bobMeeting.id);
      assert.equal((await expectMeeting(getMeeting(COMMUNICATIONS, aliceMeeting.id, await app(BOOKING_APP)), 200)).id, aliceMeeting.id);
      await expectError(getMeeting(COMMUNICATIONS, aliceMeeting.id, await app(CRM_APP)), 403, 'Forbidden', MSG.noPolicy);
      await expectError(getMeeting(COMMUNICATIONS, bobMeeting.id, await app(ROGUE_APP)), 403, 'Forbidden', MSG.noPolicy);
      await expectError(getMeeting(COMMUNICATIONS, aliceMeeting.id, await app(FABRIKAM_APP)), 404, 'NotFound');
    });
  });

  describe('delegated caller on /users/{id}', () => {
    test("another user's path → 403", async () => {
      await expectError(createOrGet(users(BOB.id), await aliceToken(), externalId('other-user')), 403, 'Forbidden');
      await expectError(getMeeting(users(BOB.id), bobMeeting.id, await aliceToken()), 403, 'Forbidden');
    });

    test('own object id or UPN → same meetings as /me', async () => {
      const token = await aliceToken();
      const body = externalId('own-path');
      const created = await expectMeeting(createOrGet(users(ALICE.id), token, body), 201);
      for (const base of [users(ALICE.upn.toUpperCase()), ME]) {
        assert.equal((await expectMeeting(createOrGet(base, token, body), 200)).id, created.id, base);
      }
      assert.equal((await expectMeeting(getMeeting(users(ALICE.upn), aliceMeeting.id, token), 200)).id, aliceMeeting.id);
    });
  });

  describe('tenant isolation', () => {
    test("Frank (Fabrikam) cannot GET Alice's meeting", async () => {
      await expectError(getMeeting(ME, aliceMeeting.id, await issuer.userToken(FRANK)), 404, 'NotFound');
    });

    test('the same externalId in two tenants gives two meetings, even for the same object id', async () => {
      const body = externalId('two-tenants');
      const inContoso = await expectMeeting(createOrGet(ME, await aliceToken(), body), 201);
      const byFrank = await expectMeeting(createOrGet(ME, await issuer.userToken(FRANK), body), 201);
      const sameOidInFabrikam = await expectMeeting(createOrGet(ME, await issuer.userToken({ ...ALICE, tenantId: FABRIKAM }), body), 201);
      assert.equal(new Set([inContoso.id, byFrank.id, sameOidInFabrikam.id]).size, 3);
      assert.equal(sameOidInFabrikam.participants.organizer.identity.user.tenantId, FABRIKAM);
    });
  });

  describe('provisioning from claims', () => {
    test('a delegated user absent from the directory is created from the token', async () => {
      const dana = { tenantId: randomUUID(), id: randomUUID(), upn: 'dana@newco.example', name: 'Dana Diaz' };
      const token = await issuer.userToken(dana);
      const body = externalId('provisioned');
      const created = await expectMeeting(createOrGet(ME, token, body), 201);
      const { organizer } = created.participants;
      assert.equal(organizer.upn, dana.upn);
      assert.deepEqual(
        { id: organizer.identity.user.id, displayName: organizer.identity.user.displayName, tenantId: organizer.identity.user.tenantId },
        { id: dana.id, displayName: dana.name, tenantId: dana.tenantId },
      );
      assert.equal((await expectMeeting(createOrGet(ME, token, body), 200)).id, created.id);
      assert.equal((await expectMeeting(getMeeting(ME, created.id, token), 200)).id, created.id);
    });
  });
});
