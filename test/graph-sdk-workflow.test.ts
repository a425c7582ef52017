// A whole meeting life cycle driven by the official Microsoft Graph SDK for TypeScript (Kiota, v1.0
// models) over real HTTP: create → createOrGet → patch → get → lookup by join URL → delete → 404.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ALICE, BOB, BOOKING_APP, DIRECTORY } from './helpers/fixtures.js';
import { graphSdk, rejectsWithODataError } from './helpers/graph-client.js';
import { type RunningServer, startServer } from './helpers/server.js';
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

const START = new Date('2026-06-01T14:00:00.000Z');
const END = new Date('2026-06-01T15:00:00.000Z');

test('me.onlineMeetings: post → createOrGet → patch → get → lookup by JoinWebUrl → delete → 404', async () => {
  const { client } = graphSdk(server.url, () => issuer.userToken(ALICE));
  const meetings = client.me.onlineMeetings;

  // Create (no externalId).
  const planned = await meetings.post({ subject: 'Planning', startDateTime: START, endDateTime: END });
  assert.ok(planned?.id);
  assert.equal(planned.subject, 'Planning');
  assert.equal(planned.externalId ?? null, null); // Kiota reads JSON null as undefined
  assert.equal(planned.startDateTime?.toISOString(), START.toISOString());
  assert.equal(planned.participants?.organizer?.identity?.user?.id, ALICE.id);

  // createOrGet: a new meeting the first time, the same one afterwards.
  const externalId = `sdk-workflow-${randomUUID()}`;
  const body = { externalId, subject: 'Workflow', participants: { attendees: [{ upn: BOB.upn }] } };
  const meeting = await meetings.createOrGet.post(body);
  assert.ok(meeting?.id && meeting.joinWebUrl);
  assert.notEqual(meeting.id, planned.id);
  assert.equal((await meetings.createOrGet.post(body))?.id, meeting.id);
  assert.deepEqual(meeting.lobbyBypassSettings, { scope: 'organization', isDialInBypassEnabled: false });

  // PATCH: subject replaced, lobbyBypassSettings merged (scope kept).
  const patched = await meetings.byOnlineMeetingId(meeting.id).patch({ subject: 'Workflow (moved)', lobbyBypassSettings: { isDialInBypassEnabled: true } });
  assert.equal(patched?.id, meeting.id);
  assert.equal(patched?.subject, 'Workflow (moved)');
  assert.deepEqual(patched?.lobbyBypassSettings, { scope: 'organization', isDialInBypassEnabled: true });

  // GET sees the change; everything else is as createOrGet returned it.
  const read = await meetings.byOnlineMeetingId(meeting.id).get();
  assert.deepEqual(read, patched);
  assert.equal(read?.joinWebUrl, meeting.joinWebUrl);
  assert.equal(read?.externalId, externalId);
  assert.deepEqual(read?.participants?.attendees?.map((a) => a.identity?.user?.id), [BOB.id]);

  // Lookup by join URL: a collection with this one meeting.
  const found = await meetings.get({ queryParameters: { filter: `JoinWebUrl eq '${meeting.joinWebUrl}'` } });
  assert.deepEqual(found?.value?.map((m) => m.id), [meeting.id]);
  assert.equal(found?.value?.[0]?.subject, 'Workflow (moved)');

  // DELETE, then the meeting is gone for GET, lookup and PATCH.
  await meetings.byOnlineMeetingId(meeting.id).delete();
  await rejectsWithODataError(meetings.byOnlineMeetingId(meeting.id).get(), 404, 'NotFound');
  const after = await meetings.get({ queryParameters: { filter: `JoinWebUrl eq '${meeting.joinWebUrl}'` } });
  assert.deepEqual(after?.value, []);
  await rejectsWithODataError(meetings.byOnlineMeetingId(meeting.id).patch({ subject: 'Ghost' }), 404, 'NotFound');

  // The meeting created first is untouched.
  assert.equal((await meetings.byOnlineMeetingId(planned.id).get())?.subject, 'Planning');
});

test('users.byUserId(id).onlineMeetings with an application token: the same life cycle for the user', async () => {
  const { client } = graphSdk(server.url, () => issuer.appToken(BOOKING_APP));
  const meetings = client.users.byUserId(ALICE.id).onlineMeetings;
  const meeting = await meetings.createOrGet.post({ externalId: `sdk-app-workflow-${randomUUID()}` });
  assert.ok(meeting?.id && meeting.joinMeetingIdSettings?.joinMeetingId);
  assert.equal(meeting.participants?.organizer?.identity?.user?.id, ALICE.id);

  const patched = await meetings.byOnlineMeetingId(meeting.id).patch({ allowedPresenters: 'organizer' });
  assert.equal(patched?.allowedPresenters, 'organizer');

  const filter = `joinMeetingIdSettings/joinMeetingId eq '${meeting.joinMeetingIdSettings.joinMeetingId}'`;
  const found = await meetings.get({ queryParameters: { filter } });
  assert.deepEqual(found?.value?.map((m) => [m.id, m.allowedPresenters]), [[meeting.id, 'organizer']]);

  await meetings.byOnlineMeetingId(meeting.id).delete();
  await rejectsWithODataError(meetings.byOnlineMeetingId(meeting.id).get(), 404, 'NotFound');
});

test('an unsupported $filter through the SDK: ODataError 400 InvalidArgument', async () => {
  const { client } = graphSdk(server.url, () => issuer.userToken(ALICE));
  await rejectsWithODataError(
    client.me.onlineMeetings.get({ queryParameters: { filter: "subject eq 'Workflow'" } }),
    400,
    'InvalidArgument',
    "Filter expression expected - /onlineMeetings?$filter={ParameterName} eq '{id}'.",
  );
});
