// Attendance reports over real HTTP: what the join page's endpoints record on the server's virtual
// clock reads back through Graph's attendanceReports paths (v1.0 and beta) in Graph's shapes
// (checked against the OpenAPI), with Graph's permission (OnlineMeetingArtifact.Read.All) and
// owners; the join endpoints' input and origin checks; the lobby and role rules; and the storage on
// SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Attendee, AttendanceInterval } from '../src/domain/attendance-ports.js';
import { buildMeeting } from '../src/domain/build-meeting.js';
import { parseInstant } from '../src/domain/instant.js';
import { admissionOf, attendanceRoleOf } from '../src/domain/lobby.js';
import type { Meeting, ParticipantInfo } from '../src/domain/meeting.js';
import { openStore } from '../src/store/open-store.js';
import { ALICE, BOB, BOOKING_APP, CAROL, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FRANK, ROGUE_APP } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { assertGraphBody } from './helpers/openapi.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { type RunningServer, startServer, tempDir } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

let issuer: TestIssuer;
let server: RunningServer;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

type User = typeof ALICE;
const ARTIFACTS = 'OnlineMeetingArtifact.Read.All';
const START = '2030-05-01T09:00:00Z';
const END = '2030-05-01T10:00:00Z';
/** identity.tenantId is a member of communicationsUserIdentity that Graph's attendance records carry on identity. */
const IDENTITY_TENANT = { 'microsoft.graph.identity#tenantId': { type: ['string', 'null'] } };

const userToken = (user: User, scopes = `OnlineMeetings.ReadWrite ${ARTIFACTS}`) => issuer.userToken(user, scopes);

async function setClock(target: RunningServer, now: string) {
  const response = await target.admin('PUT', '/clock', { now, frozen: true });
  assert.equal(response.status, 200, await response.text());
}

async function createMeeting(target: RunningServer, body: Json = {}, organizer: User = ALICE): Promise<Json> {
  const response = await target.request('/v1.0/me/onlineMeetings', {
    method: 'POST',
    token: await userToken(organizer),
    json: { subject: 'Attendance', startDateTime: START, endDateTime: END, ...body },
  });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

/** `…/l/meetup-join/{thread}/{message}/{action}?context=…` on the target server, from a joinWebUrl. */
function joinEndpoint(target: RunningServer, meeting: Json, action: string): string {
  const url = new URL(meeting.joinWebUrl);
  return `${target.url}${url.pathname}/${action}${url.search}`;
}

function post(url: string, json: unknown, headers: Record<string, string> = {}) {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(json) });
}

async function join(target: RunningServer, meeting: Json, as: { guest: string } | { token: string }): Promise<Json> {
  const response =
    'guest' in as
      ? await post(joinEndpoint(target, meeting, 'join'), { displayName: as.guest })
      : await post(joinEndpoint(target, meeting, 'join'), {}, { authorization: `Bearer ${as.token}` });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function leave(target: RunningServer, meeting: Json, attendanceId: string): Promise<Json> {
  const response = await post(joinEndpoint(target, meeting, 'leave'), { attendanceId });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function getJson(target: RunningServer, path: string, token: string): Promise<Json> {
  const response = await target.request(path, { token });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return response.json();
}

const reportsPath = (meeting: Json, version = 'v1.0', owner = 'me') => `/${version}/${owner}/onlineMeetings/${meeting.id}/attendanceReports`;

/**
 * A meeting attended by a guest (lobby, twice, same name), the organizer (past the end) and an
 * invited presenter (once closed, once still open); read back before and after the end.
 */
async function attendanceFlow(target: RunningServer) {
  await setClock(target, '2030-05-01T08:00:00Z');
  const meeting = await createMeeting(target, {
    allowedPresenters: 'roleIsPresenter',
    participants: { attendees: [{ upn: BOB.upn, role: 'presenter' }] },
  });
  const bob = await userToken(BOB, 'User.Read');
  const at = (time: string) => setClock(target, `2030-05-01T${time}Z`);

  await at('09:00:00');
  const guest1 = await join(target, meeting, { guest: 'Pat Guest' });
  assert.deepEqual([guest1.admission, guest1.role, guest1.joinDateTime], ['lobby', 'Attendee', '2030-05-01T09:00:00.0000000Z']);
  await at('09:01:00');
  const alice = await join(target, meeting, { token: await userToken(ALICE, 'User.Read') });
  assert.deepEqual([alice.admission, alice.role, alice.displayName], ['inMeeting', 'Organizer', ALICE.name]);
  await at('09:02:00');
  const bob1 = await join(target, meeting, { token: bob });
  assert.deepEqual([bob1.admission, bob1.role], ['inMeeting', 'Presenter']);
  await at('09:10:00');
  assert.equal((await leave(target, meeting, guest1.attendanceId)).leaveDateTime, '2030-05-01T09:10:00.0000000Z');
  await at('09:20:00');
  await leave(target, meeting, bob1.attendanceId);
  await at('09:30:00');
  await join(target, meeting, { token: bob }); // never leaves
  await at('09:40:00');
  const guest2 = await join(target, meeting, { guest: 'Pat Guest' });
  await at('09:45:00.600');
  const left = await leave(target, meeting, guest2.attendanceId);
  assert.equal(left.message, 'You left the meeting after 301 seconds.');
  // A second Leave keeps the first leave time.
  await at('09:50:00');
  assert.equal((await leave(target, meeting, guest2.attendanceId)).leaveDateTime, '2030-05-01T09:45:00.6000000Z');

  const token = await userToken(ALICE);
  await at('09:59:59');
  assert.deepEqual((await getJson(target, reportsPath(meeting), token)).value, [], 'a report before the meeting ended');
  await at('10:05:00');
  await leave(target, meeting, alice.attendanceId);
  await at('10:10:00');
  const list = await getJson(target, reportsPath(meeting), token);
  assert.equal(list.value.length, 1);
  const report = await getJson(target, `${reportsPath(meeting)}/${list.value[0].id}?$expand=attendanceRecords`, token);
  assert.equal(report.totalParticipantCount, 3);
  assert.equal(report.meetingStartDateTime, '2030-05-01T09:00:00.0000000Z');
  assert.equal(report.meetingEndDateTime, '2030-05-01T10:05:00.0000000Z');
  const summary = report.attendanceRecords.map((r: Json) => ({
    id: r.id,
    emailAddress: r.emailAddress,
    identity: r.identity,
    role: r.role,
    total: r.totalAttendanceInSeconds,
    intervals: r.attendanceIntervals.map((i: Json) => [i.joinDateTime.slice(11, 19), i.leaveDateTime?.slice(11, 19) ?? null, i.durationInSeconds]),
  }));
  const guestId = summary[0].id;
  assert.deepEqual(summary, [
    {
      id: guestId,
      emailAddress: null,
      identity: { id: guestId, displayName: 'Pat Guest', tenantId: null },
      role: 'Attendee',
      total: 600 + 301,
      intervals: [['09:00:00', '09:10:00', 600], ['09:40:00', '09:45:00', 301]],
    },
    {
      id: ALICE.id,
      emailAddress: ALICE.upn,
      identity: { id: ALICE.id, displayName: ALICE.name, tenantId: CONTOSO },
      role: 'Organizer',
      total: 3840,
      intervals: [['09:01:00', '10:05:00', 3840]],
    },
    {
      id: BOB.id,
      emailAddress: BOB.upn,
      identity: { id: BOB.id, displayName: BOB.name, tenantId: CONTOSO },
      role: 'Presenter',
      total: 1080,
      // Still open: Graph's form for missing data is a null leave time and a duration of 0.
      intervals: [['09:02:00', '09:20:00', 1080], ['09:30:00', null, 0]],
    },
  ]);
  // The records collection holds the same records; the report id is stable.
  const records = await getJson(target, `${reportsPath(meeting)}/${report.id}/attendanceRecords`, token);
  assert.deepEqual(records.value, report.attendanceRecords);
  assert.equal((await getJson(target, reportsPath(meeting), token)).value[0].id, report.id);
  return { meeting, reportId: report.id as string };
}

describe('attendance recorded by the join page, read through Graph', () => {
  // Set by the first test; the others read the report it made.
  let flow: { meeting: Json; reportId: string };

  test('SQLite: intervals on the virtual clock, one record per attendee, open intervals as Graph leaves them', async () => {
    flow = await attendanceFlow(server);
  });

  test('responses validate against the OpenAPI of v1.0 and beta, with @odata.context like Graph', async () => {
    const token = await userToken(ALICE);
    const { meeting, reportId } = flow;
    for (const version of ['v1.0', 'beta'] as const) {
      const base = reportsPath(meeting, version);
      const context = `${server.url}/${version}/$metadata#users('${ALICE.id}')/onlineMeetings('${meeting.id}')/attendanceReports`;
      const list = await getJson(server, base, token);
      assert.equal(list['@odata.context'], context);
      assert.deepEqual(list.value[0].attendanceRecords, [], 'attendanceRecords is empty in the list');
      assertGraphBody(list, { version, type: 'microsoft.graph.meetingAttendanceReportCollectionResponse' }, 'list');

      const expandedList = await getJson(server, `${base}?$expand=attendanceRecords`, token);
      assert.equal(expandedList.value[0].attendanceRecords.length, 3);
      assertGraphBody(expandedList, { version, type: 'microsoft.graph.meetingAttendanceReportCollectionResponse', allowDynamic: IDENTITY_TENANT }, 'expanded list');

      const one = await getJson(server, `${base}/${reportId}`, token);
      assert.equal(one['@odata.context'], `${context}/$entity`);
      assert.equal('attendanceRecords' in one, false, 'a navigation property is only there when expanded');
      assertGraphBody(one, { version, type: 'microsoft.graph.meetingAttendanceReport' }, 'report');

      const expanded = await getJson(server, `${base}/${reportId}?$expand=attendanceRecords`, token);
      assertGraphBody(expanded, { version, type: 'microsoft.graph.meetingAttendanceReport', allowDynamic: IDENTITY_TENANT }, 'expanded report');

      const records = await getJson(server, `${base}/${reportId}/attendanceRecords`, token);
      assert.equal(records['@odata.context'], `${context}('${reportId}')/attendanceRecords`);
      assertGraphBody(records, { version, type: 'microsoft.graph.attendanceRecordCollectionResponse', allowDynamic: IDENTITY_TENANT }, 'records');
      assert.equal('registrantId' in records.value[0], version === 'beta');
    }
  });

  test('beta addresses the meeting by its join URL too', async () => {
    const token = await userToken(ALICE);
    const key = `joinWebUrl='${encodeURIComponent(flow.meeting.joinWebUrl)}'`;
    const list = await getJson(server, `/beta/me/onlineMeetings(${key})/attendanceReports`, token);
    assert.deepEqual(list.value.map((r: Json) => r.id), [flow.reportId]);
  });

  test('$select and $expand; the options this server does not evaluate are a 501, not a wrong answer', async () => {
    const token = await userToken(ALICE);
    const base = reportsPath(flow.meeting);
    const selected = await getJson(server, `${base}?$select=totalParticipantCount,meetingEndDateTime`, token);
    assert.deepEqual(Object.keys(selected.value[0]).sort(), ['id', 'meetingEndDateTime', 'totalParticipantCount']);
    assert.match(selected['@odata.context'], /attendanceReports\(totalParticipantCount,meetingEndDateTime\)$/);
    const roles = await getJson(server, `${base}/${flow.reportId}/attendanceRecords?select=role`, token);
    assert.deepEqual(roles.value.map((r: Json) => Object.keys(r).sort().join()), ['id,role', 'id,role', 'id,role']);

    const bad = async (path: string, status: number, message: RegExp) => expectGraphError(await server.request(path, { token }), status, { message });
    await bad(`${base}?$select=nope`, 400, /Could not find a property named 'nope' on type 'microsoft.graph.meetingAttendanceReport'/);
    await bad(`${base}?$expand=recordings`, 400, /navigation property named 'recordings'/);
    await bad(`${base}/${flow.reportId}/attendanceRecords?$expand=identity`, 400, /navigation property named 'identity'/);
    await bad(`${base}?$top=1`, 501, /\$top/);
    await bad(`${base}/${flow.reportId}/attendanceRecords?$filter=role eq 'Attendee'`, 501, /\$filter/);
    await bad(`${base}/${flow.reportId}?$top=1`, 400, /not a collection/);
  });

  test('an unknown report id is a 404; writes and $count stay 501 as before', async () => {
    const token = await userToken(ALICE);
    const base = reportsPath(flow.meeting);
    await expectGraphError(await server.request(`${base}/${randomUUID()}`, { token }), 404, { code: 'NotFound' });
    await expectGraphError(await server.request(`${base}/${randomUUID()}/attendanceRecords`, { token }), 404, { code: 'NotFound' });
    await expectGraphError(await server.request(base, { token, method: 'POST', json: {} }), 501, { code: 'NotImplemented' });
    await expectGraphError(await server.request(`${base}/${flow.reportId}`, { token, method: 'DELETE' }), 501, { code: 'NotImplemented' });
    await expectGraphError(await server.request(`${base}/$count`, { token }), 501, { code: 'NotImplemented' });
    await expectGraphError(await server.request(`${base}/${flow.reportId}/attendanceRecords/$count`, { token }), 501);
    await expectGraphError(await server.request(`${base}/${flow.reportId}/attendanceRecords/${randomUUID()}`, { token }), 501);
  });
});

describe('who may read attendance reports', () => {
  let meeting: Json;
  let withCoorganizer: Json;
  before(async () => {
    await setClock(server, '2030-05-01T08:00:00Z');
    meeting = await createMeeting(server, { participants: { attendees: [{ upn: BOB.upn }] } });
    withCoorganizer = await createMeeting(server, { participants: { attendees: [{ upn: CAROL.upn, role: 'coorganizer' }] } });
    await setClock(server, '2030-05-01T09:30:00Z');
    await join(server, meeting, { guest: 'Visitor' });
    await join(server, withCoorganizer, { guest: 'Visitor' });
    await setClock(server, '2030-05-01T11:00:00Z');
  });

  const read = async (path: string, token: string) => server.request(path, { token });
  const ok = async (path: string, token: string) => {
    const response = await read(path, token);
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as Json).value.length, 1);
  };

  test('delegated: the organizer and co-organizers with OnlineMeetingArtifact.Read.All', async () => {
    await ok(reportsPath(meeting), await userToken(ALICE, ARTIFACTS));
    await ok(reportsPath(meeting, 'beta', `users/${ALICE.upn}`), await userToken(ALICE, ARTIFACTS));
    // Carol co-organizes the second meeting: she reads its report as she reads the meeting.
    await ok(reportsPath(withCoorganizer), await userToken(CAROL, ARTIFACTS));
    await ok(reportsPath(withCoorganizer, 'v1.0', `users/${CAROL.id}`), await userToken(CAROL, ARTIFACTS));
  });

  test("delegated: the organizer reads with the meeting's own permissions; other users don't see it; other users' paths are refused", async () => {
    await ok(reportsPath(meeting), await userToken(ALICE, 'OnlineMeetings.ReadWrite'));
    await ok(reportsPath(meeting), await userToken(ALICE, 'OnlineMeetings.Read'));
    await expectGraphError(await read(reportsPath(meeting), await userToken(ALICE, 'User.Read')), 403, { code: 'Forbidden' });
    // Bob is invited (he may read the meeting) but is not a co-organizer.
    await expectGraphError(await read(reportsPath(meeting, 'v1.0', `users/${BOB.id}`), await userToken(BOB, ARTIFACTS)), 403, {
      message: "Only the meeting's organizer and co-organizers can read its attendance reports.",
    });
    await expectGraphError(await read(reportsPath(meeting), await userToken(CAROL, ARTIFACTS)), 404, { code: 'NotFound' });
    await expectGraphError(await read(reportsPath(meeting), await userToken(FRANK, ARTIFACTS)), 404, { code: 'NotFound' });
    await expectGraphError(await read(reportsPath(meeting, 'v1.0', `users/${BOB.id}`), await userToken(ALICE, ARTIFACTS)), 403);
    await expectGraphError(await server.request(reportsPath(meeting)), 401, { code: 'InvalidAuthenticationToken' });
  });

  test('applications: OnlineMeetingArtifact.Read.All and an access policy for the user', async () => {
    const path = reportsPath(meeting, 'v1.0', `users/${ALICE.id}`);
    await expectGraphError(await read(path, await issuer.appToken(BOOKING_APP, ['OnlineMeetings.ReadWrite.All'])), 403, { code: 'Forbidden' });
    await ok(path, await issuer.appToken(BOOKING_APP, ['OnlineMeetingArtifact.Read.All']));
    await ok(reportsPath(meeting, 'beta', `users/${ALICE.id}`), await issuer.appToken(BOOKING_APP, ['OnlineMeetingArtifact.Read.All']));
    await expectGraphError(await read(path, await issuer.appToken(ROGUE_APP, ['OnlineMeetingArtifact.Read.All'])), 403, {
      message: 'No Application Access Policy found for this app',
    });
    // The tenant-wide policy does not cover Alice, who has one of her own.
    await expectGraphError(await read(path, await issuer.appToken(CRM_APP, ['OnlineMeetingArtifact.Read.All'])), 403);
    await expectGraphError(await read(reportsPath(meeting), await issuer.appToken(BOOKING_APP, ['OnlineMeetingArtifact.Read.All'])), 400);
    // Graph documents attendance reports for users' meetings only.
    const communications = await read(
      `/v1.0/communications/onlineMeetings/${meeting.id}/attendanceReports`,
      await issuer.appToken(BOOKING_APP, ['OnlineMeetingArtifact.Read.All']),
    );
    await expectGraphError(communications, 501, { code: 'NotImplemented' });
  });

});

describe('the join endpoints', () => {
  let meeting: Json;
  before(async () => {
    await setClock(server, '2030-05-01T08:00:00Z');
    meeting = await createMeeting(server, { lobbyBypassSettings: { scope: 'everyone' } });
  });

  test('the page and its assets: HTML with a CSP without unsafe-inline; files of this server', async () => {
    const url = new URL(meeting.joinWebUrl);
    const page = await fetch(`${server.url}${url.pathname}${url.search}`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script>|<style|style=|\son[a-z]+=/i, 'inline script or style');
    for (const [path, type] of [['/join-page/join.js', /^text\/javascript/], ['/join-page/join.css', /^text\/css/]] as const) {
      const asset = await fetch(`${server.url}${path}`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('content-type') ?? '', type);
      assert.ok(html.includes(`"${path}"`), `${path} is not referenced by the page`);
    }
    // A channel meeting's link (thread of the channel, message id) opens its page too, '/' and '+' in the thread included.
    const channel = await server.request('/v1.0/me/onlineMeetings/createOrGet', {
      method: 'POST',
      token: await userToken(ALICE),
      json: { externalId: `channel-${randomUUID()}`, subject: 'Channel sync', chatInfo: { threadId: '19:ab/c+d=@thread.tacv2' } },
    });
    const channelUrl = new URL(((await channel.json()) as Json).joinWebUrl);
    const channelPage = await fetch(`${server.url}${channelUrl.pathname}${channelUrl.search}`);
    assert.equal(channelPage.status, 200);
    assert.match(await channelPage.text(), /<h1>Channel sync<\/h1>/);

    for (const path of ['/l/meetup-join/whatever', `${url.pathname}?context=not-json`, `${url.pathname}?context=${encodeURIComponent('{"Tid":"x","Oid":"y"}')}`]) {
      const invalid = await fetch(`${server.url}${path}`);
      assert.equal(invalid.status, 404, path);
      assert.match(await invalid.text(), /This meeting link is not valid/);
    }
  });

  test('behind a proxy: the link under --public-url (with a path) opens whatever host it arrives at; assets under that path', async () => {
    const proxied = await startServer({ issuer, directory: DIRECTORY, config: { publicUrl: 'https://meet.example.org/teams/' } });
    try {
      const created = await createMeeting(proxied, { subject: 'Proxied' });
      const url = new URL(created.joinWebUrl);
      assert.equal(url.origin, 'https://meet.example.org');
      assert.ok(url.pathname.startsWith('/teams/l/meetup-join/'), url.pathname);
      // The proxy strips /teams before the request reaches the server.
      const page = await fetch(`${proxied.url}${url.pathname.slice('/teams'.length)}${url.search}`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<h1>Proxied<\/h1>/);
      assert.match(html, /src="\/teams\/join-page\/join\.js"/);
      assert.match(html, /href="\/teams\/join-page\/join\.css"/);
    } finally {
      await proxied.close();
    }
  });

  test('guests need a usable name; JSON only; unknown meetings and attendances are 404', async () => {
    const joinUrl = joinEndpoint(server, meeting, 'join');
    for (const body of [{}, { displayName: '   ' }, { displayName: 42 }, { displayName: 'x'.repeat(257) }, { displayName: 'a\u0000b' }, { displayName: 'tab\tname' }]) {
      await expectGraphError(await post(joinUrl, body), 400, { code: 'BadRequest' });
    }
    await expectGraphError(await fetch(joinUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'displayName=x' }), 415);
    const other = await createMeeting(server);
    const joined = await join(server, other, { guest: 'Elsewhere' });
    const leaveUrl = joinEndpoint(server, meeting, 'leave');
    await expectGraphError(await post(leaveUrl, {}), 400);
    await expectGraphError(await post(leaveUrl, { attendanceId: randomUUID() }), 404);
    await expectGraphError(await post(leaveUrl, { attendanceId: 'not-an-id\u0000' }), 404);
    await expectGraphError(await post(leaveUrl, { attendanceId: joined.attendanceId }), 404, { message: /no attendance/ });
    const gone = joinUrl.replace(/meeting_[^/]+?%40/, 'meeting_bm9wZQ%3d%3d%40');
    await expectGraphError(await post(gone, { displayName: 'x' }), 404, { code: 'NotFound' });
  });

  test('calls from another origin are refused; the page itself and non-browser clients are served', async () => {
    const joinUrl = joinEndpoint(server, meeting, 'join');
    await expectGraphError(await post(joinUrl, { displayName: 'x' }, { origin: 'http://evil.example' }), 403, { code: 'Forbidden' });
    await expectGraphError(await post(joinUrl, { displayName: 'x' }, { 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }), 403);
    await expectGraphError(await post(joinUrl, { displayName: 'x' }, { 'sec-fetch-site': 'same-site' }), 403);
    const leaveUrl = joinEndpoint(server, meeting, 'leave');
    const joined = await join(server, meeting, { guest: 'Local' });
    await expectGraphError(await post(leaveUrl, { attendanceId: joined.attendanceId }, { origin: 'http://evil.example' }), 403);
    assert.equal((await post(joinUrl, { displayName: 'x' }, { 'sec-fetch-site': 'same-origin', origin: server.url })).status, 200);
    assert.equal((await post(joinUrl, { displayName: 'x' }, { origin: server.url })).status, 200);
  });

  test('a Bearer token joins as its user: verified like any API call; applications cannot join', async () => {
    const joinUrl = joinEndpoint(server, meeting, 'join');
    const viewer = await fetch(joinEndpoint(server, meeting, 'viewer'), { headers: { authorization: `Bearer ${await userToken(FRANK, 'User.Read')}` } });
    assert.deepEqual(await viewer.json(), { displayName: FRANK.name, emailAddress: FRANK.upn, tenantId: FABRIKAM, userId: FRANK.id });
    await expectGraphError(await fetch(joinEndpoint(server, meeting, 'viewer')), 400);
    await expectGraphError(await post(joinUrl, {}, { authorization: 'Bearer not.a.token' }), 401, { code: 'InvalidAuthenticationToken' });
    const expired = await issuer.userToken(BOB, 'User.Read', { expiresInSeconds: -120 });
    await expectGraphError(await post(joinUrl, { displayName: 'Bob' }, { authorization: `Bearer ${expired}` }), 401);
    await expectGraphError(await post(joinUrl, {}, { authorization: `Bearer ${await issuer.appToken(BOOKING_APP)}` }), 403);
    const frank = await join(server, meeting, { token: await userToken(FRANK, 'User.Read') });
    assert.deepEqual([frank.displayName, frank.admission, frank.role], [FRANK.name, 'inMeeting', 'Presenter']);
  });
});

describe('lobby and roles', () => {
  const organizer = { tenantId: CONTOSO, id: ALICE.id, userPrincipalName: ALICE.upn, displayName: ALICE.name };
  const invitee = (user: User, role: ParticipantInfo['role']): ParticipantInfo => ({
    upn: user.upn,
    role,
    identity: { user: { id: user.id, displayName: user.name, tenantId: user.tenantId, identityProvider: 'AAD' } },
  });
  const meetingWith = (scope: string, allowedPresenters: string): Meeting => {
    const meeting = buildMeeting(
      {
        organizer,
        externalId: null,
        start: parseInstant(START)!,
        end: parseInstant(END)!,
        subject: null,
        attendees: [invitee(BOB, 'attendee'), invitee(CAROL, 'coorganizer'), { upn: 'pat@partner.example', role: 'presenter', identity: { user: {} } }],
      },
      Date.now(),
      'https://meetings.test',
    );
    meeting.properties.lobbyBypassSettings.scope = scope;
    meeting.properties.allowedPresenters = allowedPresenters;
    return meeting;
  };
  const user = (u: { tenantId: string; id: string; upn: string; name: string }): Attendee => ({
    kind: 'user', tenantId: u.tenantId, userId: u.id, displayName: u.name, emailAddress: u.upn,
  });
  const DANA = { tenantId: CONTOSO, id: 'da4a0000-0000-4000-8000-000000000009', upn: 'dana@contoso.example', name: 'Dana' };
  const PAT = { tenantId: FABRIKAM, id: 'ba700000-0000-4000-8000-00000000000a', upn: 'pat@partner.example', name: 'Pat' };
  const people: Record<string, Attendee> = {
    organizer: user(ALICE),
    coorganizer: user(CAROL),
    invited: user(BOB),
    colleague: user(DANA),
    invitedFederated: user(PAT),
    federated: user(FRANK),
    guest: { kind: 'guest', displayName: 'Walk-in' },
  };

  test('who waits in the lobby, by lobbyBypassSettings.scope', () => {
    const inMeeting: Record<string, string[]> = {
      everyone: Object.keys(people),
      organizationAndFederated: ['organizer', 'coorganizer', 'invited', 'colleague', 'invitedFederated', 'federated'],
      organization: ['organizer', 'coorganizer', 'invited', 'colleague'],
      organizationExcludingGuests: ['organizer', 'coorganizer', 'invited', 'colleague'],
      invited: ['organizer', 'coorganizer', 'invited', 'invitedFederated'],
      organizer: ['organizer', 'coorganizer'],
      unknownFutureValue: ['organizer', 'coorganizer'],
    };
    for (const [scope, expected] of Object.entries(inMeeting)) {
      const meeting = meetingWith(scope, 'everyone');
      const actual = Object.entries(people).filter(([, a]) => admissionOf(meeting, a) === 'inMeeting').map(([name]) => name);
      assert.deepEqual(actual, expected, scope);
    }
  });

  test('who presents, by allowedPresenters', () => {
    const presenters: Record<string, string[]> = {
      everyone: ['coorganizer', 'invited', 'colleague', 'invitedFederated', 'federated', 'guest'],
      organization: ['coorganizer', 'invited', 'colleague'],
      roleIsPresenter: ['coorganizer', 'invitedFederated'],
      organizer: ['coorganizer'],
    };
    for (const [allowed, expected] of Object.entries(presenters)) {
      const meeting = meetingWith('everyone', allowed);
      assert.equal(attendanceRoleOf(meeting, people.organizer!), 'Organizer');
      const actual = Object.entries(people).filter(([, a]) => attendanceRoleOf(meeting, a) === 'Presenter').map(([name]) => name);
      assert.deepEqual(actual, expected, allowed);
    }
  });
});

describe('storage on both engines', () => {
  const intervalOf = (tenantId: string, meetingId: string, attendee: Attendee, joinDateTime: string): AttendanceInterval => ({
    id: randomUUID(),
    tenantId,
    meetingId,
    attendee,
    role: 'Attendee',
    joinDateTime,
    leaveDateTime: null,
  });

  async function storeContract(url: string) {
    const store = await openStore(url);
    try {
      const user: Attendee = { kind: 'user', tenantId: CONTOSO.toUpperCase(), userId: BOB.id, displayName: null, emailAddress: BOB.upn };
      const guest: Attendee = { kind: 'guest', displayName: `Name with 'quotes', ünïcode and <tags>` };
      const late = intervalOf(CONTOSO, 'meeting-1', user, '2030-05-01T09:30:00.0000000Z');
      const early = intervalOf(CONTOSO, 'meeting-1', guest, '2030-05-01T09:00:00.0000000Z');
      await store.attendance.recordJoin(late);
      await store.attendance.recordJoin(early);
      await store.attendance.recordJoin(intervalOf(CONTOSO, 'meeting-2', guest, '2030-05-01T09:00:00.0000000Z'));
      await store.attendance.recordJoin(intervalOf(FABRIKAM, 'meeting-1', guest, '2030-05-01T09:00:00.0000000Z'));

      const listed = await store.attendance.listIntervals(CONTOSO, 'meeting-1');
      assert.deepEqual(listed, [early, { ...late, tenantId: CONTOSO, attendee: { ...user, tenantId: CONTOSO } }]);
      const closed = await store.attendance.recordLeave(CONTOSO, 'meeting-1', early.id, '2030-05-01T09:10:00.0000000Z');
      assert.equal(closed?.leaveDateTime, '2030-05-01T09:10:00.0000000Z');
      const again = await store.attendance.recordLeave(CONTOSO, 'meeting-1', early.id, '2030-05-01T09:20:00.0000000Z');
      assert.equal(again?.leaveDateTime, '2030-05-01T09:10:00.0000000Z', 'the first Leave stays');
      assert.equal(await store.attendance.recordLeave(CONTOSO, 'meeting-2', early.id, '2030-05-01T09:20:00.0000000Z'), undefined);
      assert.equal(await store.attendance.recordLeave(FABRIKAM, 'meeting-1', early.id, '2030-05-01T09:20:00.0000000Z'), undefined);
      assert.deepEqual(await store.attendance.listIntervals(CONTOSO, 'meeting-3'), []);
    } finally {
      await store.close();
    }
  }

  test('SQLite: join, leave once, list in join order, per tenant and meeting', async () => {
    await storeContract(`sqlite:${tempDir()}/attendance.db`);
  });

  test('PostgreSQL: join, leave once, list in join order, per tenant and meeting', async () => {
    await storeContract(await freshDatabase((await testPostgres()).url));
  });

  test('PostgreSQL: the whole flow through a server on PostgreSQL', async () => {
    const onPostgres = await startServer({ issuer, directory: DIRECTORY, config: { db: await freshDatabase((await testPostgres()).url) } });
    try {
      await attendanceFlow(onPostgres);
    } finally {
      await onPostgres.close();
    }
  });
});
