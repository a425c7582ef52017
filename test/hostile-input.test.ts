// The classes the fuzzing suite guards, pinned as plain examples: null where an object belongs,
// dates at the edges of the range (a meeting must keep its key until its expiry), and the repair of
// expiry dates that older versions wrote past year 9999.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { after, before, describe, test } from 'node:test';
import { clampInstant, formatInstant } from '../src/domain/instant.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { type RunningServer, startServer, tempDir } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings';
const LATEST = '9999-12-31T23:59:59.9999999Z';

let issuer: TestIssuer;
let server: RunningServer;
let alice: string;
let clockMs: number | undefined;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY, config: { clock: { now: () => clockMs ?? Date.now() } } });
  alice = await issuer.userToken(ALICE);
});
after(async () => {
  await server.close();
  await issuer.stop();
});

async function call(path: string, method: string, body?: unknown, raw?: string) {
  const res = await server.request(path, {
    method,
    token: alice,
    ...(raw !== undefined ? { body: raw, headers: { 'content-type': 'application/json' } } : body === undefined ? {} : { json: body }),
  });
  return res;
}

async function meetingCount(): Promise<number> {
  const db = new Database(server.dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM meetings').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function createOrGet(body: Json, expected: 200 | 201): Promise<Json> {
  const res = await call(`${ME}/createOrGet`, 'POST', body);
  const json = (await res.json()) as Json;
  assert.equal(res.status, expected, JSON.stringify(json));
  return json;
}

describe('null where an object belongs is a 400 that stores nothing', () => {
  const nullAttendees = [{ attendees: [null] }, { attendees: [{ upn: 'x@y.example' }, null] }];
  for (const participants of nullAttendees) {
    test(`createOrGet, create and PATCH with participants ${JSON.stringify(participants)}`, async () => {
      const before = await meetingCount();
      await expectGraphError(await call(`${ME}/createOrGet`, 'POST', { externalId: randomUUID(), participants }), 400, { code: 'BadRequest', message: /attendees\[\d\]/ });
      await expectGraphError(await call(ME, 'POST', { participants }), 400, { code: 'BadRequest' });
      assert.equal(await meetingCount(), before);
      const meeting = await createOrGet({ externalId: randomUUID(), subject: 'kept' }, 201);
      await expectGraphError(await call(`${ME}/${meeting.id}`, 'PATCH', { subject: 'changed', participants }), 400, { code: 'BadRequest' });
      const read = (await (await call(`${ME}/${meeting.id}`, 'GET')).json()) as Json;
      assert.equal(read.subject, 'kept');
    });
  }

  test('a $batch item with a null attendee answers 400 inside a 200 batch', async () => {
    const before = await meetingCount();
    const res = await call('/v1.0/$batch', 'POST', {
      requests: [
        { id: '1', method: 'POST', url: '/me/onlineMeetings/createOrGet', headers: { 'content-type': 'application/json' }, body: { externalId: randomUUID(), participants: { attendees: [null] } } },
      ],
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Json;
    assert.equal(body.responses[0].status, 400);
    assert.equal(body.responses[0].body.error.code, 'BadRequest');
    assert.equal(await meetingCount(), before);
  });
});

describe('dates at the edges of the range keep the meeting on its key', () => {
  test('an end of 9999-12-31T23:59:59.9999999Z: the expiry is clamped to it and the key holds', async () => {
    const externalId = randomUUID();
    const created = await createOrGet({ externalId, startDateTime: '9999-12-31T00:00:00Z', endDateTime: LATEST }, 201);
    assert.equal(created.endDateTime, LATEST);
    assert.equal(created.expiryDateTime, LATEST);
    const again = await createOrGet({ externalId }, 200);
    assert.equal(again.id, created.id);
  });

  test('a start in the last hour of 9999 without an end: the default end is clamped, not year 10000', async () => {
    const externalId = randomUUID();
    const created = await createOrGet({ externalId, startDateTime: '9999-12-31T23:30:00.5Z' }, 201);
    assert.equal(created.startDateTime, '9999-12-31T23:30:00.5000000Z');
    assert.equal(created.endDateTime, LATEST);
    assert.equal(created.expiryDateTime, LATEST);
    assert.equal((await createOrGet({ externalId }, 200)).id, created.id);
  });

  test('PATCH to an end in 9999 and a create (POST) ending there keep the same clamped expiry', async () => {
    const externalId = randomUUID();
    const created = await createOrGet({ externalId }, 201);
    const res = await call(`${ME}/${created.id}`, 'PATCH', { startDateTime: '9999-12-30T00:00:00Z', endDateTime: '9999-12-31T23:00:00+00:00' });
    const patched = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(patched));
    assert.equal(patched.expiryDateTime, LATEST);
    assert.equal((await createOrGet({ externalId }, 200)).id, created.id);
    const posted = await call(ME, 'POST', { startDateTime: '9999-12-31T22:00:00Z', endDateTime: LATEST });
    assert.equal(posted.status, 201);
    assert.equal(((await posted.json()) as Json).expiryDateTime, LATEST);
  });

  test('with the clock in the last day of 9999, a new meeting still holds its key', async () => {
    clockMs = Date.UTC(9999, 11, 31, 23, 59, 0);
    try {
      const externalId = randomUUID();
      const created = await createOrGet({ externalId }, 201);
      assert.equal(created.endDateTime, LATEST);
      assert.equal(created.expiryDateTime, LATEST);
      assert.equal((await createOrGet({ externalId }, 200)).id, created.id);
    } finally {
      clockMs = undefined;
    }
  });

  const outOfRange = [
    '9999-12-31T23:59:59.9999999-00:01', // after 9999 in UTC
    '0001-01-01T00:00:00+00:01', // before year 1 in UTC
    '10000-01-01T00:00:00Z',
    '+010000-01-01T00:00:00Z',
    '-0001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2016-12-31T23:59:60Z', // a leap second: .NET's DateTimeOffset has none
    '2030-01-01T24:00:00Z',
    '2030-01-01T10:00:00+14:60',
    '2030-01-01T10:00:00+14:01', // DateTimeOffset allows ±14:00 at most
    '2030-01-01T10:00:00-23:59',
    '2030-01-01T10:00:00',
  ];
  for (const value of outOfRange) {
    test(`${value} is a 400 that stores nothing`, async () => {
      const before = await meetingCount();
      await expectGraphError(await call(`${ME}/createOrGet`, 'POST', { externalId: randomUUID(), startDateTime: '2030-01-01T00:00:00Z', endDateTime: value }), 400, { code: 'BadRequest' });
      await expectGraphError(await call(`${ME}/createOrGet`, 'POST', { externalId: randomUUID(), startDateTime: value }), 400, { code: 'BadRequest' });
      assert.equal(await meetingCount(), before);
    });
  }

  test('offsets of ±14:00, the first instant of year 1 and 7+ fractional digits are kept exactly', async () => {
    const created = await createOrGet({ externalId: randomUUID(), startDateTime: '0001-01-01T14:00:00.12345678901+14:00', endDateTime: '0001-01-01T00:00:00.0000001-14:00' }, 201);
    assert.equal(created.startDateTime, '0001-01-01T00:00:00.1234567Z');
    assert.equal(created.endDateTime, '0001-01-01T14:00:00.0000001Z');
  });
});

test('an expiry written past year 9999 by an older version is repaired when the store opens', async () => {
  const dir = tempDir();
  const dbPath = `${dir}/meetings.db`;
  // The database as version 1 of the schema left it, holding such a meeting.
  const db = new Database(dbPath);
  db.exec(MIGRATIONS[0]!.sql);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  db.prepare('INSERT INTO schema_migrations VALUES (1, ?, ?)').run(MIGRATIONS[0]!.name, new Date().toISOString());
  const seeded = await startServer({ issuer, directory: DIRECTORY, dir });
  const created = await seeded.request(`${ME}/createOrGet`, { method: 'POST', token: alice, json: { externalId: 'old-key', endDateTime: LATEST, startDateTime: '9999-12-01T00:00:00Z' } });
  const meeting = (await created.json()) as Json;
  await seeded.close();
  const broken = '+010000-02-29T23:59:59.9999999Z';
  db.prepare("UPDATE meetings SET expiry_date_time = ?, properties = replace(properties, ?, ?)").run(broken, `"expiryDateTime":"${LATEST}"`, `"expiryDateTime":"${broken}"`);
  db.prepare('DELETE FROM schema_migrations WHERE version = 2').run();
  db.close();

  const reopened = await startServer({ issuer, directory: DIRECTORY, dir });
  try {
    const res = await reopened.request(`${ME}/createOrGet`, { method: 'POST', token: alice, json: { externalId: 'old-key' } });
    const again = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(again));
    assert.equal(again.id, meeting.id);
    assert.equal(again.expiryDateTime, LATEST);
  } finally {
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every instant, in and past the range, fractional or NaN, is written as Date writes it, with 7 digits', () => {
  // formatInstant keeps the text of recent seconds; it must still say what Date says for each.
  const asDate = (ms: number, ticks: number) => {
    const c = clampInstant({ ms, ticks });
    return `${new Date(c.ms).toISOString().slice(0, 23)}${String(c.ticks).padStart(4, '0')}Z`;
  };
  const ticks = fc.integer({ min: 0, max: 9999 });
  const near = fc.integer({ min: 1_700_000_000_000, max: 1_700_000_005_000 }); // a few seconds, written again and again
  const anywhere = fc.oneof(fc.double({ min: -7e13, max: 2.6e14 }), fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }));
  fc.assert(fc.property(fc.oneof(near, anywhere), ticks, (ms, t) => formatInstant({ ms, ticks: t }) === asDate(ms, t)), { numRuns: 20_000 });
  assert.equal(formatInstant({ ms: -1, ticks: 5 }), '1969-12-31T23:59:59.9990005Z');
  assert.equal(formatInstant({ ms: -62_135_596_800_000, ticks: 0 }), '0001-01-01T00:00:00.0000000Z');
});
