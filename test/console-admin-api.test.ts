// The control API behind the web console, over HTTP on both engines: GET /__admin/meetings (search
// and filters across tenants, newest first, bounded) and GET /__admin/directory (tenants, users,
// apps, access policies); and the console's sign-in cookie as a credential for /__admin.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FABRIKAM_APP, FRANK } from './helpers/fixtures.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

type Json = Record<string, any>;

async function json(response: Response): Promise<Json> {
  const text = await response.text();
  try {
    return JSON.parse(text) as Json;
  } catch {
    throw new Error(`not JSON (${response.status}): ${text}`);
  }
}

function assertGraphError(status: number, expected: number, body: Json, code: string) {
  assert.equal(status, expected, JSON.stringify(body));
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  assert.match(body.error.innerError['request-id'], /^[0-9a-f-]{36}$/);
}

interface Created {
  id: string;
  subject: string;
  externalId: string | null;
  joinWebUrl: string;
  creationDateTime: string;
  [member: string]: unknown;
}

/** The same scenario on each engine: four meetings, one a minute apart on the virtual clock. */
function browseSuite(engine: string, databaseUrl: () => Promise<string | undefined>) {
  describe(`GET /__admin/meetings and /__admin/directory (${engine})`, () => {
    let server: RunningServer;
    const created: Record<'alpha' | 'beta' | 'standup' | 'frank', Created> = {} as never;

    const token = async (user: string) => {
      const response = await server.admin('POST', '/tokens', { user });
      assert.equal(response.status, 200);
      return (await json(response)).access_token as string;
    };
    const meetings = async (query = '') => {
      const response = await server.admin('GET', `/meetings${query}`);
      const body = await json(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.value as Json[];
    };
    const ids = (items: Json[]) => items.map((item) => item.id as string);

    before(async () => {
      const db = await databaseUrl();
      server = await startServer({ directory: DIRECTORY, config: db ? { db } : {} });
      const alice = await token(ALICE.upn);
      const bob = await token(BOB.upn);
      const frank = await token(FRANK.upn);
      const create = async (bearer: string, body: Json, path = '/v1.0/me/onlineMeetings/createOrGet') => {
        const response = await server.request(path, { method: 'POST', token: bearer, json: body });
        const meeting = await json(response);
        assert.equal(response.status, 201, JSON.stringify(meeting));
        // Creation times a minute apart make "newest first" a statement about creationDateTime.
        assert.equal((await server.admin('POST', '/clock/advance', { by: 'PT1M' })).status, 200);
        return meeting as Created;
      };
      created.alpha = await create(alice, { externalId: 'ext-alpha', subject: 'Quarterly Review Ärzte' });
      created.beta = await create(alice, { externalId: 'ext-beta', subject: 'Budget 100% done' });
      created.standup = await create(bob, { subject: 'Standup' }, '/v1.0/me/onlineMeetings');
      created.frank = await create(frank, { externalId: 'ext-frank', subject: 'Fabrikam sync' });
    });
    after(async () => {
      await server?.close();
    });

    test('lists every meeting, newest first, each with its stored JSON and who organizes it', async () => {
      const all = await meetings();
      assert.deepEqual(ids(all), [created.frank.id, created.standup.id, created.beta.id, created.alpha.id]);
      const alpha = all.find((item) => item.id === created.alpha.id)!;
      assert.deepEqual(Object.keys(alpha), [
        'tenantId',
        'organizerId',
        'organizerUserPrincipalName',
        'organizerDisplayName',
        'id',
        'externalId',
        'subject',
        'joinWebUrl',
        'startDateTime',
        'endDateTime',
        'expiryDateTime',
        'expired',
        'meeting',
      ]);
      assert.equal(alpha.tenantId, CONTOSO);
      assert.equal(alpha.organizerId, ALICE.id);
      assert.equal(alpha.organizerUserPrincipalName, ALICE.upn);
      assert.equal(alpha.organizerDisplayName, ALICE.name);
      assert.equal(alpha.externalId, 'ext-alpha');
      assert.equal(alpha.subject, 'Quarterly Review Ärzte');
      assert.equal(alpha.joinWebUrl, created.alpha.joinWebUrl);
      assert.equal(alpha.expired, false);
      // The stored meeting, as Graph returned it on creation (less the response's OData annotations).
      const returned = Object.fromEntries(Object.entries(created.alpha).filter(([name]) => !name.startsWith('@odata.')));
      assert.deepEqual(alpha.meeting, returned);
    });

    test('search matches subject, externalId, organizer (id or UPN) and join URL, case-insensitive', async () => {
      const cases: [string, Created[]][] = [
        ['quarterly', [created.alpha]],
        ['ÄRZTE', [created.alpha]],
        ['EXT-BE', [created.beta]],
        ['ext-', [created.frank, created.beta, created.alpha]],
        ['100%', [created.beta]],
        ['BOB@CONTOSO', [created.standup]],
        [ALICE.id.toUpperCase(), [created.beta, created.alpha]],
        [created.frank.joinWebUrl, [created.frank]],
        [created.standup.joinWebUrl.slice(-30), [created.standup]],
        ['no such meeting anywhere', []],
        ['with\u0000nul', []],
      ];
      for (const [search, expected] of cases) {
        assert.deepEqual(ids(await meetings(`?search=${encodeURIComponent(search)}`)), ids(expected), `search '${search}'`);
      }
    });

    test('exact filters: tenant, organizer, externalId, join URL; combined with search; top', async () => {
      assert.deepEqual(ids(await meetings(`?tenant=${FABRIKAM.toUpperCase()}`)), [created.frank.id]);
      assert.deepEqual(ids(await meetings(`?organizer=${encodeURIComponent('Bob@Contoso.Example')}`)), [created.standup.id]);
      assert.deepEqual(ids(await meetings(`?organizer=${ALICE.id.toUpperCase()}`)), [created.beta.id, created.alpha.id]);
      assert.deepEqual(ids(await meetings('?externalId=ext-alpha')), [created.alpha.id]);
      assert.deepEqual(ids(await meetings('?externalId=ext-alp')), []);
      assert.deepEqual(ids(await meetings(`?joinWebUrl=${encodeURIComponent(created.beta.joinWebUrl)}`)), [created.beta.id]);
      assert.deepEqual(ids(await meetings(`?tenant=${CONTOSO}&search=ext-`)), [created.beta.id, created.alpha.id]);
      assert.deepEqual(ids(await meetings(`?tenant=${FABRIKAM}&organizer=${ALICE.upn}`)), []);
      assert.deepEqual(ids(await meetings('?top=2')), [created.frank.id, created.standup.id]);
      assert.deepEqual(ids(await meetings('?search=&tenant=')), ids(await meetings()), 'empty values are no filter');
    });

    test('bad parameters are Graph-shaped 400s', async () => {
      for (const query of ['?top=0', '?top=201', '?top=abc', '?top=-1', '?sort=subject', '?search=a&search=b', `?search=${'x'.repeat(2049)}`]) {
        const response = await server.admin('GET', `/meetings${query}`);
        assertGraphError(response.status, 400, await json(response), 'BadRequest');
      }
    });

    test("expiry follows the server's virtual clock", async () => {
      assert.equal((await server.admin('POST', '/clock/advance', { by: 'P100D' })).status, 200);
      try {
        assert.ok((await meetings()).every((item) => item.expired === true));
      } finally {
        assert.equal((await server.admin('POST', '/clock/advance', { by: '-P100D' })).status, 200);
      }
      assert.ok((await meetings()).every((item) => item.expired === false));
    });

    test('the directory: tenants with counts, users, apps and access policies', async () => {
      const response = await server.admin('GET', '/directory');
      const body = await json(response);
      assert.equal(response.status, 200, JSON.stringify(body));
      assert.deepEqual(Object.keys(body), ['tenants', 'users', 'apps', 'accessPolicies', 'truncated']);
      assert.deepEqual(body.tenants, [
        { id: CONTOSO, displayName: 'Contoso', users: 3, meetings: 3 },
        { id: FABRIKAM, displayName: 'Fabrikam', users: 1, meetings: 1 },
      ]);
      assert.deepEqual(
        body.users.map((u: Json) => `${u.tenantId}/${u.userPrincipalName}/${u.displayName}`),
        [
          `${CONTOSO}/alice@contoso.example/Alice Adams`,
          `${CONTOSO}/bob@contoso.example/Bob Brown`,
          `${CONTOSO}/carol@contoso.example/Carol Chen`,
          `${FABRIKAM}/frank@fabrikam.example/Frank Fisher`,
        ],
      );
      assert.deepEqual(body.accessPolicies, [
        ...[
          { tenantId: CONTOSO, appId: BOOKING_APP.appId, users: [ALICE.id] },
          { tenantId: CONTOSO, appId: CRM_APP.appId, users: 'global' },
        ].sort((a, b) => (a.appId < b.appId ? -1 : 1)),
        { tenantId: FABRIKAM, appId: FABRIKAM_APP.appId, users: 'global' },
      ]);
      const apps = new Map<string, Json>(body.apps.map((app: Json) => [app.appId, app]));
      assert.deepEqual(apps.get(BOOKING_APP.appId), { appId: BOOKING_APP.appId, tenants: [CONTOSO], accessPolicies: 1, requestsSeen: 0, lastSeen: null });
      assert.deepEqual(apps.get(FABRIKAM_APP.appId)?.tenants, [FABRIKAM]);
      // The dev tokens' client: no policy, but seen in the request log (the four creations).
      const seen = body.apps.filter((app: Json) => app.accessPolicies === 0);
      assert.equal(seen.length, 1, JSON.stringify(body.apps));
      assert.equal(seen[0].requestsSeen, 4);
      assert.deepEqual(seen[0].tenants, [CONTOSO, FABRIKAM]);
      assert.ok(!Number.isNaN(Date.parse(seen[0].lastSeen)));
      assert.equal(body.truncated, false);

      const unknown = await server.admin('GET', '/directory?tenant=x');
      assertGraphError(unknown.status, 400, await json(unknown), 'BadRequest');
    });

    test('both need the admin key', async () => {
      for (const path of ['/meetings', '/directory']) {
        const response = await adminFetch(server.url, 'GET', path, undefined, 'not-the-admin-key');
        assertGraphError(response.status, 401, await json(response), 'Unauthorized');
      }
    });
  });
}

browseSuite('sqlite', async () => undefined);
browseSuite('postgres', async () => freshDatabase((await testPostgres()).url));

describe("the console's sign-in cookie", () => {
  let server: RunningServer;
  let cookie: string;
  before(async () => {
    server = await startServer();
    const signIn = await fetch(`${server.url}/console?key=${encodeURIComponent(TEST_ADMIN_KEY)}`, { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.get('location'), '/console');
    const setCookie = signIn.headers.get('set-cookie')!;
    assert.match(setCookie, /; Path=\/; HttpOnly; SameSite=Strict$/);
    cookie = setCookie.split(';')[0]!;
    assert.ok(!cookie.includes(TEST_ADMIN_KEY), 'the cookie is not the key');
  });
  after(async () => {
    await server?.close();
  });

  const withCookie = (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(`${server.url}/__admin${path}`, {
      method,
      headers: { cookie, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const rule = { match: { path: '/v1.0/never/*' }, respond: { status: 503 } };

  test('is accepted by the control API for reads', async () => {
    assert.equal((await withCookie('GET', '/meetings')).status, 200);
    assert.equal((await withCookie('GET', '/clock', { 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal((await withCookie('GET', '/clock', { 'sec-fetch-site': 'none' })).status, 200);
  });

  test('changes state only from the same origin', async () => {
    const host = new URL(server.url).host;
    const refused: Record<string, string>[] = [
      {},
      { origin: 'http://localhost:1' },
      { origin: `http://${host}`, 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'none' },
      { origin: 'null' },
    ];
    for (const headers of refused) {
      const response = await withCookie('POST', '/faults', headers, rule);
      assertGraphError(response.status, 403, await json(response), 'Forbidden');
    }
    assert.deepEqual((await json(await server.admin('GET', '/faults'))).value, []);
    const sameSite = await withCookie('GET', '/meetings', { 'sec-fetch-site': 'same-site' });
    assertGraphError(sameSite.status, 403, await json(sameSite), 'Forbidden');

    const byOrigin = await withCookie('POST', '/faults', { origin: `http://${host}` }, rule);
    assert.equal(byOrigin.status, 201);
    const bySite = await withCookie('DELETE', '/faults', { 'sec-fetch-site': 'same-origin' });
    assert.equal(bySite.status, 204);
    assert.deepEqual((await json(await server.admin('GET', '/faults'))).value, []);
  });

  test('a wrong or stale cookie is a 401 and shows the sign-in page', async () => {
    const wrong = await fetch(`${server.url}/__admin/meetings`, { headers: { cookie: 'graph_meetings_console=forged' } });
    assertGraphError(wrong.status, 401, await json(wrong), 'Unauthorized');
    const raw = await fetch(`${server.url}/__admin/meetings`, { headers: { cookie: `graph_meetings_console=${TEST_ADMIN_KEY}` } });
    assert.equal(raw.status, 401, 'the key itself is not the cookie');
    const page = await fetch(`${server.url}/console`, { headers: { cookie: 'graph_meetings_console=forged' } });
    assert.match(await page.text(), /<label for="admin-key">Admin key<\/label>/);
  });

  test('the sign-in form: the right key signs in, a wrong one is a 401 with an error only', async () => {
    const post = (key: string) =>
      fetch(`${server.url}/console/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key }).toString(),
      });
    const right = await post(TEST_ADMIN_KEY);
    assert.equal(right.status, 303);
    assert.equal(right.headers.get('set-cookie')!.split(';')[0], cookie);
    const wrong = await post('wrong-key-0123456789');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /role="alert">That admin key is not valid\./);
  });

  test('signing out clears the cookie', async () => {
    const out = await fetch(`${server.url}/console/sign-out`, { method: 'POST', redirect: 'manual', headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    assert.equal(out.status, 303);
    assert.match(out.headers.get('set-cookie')!, /^graph_meetings_console=; .*Max-Age=0/);
  });

  test('without a control API (oidc, no admin key) /console is 404', async () => {
    const issuer = await TestIssuer.start();
    const oidc = await startServer({ issuer, config: { adminKey: undefined } });
    try {
      for (const path of ['/console', `/console?key=${TEST_ADMIN_KEY}`, '/console/assets/main.js', '/__admin/meetings']) {
        const response = await fetch(`${oidc.url}${path}`);
        assertGraphError(response.status, 404, await json(response), 'NotFound');
      }
    } finally {
      await oidc.close();
      await issuer.stop();
    }
  });

  test('assets: only the files of console/assets, with their types; all under the CSP', async () => {
    const css = await fetch(`${server.url}/console/assets/console.css`);
    assert.equal(css.status, 200);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    assert.doesNotMatch(css.headers.get('content-security-policy')!, /unsafe-inline/);
    for (const path of ['assets/..%2Findex.html', 'assets/missing.js', `assets/${randomUUID()}`, 'index.html', 'sign-in.html', 'elsewhere/x']) {
      const response = await fetch(`${server.url}/console/${path}`);
      assert.equal(response.status, 404, path);
      assert.equal((await json(response)).error.code, 'NotFound');
    }
  });
});
