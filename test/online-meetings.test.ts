// Every method of the onlineMeetings resource over real HTTP (spec §2, §3.2–3.4, §5, §6, §9;
// protocol §4.2, §6): create, get (by id and by the beta alternate key), lookup, update, delete,
// expiry, $select and the permission table. Every body the server sends is validated against
// Graph's OpenAPI of its version (call() does it).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ALICE, BOB, BOOKING_APP, CAROL, CRM_APP, DIRECTORY, FABRIKAM_APP, FRANK, ROGUE_APP } from './helpers/fixtures.js';
import { addToGraphDateTime, expectGraphError, type Json, parseGraphDateTime } from './helpers/graph-assert.js';
import { assertOnlineMeetingsBody, versionOf } from './helpers/meeting-schema.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const FILTER_EXPECTED = "Filter expression expected - /onlineMeetings?$filter={ParameterName} eq '{id}'.";
const NOT_A_COLLECTION = /^The query specified in the URI is not valid\. The requested resource is not a collection\./;

type Version = 'v1.0' | 'beta';

let issuer: TestIssuer;
let server: RunningServer;
const T = {} as Record<
  'alice' | 'aliceRead' | 'bob' | 'carol' | 'frank' | 'booking' | 'bookingRead' | 'crm' | 'rogue' | 'rogueRead' | 'fabrikam',
  string
>;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  Object.assign(T, {
    alice: await issuer.userToken(ALICE),
    aliceRead: await issuer.userToken(ALICE, 'OnlineMeetings.Read'),
    bob: await issuer.userToken(BOB),
    carol: await issuer.userToken(CAROL),
    frank: await issuer.userToken(FRANK),
    booking: await issuer.appToken(BOOKING_APP),
    bookingRead: await issuer.appToken(BOOKING_APP, ['OnlineMeetings.Read.All']),
    crm: await issuer.appToken(CRM_APP),
    rogue: await issuer.appToken(ROGUE_APP),
    rogueRead: await issuer.appToken(ROGUE_APP, ['OnlineMeetings.Read.All']),
    fabrikam: await issuer.appToken(FABRIKAM_APP),
  });
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

// ---------------------------------------------------------------------------------------------
// Paths

const ME = (v: Version = 'v1.0') => `/${v}/me/onlineMeetings`;
const USERS = (ref: string, v: Version = 'v1.0') => `/${v}/users/${encodeURIComponent(ref)}/onlineMeetings`;
const COMMS = (v: Version = 'v1.0') => `/${v}/communications/onlineMeetings`;
const APP = '/beta/app/onlineMeetings';
const item = (base: string, id: string, query = '') => `${base}/${encodeURIComponent(id)}${query}`;
/** The beta alternate key; the join URL inside the quotes is percent-encoded (spec §2.2). */
const byJoinUrl = (base: string, joinWebUrl: string) => `${base}(joinWebUrl='${encodeURIComponent(joinWebUrl)}')`;
const filtered = (base: string, filter: string) => `${base}?$filter=${encodeURIComponent(filter)}`;
const context = (path: string, v: Version = 'v1.0') => `${server.url}/${v}/$metadata#${path}`;
const aliceMeetings = `users('${ALICE.id}')/onlineMeetings`;
const newKey = (label = 'om') => `${label}-${randomUUID()}`;

// ---------------------------------------------------------------------------------------------
// Calls

interface Reply {
  status: number;
  /** Parsed JSON; undefined for an empty body. */
  body: Json;
  text: string;
  headers: Headers;
  label: string;
}

interface CallOptions {
  token?: string;
  json?: unknown;
  headers?: Record<string, string>;
  target?: RunningServer;
}

/** One request; any body that comes back is validated against Graph's schema of the path's version. */
async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const target = options.target ?? server;
  const res = await target.request(path, { method, token: options.token ?? T.alice, json: options.json, headers: options.headers });
  const text = await res.text();
  const label = `${method} ${path} → ${res.status}`;
  const body = text ? (JSON.parse(text) as Json) : undefined;
  if (body !== undefined) assertOnlineMeetingsBody(body, versionOf(path), { label });
  return { status: res.status, body, text, headers: res.headers, label };
}

function expectStatus(reply: Reply, status: number): Json {
  assert.equal(reply.status, status, `${reply.label}: ${reply.text}`);
  return reply.body;
}

/** Graph's error shape and ids (graph-assert.ts) on an already read reply. */
function expectError(reply: Reply, status: number, expected: { code?: string; message?: string | RegExp } = {}) {
  return expectGraphError(new Response(reply.text, { status: reply.status, headers: reply.headers }), status, expected);
}

async function create(json: unknown = {}, { base = ME(), token = T.alice, target = server } = {}): Promise<Json> {
  return expectStatus(await call('POST', base, { token, json, target }), 201);
}

async function createOrGet(json: unknown, { base = ME(), token = T.alice, target = server, status = 201 } = {}): Promise<Json> {
  return expectStatus(await call('POST', `${base}/createOrGet`, { token, json, target }), status);
}

const getById = (id: string, { base = ME(), token = T.alice, target = server } = {}) => call('GET', item(base, id), { token, target });
const patch = (id: string, json: unknown, { base = ME(), token = T.alice } = {}) => call('PATCH', item(base, id), { token, json });
const remove = (id: string, { base = ME(), token = T.alice } = {}) => call('DELETE', item(base, id), { token });

/** A lookup answer: the collection's @odata.context and the ids it holds. */
function lookupResult(reply: Reply, expectedContext: string): string[] {
  const body = expectStatus(reply, 200);
  assert.deepEqual(Object.keys(body).sort(), ['@odata.context', 'value'], reply.label);
  assert.equal(body['@odata.context'], expectedContext);
  assert.ok(Array.isArray(body.value));
  return body.value.map((m: Json) => m.id);
}

const withoutContext = ({ '@odata.context': _context, ...rest }: Json) => rest;
const alicePasses = { participants: { organizer: { identity: { user: { id: ALICE.id } } } } };

// ---------------------------------------------------------------------------------------------

describe('create: POST …/onlineMeetings (spec §5.1)', () => {
  test('an empty body: 201; start is now, end one hour later; subject and externalId null', async () => {
    const t0 = Date.now();
    const meeting = await create({});
    const t1 = Date.now();
    const start = parseGraphDateTime(meeting.startDateTime).ms;
    assert.ok(start >= t0 && start <= t1, `start ${meeting.startDateTime} not between request and response`);
    assert.equal(meeting.endDateTime, addToGraphDateTime(meeting.startDateTime, HOUR_MS));
    assert.equal(meeting.subject, null);
    assert.equal(meeting.externalId, null);
    assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
    assert.deepEqual(meeting.participants.attendees, []);
    assert.equal(meeting['@odata.context'], context(`${aliceMeetings}/$entity`));
  });

  test('/users/{id or upn} with an application token and an access policy: 201, that user organizes', async () => {
    const body = {
      subject: 'Board',
      startDateTime: '2030-05-01T11:00:00+02:00',
      endDateTime: '2030-05-01T10:30:00Z',
      participants: { attendees: [{ upn: BOB.upn }] },
    };
    for (const ref of [ALICE.id, ALICE.upn]) {
      const meeting = await create(body, { base: USERS(ref), token: T.booking });
      assert.equal(meeting.subject, 'Board');
      assert.equal(meeting.startDateTime, '2030-05-01T09:00:00.0000000Z');
      assert.equal(meeting.endDateTime, '2030-05-01T10:30:00.0000000Z');
      assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
      assert.equal(meeting.participants.attendees[0].identity.user.id, BOB.id);
      assert.equal(meeting['@odata.context'], context(`${aliceMeetings}/$entity`));
    }
  });

  test('externalId belongs to createOrGet: 400', async () => {
    for (const [base, token] of [[ME(), T.alice], [USERS(ALICE.id), T.booking], [ME('beta'), T.alice]] as const) {
      await expectError(await call('POST', base, { token, json: { externalId: newKey() } }), 400, { code: 'BadRequest' });
    }
  });

  test('isPasscodeRequired: true generates a passcode; false or absent leave it null', async () => {
    const locked = await create({ joinMeetingIdSettings: { isPasscodeRequired: true } });
    assert.equal(locked.joinMeetingIdSettings.isPasscodeRequired, true);
    assert.equal(typeof locked.joinMeetingIdSettings.passcode, 'string');
    assert.ok(locked.joinMeetingIdSettings.passcode.length > 0);
    for (const body of [{ joinMeetingIdSettings: { isPasscodeRequired: false } }, {}]) {
      const open = await create(body);
      assert.equal(open.joinMeetingIdSettings.isPasscodeRequired, false, JSON.stringify(body));
      assert.equal(open.joinMeetingIdSettings.passcode, null, JSON.stringify(body));
      assert.match(open.joinMeetingIdSettings.joinMeetingId, /^\d+$/);
    }
  });

  test('meeting options in the body are applied and stored', async () => {
    const meeting = await create({
      allowedPresenters: 'organizer',
      lobbyBypassSettings: { scope: 'everyone' },
      allowMeetingChat: 'disabled',
      isEntryExitAnnounced: false,
    });
    assert.equal(meeting.allowedPresenters, 'organizer');
    assert.equal(meeting.lobbyBypassSettings.scope, 'everyone');
    assert.equal(meeting.allowMeetingChat, 'disabled');
    assert.equal(meeting.isEntryExitAnnounced, false);
    assert.deepEqual(expectStatus(await getById(meeting.id), 200), meeting);
  });

  test('an option outside its enum: 400', async () => {
    for (const body of [{ allowedPresenters: 'boss' }, { lobbyBypassSettings: { scope: 'nobody' } }, { allowMeetingChat: 'sometimes' }]) {
      await expectError(await call('POST', ME(), { json: body }), 400, { code: 'BadRequest' });
    }
  });

  test('every meeting gets its own numeric videoTeleconferenceId', async () => {
    const meetings = [
      await create({}),
      await create({}, { base: USERS(ALICE.id), token: T.booking }),
      await create({}, { base: ME('beta') }),
      await createOrGet({ externalId: newKey() }),
    ];
    for (const m of meetings) assert.match(m.videoTeleconferenceId, /^\d+$/);
    assert.equal(new Set(meetings.map((m) => m.videoTeleconferenceId)).size, meetings.length);
  });

  test('beta /app and /communications: an application names the organizer in the body; the access policy applies', async () => {
    for (const base of [APP, COMMS('beta')]) {
      const meeting = await create({ subject: 'Legacy', ...alicePasses }, { base, token: T.booking });
      assert.equal(meeting.subject, 'Legacy');
      assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);
      assert.ok(meeting['@odata.context'].endsWith('onlineMeetings/$entity'), meeting['@odata.context']);
      assert.equal(expectStatus(await getById(meeting.id), 200).id, meeting.id, 'the organizer reads it on /me');
      await expectError(await call('POST', base, { token: T.rogue, json: alicePasses }), 403, {
        code: 'Forbidden',
        message: 'No Application Access Policy found for this app',
      });
      await expectError(await call('POST', base, { token: T.booking, json: {} }), 400, { code: 'BadRequest' });
    }
  });
});

describe('get by id (spec §5.2, §3.4)', () => {
  let meeting: Json; // Alice's, Bob invited

  before(async () => {
    meeting = await create({ subject: 'Get me', participants: { attendees: [{ upn: BOB.upn }] } });
  });

  test('200 with the meeting as created; also on /users/{id} with an app token and on beta', async () => {
    assert.deepEqual(expectStatus(await getById(meeting.id), 200), meeting);
    const viaApp = expectStatus(await getById(meeting.id, { base: USERS(ALICE.id), token: T.booking }), 200);
    assert.deepEqual(viaApp, meeting);
    const beta = expectStatus(await getById(meeting.id, { base: ME('beta') }), 200);
    assert.equal(beta.id, meeting.id);
    assert.equal(beta.joinUrl, meeting.joinWebUrl);
    assert.equal(beta['@odata.context'], context(`${aliceMeetings}/$entity`, 'beta'));
  });

  test('base64 of another id format (Teams client: 0#{thread}#0): 400 Meeting Id is corrupted.', async () => {
    const teamsClientId = Buffer.from('0#19:meeting_x@thread.v2#0').toString('base64');
    await expectError(await getById(teamsClientId), 400, { code: 'BadRequest', message: 'Meeting Id is corrupted.' });
  });

  test('an unknown id of the right shape, and a string that is not base64: 404', async () => {
    const unknown = Buffer.from(`1*${ALICE.id}*0**19:meeting_${randomUUID()}@thread.v2`).toString('base64');
    await expectError(await getById(unknown), 404, { code: 'NotFound' });
    await expectError(await getById('0#19%3ameeting_abc%40thread.v2#0'), 404, { code: 'NotFound' });
  });

  test('the invited attendee reads it with their own token; a user not invited gets 404', async () => {
    assert.equal(expectStatus(await getById(meeting.id, { token: T.bob }), 200).id, meeting.id);
    await expectError(await getById(meeting.id, { token: T.carol }), 404, { code: 'NotFound' });
  });

  for (const [owner, base, token] of [
    ['/me', ME('beta'), 'alice'],
    ['/users/{id} (application)', USERS(ALICE.id, 'beta'), 'booking'],
  ] as const) {
    test(`beta alternate key on ${owner}: GET, PATCH and DELETE …/onlineMeetings(joinWebUrl='…')`, async () => {
      const created = await create({ subject: 'Alternate key' });
      const path = byJoinUrl(base, created.joinWebUrl);
      const read = expectStatus(await call('GET', path, { token: T[token] }), 200);
      assert.equal(read.id, created.id);
      assert.equal(read.joinUrl, created.joinWebUrl);
      const changed = expectStatus(await call('PATCH', path, { token: T[token], json: { subject: 'Changed by join URL' } }), 200);
      assert.equal(changed.id, created.id);
      assert.equal(expectStatus(await getById(created.id), 200).subject, 'Changed by join URL');
      const deleted = await call('DELETE', path, { token: T[token] });
      assert.equal(deleted.status, 204, deleted.text);
      await expectError(await getById(created.id), 404);
      await expectError(await call('GET', path, { token: T[token] }), 404);
    });
  }

  test('beta alternate key: the invited attendee reads but cannot change or delete; others get 404', async () => {
    const path = byJoinUrl(ME('beta'), meeting.joinWebUrl);
    assert.equal(expectStatus(await call('GET', path, { token: T.bob }), 200).id, meeting.id);
    await expectError(await call('PATCH', path, { token: T.bob, json: { subject: 'Hijacked' } }), 403, { code: 'Forbidden' });
    await expectError(await call('DELETE', path, { token: T.bob }), 403, { code: 'Forbidden' });
    for (const token of [T.carol, T.frank]) await expectError(await call('GET', path, { token }), 404, { code: 'NotFound' });
    assert.equal(expectStatus(await getById(meeting.id), 200).subject, 'Get me');
  });

  test('v1.0 has no alternate key: 400', async () => {
    await expectError(await call('GET', byJoinUrl(ME(), meeting.joinWebUrl)), 400, { code: 'BadRequest' });
    await expectError(await call('GET', byJoinUrl(USERS(ALICE.id), meeting.joinWebUrl), { token: T.booking }), 400, { code: 'BadRequest' });
  });
});

describe('lookup: GET …/onlineMeetings?$filter=… (spec §5.3)', () => {
  let meeting: Json;

  before(async () => {
    meeting = await create({ subject: 'Find me' });
  });

  test("JoinWebUrl eq '…': any case of the name, the URL as is or encoded once more; on /me and /users/{id}", async () => {
    const url = meeting.joinWebUrl;
    const filters = [`JoinWebUrl eq '${url}'`, `joinWebUrl eq '${url}'`, `JoinWebUrl eq '${encodeURIComponent(url)}'`];
    for (const [base, token] of [[ME(), T.alice], [USERS(ALICE.id), T.booking], [USERS(ALICE.upn), T.alice]] as const) {
      for (const filter of filters) {
        const reply = await call('GET', filtered(base, filter), { token });
        assert.deepEqual(lookupResult(reply, context(aliceMeetings)), [meeting.id], `${base} ${filter}`);
        assert.deepEqual(reply.body.value[0], withoutContext(meeting));
      }
    }
  });

  test("joinMeetingIdSettings/joinMeetingId eq '…' on /me and /users/{id}", async () => {
    const filter = `joinMeetingIdSettings/joinMeetingId eq '${meeting.joinMeetingIdSettings.joinMeetingId}'`;
    for (const [base, token] of [[ME(), T.alice], [USERS(ALICE.id), T.booking]] as const) {
      assert.deepEqual(lookupResult(await call('GET', filtered(base, filter), { token }), context(aliceMeetings)), [meeting.id]);
    }
  });

  test('no match: 200 with an empty value', async () => {
    for (const filter of ["JoinWebUrl eq 'https://nowhere.example/l/meetup-join/x'", "joinMeetingIdSettings/joinMeetingId eq '0'"]) {
      assert.deepEqual(lookupResult(await call('GET', filtered(ME(), filter)), context(aliceMeetings)), []);
    }
  });

  test("another user's lookup does not find the meeting", async () => {
    const filters = [`JoinWebUrl eq '${meeting.joinWebUrl}'`, `joinMeetingIdSettings/joinMeetingId eq '${meeting.joinMeetingIdSettings.joinMeetingId}'`];
    for (const filter of filters) {
      assert.deepEqual(lookupResult(await call('GET', filtered(ME(), filter), { token: T.bob }), context(`users('${BOB.id}')/onlineMeetings`)), []);
      const viaApp = await call('GET', filtered(USERS(BOB.id), filter), { token: T.crm });
      assert.deepEqual(lookupResult(viaApp, context(`users('${BOB.id}')/onlineMeetings`)), []);
    }
  });

  test("VideoTeleconferenceId eq '…' on /communications (and beta /app): any application, no access policy needed", async () => {
    const filter = `VideoTeleconferenceId eq '${meeting.videoTeleconferenceId}'`;
    const cases = [
      [COMMS(), 'v1.0', 'communications/onlineMeetings'],
      [COMMS('beta'), 'beta', 'communications/onlineMeetings'],
      [APP, 'beta', 'app/onlineMeetings'],
    ] as const;
    for (const [base, version, set] of cases) {
      for (const token of [T.rogue, T.rogueRead]) {
        assert.deepEqual(lookupResult(await call('GET', filtered(base, filter), { token }), context(set, version)), [meeting.id], base);
      }
    }
  });

  test('lookups never cross tenants', async () => {
    const byVtc = filtered(COMMS(), `VideoTeleconferenceId eq '${meeting.videoTeleconferenceId}'`);
    assert.deepEqual(lookupResult(await call('GET', byVtc, { token: T.fabrikam }), context('communications/onlineMeetings')), []);
    const byUrl = filtered(ME(), `JoinWebUrl eq '${meeting.joinWebUrl}'`);
    assert.deepEqual(lookupResult(await call('GET', byUrl, { token: T.frank }), context(`users('${FRANK.id}')/onlineMeetings`)), []);
  });

  test('VideoTeleconferenceId lookup with a delegated token: 403', async () => {
    const path = filtered(COMMS(), `VideoTeleconferenceId eq '${meeting.videoTeleconferenceId}'`);
    await expectError(await call('GET', path, { token: T.alice }), 403, { code: 'Forbidden' });
  });

  test('no $filter, or one that is not a supported equality: 400 InvalidArgument', async () => {
    const cases: Array<[string, string]> = [
      [ME(), T.alice],
      [filtered(ME(), "subject eq 'x'"), T.alice],
      [filtered(ME(), "JoinWebUrl ne 'x'"), T.alice],
      [filtered(ME(), `JoinWebUrl eq '${meeting.joinWebUrl}' and subject eq 'x'`), T.alice],
      [filtered(ME(), `VideoTeleconferenceId eq '${meeting.videoTeleconferenceId}'`), T.alice],
      [filtered(USERS(ALICE.id), "subject eq 'x'"), T.booking],
      [COMMS(), T.rogue],
      [filtered(COMMS(), `JoinWebUrl eq '${meeting.joinWebUrl}'`), T.rogue],
    ];
    for (const [path, token] of cases) {
      await expectError(await call('GET', path, { token }), 400, { code: 'InvalidArgument', message: FILTER_EXPECTED });
    }
  });

  test("a quote doubled inside the literal is an escaped quote (200); a lone one is not a literal (400)", async () => {
    for (const filter of [`JoinWebUrl eq '${meeting.joinWebUrl}''x'`, "JoinWebUrl eq 'it''s'", "joinMeetingIdSettings/joinMeetingId eq '1''2'"]) {
      assert.deepEqual(lookupResult(await call('GET', filtered(ME(), filter)), context(aliceMeetings)), [], filter);
    }
    await expectError(await call('GET', filtered(ME(), "JoinWebUrl eq 'it's'")), 400, { code: 'InvalidArgument' });
  });
});

describe('update: PATCH …/onlineMeetings/{id} (spec §5.4)', () => {
  test('200 with the full updated meeting, which GET then returns', async () => {
    const meeting = await create({ subject: 'Before' });
    const updated = expectStatus(await patch(meeting.id, { subject: 'After' }), 200);
    assert.deepEqual(updated, { ...meeting, subject: 'After', expiryDateTime: updated.expiryDateTime });
    assert.equal(updated['@odata.context'], context(`${aliceMeetings}/$entity`));
    assert.deepEqual(expectStatus(await getById(meeting.id), 200), updated);
    assert.equal(expectStatus(await patch(meeting.id, { subject: null }), 200).subject, null);
  });

  test('times: start and end together, never one alone nor end before start', async () => {
    const meeting = await create({});
    const rejected = [
      { startDateTime: '2031-01-01T10:00:00Z' },
      { endDateTime: '2031-01-01T11:00:00Z' },
      { startDateTime: '2031-01-01T10:00:00Z', endDateTime: '2031-01-01T09:59:59Z' },
    ];
    for (const body of rejected) await expectError(await patch(meeting.id, body), 400, { code: 'BadRequest' });
    const unchanged = expectStatus(await getById(meeting.id), 200);
    assert.equal(unchanged.startDateTime, meeting.startDateTime);
    assert.equal(unchanged.endDateTime, meeting.endDateTime);
    const moved = expectStatus(await patch(meeting.id, { startDateTime: '2031-01-01T10:00:00+01:00', endDateTime: '2031-01-01T10:30:00Z' }), 200);
    assert.equal(moved.startDateTime, '2031-01-01T09:00:00.0000000Z');
    assert.equal(moved.endDateTime, '2031-01-01T10:30:00.0000000Z');
  });

  test('the organizer cannot change: 400 for another user, 200 for the same one', async () => {
    const meeting = await create({});
    const organizer = (id: string) => ({ participants: { organizer: { identity: { user: { id } } } } });
    await expectError(await patch(meeting.id, organizer(BOB.id)), 400, { code: 'BadRequest' });
    const same = expectStatus(await patch(meeting.id, organizer(ALICE.id)), 200);
    assert.equal(same.participants.organizer.identity.user.id, ALICE.id);
  });

  test('attendees are replaced as a whole', async () => {
    const meeting = await create({ participants: { attendees: [{ upn: BOB.upn }, { upn: CAROL.upn }] } });
    assert.equal(meeting.participants.attendees.length, 2);
    const updated = expectStatus(await patch(meeting.id, { participants: { attendees: [{ upn: CAROL.upn }] } }), 200);
    assert.deepEqual(updated.participants.attendees.map((a: Json) => a.identity.user.id), [CAROL.id]);
    await expectError(await getById(meeting.id, { token: T.bob }), 404); // Bob is no longer invited
  });

  test('lobbyBypassSettings is merged: a partial value keeps the other members', async () => {
    const meeting = await create({ lobbyBypassSettings: { scope: 'everyone' } });
    const updated = expectStatus(await patch(meeting.id, { lobbyBypassSettings: { isDialInBypassEnabled: true } }), 200);
    assert.deepEqual(updated.lobbyBypassSettings, { scope: 'everyone', isDialInBypassEnabled: true });
  });

  test('joinMeetingIdSettings.isPasscodeRequired cannot change (400); the same value is accepted', async () => {
    const meeting = await create({ joinMeetingIdSettings: { isPasscodeRequired: true } });
    await expectError(await patch(meeting.id, { joinMeetingIdSettings: { isPasscodeRequired: false } }), 400, { code: 'BadRequest' });
    const same = expectStatus(await patch(meeting.id, { joinMeetingIdSettings: { isPasscodeRequired: true } }), 200);
    assert.deepEqual(same.joinMeetingIdSettings, meeting.joinMeetingIdSettings);
  });

  test('read-only members in the body are ignored', async () => {
    const meeting = await create({});
    const updated = expectStatus(
      await patch(meeting.id, {
        id: 'forged',
        joinWebUrl: 'https://evil.example/join',
        creationDateTime: '2000-01-01T00:00:00Z',
        videoTeleconferenceId: '1',
        externalId: 'sneaky',
        subject: 'Only this changes',
      }),
      200,
    );
    assert.equal(updated.subject, 'Only this changes');
    for (const name of ['id', 'joinWebUrl', 'creationDateTime', 'videoTeleconferenceId', 'externalId']) {
      assert.deepEqual(updated[name], meeting[name], name);
    }
  });

  test("allowedPresenters 'roleIsPresenter' needs the full attendee list with the presenters", async () => {
    const meeting = await create({ participants: { attendees: [{ upn: BOB.upn }] } });
    await expectError(await patch(meeting.id, { allowedPresenters: 'roleIsPresenter' }), 400, { code: 'BadRequest' });
    const updated = expectStatus(
      await patch(meeting.id, { allowedPresenters: 'roleIsPresenter', participants: { attendees: [{ upn: BOB.upn, role: 'presenter' }] } }),
      200,
    );
    assert.equal(updated.allowedPresenters, 'roleIsPresenter');
    assert.equal(updated.participants.attendees[0].role, 'presenter');
  });

  test('only the organizer updates: an invited attendee gets 403 and nothing changes', async () => {
    const meeting = await create({ subject: 'Mine', participants: { attendees: [{ upn: BOB.upn }] } });
    await expectError(await patch(meeting.id, { subject: 'Hijacked' }, { token: T.bob }), 403, { code: 'Forbidden' });
    assert.equal(expectStatus(await getById(meeting.id), 200).subject, 'Mine');
  });

  test('an application with an access policy updates on /users/{id}', async () => {
    const meeting = await create({});
    const updated = expectStatus(await patch(meeting.id, { subject: 'By app' }, { base: USERS(ALICE.id), token: T.booking }), 200);
    assert.equal(updated.subject, 'By app');
    assert.equal(updated['@odata.context'], context(`${aliceMeetings}/$entity`));
  });

  test("an application acting for an invited attendee cannot change or delete the organizer's meeting", async () => {
    const meeting = await create({ subject: 'Mine', participants: { attendees: [{ upn: BOB.upn }] } });
    const asBob = { base: USERS(BOB.id), token: T.crm };
    for (const reply of [await patch(meeting.id, { subject: 'Hijacked' }, asBob), await remove(meeting.id, asBob)]) {
      assert.ok([403, 404].includes(reply.status), `expected 403 or 404: ${reply.label}: ${reply.text}`);
      await expectError(reply, reply.status);
    }
    assert.equal(expectStatus(await getById(meeting.id), 200).subject, 'Mine');
  });

  test('20 concurrent updates: all 200, and the stored meeting is one of them, whole', async () => {
    const meeting = await create({});
    const PRESENTERS = ['everyone', 'organization', 'organizer'];
    const SCOPES = ['organizer', 'organization', 'organizationAndFederated', 'everyone'];
    const bodyOf = (i: number) => ({
      subject: `s${i}`,
      allowedPresenters: PRESENTERS[i % PRESENTERS.length],
      lobbyBypassSettings: { scope: SCOPES[i % SCOPES.length] },
    });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => patch(meeting.id, bodyOf(i))));
    replies.forEach((reply, i) => {
      const body = expectStatus(reply, 200);
      const sent = bodyOf(i);
      assert.deepEqual(
        [body.subject, body.allowedPresenters, body.lobbyBypassSettings.scope],
        [sent.subject, sent.allowedPresenters, sent.lobbyBypassSettings.scope],
      );
    });
    const stored = expectStatus(await getById(meeting.id), 200);
    const winner = Number(/^s(\d+)$/.exec(stored.subject)?.[1]);
    assert.ok(winner >= 0 && winner < 20, stored.subject);
    assert.equal(stored.allowedPresenters, bodyOf(winner).allowedPresenters, 'subject and allowedPresenters from different requests');
    assert.equal(stored.lobbyBypassSettings.scope, bodyOf(winner).lobbyBypassSettings.scope, 'subject and scope from different requests');
  });

  test('concurrent updates of different options: none is lost, merged members included', async () => {
    const meeting = await create({});
    const SWITCHES = [
      'allowAttendeeToEnableCamera', 'allowAttendeeToEnableMic', 'allowBreakoutRooms', 'allowCopyingAndSharingMeetingContent',
      'allowParticipantsToChangeName', 'allowPowerPointSharing', 'allowRecording', 'allowTeamworkReactions',
      'allowTranscription', 'allowWhiteboard', 'isEntryExitAnnounced', 'recordAutomatically',
    ];
    const MEMBERS: Array<[string, string]> = [
      ['watermarkProtection', 'isEnabledForContentSharing'],
      ['watermarkProtection', 'isEnabledForVideo'],
      ['lobbyBypassSettings', 'isDialInBypassEnabled'],
      ['chatRestrictions', 'allowTextOnly'],
    ];
    const flip = (value: unknown) => value !== true;
    const bodies = [
      ...SWITCHES.map((name) => ({ [name]: flip(meeting[name]) })),
      ...MEMBERS.map(([name, member]) => ({ [name]: { [member]: flip(meeting[name]?.[member]) } })),
    ];
    const replies = await Promise.all(bodies.map((body) => patch(meeting.id, body)));
    for (const reply of replies) expectStatus(reply, 200);
    const stored = expectStatus(await getById(meeting.id), 200);
    for (const name of SWITCHES) assert.equal(stored[name], flip(meeting[name]), `${name} was lost`);
    for (const [name, member] of MEMBERS) assert.equal(stored[name]?.[member], flip(meeting[name]?.[member]), `${name}.${member} was lost`);
    assert.equal(stored.lobbyBypassSettings.scope, meeting.lobbyBypassSettings.scope);
  });
});

describe('delete: DELETE …/onlineMeetings/{id} (spec §5.5)', () => {
  test('204 with an empty body; then GET and DELETE answer 404', async () => {
    const meeting = await create({});
    const deleted = await remove(meeting.id);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, '');
    await expectError(await getById(meeting.id), 404, { code: 'NotFound' });
    await expectError(await remove(meeting.id), 404, { code: 'NotFound' });
    await expectError(await patch(meeting.id, { subject: 'Ghost' }), 404, { code: 'NotFound' });
  });

  test('createOrGet with the externalId of a deleted meeting creates a new one (201, new id)', async () => {
    const externalId = newKey();
    const first = await createOrGet({ externalId });
    assert.equal((await remove(first.id)).status, 204);
    const second = await createOrGet({ externalId });
    assert.notEqual(second.id, first.id);
    assert.equal(second.externalId, externalId);
    await createOrGet({ externalId }, { status: 200 });
  });

  test('an invited attendee cannot delete: 403, the meeting stays', async () => {
    const meeting = await create({ participants: { attendees: [{ upn: BOB.upn }] } });
    await expectError(await remove(meeting.id, { token: T.bob }), 403, { code: 'Forbidden' });
    expectStatus(await getById(meeting.id), 200);
  });
});

describe('expiry (spec §9), with an injectable clock', () => {
  let clocked: RunningServer;
  let offsetMs = 0;
  let on: { target: RunningServer };
  /** Moves the server's clock to `days` days from now. */
  const at = (days: number) => void (offsetMs = days * DAY_MS);

  before(async () => {
    clocked = await startServer({ issuer, directory: DIRECTORY, config: { clock: { now: () => Date.now() + offsetMs } } });
    on = { target: clocked };
  });
  afterEach(() => at(0));
  after(async () => {
    await clocked?.close();
  });

  test('past expiryDateTime the meeting is gone: GET 404, lookups find nothing, its externalId is free', async () => {
    at(0);
    const externalId = newKey('expiring');
    const meeting = await createOrGet({ externalId }, on);
    assert.equal(meeting.expiryDateTime, addToGraphDateTime(meeting.endDateTime, 60 * DAY_MS));
    at(59);
    expectStatus(await getById(meeting.id, on), 200);
    at(61);
    await expectError(await getById(meeting.id, on), 404, { code: 'NotFound' });
    await expectError(await call('PATCH', item(ME(), meeting.id), { json: { subject: 'late' }, ...on }), 404);
    await expectError(await call('DELETE', item(ME(), meeting.id), on), 404);
    const lookups: Array<[string, string, string]> = [
      [ME(), `JoinWebUrl eq '${meeting.joinWebUrl}'`, T.alice],
      [ME(), `joinMeetingIdSettings/joinMeetingId eq '${meeting.joinMeetingIdSettings.joinMeetingId}'`, T.alice],
      [COMMS(), `VideoTeleconferenceId eq '${meeting.videoTeleconferenceId}'`, T.rogue],
    ];
    for (const [base, filter, token] of lookups) {
      const reply = await call('GET', filtered(base, filter), { token, ...on });
      assert.deepEqual(expectStatus(reply, 200).value, [], filter);
    }
    const again = await createOrGet({ externalId }, on);
    assert.notEqual(again.id, meeting.id);
    assert.ok(parseGraphDateTime(again.creationDateTime).ms > Date.now() + 60 * DAY_MS, 'created at the clock’s time');
  });

  test('an update keeps the meeting alive for 60 days from the update', async () => {
    at(0);
    const meeting = await create({}, on);
    at(30);
    const updatedAt = Date.now() + offsetMs;
    const updated = expectStatus(await call('PATCH', item(ME(), meeting.id), { json: { subject: 'still here' }, ...on }), 200);
    const expiry = parseGraphDateTime(updated.expiryDateTime).ms;
    assert.ok(expiry >= updatedAt + 60 * DAY_MS, `expiry ${updated.expiryDateTime} is not 60 days after the update`);
    assert.ok(updated.expiryDateTime > meeting.expiryDateTime);
    at(75); // past the original expiry, before the extended one
    assert.equal(expectStatus(await getById(meeting.id, on), 200).subject, 'still here');
    at(91);
    await expectError(await getById(meeting.id, on), 404);
  });
});

describe('$select and collection options (protocol §6, §4.2)', () => {
  let meeting: Json;
  before(async () => {
    meeting = await create({ subject: 'Selective' });
  });

  const keysOf = (body: Json) => Object.keys(body).sort();

  test('GET with $select: only the named properties, id and @odata.context', async () => {
    for (const select of ['subject,joinWebUrl', 'SUBJECT,JoinWebURL', 'Subject, joinweburl']) {
      const body = expectStatus(await call('GET', item(ME(), meeting.id, `?$select=${encodeURIComponent(select)}`)), 200);
      assert.deepEqual(keysOf(body), ['@odata.context', 'id', 'joinWebUrl', 'subject'], select);
      assert.equal(body['@odata.context'], context(`${aliceMeetings}(subject,joinWebUrl)/$entity`), select);
      assert.equal(body.subject, 'Selective');
      assert.equal(body.joinWebUrl, meeting.joinWebUrl);
    }
  });

  test('createOrGet with $select, on 201 and on 200', async () => {
    const externalId = newKey();
    const path = `${ME()}/createOrGet?$select=subject,joinWebUrl`;
    for (const status of [201, 200]) {
      const body = expectStatus(await call('POST', path, { json: { externalId, subject: 'Picked' } }), status);
      assert.deepEqual(keysOf(body), ['@odata.context', 'id', 'joinWebUrl', 'subject']);
      assert.equal(body['@odata.context'], context(`${aliceMeetings}(subject,joinWebUrl)/$entity`));
      assert.equal(body.subject, 'Picked');
    }
  });

  test('a lookup with $select: the collection context names the selection', async () => {
    const path = `${filtered(ME(), `JoinWebUrl eq '${meeting.joinWebUrl}'`)}&$select=subject`;
    const body = expectStatus(await call('GET', path), 200);
    assert.equal(body['@odata.context'], context(`${aliceMeetings}(subject)`));
    assert.deepEqual(body.value, [{ id: meeting.id, subject: 'Selective' }]);
  });

  test('an unknown property in $select: 400', async () => {
    const message = "The query specified in the URI is not valid. Could not find a property named 'nope' on type 'microsoft.graph.onlineMeeting'.";
    await expectError(await call('GET', item(ME(), meeting.id, '?$select=subject,nope')), 400, { code: 'BadRequest', message });
    await expectError(await call('POST', `${ME()}/createOrGet?$select=nope`, { json: { externalId: newKey() } }), 400, { message });
  });

  test('$filter, $top, $orderby, $skip or $count on a single meeting: 400', async () => {
    for (const query of [`$filter=${encodeURIComponent("subject eq 'x'")}`, '$top=1', '$orderby=subject', '$skip=1', '$count=true']) {
      await expectError(await call('GET', item(ME(), meeting.id, `?${query}`)), 400, { code: 'BadRequest', message: NOT_A_COLLECTION });
    }
  });
});

describe('permissions (spec §3.2, §3.3): one table', () => {
  const OPS = ['create', 'createOrGet', 'get', 'lookup', 'patch', 'delete'] as const;
  type Op = (typeof OPS)[number];
  /** A status, or 'empty' for a 200 lookup that did not find the meeting. */
  type Outcome = number | 'empty';
  const all = (outcome: Outcome) => Object.fromEntries(OPS.map((op) => [op, outcome])) as Record<Op, Outcome>;
  const ALLOWED: Record<Op, Outcome> = { create: 201, createOrGet: 201, get: 200, lookup: 200, patch: 200, delete: 204 };
  const READ_ONLY: Record<Op, Outcome> = { create: 403, createOrGet: 403, get: 200, lookup: 200, patch: 403, delete: 403 };
  const ERROR_CODES: Record<number, RegExp> = { 400: /^BadRequest$/, 403: /^Forbidden$/, 404: /^(NotFound|Request_ResourceNotFound)$/ };

  const rows: Array<[string, keyof typeof T, () => string, Record<Op, Outcome>]> = [
    ['Alice, delegated OnlineMeetings.ReadWrite, /me', 'alice', () => ME(), ALLOWED],
    ['Alice, delegated OnlineMeetings.Read, /me', 'aliceRead', () => ME(), READ_ONLY],
    ['BOOKING_APP ReadWrite.All, policy for Alice, /users/{Alice}', 'booking', () => USERS(ALICE.id), ALLOWED],
    ['BOOKING_APP Read.All, policy for Alice, /users/{Alice}', 'bookingRead', () => USERS(ALICE.id), READ_ONLY],
    ['ROGUE_APP ReadWrite.All, no policy, /users/{Alice}', 'rogue', () => USERS(ALICE.id), all(403)],
    ["CRM_APP ReadWrite.All, global policy replaced by Alice's own, /users/{Alice}", 'crm', () => USERS(ALICE.id), all(403)],
    ['BOOKING_APP on /me (application token)', 'booking', () => ME(), all(400)],
    ['Bob, delegated, on /users/{Alice}', 'bob', () => USERS(ALICE.id), all(403)],
    ['Frank of Fabrikam, delegated, /me', 'frank', () => ME(), { create: 201, createOrGet: 201, get: 404, lookup: 'empty', patch: 404, delete: 404 }],
    ['FABRIKAM_APP on /users/{Alice of Contoso}', 'fabrikam', () => USERS(ALICE.id), all(404)],
  ];

  for (const [who, tokenName, baseOf, expected] of rows) {
    test(who, async () => {
      const meeting = await create({}); // Alice's
      const base = baseOf();
      const token = T[tokenName];
      const requests: Record<Op, () => Promise<Reply>> = {
        create: () => call('POST', base, { token, json: {} }),
        createOrGet: () => call('POST', `${base}/createOrGet`, { token, json: { externalId: newKey() } }),
        get: () => call('GET', item(base, meeting.id), { token }),
        lookup: () => call('GET', filtered(base, `JoinWebUrl eq '${meeting.joinWebUrl}'`), { token }),
        patch: () => call('PATCH', item(base, meeting.id), { token, json: { subject: 'patched' } }),
        delete: () => call('DELETE', item(base, meeting.id), { token }),
      };
      const actual = {} as Record<Op, Outcome>;
      for (const op of OPS) {
        const reply = await requests[op]();
        actual[op] = op === 'lookup' && reply.status === 200 && reply.body.value.length === 0 ? 'empty' : reply.status;
        if (reply.status >= 400) {
          const { error } = await expectError(reply, reply.status);
          assert.match(error.code, ERROR_CODES[reply.status] ?? /^$/, `${reply.label}: ${reply.text}`);
        }
      }
      assert.deepEqual(actual, expected);
      // What succeeded really happened; what was refused changed nothing.
      const afterwards = await getById(meeting.id);
      if (expected.delete === 204) await expectError(afterwards, 404);
      else assert.equal(expectStatus(afterwards, 200).subject, expected.patch === 200 ? 'patched' : null);
    });
  }
});
