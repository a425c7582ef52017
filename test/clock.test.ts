// The control API's guard and the virtual clock: who may use /__admin, and a clock that moves,
// freezes and resets, governs meeting times and expiry, and is shared by every process on the database.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killAllChildren, runCli, startCliServer } from './helpers/cli.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { testPostgres, freshDatabase } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, tempDir, TEST_ADMIN_KEY, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

type Json = Record<string, any>;
const ME = '/v1.0/me/onlineMeetings';

let issuer: TestIssuer;
let alice: string;
let server: RunningServer;

before(async () => {
  issuer = await TestIssuer.start();
  alice = await issuer.userToken(ALICE);
  server = await startServer({ issuer, directory: DIRECTORY });
});
after(async () => {
  await server?.close();
  await killAllChildren();
  await issuer?.stop();
});

async function json(response: Response): Promise<Json> {
  return (await response.json()) as Json;
}

function assertGraphError(body: Json, code: string) {
  assert.equal(body.error?.code, code, JSON.stringify(body));
  assert.equal(typeof body.error.message, 'string');
  assert.match(body.error.innerError['request-id'], /^[0-9a-f-]{36}$/);
}

describe('the admin key guards /__admin', () => {
  test('a missing or wrong key is a Graph-shaped 401; the right key passes', async () => {
    const missing = await fetch(`${server.url}/__admin/clock`);
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get('request-id') !== null, true);
    assertGraphError(await json(missing), 'Unauthorized');
    for (const key of ['wrong-key-0123456789', `${TEST_ADMIN_KEY}x`, TEST_ADMIN_KEY.slice(0, -1), '']) {
      const wrong = await adminFetch(server.url, 'GET', '/clock', undefined, key);
      assert.equal(wrong.status, 401, `key '${key}'`);
      assertGraphError(await json(wrong), 'Unauthorized');
    }
    const basic = await fetch(`${server.url}/__admin/clock`, { headers: { authorization: `Basic ${TEST_ADMIN_KEY}` } });
    assert.equal(basic.status, 401);
    assert.equal((await server.admin('GET', '/clock')).status, 200);
  });

  test('a Graph token is not an admin key', async () => {
    const response = await adminFetch(server.url, 'GET', '/clock', undefined, alice);
    assert.equal(response.status, 401);
  });

  test('with --auth oidc and no admin key, /__admin does not exist (404)', async () => {
    const oidc = await startServer({ issuer, directory: DIRECTORY, config: { adminKey: undefined } });
    try {
      for (const key of [undefined, TEST_ADMIN_KEY]) {
        const response = await adminFetch(oidc.url, 'GET', '/clock', undefined, key);
        assert.equal(response.status, 404);
        assertGraphError(await json(response), 'NotFound');
      }
    } finally {
      await oidc.close();
    }
  });

  test('dev mode without a configured key: the key kept in the database, printed by `graph-meetings admin-key`', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'meetings.db')}`;
    try {
      const printed = await runCli(['admin-key', '--db', db]);
      assert.equal(printed.code, 0, printed.stderr);
      const key = printed.stdout.trim();
      assert.match(key, /^[A-Za-z0-9_-]{32}$/);
      assert.equal((await runCli(['admin-key', '--db', db])).stdout.trim(), key, 'generated once');
      const dev = await startCliServer(['--port', '0', '--db', db, '--log-level', 'warn']);
      assert.equal((await adminFetch(dev.url, 'GET', '/clock', undefined, key)).status, 200);
      assert.equal((await adminFetch(dev.url, 'GET', '/clock', undefined, `${key}0`)).status, 401);
      await dev.stop();
      // A configured key replaces the stored one.
      const configured = await startCliServer(['--port', '0', '--db', db, '--log-level', 'warn'], {
        env: { GRAPH_MEETINGS_ADMIN_KEY: 'operator-key-123456' },
      });
      assert.equal((await adminFetch(configured.url, 'GET', '/clock', undefined, 'operator-key-123456')).status, 200);
      assert.equal((await adminFetch(configured.url, 'GET', '/clock', undefined, key)).status, 401);
      await configured.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the virtual clock', () => {
  test('real time by default; set, freeze, advance and reset', async () => {
    await server.admin('DELETE', '/clock');
    const initial = await json(await server.admin('GET', '/clock'));
    assert.equal(initial.frozen, false);
    assert.ok(Math.abs(Date.parse(initial.now) - Date.now()) < 5_000);

    const frozen = await json(await server.admin('PUT', '/clock', { now: '2027-03-01T10:00:00+01:00', frozen: true }));
    assert.deepEqual(frozen, { now: '2027-03-01T09:00:00.000Z', frozen: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(await json(await server.admin('GET', '/clock')), frozen, 'a frozen clock stands still');

    const advanced = await json(await server.admin('POST', '/clock/advance', { by: 'P61D' }));
    assert.deepEqual(advanced, { now: '2027-05-01T09:00:00.000Z', frozen: true });
    const byMs = await json(await server.admin('POST', '/clock/advance', { by: 90_000 }));
    assert.equal(byMs.now, '2027-05-01T09:01:30.000Z');
    const calendar = await json(await server.admin('POST', '/clock/advance', { by: 'P1M' }));
    assert.equal(calendar.now, '2027-06-01T09:01:30.000Z', 'months are calendar months');
    const back = await json(await server.admin('POST', '/clock/advance', { by: '-PT1H30S' }));
    assert.equal(back.now, '2027-06-01T08:01:00.000Z');

    const running = await json(await server.admin('PUT', '/clock', { frozen: false }));
    assert.equal(running.frozen, false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = Date.parse((await json(await server.admin('GET', '/clock'))).now);
    assert.ok(later > Date.parse('2027-06-01T08:01:00.000Z'), 'a running clock moves on from where it was');
    assert.ok(later < Date.parse('2027-06-01T08:02:00.000Z'));

    const reset = await json(await server.admin('DELETE', '/clock'));
    assert.equal(reset.frozen, false);
    assert.ok(Math.abs(Date.parse(reset.now) - Date.now()) < 5_000);
  });

  test('bad clock requests are Graph 400s and change nothing', async () => {
    await server.admin('PUT', '/clock', { now: '2027-01-01T00:00:00Z', frozen: true });
    const cases: [string, string, unknown][] = [
      ['PUT', '/clock', { now: 'tomorrow' }],
      ['PUT', '/clock', { now: '2027-01-01T00:00:00' }],
      ['PUT', '/clock', { now: '2027-02-30T00:00:00Z' }],
      ['PUT', '/clock', { frozen: 'yes' }],
      ['PUT', '/clock', { now: '2027-01-01T00:00:00Z', speed: 2 }],
      ['PUT', '/clock', [1]],
      ['POST', '/clock/advance', {}],
      ['POST', '/clock/advance', { by: 'P1X' }],
      ['POST', '/clock/advance', { by: 'P' }],
      ['POST', '/clock/advance', { by: 'PT' }],
      ['POST', '/clock/advance', { by: 'P1.5M' }],
      ['POST', '/clock/advance', { by: true }],
      ['POST', '/clock/advance', { by: 'P9000Y' }],
      ['POST', '/clock/advance', { by: -1e20 }],
    ];
    for (const [method, path, body] of cases) {
      const response = await server.admin(method, path, body);
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body)}`);
      assertGraphError(await json(response), 'BadRequest');
    }
    assert.deepEqual(await json(await server.admin('GET', '/clock')), { now: '2027-01-01T00:00:00.000Z', frozen: true });
    assert.equal((await server.admin('PATCH', '/clock', {})).status, 405);
    await server.admin('DELETE', '/clock');
  });

  test('meetings are stamped with the virtual time, and expire on it (61 days later: 404, the externalId free again)', async () => {
    await server.admin('PUT', '/clock', { now: '2030-01-01T00:00:00Z', frozen: true });
    try {
      const created = await server.request(`${ME}/createOrGet`, { method: 'POST', token: alice, json: { externalId: 'clock-expiry', subject: 'Q1' } });
      assert.equal(created.status, 201);
      const meeting = await json(created);
      assert.match(meeting.startDateTime, /^2030-01-01T00:00:00/);
      assert.match(meeting.endDateTime, /^2030-01-01T01:00:00/);
      assert.match(meeting.creationDateTime, /^2030-01-01T00:00:00/);
      assert.match(meeting.expiryDateTime, /^2030-03-02T01:00:00/, 'end + 60 days');

      await server.admin('POST', '/clock/advance', { by: 'P60D' });
      const stillThere = await server.request(`${ME}/${meeting.id}`, { token: alice });
      assert.equal(stillThere.status, 200, 'not yet expired at day 60 (end is one hour later)');

      // The token was issued in real time: jumping ahead does not expire it.
      await server.admin('POST', '/clock/advance', { by: 'P1D' });
      const gone = await server.request(`${ME}/${meeting.id}`, { token: alice });
      assert.equal(gone.status, 404);
      assertGraphError(await json(gone), 'NotFound');

      const again = await server.request(`${ME}/createOrGet`, { method: 'POST', token: alice, json: { externalId: 'clock-expiry' } });
      assert.equal(again.status, 201, 'the key is free again');
      const fresh = await json(again);
      assert.notEqual(fresh.id, meeting.id);
      assert.match(fresh.creationDateTime, /^2030-03-03T00:00:00/);
    } finally {
      await server.admin('DELETE', '/clock');
    }
  });
});

describe('one clock for every process on the database', () => {
  const setUp = async (db: string, directoryFile: string) => {
    const args = ['--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directoryFile, '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY];
    return [await startCliServer(args), await startCliServer(args)] as const;
  };

  const sharedClock = async (db: string) => {
    const dir = tempDir();
    try {
      const [a, b] = await setUp(db, writeDirectory(dir, DIRECTORY));
      const set = await adminFetch(a.url, 'PUT', '/clock', { now: '2031-06-15T12:00:00Z', frozen: true });
      assert.equal(set.status, 200);
      assert.deepEqual(await json(await adminFetch(b.url, 'GET', '/clock')), { now: '2031-06-15T12:00:00.000Z', frozen: true });
      const created = await b.request(`${ME}/createOrGet`, { token: alice, json: { externalId: `shared-${db.slice(0, 6)}` } });
      assert.equal(created.status, 201);
      assert.match((await json(created)).startDateTime, /^2031-06-15T12:00:00/);
      await adminFetch(b.url, 'POST', '/clock/advance', { by: 'P1D' });
      assert.equal((await json(await adminFetch(a.url, 'GET', '/clock'))).now, '2031-06-16T12:00:00.000Z');
      await adminFetch(a.url, 'DELETE', '/clock');
      assert.equal((await json(await adminFetch(b.url, 'GET', '/clock'))).frozen, false);
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test('SQLite: a clock set through one process holds on the other at once', async () => {
    const dir = tempDir();
    try {
      await sharedClock(`sqlite:${join(dir, 'meetings.db')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: a clock set through one process holds on the other at once', async () => {
    const { url } = await testPostgres();
    await sharedClock(await freshDatabase(url));
  });
});

describe('clock commands', () => {
  test('on the database directly (--db) and on a running server (--url --admin-key)', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'meetings.db')}`;
    try {
      const set = await runCli(['clock', 'set', '2032-02-29T08:00:00Z', '--frozen', '--db', db]);
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout), { now: '2032-02-29T08:00:00.000Z', frozen: true });
      const running = await startCliServer(['--port', '0', '--db', db, '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY]);
      const target = ['--url', running.url, '--admin-key', TEST_ADMIN_KEY];
      const get = await runCli(['clock', 'get', ...target]);
      assert.deepEqual(JSON.parse(get.stdout), { now: '2032-02-29T08:00:00.000Z', frozen: true });
      const advanced = await runCli(['clock', 'advance', 'P1Y', ...target]);
      assert.equal(JSON.parse(advanced.stdout).now, '2033-03-01T08:00:00.000Z');
      const ms = await runCli(['clock', 'advance', '60000', '--db', db]);
      assert.equal(JSON.parse(ms.stdout).now, '2033-03-01T08:01:00.000Z');
      assert.equal((await json(await adminFetch(running.url, 'GET', '/clock'))).now, '2033-03-01T08:01:00.000Z');
      const bad = await runCli(['clock', 'advance', 'soon', ...target]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^graph-meetings: .*400.*'soon' is not an ISO 8601 duration/);
      const wrongKey = await runCli(['clock', 'get', '--url', running.url, '--admin-key', 'not-the-key-123']);
      assert.equal(wrongKey.code, 2);
      assert.match(wrongKey.stderr, /401/);
      const reset = await runCli(['clock', 'reset', ...target]);
      assert.equal(JSON.parse(reset.stdout).frozen, false);
      await running.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
