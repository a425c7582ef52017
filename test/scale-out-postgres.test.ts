// Scale-out on PostgreSQL with real `graph-meetings serve` processes and a real PostgreSQL: the
// createOrGet key holds across processes, a SIGKILLed process loses nothing that was answered, the
// database going away and coming back is survived without a restart, --workers starts and stops
// cleanly, migrations and directory seeding race safely, and an unreachable database fails fast.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS } from '../src/store/migrations.js';
import { type CliServer, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { ALICE, BOB, BOOKING_APP, CAROL, CRM_APP, DIRECTORY, FABRIKAM_APP, FRANK } from './helpers/fixtures.js';
import { childPids, isAlive, pollUntil, runBounded } from './helpers/load.js';
import { type Cluster, freshDatabase, startCluster, testPostgres } from './helpers/postgres-cluster.js';
import { tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
const REQUEST_TIMEOUT_MS = 10_000;

let issuer: TestIssuer;
let dir: string;
let directoryFile: string;
let postgresUrl: string;

before(async () => {
  issuer = await TestIssuer.start();
  dir = tempDir();
  directoryFile = writeDirectory(dir, DIRECTORY);
  postgresUrl = (await testPostgres()).url;
});
after(async () => {
  await killAllChildren();
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const serveArgs = (db: string) => [
  '--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directoryFile, '--log-level', 'warn',
];

// ---------------------------------------------------------------------------------------------
// HTTP and SQL helpers

interface Reply {
  status: number;
  body: any;
  headers: Headers;
  ms: number;
}

/** One request with a deadline; the body is parsed as JSON when it is JSON. */
async function call(url: string, path: string, options: { token?: string; json?: unknown; method?: string } = {}): Promise<Reply> {
  const headers = new Headers();
  if (options.token) headers.set('authorization', `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.set('content-type', 'application/json');
  }
  const started = Date.now();
  const response = await fetch(`${url}${path}`, {
    method: options.method ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: response.status, body: parsed, headers: response.headers, ms: Date.now() - started };
}

const createOrGet = (url: string, token: string, externalId: string) => call(url, CREATE_OR_GET, { token, json: { externalId } });

function assertMeeting(reply: Reply, status: number | number[], externalId: string) {
  const allowed = Array.isArray(status) ? status : [status];
  assert.ok(allowed.includes(reply.status), `expected ${allowed.join('/')}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.externalId, externalId);
  assert.equal(typeof reply.body.id, 'string');
}

/** Graph's error shape: {"error":{"code","message","innerError":{date,request-id,client-request-id}}}. */
function assertGraphError(reply: Reply, status: number, code: string) {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(typeof reply.body?.error, 'object', `not a Graph error: ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.error.code, code);
  assert.equal(typeof reply.body.error.message, 'string');
  assert.ok(reply.body.error.message.length > 0);
  assert.equal(typeof reply.body.error.innerError?.['request-id'], 'string');
  assert.equal(typeof reply.body.error.innerError?.date, 'string');
}

function assertServiceUnavailable(reply: Reply) {
  assertGraphError(reply, 503, 'serviceNotAvailable');
  const retryAfter = reply.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, `Retry-After header: ${retryAfter}`);
}

/** Runs one statement on its own connection. */
async function sql<R extends pg.QueryResultRow = any>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, query_timeout: 10_000 });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const rowsForKey = (url: string, externalId: string) =>
  sql<{ id: string; tenant_id: string; organizer_id: string }>(
    url,
    'SELECT id, tenant_id, organizer_id FROM meetings WHERE external_id = $1',
    [externalId],
  );

const duplicateKeys = (url: string) =>
  sql(
    url,
    `SELECT tenant_id, organizer_id, external_id, count(*)::int AS n FROM meetings
     WHERE external_id IS NOT NULL GROUP BY tenant_id, organizer_id, external_id HAVING count(*) > 1`,
  );

function sqliteRowsForKey(path: string, externalId: string) {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[string], { id: string }>('SELECT id FROM meetings WHERE external_id = ?').all(externalId);
  } finally {
    db.close();
  }
}

function stillRunning(server: CliServer): boolean {
  return server.child.exitCode === null && server.child.signalCode === null;
}

// ---------------------------------------------------------------------------------------------

describe('three serve processes on one PostgreSQL database', () => {
  let db: string;
  let servers: CliServer[] = [];

  before(async () => {
    db = await freshDatabase(postgresUrl);
    // The first one migrates; the start-up race has its own test below.
    servers.push(await startCliServer(serveArgs(db)));
    servers.push(...(await Promise.all([startCliServer(serveArgs(db)), startCliServer(serveArgs(db))])));
  });
  after(async () => {
    for (const server of servers) if (stillRunning(server)) await server.stop().catch(() => undefined);
  });

  test('200 concurrent first createOrGet calls for one key over 3 processes: one 201, 199 × 200, one id, one row', async () => {
    const token = await issuer.userToken(ALICE);
    const key = 'race-200-over-3';
    const replies = await within(
      Promise.all(Array.from({ length: 200 }, (_, i) => createOrGet(servers[i % 3]!.url, token, key))),
      30_000,
      '200 concurrent createOrGet calls',
    );
    for (const reply of replies) assertMeeting(reply, [200, 201], key);
    assert.equal(replies.filter((r) => r.status === 201).length, 1, 'exactly one 201');
    assert.equal(replies.filter((r) => r.status === 200).length, 199, '199 × 200');
    const ids = new Set(replies.map((r) => r.body.id as string));
    assert.equal(ids.size, 1, `one meeting id, got ${ids.size}`);
    assert.deepEqual(await rowsForKey(db, key), [{ id: [...ids][0], tenant_id: ALICE.tenantId, organizer_id: ALICE.id }]);
  });

  test('SIGKILL of one of 3 processes mid-load: survivors answer every request 201, every answered meeting is stored once', async (t) => {
    const token = await issuer.userToken(BOB);
    const total = 600;
    const victim = 1;
    const keyOf = (i: number) => `load-${i}`;
    let killed = false;

    interface Outcome {
      index: number;
      target: number;
      reply?: Reply;
      error?: unknown;
      /** Whether the victim had been killed when the request failed. */
      failedAfterKill?: boolean;
    }
    const outcomes = await within(
      runBounded<Outcome>(
        total,
        20,
        async (index) => {
          const target = index % 3;
          try {
            return { index, target, reply: await createOrGet(servers[target]!.url, token, keyOf(index)) };
          } catch (error) {
            return { index, target, error, failedAfterKill: killed };
          }
        },
        (settled) => {
          if (settled === Math.floor(total / 3) && !killed) {
            killed = true;
            servers[victim]!.child.kill('SIGKILL');
          }
        },
      ),
      60_000,
      'the load of 600 createOrGet calls',
    );
    assert.ok(killed, 'the victim was killed during the load');
    assert.deepEqual(await within(servers[victim]!.exited, 5_000, 'the SIGKILLed process to exit'), { code: null, signal: 'SIGKILL' });

    const answered: Array<{ key: string; id: string }> = [];
    const lostToVictim: string[] = [];
    for (const outcome of outcomes) {
      const value = (outcome as PromiseFulfilledResult<Outcome>).value;
      const key = keyOf(value.index);
      if (value.target !== victim) {
        assert.ok(value.reply, `request ${value.index} to surviving process ${value.target} failed: ${String(value.error)}`);
        assertMeeting(value.reply, 201, key);
      } else if (value.reply) {
        // The victim answered before it died: a proper answer.
        assertMeeting(value.reply, 201, key);
      } else {
        assert.ok(value.failedAfterKill, `request ${value.index} to process ${victim} failed before the kill: ${String(value.error)}`);
        lostToVictim.push(key);
        continue;
      }
      answered.push({ key, id: value.reply.body.id });
    }
    t.diagnostic(`${answered.length} answered, ${lostToVictim.length} lost with the killed process`);
    assert.ok(lostToVictim.length > 0, 'some requests went to the dead process');
    assert.ok(answered.length >= (total * 2) / 3, `${answered.length} answered`);

    // Answered means stored: every 2xx meeting is in the database under its key.
    const stored = await sql<{ id: string; external_id: string }>(db, 'SELECT id, external_id FROM meetings WHERE id = ANY($1::text[])', [
      answered.map((a) => a.id),
    ]);
    const storedById = new Map(stored.map((row) => [row.id, row.external_id]));
    for (const { key, id } of answered) assert.equal(storedById.get(id), key, `meeting ${id} (${key}) is stored`);
    assert.deepEqual(await duplicateKeys(db), [], 'no key has two rows');

    // A client retrying the requests lost with the dead process on a survivor gets one meeting per key.
    const survivors = servers.filter((_, i) => i !== victim);
    const retries = await within(
      runBounded(lostToVictim.length, 20, (i) => createOrGet(survivors[i % 2]!.url, token, lostToVictim[i]!)),
      30_000,
      'the retries',
    );
    for (const [i, retry] of retries.entries()) {
      assert.equal(retry.status, 'fulfilled', String((retry as PromiseRejectedResult).reason));
      const reply = (retry as PromiseFulfilledResult<Reply>).value;
      assertMeeting(reply, [200, 201], lostToVictim[i]!);
      assert.deepEqual((await rowsForKey(db, lostToVictim[i]!)).map((r) => r.id), [reply.body.id]);
    }
    assert.deepEqual(await duplicateKeys(db), [], 'no key has two rows after the retries');

    // The survivors keep serving.
    for (const [i, server] of survivors.entries()) {
      assert.ok(stillRunning(server), `survivor ${server.url} is running`);
      assertMeeting(await createOrGet(server.url, token, `after-kill-${i}`), 201, `after-kill-${i}`);
    }
  });
});

describe('PostgreSQL stopped and started again under a running server', () => {
  let cluster: Cluster | undefined;
  let server: CliServer | undefined;

  before(async () => {
    cluster = await startCluster();
    server = await startCliServer(serveArgs(cluster.url));
  });
  after(async () => {
    if (server && stillRunning(server)) await server.stop().catch(() => undefined);
    try {
      cluster?.resume();
    } catch {
      // already running
    }
    cluster?.destroy();
  });

  test('while down: 503 serviceNotAvailable with Retry-After within 10 s; after restart: served again without a restart', async () => {
    const s = server!;
    let exited = false;
    void s.exited.then(() => (exited = true));
    const token = await issuer.userToken(ALICE);

    const original = await createOrGet(s.url, token, 'before-outage');
    assertMeeting(original, 201, 'before-outage');
    const meetingPath = `/v1.0/me/onlineMeetings/${encodeURIComponent(original.body.id)}`;

    cluster!.pause();
    try {
      // Concurrently and then one after the other: every request gets a prompt, proper 503.
      const concurrent = await Promise.all([
        createOrGet(s.url, token, 'during-outage-1'),
        createOrGet(s.url, token, 'during-outage-2'),
        createOrGet(s.url, token, 'during-outage-3'),
        createOrGet(s.url, token, 'before-outage'),
        call(s.url, meetingPath, { token }),
      ]);
      const sequential: Reply[] = [];
      for (let i = 0; i < 3; i++) sequential.push(await createOrGet(s.url, token, `during-outage-seq-${i}`));
      for (const reply of [...concurrent, ...sequential]) {
        assert.ok(reply.ms < REQUEST_TIMEOUT_MS, `answered in ${reply.ms} ms`);
        assertServiceUnavailable(reply);
      }
      const health = await call(s.url, '/healthz');
      assert.ok(health.ms < REQUEST_TIMEOUT_MS, `/healthz answered in ${health.ms} ms`);
      assertServiceUnavailable(health);
      assert.ok(stillRunning(s) && !exited, 'the server is still running during the outage');
    } finally {
      cluster!.resume();
    }

    // Back within 10 s, with no restart: a new key is created, the old one is found.
    const recovered = await pollUntil('a createOrGet that is not 503 after the database came back', 10_000, async () => {
      const reply = await createOrGet(s.url, token, 'after-outage');
      return reply.status === 503 ? undefined : reply;
    });
    assertMeeting(recovered, 201, 'after-outage');
    const again = await createOrGet(s.url, token, 'before-outage');
    assertMeeting(again, 200, 'before-outage');
    assert.equal(again.body.id, original.body.id);
    const read = await call(s.url, meetingPath, { token });
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.id, original.body.id);
    assert.equal((await call(s.url, '/healthz')).status, 200);

    // The whole pool works again, not just one connection.
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => createOrGet(s.url, token, `after-outage-burst-${i}`)));
    for (const [i, reply] of burst.entries()) assertMeeting(reply, 201, `after-outage-burst-${i}`);
    // Nothing written during the outage was half-stored.
    const duringOutage = await sql(cluster!.url, "SELECT external_id FROM meetings WHERE external_id LIKE 'during-outage-%'");
    assert.deepEqual(duringOutage, []);
    assert.equal(s.pid, server!.pid);
    assert.ok(stillRunning(s) && !exited, 'the server process never exited');
  });
});

describe('serve --workers 3', () => {
  for (const engine of ['postgres', 'sqlite'] as const) {
    test(`on ${engine}: healthy, one 201 and one row for 60 concurrent first calls, SIGTERM stops primary and workers`, async () => {
      const sqlitePath = join(dir, 'workers.db');
      const db = engine === 'postgres' ? await freshDatabase(postgresUrl) : `sqlite:${sqlitePath}`;
      const server = await startCliServer([...serveArgs(db), '--workers', '3'], { timeoutMs: 30_000 });
      let workers: number[] = [];
      try {
        assert.equal((await call(server.url, '/healthz')).status, 200);
        workers = await pollUntil('3 worker processes', 10_000, async () => {
          const pids = childPids(server.pid);
          return pids.length === 3 ? pids : undefined;
        });

        const token = await issuer.userToken(CAROL);
        const key = `workers-${engine}`;
        const replies = await within(
          Promise.all(Array.from({ length: 60 }, () => createOrGet(server.url, token, key))),
          20_000,
          '60 concurrent createOrGet calls',
        );
        for (const reply of replies) assertMeeting(reply, [200, 201], key);
        assert.equal(replies.filter((r) => r.status === 201).length, 1, 'exactly one 201');
        const ids = [...new Set(replies.map((r) => r.body.id as string))];
        assert.equal(ids.length, 1, 'one meeting id');
        const rows = engine === 'postgres' ? (await rowsForKey(db, key)).map((r) => ({ id: r.id })) : sqliteRowsForKey(sqlitePath, key);
        assert.deepEqual(rows, [{ id: ids[0] }]);

        const started = Date.now();
        server.child.kill('SIGTERM');
        const exit = await within(server.exited, 15_000, 'the primary to exit after SIGTERM');
        assert.deepEqual(exit, { code: 0, signal: null });
        assert.ok(Date.now() - started < 15_000);
        const left = await pollUntil('the workers to be gone', 3_000, async () => {
          const alive = workers.filter(isAlive);
          return alive.length === 0 ? alive : undefined;
        }).catch(() => workers.filter(isAlive));
        assert.deepEqual(left, [], `worker processes left running: ${left.join(', ')} (workers were ${workers.join(', ')})`);
      } finally {
        if (stillRunning(server)) server.child.kill('SIGKILL');
        for (const pid of workers) {
          try {
            if (isAlive(pid)) process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    });
  }
});

describe('migrations and start-up races on a fresh PostgreSQL database', () => {
  const versions = MIGRATIONS.map((m) => m.version).sort((a, b) => a - b);
  const appliedVersions = async (db: string) =>
    sql<{ version: number; n: number }>(db, 'SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version');

  test('migrate exits 0 and applies every migration', async () => {
    const db = await freshDatabase(postgresUrl);
    const result = await runCli(['migrate', '--db', db], { timeoutMs: 15_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /up to date/);
    assert.deepEqual(await appliedVersions(db), versions.map((version) => ({ version, n: 1 })));
    assert.deepEqual(await sql(db, 'SELECT count(*)::int AS n FROM meetings'), [{ n: 0 }]);
    // Running it again changes nothing.
    const again = await runCli(['migrate', '--db', db], { timeoutMs: 15_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await appliedVersions(db), versions.map((version) => ({ version, n: 1 })));
  });

  test('4 concurrent migrate runs on one fresh database all exit 0; each version is applied once', async () => {
    const db = await freshDatabase(postgresUrl);
    const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['migrate', '--db', db], { timeoutMs: 20_000 })));
    for (const result of results) assert.deepEqual({ code: result.code, stderr: result.stderr }, { code: 0, stderr: '' });
    assert.deepEqual(await appliedVersions(db), versions.map((version) => ({ version, n: 1 })));
  });

  test('4 serve processes started at once with one --directory all come up; the directory is consistent on each', async () => {
    const db = await freshDatabase(postgresUrl);
    const servers = await Promise.all(Array.from({ length: 4 }, () => startCliServer(serveArgs(db), { timeoutMs: 30_000 })));
    try {
      assert.deepEqual(await appliedVersions(db), versions.map((version) => ({ version, n: 1 })));
      assert.deepEqual(await sql(db, 'SELECT id, display_name FROM tenants ORDER BY id'), [
        { id: ALICE.tenantId, display_name: 'Contoso' },
        { id: FRANK.tenantId, display_name: 'Fabrikam' },
      ].sort((a, b) => a.id.localeCompare(b.id)));
      assert.deepEqual(
        await sql(db, 'SELECT tenant_id, id, upn FROM users ORDER BY tenant_id, id'),
        [ALICE, BOB, CAROL, FRANK]
          .map((u) => ({ tenant_id: u.tenantId, id: u.id, upn: u.upn }))
          .sort((a, b) => a.tenant_id.localeCompare(b.tenant_id) || a.id.localeCompare(b.id)),
      );
      assert.deepEqual((await sql(db, 'SELECT count(*)::int AS n FROM access_policies'))[0], { n: 3 });

      // Each seeded user is found through each process by an app its access policy grants.
      const grants = [
        { user: ALICE, app: BOOKING_APP },
        { user: BOB, app: CRM_APP },
        { user: CAROL, app: CRM_APP },
        { user: FRANK, app: FABRIKAM_APP },
      ];
      for (const [s, server] of servers.entries()) {
        for (const { user, app } of grants) {
          const key = `seeded-${s}-${user.id}`;
          const reply = await call(server.url, `/v1.0/users/${encodeURIComponent(user.upn)}/onlineMeetings/createOrGet`, {
            token: await issuer.appToken(app),
            json: { externalId: key },
          });
          assertMeeting(reply, 201, key);
        }
        const unknown = await call(server.url, '/v1.0/users/nobody@contoso.example/onlineMeetings/createOrGet', {
          token: await issuer.appToken(CRM_APP),
          json: { externalId: 'nobody' },
        });
        assertGraphError(unknown, 404, 'Request_ResourceNotFound');
      }

      // A delegated createOrGet through each process: one meeting for the key.
      const token = await issuer.userToken(ALICE);
      const replies = await Promise.all(servers.map((server) => createOrGet(server.url, token, 'fresh-start')));
      for (const reply of replies) assertMeeting(reply, [200, 201], 'fresh-start');
      assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 201]);
      assert.equal(new Set(replies.map((r) => r.body.id)).size, 1);
      assert.equal((await rowsForKey(db, 'fresh-start')).length, 1);
    } finally {
      await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
    }
  });
});

describe('an unreachable database', () => {
  const unreachable = 'postgres://postgres@127.0.0.1:9/x';

  for (const workers of ['1', '3']) {
    test(`serve --workers ${workers} fails at start with one line on stderr and a non-zero exit, within 15 s`, async () => {
      const started = Date.now();
      const result = await runCli(['serve', ...serveArgs(unreachable), '--workers', workers], { timeoutMs: 15_000 });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 15_000, `took ${elapsed} ms`);
      assert.equal(result.signal, null);
      assert.ok(result.code !== null && result.code !== 0, `exit code ${result.code}`);
      const lines = result.stderr.split('\n').filter((line) => line.length > 0);
      assert.equal(lines.length, 1, `stderr: ${result.stderr}`);
      assert.match(lines[0]!, /^graph-meetings: /);
      assert.match(lines[0]!, /127\.0\.0\.1:9/, 'the message names the database');
      assert.doesNotMatch(result.stdout, /listening/);
    });
  }
});
