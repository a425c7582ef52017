// createOrGet over real HTTP (spec §2, §4, §6–8): key rules, validation and defaults,
// generated values, beta members, routing, concurrency and restart.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { newMeetingLinks } from '../src/domain/meeting-links.js';
import { ALICE, BOB, CAROL, CONTOSO, DIRECTORY, FRANK } from './helpers/fixtures.js';
import { addToGraphDateTime, expectGraphError, GRAPH_DATE_TIME, type Json, parseGraphDateTime } from './helpers/graph-assert.js';
import { type RunningServer, startServer, tempDir } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings/createOrGet';
const HOUR_MS = 3_600_000;

let issuer: TestIssuer;
let server: RunningServer;
let alice: string;
let bob: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  alice = await issuer.userToken(ALICE);
  bob = await issuer.userToken(BOB);
});
after(async () => {
  await server.close();
  await issuer.stop();
});

/** A key no other test uses. */
const newKey = (label = 'key') => `${label}-${randomUUID()}`;

const usersPath = (userRef: string) => `/v1.0/users/${encodeURIComponent(userRef)}/onlineMeetings/createOrGet`;

async function createOrGet(token: string, body: unknown, path = ME, target = server) {
  const res = await target.request(path, { method: 'POST', token, json: body });
  return { status: res.status, body: (await res.json()) as Json };
}

async function expectStatus(status: 200 | 201, token: string, body: unknown, path = ME, target = server): Promise<Json> {
  const result = await createOrGet(token, body, path, target);
  assert.equal(result.status, status, JSON.stringify(result.body));
  return result.body;
}
const expectCreated = (token: string, body: unknown, path = ME, target = server) => expectStatus(201, token, body, path, target);
const expectExisting = (token: string, body: unknown, path = ME, target = server) => expectStatus(200, token, body, path, target);

/** 400 BadRequest in Graph's error shape; `text` is sent as is (for JSON that JSON.stringify cannot produce). */
async function expectRejected(body: unknown, options: { text?: string; token?: string } = {}) {
  const res =
    options.text === undefined
      ? await server.request(ME, { method: 'POST', token: options.token ?? alice, json: body })
      : await server.request(ME, {
          method: 'POST',
          token: options.token ?? alice,
          body: options.text,
          headers: { 'content-type': 'application/json' },
        });
  await expectGraphError(res, 400, { code: 'BadRequest' });
}

function getMeeting(token: string, id: string, target = server) {
  return target.request(`/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`, { token });
}

const withoutContext = ({ '@odata.context': _context, ...rest }: Json) => rest;

describe('key rules (spec §4.4)', () => {
  test('the first call creates (201); later calls return the stored meeting unchanged (200)', async () => {
    const externalId = newKey();
    const created = await expectCreated(alice, {
      externalId,
      subject: 'Original',
      startDateTime: '2030-01-01T10:00:00Z',
      endDateTime: '2030-01-01T11:00:00Z',
      participants: { attendees: [{ upn: BOB.upn }] },
    });
    assert.equal(created.subject, 'Original');
    const changed = await expectExisting(alice, {
      externalId,
      subject: 'Changed',
      startDateTime: '2031-05-05T08:00:00Z',
      endDateTime: '2031-05-05T09:30:00Z',
      participants: { attendees: [{ upn: CAROL.upn }] },
    });
    assert.deepEqual(changed, created);
    assert.deepEqual(await expectExisting(alice, { externalId }), created);
  });

  test('/me, /users/{own id} and /users/{own upn, any case} share one key space', async () => {
    const externalId = newKey();
    const created = await expectCreated(alice, { externalId });
    for (const ref of [ALICE.id, ALICE.id.toUpperCase(), ALICE.upn, ALICE.upn.toUpperCase(), 'Alice@Contoso.Example']) {
      assert.equal((await expectExisting(alice, { externalId }, usersPath(ref))).id, created.id, ref);
    }
    const viaUpn = await expectCreated(alice, { externalId: newKey() }, usersPath(ALICE.upn.toUpperCase()));
    assert.equal((await expectExisting(alice, { externalId: viaUpn.externalId })).id, viaUpn.id);
  });

  test('two users with the same externalId get different meetings', async () => {
    const externalId = newKey();
    const ofAlice = await expectCreated(alice, { externalId });
    const ofBob = await expectCreated(bob, { externalId });
    assert.notEqual(ofAlice.id, ofBob.id);
    assert.equal(ofBob.participants.organizer.identity.user.id, BOB.id);
    assert.equal((await expectExisting(alice, { externalId })).id, ofAlice.id);
  });

  test('one user with different externalIds gets different meetings', async () => {
    const first = await expectCreated(alice, { externalId: newKey() });
    const second = await expectCreated(alice, { externalId: newKey() });
    assert.notEqual(first.id, second.id);
  });

  test('externalId is case-sensitive', async () => {
    const suffix = randomUUID();
    const upper = await expectCreated(alice, { externalId: `Abc-${suffix}` });
    const lower = await expectCreated(alice, { externalId: `abc-${suffix}` });
    assert.notEqual(upper.id, lower.id);
    assert.equal(lower.externalId, `abc-${suffix}`);
  });

  test('the response body is the meeting at top level, without a value wrapper', async () => {
    const externalId = newKey();
    const body = await expectCreated(alice, { externalId });
    assert.equal(body.value, undefined);
    assert.equal(typeof body.id, 'string');
    assert.equal(body.externalId, externalId);
  });
});

describe('validation and defaults (spec §4.3)', () => {
  test('without start and end: start is now, end is start + 1 hour', async () => {
    const t0 = Date.now();
    const meeting = await expectCreated(alice, { externalId: newKey() });
    const t1 = Date.now();
    const start = parseGraphDateTime(meeting.startDateTime).ms;
    assert.ok(start >= t0 && start <= t1, `start ${meeting.startDateTime} not between request and response`);
    assert.equal(meeting.endDateTime, addToGraphDateTime(meeting.startDateTime, HOUR_MS));
  });

  test('with start only: end is exactly start + 1 hour, all 7 fractional digits kept', async () => {
    const late = await expectCreated(alice, { externalId: newKey(), startDateTime: '2030-03-10T23:15:30.1234567Z' });
    assert.equal(late.startDateTime, '2030-03-10T23:15:30.1234567Z');
    assert.equal(late.endDateTime, '2030-03-11T00:15:30.1234567Z');
    const offset = await expectCreated(alice, { externalId: newKey(), startDateTime: '2030-03-10T10:00:00.5+01:00' });
    assert.equal(offset.startDateTime, '2030-03-10T09:00:00.5000000Z');
    assert.equal(offset.endDateTime, '2030-03-10T10:00:00.5000000Z');
  });

  test('end without start is rejected', async () => {
    await expectRejected({ externalId: newKey(), endDateTime: '2030-01-01T10:00:00Z' });
  });

  test('end before start is rejected; end equal to start is allowed', async () => {
    await expectRejected({ externalId: newKey(), startDateTime: '2030-01-01T10:00:00.0000001Z', endDateTime: '2030-01-01T10:00:00Z' });
    const equal = await expectCreated(alice, {
      externalId: newKey(),
      startDateTime: '2030-01-01T10:00:00Z',
      endDateTime: '2030-01-01T12:00:00+02:00',
    });
    assert.equal(equal.startDateTime, '2030-01-01T10:00:00.0000000Z');
    assert.equal(equal.endDateTime, equal.startDateTime);
  });

  test('externalId missing, null, empty or longer than 256 characters is rejected', async () => {
    for (const body of [{}, { externalId: null }, { externalId: '' }, { externalId: 'x'.repeat(257) }, { externalId: '😀'.repeat(257) }]) {
      await expectRejected(body);
    }
  });

  test('externalId of 256 characters is accepted, counting code points', async () => {
    for (const externalId of [randomUUID().padEnd(256, 'k'), '😀'.repeat(256)]) {
      assert.equal((await expectCreated(alice, { externalId })).externalId, externalId);
    }
  });

  test('externalId with a control character or a lone surrogate is rejected', async () => {
    for (const c of ['\u0000', '\u0007', '\n']) await expectRejected({ externalId: `bad${c}${randomUUID()}` });
    await expectRejected(undefined, { text: `{"externalId":"lone-\\ud800-${randomUUID()}"}` });
  });

  test('date-times without an offset, or that are not real dates, are rejected', async () => {
    const invalid = [
      '2024-01-01T10:00:00',
      '2023-02-30T10:00:00Z',
      '2024-13-01T10:00:00Z',
      '2024-01-01 10:00:00Z',
      '2024-01-01T10:00:00.1234567890123Z',
      'tomorrow',
    ];
    for (const value of invalid) {
      await expectRejected({ externalId: newKey(), startDateTime: value });
      await expectRejected({ externalId: newKey(), startDateTime: '2020-01-01T00:00:00Z', endDateTime: value });
    }
  });

  test('offsets are converted to UTC', async () => {
    const meeting = await expectCreated(alice, {
      externalId: newKey(),
      startDateTime: '2024-01-01T10:00:00+02:00',
      endDateTime: '2024-01-01T10:00:00-05:30',
    });
    assert.equal(meeting.startDateTime, '2024-01-01T08:00:00.0000000Z');
    assert.equal(meeting.endDateTime, '2024-01-01T15:30:00.0000000Z');
  });

  test('up to 12 fractional digits are accepted; the output always has 7', async () => {
    for (const [given, written] of [['.5', '.5000000'], ['.1234567', '.1234567'], ['.123456701234', '.1234567']]) {
      const meeting = await expectCreated(alice, { externalId: newKey(), startDateTime: `2024-06-01T12:00:00${given}Z` });
      assert.equal(meeting.startDateTime, `2024-06-01T12:00:00${written}Z`);
    }
  });

  test('members of the wrong JSON type are rejected', async () => {
    const bodies = [
      { externalId: 123 },
      { externalId: newKey(), subject: 5 },
      { externalId: newKey(), startDateTime: 1700000000000 },
      { externalId: newKey(), participants: 'x' },
      { externalId: newKey(), participants: { attendees: {} } },
      { externalId: newKey(), participants: { attendees: 'x' } },
      { externalId: newKey(), participants: { attendees: [{ role: 5 }] } },
    ];
    for (const body of bodies) await expectRejected(body);
  });

  test('an attendee role outside the enum is rejected', async () => {
    await expectRejected({ externalId: newKey(), participants: { attendees: [{ upn: BOB.upn, role: 'boss' }] } });
  });

  test("presenter and coorganizer roles need a user of the organizer's tenant", async () => {
    const strangers = [
      { upn: 'guest@external.example', role: 'presenter' },
      { upn: 'guest@external.example', role: 'coorganizer' },
      { identity: { user: { id: FRANK.id } }, role: 'presenter' },
      { upn: FRANK.upn, role: 'coorganizer' },
    ];
    for (const attendee of strangers) await expectRejected({ externalId: newKey(), participants: { attendees: [attendee] } });
    const meeting = await expectCreated(alice, { externalId: newKey(), participants: { attendees: [{ upn: BOB.upn, role: 'presenter' }] } });
    const [attendee] = meeting.participants.attendees;
    assert.equal(attendee.role, 'presenter');
    assert.equal(attendee.identity.user.id, BOB.id);
  });

  test('unknown body members are accepted and not applied', async () => {
    const meeting = await expectCreated(alice, {
      '@odata.type': '#microsoft.graph.onlineMeeting',
      externalId: newKey(),
      id: 'forged',
      joinWebUrl: 'https://evil.example/join',
      creationDateTime: '2000-01-01T00:00:00Z',
      allowedPresenters: 'organizer',
      isEntryExitAnnounced: false,
      lobbyBypassSettings: { scope: 'everyone', isDialInBypassEnabled: true },
      isBroadcast: true,
    });
    assert.notEqual(meeting.id, 'forged');
    assert.ok(meeting.joinWebUrl.startsWith(`${server.url}/l/meetup-join/`));
    assert.notEqual(meeting.creationDateTime.slice(0, 4), '2000');
    assert.equal(meeting.allowedPresenters, 'everyone');
    assert.equal(meeting.isEntryExitAnnounced, true);
    assert.deepEqual(meeting.lobbyBypassSettings, { scope: 'organization', isDialInBypassEnabled: false });
    assert.equal(meeting.isBroadcast, false);
  });

  test('a rejected request stores nothing under its key', async () => {
    const badTimes = newKey();
    await expectRejected({ externalId: badTimes, startDateTime: '2030-01-01T10:00:00Z', endDateTime: '2030-01-01T09:00:00Z' });
    await expectCreated(alice, { externalId: badTimes });
    const badAttendee = newKey();
    await expectRejected({ externalId: badAttendee, participants: { attendees: [{ upn: 'guest@external.example', role: 'presenter' }] } });
    await expectCreated(alice, { externalId: badAttendee });
  });

  test('an invalid request is rejected even when its key already exists', async () => {
    const externalId = newKey();
    const created = await expectCreated(alice, { externalId });
    await expectRejected({ externalId, endDateTime: '2030-01-01T10:00:00Z' });
    assert.equal((await expectExisting(alice, { externalId })).id, created.id);
  });
});

describe('generated values (spec §4.5, §8)', () => {
  const GUEST = { upn: 'guest@external.example', role: 'attendee', identity: { user: { id: 'ext-guest-1', displayName: 'Guest' } } };
  let meeting: Json;
  let threadId: string;
  before(async () => {
    meeting = await expectCreated(alice, {
      externalId: newKey('generated'),
      participants: { attendees: [{ upn: BOB.upn.toUpperCase() }, { identity: { user: { id: CAROL.id } } }, GUEST] },
    });
    threadId = meeting.chatInfo.threadId;
  });

  test('id is base64 of 1*{organizerOid}*0**{threadId}', () => {
    const decoded = Buffer.from(meeting.id, 'base64').toString('utf8');
    assert.equal(Buffer.from(decoded, 'utf8').toString('base64'), meeting.id, 'id must be canonical base64');
    assert.equal(decoded, `1*${ALICE.id}*0**${threadId}`);
    assert.match(threadId, /^19:meeting_[A-Za-z0-9+/=]+@thread\.v2$/);
  });

  test('joinWebUrl is on this server, with the thread and a lower-case encoded context', () => {
    const lowerEncode = (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
    const context = `%7b%22Tid%22%3a%22${CONTOSO}%22%2c%22Oid%22%3a%22${ALICE.id}%22%7d`;
    assert.ok(meeting.joinWebUrl.startsWith(`${server.url}/l/meetup-join/19%3ameeting_`), meeting.joinWebUrl);
    assert.equal(meeting.joinWebUrl, `${server.url}/l/meetup-join/${lowerEncode(threadId)}/0?context=${context}`);
  });

  test('chatInfo of a standalone meeting', () => {
    assert.deepEqual(meeting.chatInfo, { threadId, messageId: '0', replyChainMessageId: null });
  });

  test('date-times have 7 fractional digits; dial-in and join ids are numeric', () => {
    for (const name of ['creationDateTime', 'startDateTime', 'endDateTime']) assert.match(meeting[name], GRAPH_DATE_TIME, name);
    assert.ok(Math.abs(parseGraphDateTime(meeting.creationDateTime).ms - Date.now()) < 60_000);
    assert.match(meeting.joinMeetingIdSettings.joinMeetingId, /^\d+$/);
    assert.match(meeting.videoTeleconferenceId, /^\d+$/);
    const { conferenceId, dialinUrl } = meeting.audioConferencing;
    assert.match(conferenceId, /^\d+$/);
    assert.ok(dialinUrl.includes(`?id=${conferenceId}`), dialinUrl);
  });

  test('join meeting ids and VTC ids: 13 and 10 digits, in short runs of shared leading digits', () => {
    // Straight from the domain code.
    const links = Array.from({ length: 2000 }, () => newMeetingLinks('http://x', CONTOSO, ALICE.id, Date.now()));
    for (const [name, length] of [['joinMeetingId', 13], ['videoTeleconferenceId', 10]] as const) {
      const values = links.map((l) => l[name]);
      for (const value of values) assert.match(value, new RegExp(`^[1-9]\\d{${length - 1}}$`), name);
      // Consecutive meetings share their first four digits, which move on by one per run (9999 -> 1000).
      const prefixes = values.map((v) => Number(v.slice(0, 4)));
      const runs: { prefix: number; length: number }[] = [];
      for (const prefix of prefixes) {
        if (runs.at(-1)?.prefix === prefix) runs.at(-1)!.length++;
        else runs.push({ prefix, length: 1 });
      }
      runs.slice(1).forEach((run, i) => assert.equal(run.prefix, runs[i]!.prefix === 9999 ? 1000 : runs[i]!.prefix + 1, name));
      const whole = new Set(runs.slice(1, -1).map((r) => r.length));
      assert.ok(whole.size === 1 && [...whole][0]! <= 64, `${name}: runs of ${[...whole]}`);
      // The rest is random: spread, not counted, and (13 digits) never repeated here.
      assert.ok(new Set(values.map((v) => v.slice(-2))).size > 90, `${name}: last two digits barely vary`);
      if (length === 13) assert.equal(new Set(values).size, values.length, `${name}: a value repeated`);
    }
  });

  test('tenant defaults', () => {
    assert.equal(meeting.isEntryExitAnnounced, true);
    assert.equal(meeting.allowedPresenters, 'everyone');
    assert.deepEqual(meeting.lobbyBypassSettings, { scope: 'organization', isDialInBypassEnabled: false });
    assert.equal(meeting.isBroadcast, false);
    assert.equal(meeting.subject, null);
  });

  test('the organizer is the caller, as a presenter with a full AAD identity', () => {
    assert.deepEqual(meeting.participants.organizer, {
      upn: ALICE.upn,
      role: 'presenter',
      identity: { user: { id: ALICE.id, displayName: ALICE.name, tenantId: CONTOSO, identityProvider: 'AAD' } },
    });
  });

  test('attendees are completed from the directory; unknown ones are kept as given', () => {
    const [bobInfo, carolInfo, guestInfo] = meeting.participants.attendees;
    assert.equal(meeting.participants.attendees.length, 3);
    for (const [info, user] of [[bobInfo, BOB], [carolInfo, CAROL]] as const) {
      assert.equal(info.upn, user.upn);
      assert.equal(info.identity.user.id, user.id);
      assert.equal(info.identity.user.displayName, user.name);
    }
    assert.deepEqual(guestInfo, GUEST);
  });

  test("@odata.context names the organizer's users('{oid}') entity, also on /me", async () => {
    const expected = `${server.url}/v1.0/$metadata#users('${ALICE.id}')/onlineMeetings/$entity`;
    assert.equal(meeting['@odata.context'], expected);
    const viaUpn = await expectExisting(alice, { externalId: meeting.externalId }, usersPath(ALICE.upn));
    assert.equal(viaUpn['@odata.context'], expected);
  });

  test('a configured publicUrl is used for joinWebUrl and @odata.context', async () => {
    const hosted = await startServer({ issuer, directory: DIRECTORY, config: { publicUrl: 'https://meet.example.org' } });
    try {
      const created = await expectCreated(alice, { externalId: newKey() }, ME, hosted);
      assert.ok(created.joinWebUrl.startsWith('https://meet.example.org/l/meetup-join/19%3ameeting_'), created.joinWebUrl);
      assert.ok(created['@odata.context'].startsWith('https://meet.example.org/v1.0/$metadata#'), created['@odata.context']);
    } finally {
      await hosted.close();
    }
  });
});

describe('beta (spec §1.1, §6)', () => {
  test('beta carries the seed-era members; v1.0 does not carry joinUrl', async () => {
    const externalId = newKey();
    const beta = await expectCreated(alice, { externalId }, '/beta/me/onlineMeetings/createOrGet');
    assert.equal(beta['@odata.context'], `${server.url}/beta/$metadata#users('${ALICE.id}')/onlineMeetings/$entity`);
    assert.equal(beta.joinUrl, beta.joinWebUrl);
    assert.ok(['everyone', 'invited', 'locked', 'sameEnterprise', 'sameEnterpriseAndFederated'].includes(beta.accessLevel), beta.accessLevel);
    assert.deepEqual(beta.capabilities, []);
    assert.equal(beta.isCancelled, false);
    assert.equal(beta.canceledDateTime, null);
    assert.match(beta.expiryDateTime, GRAPH_DATE_TIME);
    assert.equal(beta.expirationDateTime, beta.expiryDateTime);
    assert.equal(beta.entryExitAnnouncement, beta.isEntryExitAnnounced);
    assert.equal(beta.joinInformation.contentType, 'html');
    assert.ok(beta.joinInformation.content.length > 0);
    assert.deepEqual(beta.participants.producers, []);
    assert.deepEqual(beta.participants.contributors, []);

    const v1 = await expectExisting(alice, { externalId });
    assert.equal(v1.id, beta.id);
    assert.equal(v1.joinWebUrl, beta.joinWebUrl);
    assert.equal('joinUrl' in v1, false);
  });
});

describe('routing (spec §2)', () => {
  test('microsoft.graph.createOrGet is the same action', async () => {
    const qualified = '/v1.0/me/onlineMeetings/microsoft.graph.createOrGet';
    const externalId = newKey();
    const created = await expectCreated(alice, { externalId });
    assert.equal((await expectExisting(alice, { externalId }, qualified)).id, created.id);
    const viaQualified = await expectCreated(alice, { externalId: newKey() }, qualified);
    assert.equal((await expectExisting(alice, { externalId: viaQualified.externalId })).id, viaQualified.id);
  });

  test('path matching ignores case and a trailing slash', async () => {
    const externalId = newKey();
    const created = await expectCreated(alice, { externalId });
    for (const path of ['/V1.0/ME/ONLINEMEETINGS/CREATEORGET', `${ME}/`, '/v1.0/Me/OnlineMeetings/Microsoft.Graph.CreateOrGet']) {
      assert.equal((await expectExisting(alice, { externalId }, path)).id, created.id, path);
    }
  });

  test('GET by id returns the meeting', async () => {
    const created = await expectCreated(alice, { externalId: newKey(), subject: 'Read me' });
    const res = await getMeeting(alice, created.id);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), created);
  });

  test("an id containing '/', '+' and '=' works percent-encoded in the path", async () => {
    // Ids of GUID organizers never contain '+' or '/'; an organizer oid with '~' and '?' at the right
    // offsets makes the base64 id contain both, and its length adds '=' padding.
    const odd = { tenantId: CONTOSO, id: '~ab?cde', upn: 'odd@contoso.example', name: 'Odd Id' };
    const token = await issuer.userToken(odd);
    const created = await expectCreated(token, { externalId: newKey() });
    assert.match(created.id, /\+/);
    assert.match(created.id, /\//);
    assert.match(created.id, /=$/);
    const res = await getMeeting(token, created.id);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as Json).id, created.id);
  });
});

describe('concurrency and restart', () => {
  test('50 parallel first calls for one key create exactly one meeting', async () => {
    const externalId = newKey('race');
    const results = await Promise.all(Array.from({ length: 50 }, () => createOrGet(alice, { externalId })));
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      [201, ...Array<number>(49).fill(200)].sort(),
    );
    assert.equal(new Set(results.map((r) => r.body.id)).size, 1);
  });

  test('a server restarted on the same database returns the stored meeting', async () => {
    const dir = tempDir();
    const externalId = newKey('restart');
    try {
      const first = await startServer({ issuer, directory: DIRECTORY, dir });
      let created: Json;
      try {
        created = await expectCreated(alice, { externalId, subject: 'Survives restarts' }, ME, first);
      } finally {
        await first.close();
      }
      const second = await startServer({ issuer, directory: DIRECTORY, dir });
      try {
        const again = await expectExisting(alice, { externalId }, ME, second);
        assert.deepEqual(withoutContext(again), withoutContext(created));
        const res = await getMeeting(alice, created.id, second);
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as Json).id, created.id);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
