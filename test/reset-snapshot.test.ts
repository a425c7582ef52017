// Reset and snapshots (testing toolkit): POST /__admin/reset, whole, per tenant and with the
// directory (a new dev signing key, noticed by every process); GET/POST /__admin/snapshot round
// trips that read back byte-identical through the Graph API, on SQLite and PostgreSQL, into the
// same or a fresh database; bad documents refused with nothing changed; the CLI commands.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { killAllChildren, runCli, startCliServer } from './helpers/cli.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FRANK } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, tempDir, TEST_ADMIN_KEY } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const DAVE = { tenantId: CONTOSO, id: 'da7e0000-0000-4000-8000-000000000005', upn: 'dave@contoso.example', name: 'Dave Dunn' };
const GUEST_ID = '9e570000-0000-4000-8000-0000000000aa';
/** A password hash of the exported form (scrypt$N$r$p$salt$key). */
const A_PASSWORD_HASH = 'scrypt$16384$8$1$gMJV3-40Ke2pWJ5DsTRmAw$5b96nL7nGuVq_SCpiyKPvJ1pZDXF32fZblftSBsAKAI';
const UNICODE_SUBJECT = 'Ünïcødé 会议 🎉 "quoted" \\ back\u2028slash\ttab';
const ME_CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
const userMeetings = (userId: string) => `/v1.0/users/${userId}/onlineMeetings`;
const meetingPath = (userId: string, meetingId: string) => `${userMeetings(userId)}/${encodeURIComponent(meetingId)}`;

let issuer: TestIssuer;
const T = {} as Record<'alice' | 'frank' | 'dave' | 'booking' | 'crm', string>;

before(async () => {
  issuer = await TestIssuer.start();
  Object.assign(T, {
    alice: await issuer.userToken(ALICE),
    frank: await issuer.userToken(FRANK),
    dave: await issuer.userToken(DAVE),
    booking: await issuer.appToken(BOOKING_APP),
    crm: await issuer.appToken(CRM_APP),
  });
});
after(async () => {
  await killAllChildren();
  await issuer?.stop();
});

// ---------------------------------------------------------------------------------------------
// Calls

interface Reply {
  status: number;
  text: string;
  body: Json;
  headers: Headers;
}

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

async function graph(url: string, method: string, path: string, token: string, json?: unknown): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  return reply(await fetch(`${url}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) }));
}

async function admin(url: string, method: string, path: string, json?: unknown): Promise<Reply> {
  return reply(await adminFetch(url, method, path, json));
}

/** Creates a meeting and returns its body; fails the test unless it was created. */
async function created(url: string, path: string, token: string, json: unknown): Promise<Json> {
  const response = await graph(url, 'POST', path, token, json);
  assert.equal(response.status, 201, response.text);
  return response.body;
}

/** Alice's meetings are read by the booking app (granted for her), Frank's by Frank. */
function reader(organizerId: string): string {
  return organizerId === FRANK.id ? T.frank : T.booking;
}

/** The GET body text of a meeting, as an app that is sent it would see it. */
async function readText(url: string, organizerId: string, meetingId: string): Promise<string> {
  const response = await graph(url, 'GET', meetingPath(organizerId, meetingId), reader(organizerId));
  assert.equal(response.status, 200, response.text);
  return response.text;
}

async function assertGone(url: string, organizerId: string, meetingId: string) {
  await expectGraphError(await fetch(`${url}${meetingPath(organizerId, meetingId)}`, { headers: { authorization: `Bearer ${reader(organizerId)}` } }), 404);
}

/** A body without its @odata.context (which names the server's address). */
const withoutContext = (text: string) => text.replace(/^\{"@odata\.context":"[^"]*",/, '{');

async function exportTenant(url: string, tenant: string): Promise<Json> {
  const response = await admin(url, 'GET', `/snapshot?tenant=${tenant}`);
  assert.equal(response.status, 200, response.text);
  return response.body;
}

/** A document's content, without the time it was taken. */
function content(document: Json): Json {
  const { exportedAt: _exportedAt, ...rest } = document;
  return rest;
}

async function withServer<T>(options: Parameters<typeof startServer>[0], work: (server: RunningServer) => Promise<T>): Promise<T> {
  const server = await startServer(options);
  try {
    return await work(server);
  } finally {
    await server.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe('POST /__admin/reset', () => {
  test('whole: meetings, fault rules, the clock, limit counters and the request log go; tokens keep working', async () => {
    const dir = tempDir();
    const limits = join(dir, 'limits.json');
    writeFileSync(limits, JSON.stringify({ meetingsPerUserPerMonth: 1 }));
    try {
      await withServer({ issuer, directory: DIRECTORY, dir, config: { limits } }, async (server) => {
        const first = await graph(server.url, 'POST', ME_CREATE_OR_GET, T.alice, { externalId: 'standup' });
        assert.equal(first.status, 201, first.text);
        const firstRequestId = first.headers.get('request-id');
        const overLimit = await graph(server.url, 'POST', ME_CREATE_OR_GET, T.alice, { externalId: 'retro' });
        assert.equal(overLimit.status, 429, 'the monthly counter holds one creation');
        assert.equal((await admin(server.url, 'POST', '/faults', { match: { path: '/v1.0/never/*' }, respond: { status: 503, retryAfter: 1 } })).status, 201);
        assert.equal((await admin(server.url, 'PUT', '/clock', { now: '2031-05-01T09:00:00Z', frozen: true })).status, 200);
        const logged = (await admin(server.url, 'GET', '/requests')).body.value as Json[];
        assert.ok(logged.some((entry) => entry.requestId === firstRequestId), 'the request log holds the first call');

        const reset = await admin(server.url, 'POST', '/reset', {});
        assert.equal(reset.status, 200, reset.text);
        assert.deepEqual(reset.body, { scope: 'all', directory: false, meetingsDeleted: 1 });

        assert.deepEqual((await admin(server.url, 'GET', '/faults')).body, { value: [] });
        const clock = (await admin(server.url, 'GET', '/clock')).body;
        assert.equal(clock.frozen, false);
        assert.ok(Math.abs(Date.parse(clock.now) - Date.now()) < 60_000, `clock back on real time: ${clock.now}`);
        const requests = (await admin(server.url, 'GET', '/requests')).body.value as Json[];
        assert.ok(!requests.some((entry) => entry.requestId === firstRequestId), 'the request log was emptied');

        // The token from before still works; the meeting is gone, its externalId free again, and the
        // month's one creation (taken before the reset) can be made again.
        await assertGone(server.url, ALICE.id, first.body.id);
        const again = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'standup' });
        assert.notEqual(again.id, first.body.id);
        const retro = await graph(server.url, 'POST', ME_CREATE_OR_GET, T.alice, { externalId: 'retro' });
        assert.equal(retro.status, 429, 'the limit itself still holds');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("per tenant: only that tenant's meetings go; other tenants, fault rules and the clock stay", async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const contoso = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'weekly' });
      const keyless = await created(server.url, '/v1.0/me/onlineMeetings', T.alice, { subject: 'no key' });
      const fabrikam = await created(server.url, ME_CREATE_OR_GET, T.frank, { externalId: 'weekly' });
      const rule = await admin(server.url, 'POST', '/faults', { match: { path: '/v1.0/never/*' }, respond: { status: 500 } });
      assert.equal(rule.status, 201);
      const frozenAt = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await admin(server.url, 'PUT', '/clock', { now: frozenAt, frozen: true })).status, 200);
      const fabrikamBefore = await readText(server.url, FRANK.id, fabrikam.id);

      const reset = await admin(server.url, 'POST', '/reset', { tenant: CONTOSO.toUpperCase() });
      assert.equal(reset.status, 200, reset.text);
      assert.deepEqual(reset.body, { scope: 'tenant', tenant: CONTOSO, meetingsDeleted: 2 });

      await assertGone(server.url, ALICE.id, contoso.id);
      await assertGone(server.url, ALICE.id, keyless.id);
      assert.equal(await readText(server.url, FRANK.id, fabrikam.id), fabrikamBefore);
      assert.deepEqual((await admin(server.url, 'GET', '/faults')).body.value.map((r: Json) => r.id), [rule.body.id]);
      assert.deepEqual((await admin(server.url, 'GET', '/clock')).body, { now: frozenAt, frozen: true });
      const again = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'weekly' });
      assert.notEqual(again.id, contoso.id);
      // A tenant without meetings: nothing to do, not an error.
      assert.deepEqual((await admin(server.url, 'POST', '/reset', { tenant: '00000000-0000-4000-8000-000000000000' })).body, {
        scope: 'tenant',
        tenant: '00000000-0000-4000-8000-000000000000',
        meetingsDeleted: 0,
      });
    });
  });

  test('directory: users and the signing key go; old tokens get 401 on every process, freshly minted ones work', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'meetings.db')}`;
    const mint = async (...args: string[]) => {
      const result = await runCli(['token', '--db', db, ...args]);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    const keyIds = async (url: string) => ((await (await fetch(`${url}/dev-issuer/discovery/keys`)).json()) as Json).keys.map((k: Json) => k.kid);
    try {
      await withServer({ directory: DIRECTORY, dir }, async (server) => {
        const other = await startCliServer(['--port', '0', '--db', db, '--admin-key', TEST_ADMIN_KEY, '--log-level', 'warn']);
        const oldAlice = await mint('--user', ALICE.upn);
        const meeting = await created(server.url, ME_CREATE_OR_GET, oldAlice, { externalId: 'before' });
        // The other process has verified (and cached) the old token too.
        assert.equal((await graph(other.url, 'GET', `/v1.0/me/onlineMeetings/${encodeURIComponent(meeting.id)}`, oldAlice)).status, 200);
        const oldKeys = await keyIds(server.url);
        assert.deepEqual(await keyIds(other.url), oldKeys);

        const reset = await admin(server.url, 'POST', '/reset', { directory: true });
        assert.equal(reset.status, 200, reset.text);
        assert.deepEqual(reset.body, { scope: 'all', directory: true, meetingsDeleted: 1 });

        for (const url of [server.url, other.url]) {
          await expectGraphError(await fetch(`${url}${ME_CREATE_OR_GET}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${oldAlice}`, 'content-type': 'application/json' },
            body: JSON.stringify({ externalId: 'after' }),
          }), 401, { code: 'InvalidAuthenticationToken' });
          const keys = await keyIds(url);
          assert.equal(keys.length, 1);
          assert.notDeepEqual(keys, oldKeys, `${url} publishes the new key`);
        }
        // Alice is no longer in the directory: an app granted before finds no such user.
        const booking = await mint('--app', BOOKING_APP.appId, '--tenant', CONTOSO);
        await expectGraphError(
          await fetch(`${server.url}${userMeetings(ALICE.id)}/createOrGet`, {
            method: 'POST',
            headers: { authorization: `Bearer ${booking}`, 'content-type': 'application/json' },
            body: JSON.stringify({ externalId: 'for-alice' }),
          }),
          404,
          { code: 'Request_ResourceNotFound' },
        );
        // A token minted now works on both processes.
        const newAlice = await mint('--user', ALICE.upn);
        const fresh = await created(server.url, ME_CREATE_OR_GET, newAlice, { externalId: 'after' });
        const onOther = await graph(other.url, 'POST', ME_CREATE_OR_GET, newAlice, { externalId: 'after' });
        assert.equal(onOther.status, 200, onOther.text);
        assert.equal(onOther.body.id, fresh.id);
        await other.stop();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad requests are Graph 400s and reset nothing', async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const meeting = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'stays' });
      const cases: [unknown, RegExp][] = [
        [{ tenant: 'contoso' }, /'tenant'.*not a tenant id/],
        [{ tenant: 7 }, /'tenant'/],
        [{ directory: 'yes' }, /'directory'/],
        [{ everything: true }, /Unknown property 'everything'/],
        [[], /JSON object/],
        [{ tenant: CONTOSO, directory: true }, /does not go with 'tenant'/],
      ];
      for (const [body, message] of cases) {
        await expectGraphError(await adminFetch(server.url, 'POST', '/reset', body), 400, { code: 'BadRequest', message });
      }
      await expectGraphError(await adminFetch(server.url, 'GET', '/reset'), 405);
      await readText(server.url, ALICE.id, meeting.id);
      // No body at all is a whole reset, like `{}`.
      const bare = await fetch(`${server.url}/__admin/reset`, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      assert.equal(bare.status, 200);
      await assertGone(server.url, ALICE.id, meeting.id);
    });
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * The core round trip on one engine: meetings made through the Graph API, exported, changed,
 * imported back (byte-identical, later ones gone, the directory replaced), imported into a fresh
 * database, and an import that collides with another tenant's meeting refused with nothing changed.
 */
async function snapshotRoundTrip(db: string, freshDb: string) {
  await withServer({ issuer, directory: DIRECTORY, config: { db } }, async (server) => {
    const url = server.url;
    const planning = await created(url, ME_CREATE_OR_GET, T.alice, {
      externalId: 'planning',
      subject: UNICODE_SUBJECT,
      participants: { attendees: [{ upn: BOB.upn, role: 'presenter' }, { identity: { user: { id: GUEST_ID, displayName: 'Gäst Ω' } } }] },
    });
    const keyless = await created(url, '/v1.0/me/onlineMeetings', T.alice, {
      subject: 'no externalId',
      startDateTime: '2030-03-04T10:00:00Z',
      endDateTime: '2030-03-04T11:30:00Z',
    });
    const byApp = await created(url, `${userMeetings(ALICE.id)}/createOrGet`, T.booking, { externalId: 'by-app', subject: 'made by an app' });
    const fabrikam = await created(url, ME_CREATE_OR_GET, T.frank, { externalId: 'planning' });
    const contosoMeetings = [planning, keyless, byApp];
    const before = new Map<string, string>();
    for (const m of contosoMeetings) before.set(m.id, await readText(url, ALICE.id, m.id));
    const fabrikamBefore = await readText(url, FRANK.id, fabrikam.id);

    const document = await exportTenant(url, CONTOSO);
    assert.equal(document.format, 'graph-meetings.snapshot');
    assert.equal(document.version, 2);
    assert.ok(!Number.isNaN(Date.parse(document.exportedAt)));
    assert.deepEqual(document.tenant, { id: CONTOSO, displayName: 'Contoso' });
    assert.deepEqual(
      document.users.map((u: Json) => u.userPrincipalName).sort(),
      [ALICE.upn, BOB.upn, 'carol@contoso.example'],
    );
    assert.deepEqual(document.applicationAccessPolicies, [
      { appId: BOOKING_APP.appId, users: [ALICE.id] },
      { appId: CRM_APP.appId, scope: 'global' },
    ]);
    assert.deepEqual(document.meetings.map((m: Json) => m.properties.id).sort(), contosoMeetings.map((m) => m.id).sort());
    assert.ok(document.meetings.every((m: Json) => m.organizerId === ALICE.id && !('propertiesText' in m)));
    assert.equal(document.meetings.find((m: Json) => m.properties.id === planning.id).properties.subject, UNICODE_SUBJECT);

    // After the export: a new meeting, a changed one, a newly provisioned user.
    const later = await created(url, ME_CREATE_OR_GET, T.alice, { externalId: 'after-export' });
    const patched = await graph(url, 'PATCH', `/v1.0/me/onlineMeetings/${encodeURIComponent(planning.id)}`, T.alice, { subject: 'changed' });
    assert.equal(patched.status, 200, patched.text);
    assert.notEqual(await readText(url, ALICE.id, planning.id), before.get(planning.id));
    const davesMeeting = await created(url, ME_CREATE_OR_GET, T.dave, { externalId: 'dave' });

    const imported = await admin(url, 'POST', '/snapshot', document);
    assert.equal(imported.status, 200, imported.text);
    assert.deepEqual(imported.body, { tenant: { id: CONTOSO, displayName: 'Contoso' }, users: 3, applicationAccessPolicies: 2, meetings: 3, apps: 0, accessPolicies: 0 });

    for (const m of contosoMeetings) assert.equal(await readText(url, ALICE.id, m.id), before.get(m.id), `meeting ${m.id} byte-identical`);
    await assertGone(url, ALICE.id, later.id);
    assert.equal(await readText(url, FRANK.id, fabrikam.id), fabrikamBefore, 'another tenant is untouched');
    // Exporting what was imported gives the same document.
    assert.deepEqual(content(await exportTenant(url, CONTOSO)), content(document));
    // Dave was not in the snapshot's directory.
    await expectGraphError(
      await fetch(`${url}${meetingPath(DAVE.id, davesMeeting.id)}`, { headers: { authorization: `Bearer ${T.crm}` } }),
      404,
      { code: 'Request_ResourceNotFound' },
    );
    // The createOrGet keys are as they were: the restored meeting holds its key, the later one's is free.
    const existing = await graph(url, 'POST', ME_CREATE_OR_GET, T.alice, { externalId: 'planning' });
    assert.equal(existing.status, 200, existing.text);
    assert.equal(existing.body.id, planning.id);
    assert.notEqual((await created(url, ME_CREATE_OR_GET, T.alice, { externalId: 'after-export' })).id, later.id);

    // A meeting id that is another tenant's: 409, and the whole import is undone.
    const current = await exportTenant(url, CONTOSO);
    const stolen = structuredClone(document.meetings[0]);
    Object.assign(stolen.properties, { id: fabrikam.id, externalId: 'stolen' });
    const colliding = { ...document, tenant: { id: CONTOSO, displayName: 'Renamed' }, meetings: [...document.meetings, stolen] };
    await expectGraphError(await adminFetch(url, 'POST', '/snapshot', colliding), 409, {
      code: 'Conflict',
      message: new RegExp(`${fabrikam.id.replace(/[+/=]/g, '\\$&')}.*tenant ${FABRIKAM}`),
    });
    assert.deepEqual(content(await exportTenant(url, CONTOSO)), content(current));
  });

  // Into a fresh database (no directory at all): the same meetings, the same bytes but the server address.
  await withServer({ issuer, config: { db: freshDb } }, async (fresh) => {
    await expectGraphError(await adminFetch(fresh.url, 'GET', `/snapshot?tenant=${CONTOSO}`), 404, { code: 'NotFound' });
    const source = await withServer({ issuer, config: { db } }, async (server) => {
      const document = await exportTenant(server.url, CONTOSO);
      const texts = new Map<string, string>();
      for (const m of document.meetings) texts.set(m.properties.id, await readText(server.url, ALICE.id, m.properties.id));
      return { document, texts };
    });
    const imported = await admin(fresh.url, 'POST', '/snapshot', source.document);
    assert.equal(imported.status, 200, imported.text);
    assert.equal(imported.body.meetings, source.texts.size);
    for (const [id, text] of source.texts) assert.equal(withoutContext(await readText(fresh.url, ALICE.id, id)), withoutContext(text));
    assert.deepEqual(content(await exportTenant(fresh.url, CONTOSO)), content(source.document));
  });
}

describe('snapshots', () => {
  test('SQLite: round trip byte-identical, into a fresh database, a colliding import undone', async () => {
    const dir = tempDir();
    try {
      await snapshotRoundTrip(`sqlite:${join(dir, 'meetings.db')}`, `sqlite:${join(dir, 'fresh.db')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: round trip byte-identical, into a fresh database, a colliding import undone', async () => {
    const { url } = await testPostgres();
    await snapshotRoundTrip(await freshDatabase(url), await freshDatabase(url));
  });

  test('GET needs a known tenant given as a GUID', async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const cases: [string, number, RegExp][] = [
        ['/snapshot', 400, /'tenant' query parameter is required/],
        ['/snapshot?tenant=', 400, /'tenant' query parameter is required/],
        ['/snapshot?tenant=contoso', 400, /not a tenant id/],
        [`/snapshot?tenant=${CONTOSO}&tenant=${FABRIKAM}`, 400, /not a tenant id/],
        [`/snapshot?tenant=${CONTOSO}&format=xml`, 400, /Unknown query parameter 'format'/],
        ['/snapshot?tenant=00000000-0000-4000-8000-000000000000', 404, /no directory entry and no meetings/],
      ];
      for (const [path, status, message] of cases) await expectGraphError(await adminFetch(server.url, 'GET', path), status, { message });
      // Upper case is the same tenant.
      assert.equal((await exportTenant(server.url, FABRIKAM.toUpperCase())).tenant.id, FABRIKAM);
    });
  });

  test('bad documents are Graph 400s naming the problem, and change nothing', async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const first = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'one', subject: 'one' });
      await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'two', subject: 'two' });
      const document = await exportTenant(server.url, CONTOSO);
      // Each case: a valid copy changed in one place (a valid change first, so a half import would show).
      const edit = (change: (d: Json) => unknown) => {
        const d = structuredClone(document);
        d.tenant.displayName = 'Half imported';
        d.meetings[0].properties.subject = 'half imported';
        change(d);
        return d;
      };
      const meeting = (d: Json) => d.meetings[1];
      const cases: [string, unknown, RegExp][] = [
        ['an array', [], /must be a JSON object/],
        ['another format', edit((d) => (d.format = 'har')), /'format' must be "graph-meetings.snapshot"/],
        ['a newer version', edit((d) => (d.version = 3)), /unsupported 'version' 3/],
        ['an unknown member', edit((d) => (d.clock = 'now')), /the document has an unknown member 'clock'/],
        ['no users', edit((d) => delete d.users), /lacks the required member 'users'/],
        ['a tenant id that is no GUID', edit((d) => (d.tenant.id = 'contoso')), /'tenant.id' must be a GUID/],
        ['a plaintext password', edit((d) => (d.users[0].password = 'secret')), /'users\[0\]' has an unknown member 'password'/],
        [
          'a password hash in version 1',
          edit((d) => {
            delete d.apps;
            delete d.accessPolicies;
            d.version = 1;
            d.users[1].passwordHash = A_PASSWORD_HASH;
          }),
          /^Invalid snapshot: 'users\[1\]\.passwordHash' needs version 2\.$/,
        ],
        ['a user twice', edit((d) => d.users.push(d.users[0])), /'users\[3\].id' .* appears twice/],
        ['a policy with users and scope', edit((d) => (d.applicationAccessPolicies[1].users = [])), /exactly one of 'users' and 'scope'/],
        ['a policy with neither', edit((d) => delete d.applicationAccessPolicies[1].scope), /exactly one of 'users' and 'scope'/],
        ['a subject that is a number', edit((d) => (meeting(d).properties.subject = 42)), /'meetings\[1\].properties.subject' must be a string or null/],
        ['an unknown meeting member', edit((d) => (meeting(d).properties.color = 'red')), /'meetings\[1\].properties' has an unknown member 'color'/],
        ['a missing join URL', edit((d) => delete meeting(d).properties.joinWebUrl), /lacks the required member 'joinWebUrl'/],
        ['an unknown role', edit((d) => (meeting(d).properties.participants.organizer.role = 'boss')), /role' must be one of attendee/],
        ['an expiry in another form', edit((d) => (meeting(d).properties.expiryDateTime = '2030-01-01T00:00:00Z')), /expiryDateTime' must be a UTC date-time with 7 fractional digits/],
        ['an impossible date', edit((d) => (meeting(d).properties.startDateTime = '2030-02-30T00:00:00.0000000Z')), /startDateTime' is not a valid date-time/],
        ['an id of no meeting', edit((d) => (meeting(d).properties.id = 'not-a-meeting-id')), /properties.id' is not a meeting id/],
        ['a meeting twice', edit((d) => d.meetings.push(structuredClone(d.meetings[1]))), /'meetings\[2\].properties.id' .* appears twice/],
        ['a createOrGet key twice', edit((d) => (meeting(d).properties.externalId = d.meetings[0].properties.externalId)), /externalId' '(one|two)' is another meeting's/],
        ['another organizer', edit((d) => (meeting(d).organizerId = BOB.id)), /must be the meeting's organizerId/],
        ['an organizer of another tenant', edit((d) => (meeting(d).properties.participants.organizer.identity.user.tenantId = FABRIKAM)), /organizer of tenant/],
        ['both forms of a meeting', edit((d) => (meeting(d).propertiesText = JSON.stringify(meeting(d).properties))), /exactly one of 'properties' and 'propertiesText'/],
        ['text that is not JSON', edit((d) => (d.meetings[1] = { organizerId: ALICE.id, propertiesText: '{"id":' })), /propertiesText' is not JSON text/],
        ['text of a bad meeting', edit((d) => (d.meetings[1] = { organizerId: ALICE.id, propertiesText: '{"id":"x"}' })), /'meetings\[1\].propertiesText' lacks the required member/],
      ];
      for (const [label, body, message] of cases) {
        const response = await adminFetch(server.url, 'POST', '/snapshot', body);
        await expectGraphError(response, 400, { code: 'BadRequest', message }).catch((error: Error) => {
          throw new Error(`${label}: ${error.message}`);
        });
      }
      const notJson = await fetch(`${server.url}/__admin/snapshot`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
        body: '{"format":',
      });
      await expectGraphError(notJson, 400, { code: 'BadRequest' });
      assert.deepEqual(content(await exportTenant(server.url, CONTOSO)), content(document), 'nothing was imported');
      assert.equal(JSON.parse(await readText(server.url, ALICE.id, first.id)).subject, 'one');
    });
  });

  test("the import's summary counts apps and named access policies; a version 1 import leaves none", async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'counted' });
      const document = await exportTenant(server.url, CONTOSO);
      assert.deepEqual([document.apps, document.accessPolicies], [[], []]);
      const withApps = {
        ...document,
        apps: [
          { appId: BOOKING_APP.appId, displayName: 'Booking bot', roles: ['OnlineMeetings.ReadWrite.All'], redirectUris: [], secretHashes: [], certificates: [] },
          { appId: CRM_APP.appId, displayName: 'CRM', roles: [], redirectUris: [], secretHashes: [], certificates: [] },
        ],
        accessPolicies: [{ name: 'Bots', appIds: [BOOKING_APP.appId, CRM_APP.appId], users: [], global: true }],
      };
      const imported = await admin(server.url, 'POST', '/snapshot', withApps);
      assert.equal(imported.status, 200, imported.text);
      assert.deepEqual(imported.body, {
        tenant: { id: CONTOSO, displayName: 'Contoso' },
        users: 3,
        applicationAccessPolicies: 2,
        meetings: 1,
        apps: 2,
        accessPolicies: 1,
      });
      const exported = await exportTenant(server.url, CONTOSO);
      assert.equal(exported.apps.length, 2);
      assert.equal(exported.accessPolicies.length, 1);

      // Version 1 (no apps, no named policies, no passwords): the tenant is left without them.
      const { apps: _apps, accessPolicies: _policies, ...rest } = document;
      const v1 = await admin(server.url, 'POST', '/snapshot', { ...rest, version: 1 });
      assert.equal(v1.status, 200, v1.text);
      assert.deepEqual(v1.body, { tenant: { id: CONTOSO, displayName: 'Contoso' }, users: 3, applicationAccessPolicies: 2, meetings: 1, apps: 0, accessPolicies: 0 });
      assert.deepEqual(content(await exportTenant(server.url, CONTOSO)), content(document));
    });
  });

  test('a version 1 document with a password hash is a 400 naming the user, and changes nothing', async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const meeting = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'v1', subject: 'before' });
      const document = await exportTenant(server.url, CONTOSO);
      const { apps: _apps, accessPolicies: _policies, ...rest } = structuredClone(document);
      const v1 = { ...rest, version: 1, tenant: { id: CONTOSO, displayName: 'Renamed' } };
      v1.users[2].passwordHash = A_PASSWORD_HASH;
      await expectGraphError(await adminFetch(server.url, 'POST', '/snapshot', v1), 400, {
        code: 'BadRequest',
        message: "Invalid snapshot: 'users[2].passwordHash' needs version 2.",
      });
      assert.deepEqual(content(await exportTenant(server.url, CONTOSO)), content(document), 'nothing was imported');
      assert.equal(JSON.parse(await readText(server.url, ALICE.id, meeting.id)).subject, 'before');
      // The same hash in a version 2 document is taken.
      const v2 = structuredClone(document);
      v2.users[2].passwordHash = A_PASSWORD_HASH;
      assert.equal((await admin(server.url, 'POST', '/snapshot', v2)).status, 200);
      assert.equal((await exportTenant(server.url, CONTOSO)).users[2].passwordHash, A_PASSWORD_HASH);
    });
  });

  test('a stored text that JSON.stringify would not reproduce travels as propertiesText, byte for byte', async () => {
    await withServer({ issuer, directory: DIRECTORY }, async (server) => {
      const meeting = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'spaced' });
      // Written by something other than this server: indented, so not JSON.stringify's output.
      const sqlite = new Database(server.dbPath);
      try {
        const { properties } = sqlite.prepare('SELECT properties FROM meetings WHERE id = ?').get(meeting.id) as { properties: string };
        sqlite.prepare('UPDATE meetings SET properties = ? WHERE id = ?').run(JSON.stringify(JSON.parse(properties), null, 1), meeting.id);
      } finally {
        sqlite.close();
      }
      const before = await readText(server.url, ALICE.id, meeting.id);
      assert.match(before, /\n "id": /);
      const document = await exportTenant(server.url, CONTOSO);
      const [entry] = document.meetings;
      assert.equal(entry.properties, undefined);
      assert.equal(JSON.parse(entry.propertiesText).id, meeting.id);
      assert.equal((await admin(server.url, 'POST', '/reset', { tenant: CONTOSO })).status, 200);
      await assertGone(server.url, ALICE.id, meeting.id);
      assert.equal((await admin(server.url, 'POST', '/snapshot', document)).status, 200);
      assert.equal(await readText(server.url, ALICE.id, meeting.id), before);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('reset and snapshot commands', () => {
  test('on the database directly (--db) and on a running server (--url --admin-key)', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'meetings.db')}`;
    const file = join(dir, 'contoso.json');
    const cli = async (...args: string[]) => {
      const result = await runCli(args);
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    try {
      await withServer({ issuer, directory: DIRECTORY, dir }, async (server) => {
        const target = ['--url', server.url, '--admin-key', TEST_ADMIN_KEY];
        const kept = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'kept', subject: UNICODE_SUBJECT });
        const keptText = await readText(server.url, ALICE.id, kept.id);

        assert.equal(await cli('snapshot', 'export', '--tenant', CONTOSO, '--out', file, '--db', db), '');
        const written = JSON.parse(readFileSync(file, 'utf8'));
        assert.equal(written.format, 'graph-meetings.snapshot');
        assert.deepEqual(written.meetings.map((m: Json) => m.properties.id), [kept.id]);
        const printed = JSON.parse(await cli('snapshot', 'export', '--tenant', CONTOSO, ...target));
        assert.deepEqual(content(printed), content(written));

        const later = await created(server.url, ME_CREATE_OR_GET, T.alice, { externalId: 'later' });
        const imported = JSON.parse(await cli('snapshot', 'import', file, ...target));
        assert.deepEqual(imported, { tenant: { id: CONTOSO, displayName: 'Contoso' }, users: 3, applicationAccessPolicies: 2, meetings: 1, apps: 0, accessPolicies: 0 });
        await assertGone(server.url, ALICE.id, later.id);
        assert.equal(await readText(server.url, ALICE.id, kept.id), keptText);

        assert.deepEqual(JSON.parse(await cli('reset', '--tenant', CONTOSO, ...target)), { scope: 'tenant', tenant: CONTOSO, meetingsDeleted: 1 });
        await assertGone(server.url, ALICE.id, kept.id);
        assert.equal(JSON.parse(await cli('snapshot', 'import', file, '--db', db)).meetings, 1);
        assert.equal(await readText(server.url, ALICE.id, kept.id), keptText);

        // A whole reset on the database directly holds for the running server at its next request.
        assert.equal((await admin(server.url, 'PUT', '/clock', { now: '2030-01-01T00:00:00Z', frozen: true })).status, 200);
        assert.deepEqual(JSON.parse(await cli('reset', '--db', db)), { scope: 'all', directory: false, meetingsDeleted: 1 });
        assert.equal((await admin(server.url, 'GET', '/clock')).body.frozen, false);
        await assertGone(server.url, ALICE.id, kept.id);

        // Mistakes: one line on stderr, exit code 2.
        writeFileSync(join(dir, 'broken.json'), '{"format":');
        writeFileSync(join(dir, 'other.json'), JSON.stringify({ format: 'graph-meetings.snapshot', version: 1 }));
        const failures: [string[], RegExp][] = [
          [['snapshot', 'import', join(dir, 'missing.json'), ...target], /cannot read .*missing\.json \(ENOENT\)/],
          [['snapshot', 'import', join(dir, 'broken.json'), ...target], /broken\.json is not valid JSON/],
          [['snapshot', 'import', join(dir, 'other.json'), ...target], /400 Invalid snapshot: .*lacks the required member 'tenant'/],
          [['snapshot', 'export', '--tenant', '00000000-0000-4000-8000-000000000000', '--db', db], /404 Tenant 00000000/],
          [['reset', '--tenant', 'contoso', ...target], /400 Invalid value for 'tenant'/],
          [['reset', '--directory', '--url', server.url, '--admin-key', 'wrong-key-0123456789'], /401/],
        ];
        for (const [args, message] of failures) {
          const result = await runCli(args);
          assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
          assert.match(result.stderr, new RegExp(`^graph-meetings: .*${message.source}`), args.join(' '));
        }
        const noTenant = await runCli(['snapshot', 'export', '--db', db]);
        assert.notEqual(noTenant.code, 0);
        assert.match(noTenant.stderr, /--tenant/);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
