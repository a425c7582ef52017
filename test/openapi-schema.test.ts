// Every onlineMeeting body the server sends validates against Graph's own schema: the OpenAPI of
// its version (v1.0 or beta, Sep 2024), plus the 2026 v1.0 CSDL for the properties that OpenAPI
// predates. Real bodies over real HTTP; the validator itself is checked against mutated bodies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALICE, BOB, BOOKING_APP, CAROL, DIRECTORY } from './helpers/fixtures.js';
import { ONLINE_MEETING, meetingSchema as schemaOf } from './helpers/meeting-schema.js';
import { type ApiVersion, assertGraphBody, checkGraphBody, csdlAdditions, type GraphBodyOptions } from './helpers/openapi.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const PREFER_ALL_ENUM_MEMBERS = { prefer: 'include-unknown-enum-members' };

const ATTENDEES = [
  { upn: BOB.upn, role: 'presenter', identity: { user: { id: BOB.id } } }, // directory user, id and upn
  { upn: CAROL.upn }, // directory user, upn only
  { upn: 'guest@partner.example', identity: { user: { displayName: 'Pat Guest' } } }, // external
];

type Meeting = Record<string, unknown> & {
  id: string;
  participants: { attendees: Array<{ role: string; upn: string }> };
  chatInfo: { threadId: string };
};

let issuer: TestIssuer;
let server: RunningServer;
let aliceToken: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  aliceToken = await issuer.userToken(ALICE);
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

async function call(path: string, init: { method?: string; json?: unknown; token?: string; headers?: Record<string, string> } = {}) {
  const response = await server.request(path, { method: init.method ?? 'GET', token: init.token ?? aliceToken, json: init.json, headers: init.headers });
  const body = (await response.json()) as Meeting;
  return { status: response.status, body };
}

const createOrGet = (version: ApiVersion, json: unknown, init: { token?: string; owner?: string; headers?: Record<string, string> } = {}) =>
  call(`/${version}${init.owner ?? '/me'}/onlineMeetings/createOrGet`, { method: 'POST', json, ...init });

for (const version of ['v1.0', 'beta'] as const) {
  describe(`${version} bodies match the ${version} schema`, () => {
    test('createOrGet 201, createOrGet 200 and GET by id, with directory and external attendees', async () => {
      const request = {
        externalId: `schema-attendees-${version}`,
        subject: 'Schema check',
        startDateTime: '2026-03-02T10:00:00.1234567+01:00',
        endDateTime: '2026-03-02T11:30:00+01:00',
        participants: { attendees: ATTENDEES },
      };
      const created = await createOrGet(version, request);
      assert.equal(created.status, 201);
      assert.equal(created.body.participants.attendees.length, ATTENDEES.length);
      assertGraphBody(created.body, schemaOf(version), 'createOrGet 201');

      const existing = await createOrGet(version, request);
      assert.equal(existing.status, 200);
      assert.equal(existing.body.id, created.body.id);
      assertGraphBody(existing.body, schemaOf(version), 'createOrGet 200');

      const read = await call(`/${version}/me/onlineMeetings/${encodeURIComponent(created.body.id)}`);
      assert.equal(read.status, 200);
      assertGraphBody(read.body, schemaOf(version), 'GET');
    });

    test('channel meeting (chatInfo.threadId of a channel)', async () => {
      const threadId = '19:abc123@thread.tacv2';
      const { status, body } = await createOrGet(version, { externalId: `schema-channel-${version}`, chatInfo: { threadId } });
      assert.equal(status, 201);
      assert.equal(body.chatInfo.threadId, threadId);
      assertGraphBody(body, schemaOf(version), 'channel meeting');
      const read = await call(`/${version}/me/onlineMeetings/${encodeURIComponent(body.id)}`);
      assert.equal(read.status, 200);
      assertGraphBody(read.body, schemaOf(version), 'GET channel meeting');
    });

    test('an application on /users/{id} (BOOKING_APP) gets a body of the same schema', async () => {
      const { status, body } = await createOrGet(
        version,
        { externalId: `schema-app-${version}`, participants: { attendees: ATTENDEES.slice(2) } },
        { owner: `/users/${ALICE.id}`, token: await issuer.appToken(BOOKING_APP) },
      );
      assert.equal(status, 201);
      assertGraphBody(body, schemaOf(version), 'application createOrGet');
    });

    test('coorganizer: sent with Prefer: include-unknown-enum-members, unknownFutureValue without it', async () => {
      const request = {
        externalId: `schema-coorganizer-${version}`,
        participants: { attendees: [{ upn: BOB.upn, role: 'coorganizer', identity: { user: { id: BOB.id } } }] },
      };
      const opted = await createOrGet(version, request, { headers: PREFER_ALL_ENUM_MEMBERS });
      assert.equal(opted.status, 201);
      assert.equal(opted.body.participants.attendees[0]?.role, 'coorganizer');
      assertGraphBody(opted.body, schemaOf(version, { includeUnknownEnumMembers: true }), 'with Prefer');
      // coorganizer is declared after unknownFutureValue in both versions' enum: only opted-in callers may see it.
      assert.match(checkGraphBody(opted.body, schemaOf(version)).join('\n'), /\/participants\/attendees\/0\/role = "coorganizer"/);

      const plain = await createOrGet(version, request);
      assert.equal(plain.status, 200);
      assert.equal(plain.body.participants.attendees[0]?.role, 'unknownFutureValue');
      assertGraphBody(plain.body, schemaOf(version), 'without Prefer');

      const read = await call(`/${version}/me/onlineMeetings/${encodeURIComponent(plain.body.id)}`, { headers: PREFER_ALL_ENUM_MEMBERS });
      assert.equal(read.body.participants.attendees[0]?.role, 'coorganizer');
      assertGraphBody(read.body, schemaOf(version, { includeUnknownEnumMembers: true }), 'GET with Prefer');
    });
  });
}

describe('the schema check itself', () => {
  test('the v1.0 dynamic allow-list is exactly what the 2026 CSDL adds to the 2024 OpenAPI', () => {
    const added = csdlAdditions();
    assert.deepEqual([...(added.get(ONLINE_MEETING)?.keys() ?? [])].sort(), [
      'allowBreakoutRooms',
      'allowCopyingAndSharingMeetingContent',
      'allowLiveShare',
      'allowPowerPointSharing',
      'allowRecording',
      'allowTranscription',
      'allowWhiteboard',
      'allowedLobbyAdmitters',
      'chatRestrictions',
      'cloudVideoInteropInfo',
      'expiryDateTime',
      'isEndToEndEncryptionEnabled',
      'meetingOptionsWebUrl',
      'meetingSpokenLanguageTag',
      'meetingTemplateId',
      'meetingType',
      'sensitivityLabelAssignment',
    ]);
    // Complex types the meeting uses gained nothing (audioConferencing.tollNumbers is already in the OpenAPI).
    assert.deepEqual([...added.keys()].sort(), [ONLINE_MEETING, 'microsoft.graph.onlineMeetingBase']);
  });

  test('rejects what Graph forbids, accepts what it allows', async () => {
    const { body: real } = await createOrGet('v1.0', { externalId: 'schema-mutations', participants: { attendees: ATTENDEES } });
    assertGraphBody(real, schemaOf('v1.0'), 'unmutated');
    type Body = Record<string, any>; // mutable JSON
    const cases: Array<[string, (b: Body) => void, RegExp | null, Partial<GraphBodyOptions>?]> = [
      ['a bare $ref is not nullable', (b) => void (b.participants = null), /^schema: \/participants = null: must be object/m],
      ['nor is an enum $ref', (b) => void (b.lobbyBypassSettings.scope = null), /^schema: \/lobbyBypassSettings\/scope = null/m],
      ['nullable: true allows null', (b) => void (b.subject = null), null],
      ['date-time pattern', (b) => void (b.startDateTime = '2026-03-02T25:00:00Z'), /\/startDateTime .*must match pattern/],
      ['date-time format (no 30 February)', (b) => void (b.startDateTime = '2026-02-30T10:00:00Z'), /\/startDateTime .*must match format "date-time"/],
      ['date-time needs an offset', (b) => void (b.endDateTime = '2026-03-02T10:00:00'), /\/endDateTime .*must match/],
      ['enum', (b) => void (b.participants.attendees[0].role = 'boss'), /\/participants\/attendees\/0\/role = "boss": must be equal to one of/],
      ['late enum member without Prefer', (b) => void (b.participants.attendees[0].role = 'producer'), /\/role = "producer"/],
      ['late enum member with Prefer', (b) => void (b.participants.attendees[0].role = 'producer'), null, { includeUnknownEnumMembers: true }],
      ['member inherited through allOf', (b) => void (b.allowAttendeeToEnableMic = 'yes'), /\/allowAttendeeToEnableMic = "yes": must be boolean/],
      ['entity id', (b) => void (b.id = 42), /\/id = 42: must be string/],
      ['annotations are not members', (b) => void Object.assign(b, { '@odata.etag': 'W/"1"', 'subject@odata.type': '#String' }), null],
      ['typo at top level', (b) => void (b.expiryDatetime = b.expiryDateTime), /^undeclared: \/expiryDatetime /m],
      ['typo in identity.user', (b) => void (b.participants.organizer.identity.user.tenantID = 'x'), /^undeclared: \/participants\/organizer\/identity\/user\/tenantID /m],
      ['identity.user members elsewhere', (b) => void (b.participants.organizer.tenantId = 'x'), /^undeclared: \/participants\/organizer\/tenantId /m],
      ['2026 enum value', (b) => void (b.meetingType = 'webinar'), /^CSDL 2026 \(graph\.onlineMeetingType\): \/meetingType = "webinar"/m],
      ['2026 date-time', (b) => void (b.expiryDateTime = 'soon'), /^CSDL 2026 \(Edm\.DateTimeOffset\): \/expiryDateTime = "soon"/m],
      ['2026 closed complex type', (b) => void (b.chatRestrictions.allowTextonly = true), /\/chatRestrictions .*must NOT have additional properties \("allowTextonly"\)/],
      ['beta-only members are not v1.0 members', (b) => void (b.joinUrl = b.joinWebUrl), /^undeclared: \/joinUrl /m],
    ];
    for (const [name, mutate, expected, options] of cases) {
      const body = structuredClone(real);
      mutate(body);
      const problems = checkGraphBody(body, schemaOf('v1.0', options)).join('\n');
      if (expected) assert.match(problems, expected, `${name}: expected a problem, got:\n${problems}`);
      else assert.equal(problems, '', `${name}: expected no problem`);
    }
  });
});
