// Graph's limits (`serve --limits off|graph|FILE`): the monthly creation limit per organizer,
// counted in the store and so shared by every process on the database (SQLite and PostgreSQL), and
// the per-app request rate of one process. Month windows are driven by a frozen virtual clock and
// the rate's seconds by an injected time source, so nothing here depends on the machine's speed.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ConfigError } from '../src/config/config.js';
import { AppRateLimit } from '../src/control/app-rate-limit.js';
import { GRAPH_LIMITS, loadLimits } from '../src/control/limits.js';
import { monthWindow, secondsUntilNextMonth } from '../src/control/monthly-creation-limit.js';
import { createOrGetMeeting, type MeetingDeps } from '../src/domain/create-or-get.js';
import { CreationLimitReached } from '../src/domain/errors.js';
import type { Meeting } from '../src/domain/meeting.js';
import type { DirectoryRepository, MeetingRepository } from '../src/domain/ports.js';
import { type CliServer, killAllChildren, request, runCli, startCliServer } from './helpers/cli.js';
import { ALICE, BOB, BOOKING_APP, CAROL, CRM_APP, DIRECTORY, FRANK } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, tempDir, TEST_ADMIN_KEY, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
const CREATE = '/v1.0/me/onlineMeetings';
const DAY_SECONDS = 86_400;

let issuer: TestIssuer;
let dir: string;
let directoryFile: string;
let tokens: { alice: string; bob: string; carol: string; frank: string };

before(async () => {
  issuer = await TestIssuer.start();
  dir = tempDir();
  directoryFile = writeDirectory(dir, DIRECTORY);
  tokens = {
    alice: await issuer.userToken(ALICE),
    bob: await issuer.userToken(BOB),
    carol: await issuer.userToken(CAROL),
    frank: await issuer.userToken(FRANK),
  };
});
after(async () => {
  await killAllChildren();
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes a --limits file (JSON unless given as text) and returns its path. */
function limitsFile(content: unknown): string {
  const path = join(dir, `limits-${++files}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const createOrGet = (url: string, token: string, externalId: string) => request(url, CREATE_OR_GET, { token, json: { externalId } });
const create = (url: string, token: string) => request(url, CREATE, { token, json: { subject: 'no key' } });

async function expectMeeting(response: Response, status: 200 | 201, what: string): Promise<Json> {
  const body = (await response.json()) as Json;
  assert.equal(response.status, status, `${what}: ${JSON.stringify(body)}`);
  assert.equal(typeof body.id, 'string');
  return body;
}

/** Graph's throttling answer exactly (protocol §8): its body, and a Retry-After of `seconds`. */
async function expectThrottled(response: Response, seconds: number) {
  const body = await expectGraphError(response, 429, { code: 'TooManyRequests', message: 'Please retry again later.' });
  assert.equal(response.headers.get('retry-after'), String(seconds));
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'innerError', 'message']);
  const { date, 'request-id': requestId, 'client-request-id': clientRequestId, ...rest } = body.error.innerError;
  assert.ok(date && requestId && clientRequestId);
  assert.deepEqual(rest, { code: '429', message: 'Please retry after', status: '429' });
}

async function setClock(url: string, now: string) {
  const response = await adminFetch(url, 'PUT', '/clock', { now, frozen: true });
  assert.equal(response.status, 200, await response.text());
}

/** Meetings stored in a SQLite file, optionally only those holding `externalId`. */
function sqliteMeetings(path: string, organizerId: string, externalId?: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const sql = `SELECT count(*) AS n FROM meetings WHERE organizer_id = ?${externalId === undefined ? '' : ' AND external_id = ?'}`;
    const args = externalId === undefined ? [organizerId] : [organizerId, externalId];
    return (db.prepare(sql).get(...args) as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('--limits values', () => {
  test('off sets none, graph the documented numbers, a file either or both', async () => {
    assert.deepEqual(await loadLimits('off'), {});
    assert.deepEqual(await loadLimits('graph'), { meetingsPerUserPerMonth: 2000, requestsPerSecondPerApp: 2000 });
    assert.deepEqual(GRAPH_LIMITS, { meetingsPerUserPerMonth: 2000, requestsPerSecondPerApp: 2000 });
    assert.deepEqual(await loadLimits(limitsFile({ meetingsPerUserPerMonth: 5 })), { meetingsPerUserPerMonth: 5 });
    assert.deepEqual(await loadLimits(limitsFile({ requestsPerSecondPerApp: 50 })), { requestsPerSecondPerApp: 50 });
    assert.deepEqual(await loadLimits(limitsFile({ meetingsPerUserPerMonth: 5, requestsPerSecondPerApp: 50 })), {
      meetingsPerUserPerMonth: 5,
      requestsPerSecondPerApp: 50,
    });
  });

  test('a bad value or file is a ConfigError of one line that names it and says why', async () => {
    const cases: [string, RegExp][] = [
      [join(dir, 'absent.json'), /expected off, graph or a JSON file of limits \(cannot read it: ENOENT\)/],
      ['Graph', /cannot read it: ENOENT/],
      [limitsFile('{"meetingsPerUserPerMonth": 5'), /not valid JSON/],
      [limitsFile([5]), /expected an object with meetingsPerUserPerMonth and\/or requestsPerSecondPerApp/],
      [limitsFile(null), /expected an object/],
      [limitsFile({}), /sets no limit/],
      [limitsFile({ meetingsPerMonth: 5 }), /unknown member 'meetingsPerMonth'/],
      [limitsFile({ meetingsPerUserPerMonth: 5, extra: true }), /unknown member 'extra'/],
      [limitsFile({ meetingsPerUserPerMonth: 0 }), /'meetingsPerUserPerMonth' must be a positive whole number, not 0/],
      [limitsFile({ meetingsPerUserPerMonth: -3 }), /positive whole number, not -3/],
      [limitsFile({ requestsPerSecondPerApp: 2.5 }), /'requestsPerSecondPerApp' must be a positive whole number, not 2.5/],
      [limitsFile({ requestsPerSecondPerApp: '50' }), /not "50"/],
      [limitsFile({ requestsPerSecondPerApp: null }), /not null/],
      [limitsFile({ meetingsPerUserPerMonth: 1e300 }), /positive whole number/],
    ];
    for (const [value, reason] of cases) {
      await assert.rejects(loadLimits(value), (error: Error) => {
        assert.ok(error instanceof ConfigError, `${value}: ${error}`);
        assert.ok(error.message.startsWith(`invalid --limits '${value}': `), error.message);
        assert.match(error.message, reason);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    }
  });

  test('a bad limits file fails `serve` with one line, before the database is touched', async () => {
    const unknown = limitsFile({ meetingsPerUserPerMonth: 3, requestsPerMinutePerApp: 10 });
    const runs = [
      { args: ['--limits', unknown], reason: `invalid --limits '${unknown}': unknown member 'requestsPerMinutePerApp'` },
      { args: [], env: { GRAPH_MEETINGS_LIMITS: join(dir, 'missing.json') }, reason: `invalid --limits '${join(dir, 'missing.json')}'` },
    ];
    for (const [index, run] of runs.entries()) {
      const dbPath = join(dir, `never-${index}.db`);
      const result = await runCli(['serve', '--port', '0', '--db', `sqlite:${dbPath}`, ...run.args], { env: run.env ?? {} });
      assert.equal(result.code, 2, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0]!.startsWith(`graph-meetings: ${run.reason}`), result.stderr);
      assert.equal(result.stdout, '');
      assert.equal(existsSync(dbPath), false, 'the database is not created');
    }
  });
});

describe('month windows', () => {
  test('the month is UTC, on the given clock', () => {
    assert.equal(monthWindow(Date.parse('2027-01-31T23:59:59.999Z')), '2027-01');
    assert.equal(monthWindow(Date.parse('2027-02-01T00:30:00+01:00')), '2027-01');
    assert.equal(monthWindow(Date.parse('2027-02-01T00:00:00Z')), '2027-02');
  });

  test('Retry-After runs to 00:00:00Z of the next month, rounded up to whole seconds', () => {
    assert.equal(secondsUntilNextMonth(Date.parse('2027-01-31T23:59:00Z')), 60);
    assert.equal(secondsUntilNextMonth(Date.parse('2027-01-31T23:59:59.001Z')), 1);
    assert.equal(secondsUntilNextMonth(Date.parse('2027-02-01T00:00:00Z')), 28 * DAY_SECONDS);
    assert.equal(secondsUntilNextMonth(Date.parse('2028-02-01T00:00:00Z')), 29 * DAY_SECONDS, 'leap year');
    assert.equal(secondsUntilNextMonth(Date.parse('2027-12-31T12:00:00Z')), DAY_SECONDS / 2, 'into the next year');
  });
});

describe('meetingsPerUserPerMonth: 3', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ issuer, directory: DIRECTORY, config: { limits: limitsFile({ meetingsPerUserPerMonth: 3 }) } });
  });
  after(() => server?.close());

  test('the 4th creation is 429 until the next month; an existing key still answers 200; others are unaffected', async () => {
    const { url } = server;
    await setClock(url, '2027-01-31T23:59:00Z');
    const first = await expectMeeting(await createOrGet(url, tokens.alice, 'jan-1'), 201, 'first');
    await expectMeeting(await createOrGet(url, tokens.alice, 'jan-2'), 201, 'second');
    await expectMeeting(await create(url, tokens.alice), 201, 'a POST create counts too');

    await expectThrottled(await createOrGet(url, tokens.alice, 'jan-4'), 60);
    await expectThrottled(await create(url, tokens.alice), 60);
    assert.equal(sqliteMeetings(server.dbPath, ALICE.id, 'jan-4'), 0, 'a refused request stores nothing');
    assert.equal(sqliteMeetings(server.dbPath, ALICE.id), 3);

    // Repeating a key creates nothing: never refused, never counted.
    for (let i = 0; i < 3; i++) {
      const again = await expectMeeting(await createOrGet(url, tokens.alice, 'jan-1'), 200, 'existing key at the limit');
      assert.equal(again.id, first.id);
    }
    // Other organizers, in the same tenant or another, have their own count.
    for (const key of ['bob-1', 'bob-2', 'bob-3']) await expectMeeting(await createOrGet(url, tokens.bob, key), 201, key);
    await expectThrottled(await createOrGet(url, tokens.bob, 'bob-4'), 60);
    await expectMeeting(await createOrGet(url, tokens.frank, 'frank-1'), 201, 'another tenant');

    await setClock(url, '2027-02-01T00:00:00Z');
    await expectMeeting(await createOrGet(url, tokens.alice, 'jan-4'), 201, 'a new month');
    await expectMeeting(await create(url, tokens.alice), 201, 'a new month, POST create');
    await expectMeeting(await createOrGet(url, tokens.alice, 'feb-3'), 201, 'a new month, third');
    await expectThrottled(await createOrGet(url, tokens.alice, 'feb-4'), 28 * DAY_SECONDS);
  });

  test('concurrent first calls for one key count once', async () => {
    const { url } = server;
    await setClock(url, '2027-05-10T08:00:00Z');
    const responses = await Promise.all(Array.from({ length: 3 }, () => createOrGet(url, tokens.carol, 'may-race')));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 201]);
    // The losers gave their creations back: two more fit in May, a third does not.
    await expectMeeting(await createOrGet(url, tokens.carol, 'may-2'), 201, 'second');
    await expectMeeting(await createOrGet(url, tokens.carol, 'may-3'), 201, 'third');
    await expectThrottled(await createOrGet(url, tokens.carol, 'may-4'), 22 * DAY_SECONDS - 8 * 3600);
  });
});

describe('createOrGet at the limit, against the domain', () => {
  test('a key a concurrent call created while this one was refused answers as existing; else the refusal stands', async () => {
    const winner = { tenantId: ALICE.tenantId, organizerId: ALICE.id } as Meeting;
    const organizer = { tenantId: ALICE.tenantId, id: ALICE.id, userPrincipalName: ALICE.upn, displayName: ALICE.name };
    const depsWith = (lookups: (Meeting | undefined)[]): MeetingDeps => ({
      meetings: {
        findLiveMeetingByKey: async () => lookups.shift(),
        insertOrGetMeeting: async () => assert.fail('nothing is inserted past the limit'),
      } as Partial<MeetingRepository> as MeetingRepository,
      directory: {} as DirectoryRepository,
      clock: { now: () => Date.parse('2027-01-31T23:59:00Z') },
      quota: {
        take: async () => {
          throw new CreationLimitReached(60);
        },
      },
    });
    const call = (deps: MeetingDeps) => createOrGetMeeting(deps, organizer, { externalId: 'raced' }, 'http://127.0.0.1');
    assert.deepEqual(await call(depsWith([undefined, winner])), { meeting: winner, created: false });
    await assert.rejects(call(depsWith([undefined, undefined])), (error) => error instanceof CreationLimitReached && error.retryAfterSeconds === 60);
  });
});

describe('--limits off (the default)', () => {
  test('many creations, and no count is kept at all', async () => {
    const server = await startServer({ issuer, directory: DIRECTORY });
    try {
      await setClock(server.url, '2027-01-15T00:00:00Z');
      for (let i = 0; i < 25; i++) await expectMeeting(await createOrGet(server.url, tokens.alice, `off-${i}`), 201, `off-${i}`);
      for (let i = 0; i < 5; i++) await expectMeeting(await create(server.url, tokens.alice), 201, `create ${i}`);
      const db = new Database(server.dbPath, { readonly: true });
      try {
        assert.deepEqual(db.prepare('SELECT count(*) AS n FROM creation_counts').get(), { n: 0 });
      } finally {
        db.close();
      }
    } finally {
      await server.close();
    }
  });
});

/**
 * The monthly limit across two server processes on one database: one count, the clock set
 * through either process. `limit` is 3.
 */
async function assertSharedMonthlyLimit(a: CliServer, b: CliServer) {
  await setClock(a.url, '2027-01-31T23:59:00Z');
  await expectMeeting(await createOrGet(a.url, tokens.alice, 'shared-1'), 201, 'on A');
  await expectMeeting(await createOrGet(b.url, tokens.alice, 'shared-2'), 201, 'on B');
  await expectMeeting(await create(a.url, tokens.alice), 201, 'create on A');
  await expectThrottled(await createOrGet(b.url, tokens.alice, 'shared-4'), 60);
  await expectThrottled(await create(a.url, tokens.alice), 60);
  await expectMeeting(await createOrGet(b.url, tokens.alice, 'shared-1'), 200, 'existing key on B');

  await setClock(b.url, '2027-02-01T00:00:00Z');
  await expectMeeting(await createOrGet(a.url, tokens.alice, 'shared-4'), 201, 'next month, on A');

  // Ten distinct first calls at once, alternating processes: exactly the limit is created.
  await setClock(a.url, '2027-03-10T00:00:00Z');
  const responses = await Promise.all(
    Array.from({ length: 10 }, (_, i) => createOrGet(i % 2 ? a.url : b.url, tokens.bob, `burst-${i}`)),
  );
  const statuses = responses.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 3, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 429).length, 7, statuses.join(','));
  for (const response of responses.filter((r) => r.status === 429)) await expectThrottled(response, 22 * DAY_SECONDS);
}

const serveArgs = (db: string, limits: string) => [
  '--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directoryFile,
  '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY, '--limits', limits,
];

describe('the monthly limit is shared by every process on the database', () => {
  test('two processes on one SQLite file', async () => {
    const db = `sqlite:${join(dir, 'shared-limits.db')}`;
    const limits = limitsFile({ meetingsPerUserPerMonth: 3 });
    const a = await startCliServer(serveArgs(db, limits));
    const b = await startCliServer(serveArgs(db, limits));
    try {
      await assertSharedMonthlyLimit(a, b);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test('two processes on one PostgreSQL database', async () => {
    const db = await freshDatabase((await testPostgres()).url);
    const limits = limitsFile({ meetingsPerUserPerMonth: 3 });
    const a = await startCliServer(serveArgs(db, limits));
    const b = await startCliServer(serveArgs(db, limits));
    try {
      await assertSharedMonthlyLimit(a, b);
      const client = new pg.Client({ connectionString: db });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT count(*)::int AS n FROM meetings WHERE external_id LIKE $1', ['burst-%']);
        assert.deepEqual(rows, [{ n: 3 }], 'a refused request stores nothing');
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('--limits graph', () => {
  test('is accepted and allows 2,000 creations per organizer and month', async () => {
    const dbPath = join(dir, 'graph-limits.db');
    const server = await startCliServer(serveArgs(`sqlite:${dbPath}`, 'graph'));
    try {
      await setClock(server.url, '2027-06-15T00:00:00Z');
      await expectMeeting(await createOrGet(server.url, tokens.alice, 'graph-1'), 201, 'first');
      // 1,998 more without sending them: the count the server keeps, moved on directly.
      const db = new Database(dbPath);
      try {
        db.pragma('busy_timeout = 5000');
        const moved = db
          .prepare("UPDATE creation_counts SET created = created + 1998 WHERE organizer_id = ? AND time_window = '2027-06'")
          .run(ALICE.id);
        assert.equal(moved.changes, 1, 'the first creation was counted');
      } finally {
        db.close();
      }
      await expectMeeting(await createOrGet(server.url, tokens.alice, 'graph-2000'), 201, 'the 2,000th');
      await expectThrottled(await createOrGet(server.url, tokens.alice, 'graph-2001'), 16 * DAY_SECONDS);
      await expectMeeting(await createOrGet(server.url, tokens.bob, 'graph-bob'), 201, 'another organizer');
    } finally {
      await server.stop();
    }
  });
});

describe('requestsPerSecondPerApp', () => {
  test('counts per app in whole seconds; a refused request is not counted', () => {
    let now = Date.parse('2027-01-01T00:00:00.400Z');
    const limit = new AppRateLimit(2, { now: () => now });
    assert.deepEqual([limit.take('a'), limit.take('a'), limit.take('b')], [0, 0, 0]);
    assert.equal(limit.take('a'), 1);
    now += 599; // 00:00:00.999, still the same second
    assert.equal(limit.take('a'), 1);
    now += 1; // 00:00:01.000: a new window
    assert.deepEqual([limit.take('a'), limit.take('a'), limit.take('a')], [0, 0, 1]);
  });

  describe('through the server (5 per second)', () => {
    let server: RunningServer;
    // The rate runs on real time; this server's real time is ours to move.
    let nowMs = Date.parse('2027-01-15T12:00:00.250Z');
    let meetingPath: string;
    const app = { crm: '', booking: '' };
    const get = (token: string) => server.request(meetingPath, { token });

    before(async () => {
      server = await startServer({
        issuer,
        directory: DIRECTORY,
        config: { limits: limitsFile({ requestsPerSecondPerApp: 5 }), clock: { now: () => nowMs } },
      });
      app.crm = await issuer.appToken(CRM_APP);
      app.booking = await issuer.appToken(BOOKING_APP);
      const meeting = await expectMeeting(await createOrGet(server.url, tokens.bob, 'rate'), 201, 'setup');
      meetingPath = `/v1.0/users/${BOB.id}/onlineMeetings/${meeting.id}`;
      nowMs += 1000;
    });
    after(() => server?.close());

    test('the 6th request of an app within a second is 429 with Retry-After 1; later ones succeed', async () => {
      for (let i = 1; i <= 5; i++) assert.equal((await get(app.crm)).status, 200, `request ${i}`);
      await expectThrottled(await get(app.crm), 1);
      await expectThrottled(await get(app.crm), 1);
      // Other apps have their own count: another app-only token, and a delegated token's client app.
      for (let i = 0; i < 5; i++) assert.equal((await get(app.booking)).status, 403, 'admitted (then refused by its access policy)');
      for (let i = 0; i < 5; i++) assert.equal((await get(tokens.bob)).status, 200, 'delegated');
      await expectThrottled(await get(tokens.bob), 1);
      // A delegated token naming no client app is not counted.
      const noApp = await issuer.userToken(BOB, 'OnlineMeetings.ReadWrite', { claims: { appid: undefined } });
      for (let i = 0; i < 8; i++) assert.equal((await get(noApp)).status, 200, 'no app to count');

      nowMs += 750; // the next second: the window has freed
      for (let i = 1; i <= 5; i++) assert.equal((await get(app.crm)).status, 200, `next second, request ${i}`);
      await expectThrottled(await get(app.crm), 1);
      nowMs += 1000;
    });

    test('each $batch item counts, the envelope does not', async () => {
      const batch = (n: number) =>
        server.request('/v1.0/$batch', {
          method: 'POST',
          token: app.crm,
          json: { requests: Array.from({ length: n }, (_, i) => ({ id: String(i + 1), method: 'GET', url: meetingPath.slice('/v1.0'.length) })) },
        });
      const five = await batch(5);
      assert.equal(five.status, 200);
      assert.deepEqual(((await five.json()) as Json).responses.map((r: Json) => r.status), [200, 200, 200, 200, 200]);
      await expectThrottled(await get(app.crm), 1);

      nowMs += 1000;
      const seven = await batch(7);
      assert.equal(seven.status, 200, 'the envelope itself is admitted');
      const items = ((await seven.json()) as Json).responses as Json[];
      assert.equal(items.filter((r) => r.status === 200).length, 5);
      const throttled = items.filter((r) => r.status === 429);
      assert.equal(throttled.length, 2);
      for (const item of throttled) {
        assert.equal(item.headers['retry-after'], '1');
        assert.equal(item.body.error.code, 'TooManyRequests');
      }
      nowMs += 1000;
    });
  });
});
