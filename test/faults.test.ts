// Fault injection (/__admin/faults, `serve --faults`, `graph-meetings faults`): every kind of fault
// as the official Graph SDK meets it, deterministic firing (after, count, seeded probability), each
// match field, windows on the virtual clock, one set of rules for every process on a database.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, beforeEach, describe, test } from 'node:test';
import { RetryHandlerOptions } from '@microsoft/kiota-http-fetchlibrary';
import Database from 'better-sqlite3';
import { buildApp } from '../src/app.js';
import { ConfigError } from '../src/config/config.js';
import { draw } from '../src/control/fault-rules.js';
import { type CliServer, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FABRIKAM_APP, FRANK } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { graphSdk, rejectsWithODataError } from './helpers/graph-client.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, TEST_ADMIN_KEY, tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
/** A cheap authenticated call: a meeting that does not exist (404 unless a fault answers). */
const PROBE = '/v1.0/me/onlineMeetings/probe';
const FAULT_500 = { status: 500 } as const;

let issuer: TestIssuer;
let server: RunningServer;
let aliceToken: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  aliceToken = await issuer.userToken(ALICE);
});
after(async () => {
  await killAllChildren();
  await server?.close();
  await issuer?.stop();
});

const json = async (response: Response): Promise<Json> => response.json();

async function addFault(rule: unknown, admin = server.admin): Promise<Json> {
  const response = await admin('POST', '/faults', rule);
  const body = await json(response);
  assert.equal(response.status, 201, JSON.stringify(body));
  return body;
}

async function listFaults(admin = server.admin): Promise<Json[]> {
  const response = await admin('GET', '/faults');
  assert.equal(response.status, 200);
  return (await json(response)).value;
}

/** Sequential calls; the 1-based positions of those a fault answered with 500. */
async function firingPositions(calls: number, call: () => Promise<Response> = () => server.request(PROBE, { token: aliceToken })) {
  const positions: number[] = [];
  for (let n = 1; n <= calls; n++) {
    const response = await call();
    await response.arrayBuffer();
    if (response.status === 500) positions.push(n);
  }
  return positions;
}

/** The status of one call (its body read). */
async function statusOf(response: Promise<Response>): Promise<number> {
  const answered = await response;
  await answered.arrayBuffer();
  return answered.status;
}

/** This process's request log entries for one path, oldest first. */
async function loggedCalls(path: string): Promise<Json[]> {
  const response = await server.admin('GET', '/requests');
  assert.equal(response.status, 200, 'the request log (GET /__admin/requests) answers');
  return ((await json(response)).value as Json[]).filter((entry) => entry.path === path).reverse();
}

const asAlice = (options?: Parameters<typeof graphSdk>[2]) => graphSdk(server.url, async () => aliceToken, options);
const asApp = (app: { tenantId: string; appId: string }) => graphSdk(server.url, () => issuer.appToken(app));

/** Rows stored for an externalId, read straight from the SQLite file. */
function storedRows(externalId: string): number {
  const db = new Database(server.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM meetings WHERE external_id = ?').get(externalId)!.n;
  } finally {
    db.close();
  }
}

beforeEach(async () => {
  await server.admin('DELETE', '/faults');
  await server.admin('DELETE', '/clock');
  await server.admin('DELETE', '/requests');
});

describe('the control API', () => {
  test('POST answers 201 with the stored rule, defaults filled in; GET lists and reads; DELETE removes one or all', async () => {
    const response = await server.admin('POST', '/faults', {
      match: { method: 'post', path: '/v1.0/users/*/onlineMeetings/createOrGet', tenant: CONTOSO },
      count: 1,
      respond: { status: 429 },
    });
    assert.equal(response.status, 201);
    const stored = await json(response);
    assert.match(stored.id, /^[0-9a-f-]{36}$/);
    assert.equal(response.headers.get('location'), `/__admin/faults/${stored.id}`);
    assert.deepEqual(stored, {
      id: stored.id,
      match: { method: 'POST', path: '/v1.0/users/*/onlineMeetings/createOrGet', tenant: CONTOSO },
      after: 0,
      count: 1,
      probability: 1,
      seed: 0,
      respond: { status: 429, retryAfter: 1 },
    });
    const second = await addFault({ from: '2030-01-01T01:00:00+01:00', respond: { delayMs: 5 } });
    assert.equal(second.from, '2030-01-01T00:00:00.000Z', 'from/until are kept in UTC');
    assert.deepEqual(await listFaults(), [stored, second], 'in the order they were added');
    assert.deepEqual(await json(await server.admin('GET', `/faults/${second.id}`)), second);

    assert.equal((await server.admin('DELETE', `/faults/${stored.id}`)).status, 204);
    await expectGraphError(await server.admin('DELETE', `/faults/${stored.id}`), 404, {
      code: 'NotFound',
      message: `There is no fault rule with id '${stored.id}'.`,
    });
    await expectGraphError(await server.admin('GET', `/faults/${stored.id}`), 404, { code: 'NotFound' });
    assert.deepEqual(await listFaults(), [second]);
    assert.equal((await server.admin('DELETE', '/faults')).status, 204);
    assert.deepEqual(await listFaults(), []);
  });

  test('a bad rule: 400 in Graph\'s shape naming the member at fault, nothing stored', async () => {
    const cases: [unknown, RegExp][] = [
      [[], /must be a JSON object/],
      [{}, /Missing 'respond'/],
      [{ respond: {} }, /'respond': expected exactly one of/],
      [{ respond: { status: 500, delayMs: 5 } }, /'respond': expected exactly one of/],
      [{ respond: { status: 418 } }, /'respond\.status': expected one of 429, 500, 502, 503, 504, got 418/],
      [{ respond: { status: '429' } }, /'respond\.status'/],
      [{ respond: { status: 429, retryAfter: 0 } }, /'respond\.retryAfter': expected a whole number from 1 to 86400, got 0/],
      [{ respond: { status: 503, retryAfter: -1 } }, /'respond\.retryAfter': expected a whole number from 0/],
      [{ respond: { status: 503, retryAfter: 1.5 } }, /'respond\.retryAfter'/],
      [{ respond: { status: 500, retryAfter: 1 } }, /Unknown member 'respond\.retryAfter'/],
      [{ respond: { delayMs: 300_001 } }, /'respond\.delayMs': expected a whole number from 0 to 300000/],
      [{ respond: { drop: false } }, /'respond\.drop': expected true/],
      [{ respond: { drop: true, why: 'x' } }, /Unknown member 'respond\.why'/],
      [{ probability: 1.5, respond: FAULT_500 }, /'probability': expected a number from 0 to 1/],
      [{ probability: '0.5', respond: FAULT_500 }, /'probability'/],
      [{ after: -1, respond: FAULT_500 }, /'after': expected a whole number/],
      [{ count: 0.5, respond: FAULT_500 }, /'count': expected a whole number/],
      [{ seed: -7, respond: FAULT_500 }, /'seed': expected a whole number from 0 to 4294967295/],
      [{ from: '2030-01-01T00:00:00', respond: FAULT_500 }, /'from': expected an ISO 8601 date-time with an offset/],
      [{ until: 'tomorrow', respond: FAULT_500 }, /'until'/],
      [{ from: '2030-01-02T00:00:00Z', until: '2030-01-01T00:00:00Z', respond: FAULT_500 }, /'until': it must be later than 'from'/],
      [{ match: 'POST', respond: FAULT_500 }, /'match': expected an object/],
      [{ match: { verb: 'GET' }, respond: FAULT_500 }, /Unknown member 'match\.verb'/],
      [{ match: { method: 'GE T' }, respond: FAULT_500 }, /'match\.method'/],
      [{ match: { path: 'v1.0/me' }, respond: FAULT_500 }, /'match\.path'/],
      [{ match: { user: '' }, respond: FAULT_500 }, /'match\.user': expected a non-empty string/],
      [{ id: 'mine', respond: FAULT_500 }, /Unknown member 'id'/],
    ];
    for (const [rule, message] of cases) {
      const body = await expectGraphError(await server.admin('POST', '/faults', rule), 400, { code: 'BadRequest', message });
      assert.ok(body, JSON.stringify(rule));
    }
    const notJson = await fetch(`${server.url}/__admin/faults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: '{"respond":',
    });
    await expectGraphError(notJson, 400, { code: 'BadRequest' });
    assert.deepEqual(await listFaults(), []);
  });

  test('refused without the admin key or with a wrong one (401, Graph\'s shape)', async () => {
    const missing = await fetch(`${server.url}/__admin/faults`);
    await expectGraphError(missing, 401, { code: 'Unauthorized' });
    const wrong = await adminFetch(server.url, 'POST', '/faults', { respond: FAULT_500 }, 'not-the-admin-key');
    await expectGraphError(wrong, 401, { code: 'Unauthorized' });
    const wrongDelete = await adminFetch(server.url, 'DELETE', '/faults', undefined, 'not-the-admin-key');
    assert.equal(wrongDelete.status, 401);
    assert.deepEqual(await listFaults(), []);
  });
});

describe('each kind of fault, through the official Graph SDK', () => {
  const meetingBody = (externalId: string) => ({
    externalId,
    subject: 'Fault drill',
    startDateTime: new Date('2026-05-01T09:00:00Z'),
    endDateTime: new Date('2026-05-01T09:30:00Z'),
  });

  /** A 429/503 with Retry-After: 1 on the first call only; the SDK must wait it out and retry once. */
  async function retriedAfter(respond: { status: 429 | 503; retryAfter: number }, externalId: string) {
    const rule = await addFault({ match: { method: 'POST', path: CREATE_OR_GET }, count: 1, respond });
    const started = performance.now();
    const meeting = await asAlice().client.me.onlineMeetings.createOrGet.post(meetingBody(externalId));
    const elapsed = performance.now() - started;
    assert.equal(meeting?.externalId, externalId);
    assert.ok(elapsed >= 1000, `the SDK retried after ${elapsed.toFixed(0)} ms, before the Retry-After of 1 s`);
    // The rule fired once (count: 1) and retired: the retry met no fault.
    assert.deepEqual(await listFaults(), []);
    const attempts = await loggedCalls(CREATE_OR_GET);
    assert.deepEqual(
      attempts.map((entry) => entry.status),
      [respond.status, 201],
      'two attempts: the fault, then the real answer',
    );
    assert.deepEqual(attempts[0].fault, { ruleId: rule.id, respond });
    assert.equal(attempts[1].fault, null);
    const gap = Date.parse(attempts[1].time) - Date.parse(attempts[0].time);
    assert.ok(gap >= 1000, `the log shows the retry ${gap} ms after the first attempt`);
    assert.equal(storedRows(externalId), 1);
  }

  test('429 with Retry-After: the SDK honours it, retries once and succeeds', () => retriedAfter({ status: 429, retryAfter: 1 }, 'fault-429'));

  test('503 serviceNotAvailable with Retry-After: the SDK honours it, retries once and succeeds', () =>
    retriedAfter({ status: 503, retryAfter: 1 }, 'fault-503'));

  test('500, 502 and 504 surface as ODataErrors in Graph\'s shape; the faulted call stored nothing', async () => {
    const noRetry = new RetryHandlerOptions({ maxRetries: 0 }); // the SDK would retry a 504 itself
    const cases = [
      { status: 500, code: 'InternalServerError' },
      { status: 502, code: 'BadGateway' },
      { status: 504, code: 'GatewayTimeout' },
    ] as const;
    for (const { status, code } of cases) {
      const externalId = `fault-${status}`;
      const rule = await addFault({ match: { path: CREATE_OR_GET }, count: 1, respond: { status } });
      const error = await rejectsWithODataError(
        asAlice().client.me.onlineMeetings.createOrGet.post(meetingBody(externalId), { options: [noRetry] }),
        status,
        code,
      );
      assert.equal(error.responseHeaders?.['retry-after'], undefined);
      assert.equal(storedRows(externalId), 0, `${status}: nothing stored`);
      const [logged] = await loggedCalls(CREATE_OR_GET);
      assert.deepEqual(logged.fault, { ruleId: rule.id, respond: { status } });
      await server.admin('DELETE', '/requests');
    }
  });

  test('delay: the real answer, after at least delayMs', async () => {
    const created = await asAlice().client.me.onlineMeetings.createOrGet.post(meetingBody('fault-delay'));
    const rule = await addFault({ match: { method: 'GET' }, count: 1, respond: { delayMs: 600 } });
    const started = performance.now();
    const read = await asAlice().client.me.onlineMeetings.byOnlineMeetingId(created!.id!).get();
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 600, `answered after ${elapsed.toFixed(0)} ms`);
    assert.equal(read?.id, created!.id);
    assert.equal(read?.subject, 'Fault drill');
    const [logged] = await loggedCalls(`/v1.0/me/onlineMeetings/${created!.id}`);
    assert.equal(logged.status, 200);
    assert.deepEqual(logged.fault, { ruleId: rule.id, respond: { delayMs: 600 } });
    assert.ok(logged.durationMs >= 600);
  });

  test('drop: the connection closes without an answer, and nothing is stored', async () => {
    await addFault({ match: { method: 'POST', path: CREATE_OR_GET }, count: 1, respond: { drop: true } });
    let caught: unknown;
    await assert.rejects(asAlice().client.me.onlineMeetings.createOrGet.post(meetingBody('fault-drop')), (error) => {
      caught = error;
      return true;
    });
    const failure = caught as { responseStatusCode?: number; message: string; cause?: { code?: string } };
    assert.equal(failure.responseStatusCode, undefined, 'no HTTP answer at all');
    assert.match(`${failure.message} ${failure.cause?.code ?? ''}`, /fetch failed|socket|UND_ERR/i);
    assert.equal(storedRows('fault-drop'), 0, 'the handler never ran');
    const [logged] = await loggedCalls(CREATE_OR_GET);
    assert.equal(logged.status, 0, 'logged as answered with nothing');
    assert.deepEqual(logged.fault?.respond, { drop: true });
    // The same call again creates the meeting: 201, so the dropped one had created nothing.
    assert.equal(await statusOf(server.request(CREATE_OR_GET, { method: 'POST', token: aliceToken, json: { externalId: 'fault-drop' } })), 201);
    assert.equal(storedRows('fault-drop'), 1);
  });

  test('in a $batch, each item passes the faults; a drop becomes a 504 item, the others are served', async () => {
    await addFault({ match: { method: 'POST', path: CREATE_OR_GET }, respond: { drop: true } });
    await addFault({ match: { method: 'GET', path: '/v1.0/me/onlineMeetings/*' }, respond: { status: 503, retryAfter: 7 } });
    const response = await server.request('/v1.0/$batch', {
      method: 'POST',
      token: aliceToken,
      json: {
        requests: [
          { id: '1', method: 'POST', url: '/me/onlineMeetings/createOrGet', headers: { 'content-type': 'application/json' }, body: { externalId: 'batch-drop' } },
          { id: '2', method: 'GET', url: '/me/onlineMeetings/probe' },
          { id: '3', method: 'POST', url: '/me/onlineMeetings', headers: { 'content-type': 'application/json' }, body: { subject: 'served' } },
        ],
      },
    });
    assert.equal(response.status, 200);
    const items = new Map(((await json(response)).responses as Json[]).map((item) => [item.id, item]));
    assert.equal(items.get('1').status, 504);
    assert.equal(items.get('1').body.error.code, 'GatewayTimeout');
    assert.equal(items.get('2').status, 503);
    assert.equal(items.get('2').headers['retry-after'], '7');
    assert.equal(items.get('3').status, 201);
    assert.equal(storedRows('batch-drop'), 0);
  });

  test('faults act on authenticated calls only: a call with a bad token gets 401 and is not counted', async () => {
    await addFault({ count: 1, respond: FAULT_500 });
    assert.equal(await statusOf(server.request(PROBE, { token: 'not-a-token' })), 401);
    assert.equal(await statusOf(server.request(PROBE, { token: aliceToken })), 500, 'the first counted match');
    assert.equal(await statusOf(server.request(PROBE, { token: aliceToken })), 404);
  });
});

describe('closing the server', () => {
  test('a request held by a long delay is answered at once, with the real answer', async () => {
    const closing = await startServer({ issuer, directory: DIRECTORY });
    try {
      await addFault({ respond: { delayMs: 30_000 } }, closing.admin);
      const held = statusOf(closing.request(PROBE, { token: aliceToken }));
      // Counted means held (or about to be): close then.
      const counted = () => {
        const db = new Database(closing.dbPath, { readonly: true, fileMustExist: true });
        try {
          return db.prepare<[], { matched: number }>('SELECT matched FROM fault_rules').get()?.matched === 1;
        } finally {
          db.close();
        }
      };
      while (!counted()) await new Promise((resolve) => setTimeout(resolve, 10));
      await within(closing.close(), 15_000, 'the server to close while a request is held by a delay');
      assert.equal(await held, 404);
    } finally {
      await closing.close().catch(() => undefined);
    }
  });
});

describe('deterministic firing', () => {
  test('after 2, count 3: the 3rd, 4th and 5th matching calls fail, then the rule retires', async () => {
    await addFault({ after: 2, count: 3, respond: FAULT_500 });
    assert.deepEqual(await firingPositions(9), [3, 4, 5]);
    assert.deepEqual(await listFaults(), []);
  });

  test('probability with a seed: the same calls fail run after run, and for the same rule added again', async () => {
    const rule = { probability: 0.3, seed: 7, respond: FAULT_500 };
    // Fixed forever: a changed sequence would break every user's reproducible test.
    const expected = [4, 6, 7, 9, 10, 14, 22, 26, 27, 28, 29];
    assert.deepEqual(
      Array.from({ length: 30 }, (_, i) => i + 1).filter((n) => draw(7, n) < 0.3),
      expected,
    );
    const first = await addFault(rule);
    assert.deepEqual(await firingPositions(30), expected);
    await server.admin('DELETE', `/faults/${first.id}`);
    await addFault(rule);
    assert.deepEqual(await firingPositions(30), expected, 'the sequence starts again when the rule is added again');
    await server.admin('DELETE', '/faults');
    await addFault({ ...rule, seed: 8 });
    assert.deepEqual(await firingPositions(30), [1, 10, 11, 14, 16, 24, 26, 28, 29], 'another seed, another sequence');
  });

  test('probability with after and count: the first `count` successful draws after `after`', async () => {
    // draw(42, n) < 0.5 for n = 1, 4, 14, 16, 17…; after 3 skips the 1st, count 2 takes the 4th and 14th.
    await addFault({ after: 3, count: 2, probability: 0.5, seed: 42, respond: FAULT_500 });
    assert.deepEqual(await firingPositions(20), [4, 14]);
    assert.deepEqual(await listFaults(), [], 'retired after its second firing');
  });

  test('several rules: each counts its matches; delays add up; the first answering rule answers', async () => {
    const slow = await addFault({ match: { method: 'GET' }, respond: { delayMs: 150 } });
    const slower = await addFault({ respond: { delayMs: 150 } });
    const once = await addFault({ probability: 1, after: 1, count: 1, respond: { status: 502 } });
    const always = await addFault({ match: { method: 'GET' }, after: 1, respond: FAULT_500 });
    const started = performance.now();
    const first = await server.request(PROBE, { token: aliceToken });
    assert.equal(first.status, 404, 'no answering rule fires on the first call');
    const second = await server.request(PROBE, { token: aliceToken });
    await expectGraphError(second, 502, { code: 'BadGateway' });
    const third = await server.request(PROBE, { token: aliceToken });
    await expectGraphError(third, 500, { code: 'InternalServerError' });
    assert.ok(performance.now() - started >= 3 * 300, 'both delays on each of the three calls');
    const logged = await loggedCalls(PROBE);
    assert.deepEqual(
      logged.map((entry) => entry.fault?.ruleId),
      [slow.id, once.id, always.id],
      'the log names the answering rule, else the first delaying one',
    );
    assert.deepEqual((await listFaults()).map((rule) => rule.id), [slow.id, slower.id, always.id]);
  });
});

describe('what a rule matches', () => {
  const probeAs = async (token: string, path = PROBE) => statusOf(server.request(path, { token }));
  const appToken = (app: { tenantId: string; appId: string }) => issuer.appToken(app);
  const usersPath = (user: string) => `/v1.0/users/${encodeURIComponent(user)}/onlineMeetings/probe`;

  test('method, case-insensitively', async () => {
    const rule = await addFault({ match: { method: 'post' }, respond: FAULT_500 });
    assert.equal(rule.match.method, 'POST');
    assert.equal(await probeAs(aliceToken), 404);
    assert.equal(await statusOf(server.request(CREATE_OR_GET, { method: 'POST', token: aliceToken, json: { externalId: 'by-method' } })), 500);
  });

  test('path: a case-insensitive glob on the path with its version, without the query', async () => {
    await addFault({ match: { path: '/V1.0/USERS/*/onlineMeetings' }, respond: FAULT_500 });
    const booking = await appToken(BOOKING_APP);
    const filter = `?$filter=${encodeURIComponent("joinWebUrl eq 'https://example/x'")}`;
    assert.equal(await probeAs(booking, `/v1.0/users/${ALICE.id}/onlineMeetings${filter}`), 500);
    assert.equal(await probeAs(booking, `/v1.0/users/${ALICE.id}/onlineMeetings/probe`), 404, 'the glob is anchored');
    assert.equal(await probeAs(booking, `/beta/users/${ALICE.id}/onlineMeetings${filter}`), 200, 'another version');
    assert.equal(await probeAs(aliceToken, `/v1.0/me/onlineMeetings${filter}`), 200);
    await server.admin('DELETE', '/faults');
    await addFault({ match: { path: '*/onlineMeetings/*' }, respond: FAULT_500 });
    assert.equal(await probeAs(booking, usersPath(ALICE.id)), 500, "'*' spans '/'");
    assert.equal(await probeAs(aliceToken, PROBE), 500);
  });

  test('tenant: the token\'s tid', async () => {
    await addFault({ match: { tenant: FABRIKAM.toUpperCase() }, respond: FAULT_500 });
    assert.equal(await probeAs(await issuer.userToken(FRANK)), 500);
    assert.equal(await probeAs(await appToken(FABRIKAM_APP), usersPath(FRANK.id)), 500);
    assert.equal(await probeAs(aliceToken), 404);
  });

  test('app: the appid/azp of application and delegated tokens alike', async () => {
    await addFault({ match: { app: BOOKING_APP.appId }, respond: FAULT_500 });
    assert.equal(await probeAs(await appToken(BOOKING_APP), usersPath(ALICE.id)), 500);
    assert.equal(await probeAs(await appToken(CRM_APP), usersPath(BOB.id)), 404);
    assert.equal(await probeAs(await issuer.userToken(ALICE, 'OnlineMeetings.ReadWrite', { claims: { appid: undefined, azp: BOOKING_APP.appId } })), 500);
    assert.equal(await probeAs(aliceToken), 404, "Alice's usual token comes from another app");
  });

  test('user: a delegated caller by object id or UPN; for an application, the user its path names', async () => {
    await addFault({ match: { user: ALICE.upn.toUpperCase() }, respond: FAULT_500 });
    assert.equal(await probeAs(aliceToken), 500);
    assert.equal(await probeAs(await issuer.userToken(BOB)), 404);
    // The app names Alice by object id; the rule by UPN: the directory links the two.
    assert.equal(await probeAs(await appToken(BOOKING_APP), usersPath(ALICE.id)), 500);
    assert.equal(await probeAs(await appToken(CRM_APP), usersPath(ALICE.upn)), 500);
    assert.equal(await probeAs(await appToken(CRM_APP), usersPath(BOB.upn)), 404);
    assert.equal(await probeAs(await appToken(CRM_APP), '/v1.0/communications/onlineMeetings/probe'), 404, 'no user in the path');
    await server.admin('DELETE', '/faults');
    await addFault({ match: { user: ALICE.id } , respond: FAULT_500 });
    assert.equal(await probeAs(aliceToken), 500);
    assert.equal(await probeAs(await appToken(CRM_APP), usersPath(ALICE.upn)), 500);
  });

  test('all fields together', async () => {
    await addFault({ match: { method: 'GET', path: '/v1.0/users/*', tenant: CONTOSO, app: BOOKING_APP.appId, user: ALICE.upn }, respond: FAULT_500 });
    const booking = await appToken(BOOKING_APP);
    assert.equal(await probeAs(booking, usersPath(ALICE.id)), 500);
    assert.equal(await probeAs(booking, usersPath(BOB.id)), 403, 'not Alice: no fault, the access policy answers');
    assert.equal(await statusOf(server.request(usersPath(ALICE.id), { method: 'DELETE', token: booking })), 404);
  });
});

describe('from and until, on the virtual clock', () => {
  test('outside the window a call neither matches nor counts', async () => {
    await server.admin('PUT', '/clock', { now: '2030-01-01T00:00:00Z', frozen: true });
    await addFault({ from: '2030-01-01T01:00:00Z', until: '2030-01-01T02:00:00Z', after: 1, respond: FAULT_500 });
    assert.deepEqual(await firingPositions(3), [], 'before the window');
    await server.admin('POST', '/clock/advance', { by: 'PT1H' });
    assert.deepEqual(await firingPositions(3), [2, 3], "inside: 'after' counts from the first call in the window");
    await server.admin('POST', '/clock/advance', { by: 'PT1H' });
    assert.deepEqual(await firingPositions(2), [], "'until' is exclusive");
  });
});

describe('--faults FILE at start-up', () => {
  test('a bad file stops start-up with one clear line', async () => {
    const dir = tempDir();
    try {
      const bad = join(dir, 'faults.json');
      writeFileSync(bad, JSON.stringify([{ respond: FAULT_500 }, { respond: { status: 404 } }]));
      const db = `sqlite:${join(dir, 'meetings.db')}`;
      const run = await runCli(['serve', '--port', '0', '--db', db, '--faults', bad, '--log-level', 'warn']);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        run.stderr,
        `graph-meetings: --faults ${bad}: rule [1]: Invalid value for 'respond.status': expected one of 429, 500, 502, 503, 504, got 404.\n`,
      );
      const problems: [string, RegExp][] = [
        ['{"respond":{"status":500}}', /expected a JSON array of fault rules/],
        ['[{"respond":', /not valid JSON/],
      ];
      for (const [text, message] of problems) {
        writeFileSync(bad, text);
        await assert.rejects(buildApp({ db, faults: bad, logLevel: 'silent' }), (error) => error instanceof ConfigError && message.test(error.message));
      }
      await assert.rejects(buildApp({ db, faults: join(dir, 'missing.json'), logLevel: 'silent' }), /cannot read it \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('one set of rules for every process on the database', () => {
  /**
   * Two real server processes started with the same --faults file: the file's rule exists once, its
   * count is shared, and a rule added or deleted through one process holds on the other at once.
   */
  async function sharedRules(db: string) {
    const dir = tempDir();
    const servers: CliServer[] = [];
    try {
      const faultsFile = join(dir, 'faults.json');
      writeFileSync(faultsFile, JSON.stringify([{ match: { method: 'GET' }, after: 1, count: 2, respond: { status: 503, retryAfter: 0 } }]));
      const args = [
        '--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', writeDirectory(dir, DIRECTORY),
        '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY, '--faults', faultsFile,
      ];
      const [a, b] = await Promise.all([startCliServer(args), startCliServer(args)]);
      servers.push(a!, b!);
      const adminA = (method: string, path: string, body?: unknown) => adminFetch(a!.url, method, path, body);
      const adminB = (method: string, path: string, body?: unknown) => adminFetch(b!.url, method, path, body);
      const fromFile = await listFaults(adminA);
      assert.equal(fromFile.length, 1, 'both processes loaded the file: the rule exists once');
      assert.match(fromFile[0].id, /^file-[0-9a-f]{24}$/);
      assert.deepEqual(await listFaults(adminB), fromFile);

      const probe = (server: CliServer) => statusOf(server.request(PROBE, { token: aliceToken }));
      const statuses = [await probe(b!), await probe(a!), await probe(b!), await probe(a!), await probe(b!)];
      assert.deepEqual(statuses, [404, 503, 503, 404, 404], 'one count across both processes');

      const added = await addFault({ match: { method: 'GET' }, respond: { status: 502 } }, adminA);
      assert.equal(await probe(b!), 502, 'added through A, fires on B');
      assert.equal((await adminB('DELETE', `/faults/${added.id}`)).status, 204);
      assert.equal(await probe(a!), 404, 'deleted through B, gone on A');
      await Promise.all(servers.map((server) => server.stop()));
    } finally {
      await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('SQLite: two processes on one file', async () => {
    const dir = tempDir();
    try {
      await sharedRules(`sqlite:${join(dir, 'meetings.db')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PostgreSQL: two processes on one database', async () => {
    const { url } = await testPostgres();
    await sharedRules(await freshDatabase(url));
  });
});

describe('faults commands', () => {
  test('add, list, delete and clear, on the database (--db) and on a running server (--url)', async () => {
    const dir = tempDir();
    const db = `sqlite:${join(dir, 'meetings.db')}`;
    try {
      const added = await runCli(['faults', 'add', '{"match":{"method":"get"},"count":1,"respond":{"status":429,"retryAfter":2}}', '--db', db]);
      assert.equal(added.code, 0, added.stderr);
      const first = JSON.parse(added.stdout);
      assert.deepEqual(first.match, { method: 'GET' });
      assert.deepEqual(first.respond, { status: 429, retryAfter: 2 });

      const running = await startCliServer(['--port', '0', '--db', db, '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY]);
      const target = ['--url', running.url, '--admin-key', TEST_ADMIN_KEY];
      const rulesFile = join(dir, 'rules.json');
      writeFileSync(rulesFile, JSON.stringify([{ respond: { delayMs: 1 } }, { respond: { drop: true }, probability: 0 }]));
      const fromFile = await runCli(['faults', 'add', `@${rulesFile}`, ...target]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      const [second, third] = JSON.parse(fromFile.stdout);

      const listed = await runCli(['faults', 'list', ...target]);
      assert.deepEqual(JSON.parse(listed.stdout).value.map((rule: Json) => rule.id), [first.id, second.id, third.id]);

      const deleted = await runCli(['faults', 'delete', second.id, ...target]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout, '');
      assert.deepEqual((await listFaults((m, p, b) => adminFetch(running.url, m, p, b))).map((rule) => rule.id), [first.id, third.id]);

      const bad = await runCli(['faults', 'add', '{"respond":{"status":200}}', ...target]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^graph-meetings: POST \/__admin\/faults: 400 Invalid value for 'respond\.status'/);
      const notJson = await runCli(['faults', 'add', '{respond', ...target]);
      assert.equal(notJson.code, 2);
      assert.match(notJson.stderr, /^graph-meetings: faults add: the rule is not valid JSON/);
      const unknown = await runCli(['faults', 'delete', 'no-such-rule', ...target]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /404 There is no fault rule with id 'no-such-rule'/);

      const cleared = await runCli(['faults', 'clear', ...target]);
      assert.equal(cleared.code, 0, cleared.stderr);
      assert.deepEqual(JSON.parse((await runCli(['faults', 'list', '--db', db])).stdout), { value: [] });
      await running.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
