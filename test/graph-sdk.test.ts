// The official Microsoft Graph SDK for TypeScript (Kiota, v1.0 models) as the client, over real HTTP:
// what an application written against Graph sees when pointed at this server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RequestAdapter, type RequestConfiguration, type ResponseHandler, ResponseHandlerOption } from '@microsoft/kiota-abstractions';
import { createOnlineMeetingFromDiscriminatorValue, type OnlineMeeting } from '@microsoft/msgraph-sdk/models/index.js';
import type { CreateOrGetPostRequestBody } from '@microsoft/msgraph-sdk-users/users/item/onlineMeetings/createOrGet/index.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, DIRECTORY, ROGUE_APP } from './helpers/fixtures.js';
import { graphSdk, rejectsWithODataError, type Sdk, type SdkOptions } from './helpers/graph-client.js';
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

const asAlice = (options?: SdkOptions) => graphSdk(server.url, () => issuer.userToken(ALICE), options);
const asApp = (app: { tenantId: string; appId: string }) => graphSdk(server.url, () => issuer.appToken(app));

/**
 * The SDK returns the meeting for 201 and 200 alike. A response handler sees the raw response: it
 * records the status and deserializes the body with the SDK's own parse nodes.
 */
class StatusCapture implements ResponseHandler {
  status?: number;
  constructor(private readonly adapter: RequestAdapter) {}
  async handleResponse<NativeResponseType, ModelType>(native: NativeResponseType): Promise<ModelType | undefined> {
    const response = native as unknown as Response;
    this.status = response.status;
    const node = this.adapter
      .getParseNodeFactory()
      .getRootParseNode(response.headers.get('content-type') ?? '', await response.arrayBuffer());
    return node.getObjectValue(createOnlineMeetingFromDiscriminatorValue) as ModelType;
  }
}

interface CreateOrGetBuilder {
  post(body: CreateOrGetPostRequestBody, config?: RequestConfiguration<object>): Promise<OnlineMeeting | undefined>;
}

async function postWithStatus(sdk: Sdk, builder: CreateOrGetBuilder, body: CreateOrGetPostRequestBody) {
  const capture = new StatusCapture(sdk.adapter);
  const option = new ResponseHandlerOption();
  option.responseHandler = capture;
  const meeting = await builder.post(body, { options: [option] });
  assert.ok(meeting, 'the response handler returned no meeting');
  return { status: capture.status, meeting };
}

const GUEST = 'guest@partner.example';
const START = new Date('2026-04-01T09:00:00.000Z');
const END = new Date('2026-04-01T09:45:00.000Z');

function meetingRequest(externalId: string): CreateOrGetPostRequestBody {
  return {
    externalId,
    subject: 'Quarterly review',
    startDateTime: START,
    endDateTime: END,
    participants: {
      attendees: [
        { upn: BOB.upn, identity: { user: { id: BOB.id } } },
        { upn: GUEST, identity: { user: { displayName: 'Pat Guest' } } },
      ],
    },
  };
}

test('me.onlineMeetings.createOrGet: 201 with a typed OnlineMeeting, then 200 with the same meeting', async () => {
  const sdk = asAlice();
  const builder = sdk.client.me.onlineMeetings.createOrGet;
  const first = await postWithStatus(sdk, builder, meetingRequest('sdk-quarterly'));
  assert.equal(first.status, 201);
  const meeting = first.meeting;
  assert.ok(meeting.id);
  assert.ok(meeting.joinWebUrl?.startsWith(`${server.url}/l/meetup-join/`), meeting.joinWebUrl ?? 'no joinWebUrl');
  assert.equal(meeting.subject, 'Quarterly review');
  assert.equal(meeting.externalId, 'sdk-quarterly');
  assert.equal(meeting.startDateTime?.toISOString(), START.toISOString());
  assert.equal(meeting.endDateTime?.toISOString(), END.toISOString());
  assert.ok(meeting.expiryDateTime instanceof Date); // typed in the SDK's (newer) model
  assert.equal(meeting.participants?.organizer?.identity?.user?.id, ALICE.id);
  assert.deepEqual(
    meeting.participants?.attendees?.map((a) => [a.upn, a.role, a.identity?.user?.id, a.identity?.user?.displayName]),
    [
      [BOB.upn, 'attendee', BOB.id, BOB.name],
      [GUEST, 'attendee', undefined, 'Pat Guest'],
    ],
  );
  // Dynamic members of the open identity type land in additionalData.
  assert.deepEqual(meeting.participants?.organizer?.identity?.user?.additionalData, { tenantId: CONTOSO, identityProvider: 'AAD' });

  const again = await postWithStatus(sdk, builder, meetingRequest('sdk-quarterly'));
  assert.equal(again.status, 200);
  assert.equal(again.meeting.id, meeting.id);
  const plain = await builder.post(meetingRequest('sdk-quarterly'));
  assert.equal(plain?.id, meeting.id);
});

test('me.onlineMeetings.byOnlineMeetingId(id).get() reads back what createOrGet returned', async () => {
  const { client } = asAlice();
  const created = await client.me.onlineMeetings.createOrGet.post(meetingRequest('sdk-read-back'));
  assert.ok(created?.id);
  const read = await client.me.onlineMeetings.byOnlineMeetingId(created.id).get();
  assert.deepEqual(read, created);
});

test('Prefer: include-unknown-enum-members through the SDK headers: coorganizer only when asked for', async () => {
  const { client } = asAlice();
  const body: CreateOrGetPostRequestBody = {
    externalId: 'sdk-coorganizer',
    participants: { attendees: [{ upn: BOB.upn, role: 'coorganizer', identity: { user: { id: BOB.id } } }] },
  };
  const opted = await client.me.onlineMeetings.createOrGet.post(body, { headers: { Prefer: 'include-unknown-enum-members' } });
  assert.equal(opted?.participants?.attendees?.[0]?.role, 'coorganizer');
  const plain = await client.me.onlineMeetings.createOrGet.post(body);
  assert.equal(plain?.participants?.attendees?.[0]?.role, 'unknownFutureValue');
});

test('users.byUserId(id).onlineMeetings.createOrGet with an application token', async () => {
  const meeting = await asApp(BOOKING_APP).client.users.byUserId(ALICE.id).onlineMeetings.createOrGet.post(meetingRequest('sdk-app'));
  assert.ok(meeting?.id);
  assert.equal(meeting.participants?.organizer?.identity?.user?.id, ALICE.id);
  assert.equal(meeting.participants?.organizer?.upn, ALICE.upn);
});

test('an application without an access policy: the SDK throws ODataError 403 Forbidden', async () => {
  await rejectsWithODataError(
    asApp(ROGUE_APP).client.users.byUserId(ALICE.id).onlineMeetings.createOrGet.post(meetingRequest('sdk-rogue')),
    403,
    'Forbidden',
    'No Application Access Policy found for this app',
  );
});

test('endDateTime without startDateTime: the SDK throws ODataError 400 BadRequest', async () => {
  await rejectsWithODataError(
    asAlice().client.me.onlineMeetings.createOrGet.post({ externalId: 'sdk-bad-dates', endDateTime: END }),
    400,
    'BadRequest',
    "'endDateTime' cannot be specified without 'startDateTime'.",
  );
});

test('a host missing from the allowed hosts gets no token: 401 InvalidAuthenticationToken', async () => {
  const { client } = asAlice({ allowedHosts: ['graph.microsoft.com'] });
  await rejectsWithODataError(client.me.onlineMeetings.createOrGet.post(meetingRequest('sdk-no-token')), 401, 'InvalidAuthenticationToken');
});

test('the v1.0 SDK against /beta: same meeting store, beta-only members in additionalData', async () => {
  const beta = await asAlice({ version: 'beta' }).client.me.onlineMeetings.createOrGet.post(meetingRequest('sdk-beta'));
  assert.ok(beta?.id);
  assert.equal(beta.additionalData?.joinUrl, beta.joinWebUrl);
  const v1 = await asAlice().client.me.onlineMeetings.byOnlineMeetingId(beta.id).get();
  assert.equal(v1?.id, beta.id);
  assert.equal(v1?.joinWebUrl, beta.joinWebUrl);
  assert.equal(v1?.additionalData?.joinUrl, undefined);
});
