// PostgreSQL high availability with real processes: a pg_auto_failover formation (monitor, a primary
// and two synchronous standbys, number_sync_standbys = 1) on loopback, and two `graph-meetings serve`
// processes on the multi-host URL `pg_autoctl show uri` prints, under concurrent createOrGet load
// from both, through a planned failover, an unplanned one (kill -9 of the primary's Postgres and
// pg_autoctl), and a failover back to the node that was killed once it has rejoined as a standby.
// After each: every request was answered within 10 s (2xx or 503 serviceNotAvailable + Retry-After),
// every acknowledged externalId reads back with the same id through both processes, no key has two
// meetings, and new meetings are created on the new primary by the same processes (no restart).
// Also: a primary turning read-only and a commit no standby confirmed are 503s, never 500s or
// successes; the --db URL is parsed as libpq parses it; sslmode behaves as in libpq.
// Figures (requests, acknowledged, lost, duplicated, time without writes, slowest answer) are
// printed for each failover; the README quotes them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { DatabaseUnreachable, InvalidDatabaseUrl, openStore, parseDatabaseUrl, redactPassword } from '../src/store/open-store.js';
import { parseConninfo } from '../src/store/postgres/conninfo.js';
import { PrimaryPool } from '../src/store/postgres/primary-pool.js';
import { type CliServer, killAllChildren, startCliServer } from './helpers/cli.js';
import { type Formation, type FormationNode, startFormation } from './helpers/failover-formation.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { pollUntil, runBounded, sleep } from './helpers/load.js';
import { type Cluster, startCluster } from './helpers/postgres-cluster.js';
import { tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
/** Every request must be answered within this; the only timed assertion. */
const ANSWER_BOUND_MS = 10_000;
/** createOrGet loops per server process, each sending the same key to both processes at once. */
const LANES = 4;
/** How long after the failover the load keeps going once writes succeed again through both processes. */
const SETTLE_MS = 2_000;
/** Give up (and fail) when the formation has not got a writable primary back by then. */
const FAILOVER_DEADLINE_MS = 60_000;

let issuer: TestIssuer;
let dir: string;
let formation: Formation;
let servers: CliServer[] = [];
let token: string;

// ---------------------------------------------------------------------------------------------
// One request, timed

interface Answer {
  server: number;
  key: string;
  /** 0 when no answer came within ANSWER_BOUND_MS (or the connection failed). */
  status: number;
  id?: string;
  errorCode?: string;
  retryAfter?: string | null;
  startedAt: number;
  endedAt: number;
  failure?: string;
}

async function createOrGet(server: number, key: string): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const response = await fetch(`${servers[server]!.url}${CREATE_OR_GET}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId: key }),
      signal: AbortSignal.timeout(ANSWER_BOUND_MS),
    });
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return {
      server,
      key,
      status: response.status,
      id: typeof body?.id === 'string' ? body.id : undefined,
      errorCode: body?.error?.code,
      retryAfter: response.headers.get('retry-after'),
      startedAt,
      endedAt: Date.now(),
      ...(body === undefined ? { failure: `not JSON: ${text.slice(0, 200)}` } : {}),
    };
  } catch (error) {
    return { server, key, status: 0, startedAt, endedAt: Date.now(), failure: String(error) };
  }
}

interface HealthAnswer {
  server: number;
  status: number;
  errorCode?: string;
  retryAfter?: string | null;
  ms: number;
}

async function health(server: number): Promise<HealthAnswer> {
  const started = Date.now();
  try {
    const response = await fetch(`${servers[server]!.url}/healthz`, { signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
    const body = (await response.json().catch(() => undefined)) as any;
    return { server, status: response.status, errorCode: body?.error?.code, retryAfter: response.headers.get('retry-after'), ms: Date.now() - started };
  } catch {
    return { server, status: 0, ms: Date.now() - started };
  }
}

const ok = (a: { status: number }) => a.status === 200 || a.status === 201;

// ---------------------------------------------------------------------------------------------
// A failover under load

interface Run {
  label: string;
  answers: Answer[];
  healthAnswers: HealthAnswer[];
  oldPrimary: FormationNode;
  newPrimary: FormationNode;
  actionAt: number;
  /** When the monitor first reported the new primary as wait_primary or primary. */
  writableAt: number;
  loadStartedAt: number;
  loadEndedAt: number;
}

/**
 * Runs createOrGet load through both processes, performs `action` once the load is going, and keeps
 * the load up until the monitor reports a new writable primary and both processes have created
 * meetings after that, plus SETTLE_MS.
 */
async function failoverUnderLoad(label: string, action: (primary: FormationNode) => Promise<void> | void, expected?: string): Promise<Run> {
  const oldPrimary = await formation.waitStable();
  const answers: Answer[] = [];
  const healthAnswers: HealthAnswer[] = [];
  let stopping = false;
  let writableAt = 0;
  let newPrimaryName = '';
  let actionAt = 0;

  const lane = async (laneIndex: number) => {
    for (let seq = 0; !stopping; seq++) {
      const key = `${label}-${laneIndex}-${seq}`;
      // The same key through both processes at once; a key nobody acknowledged is sent again (as a
      // client retrying after a 503 would), so unknown outcomes are retried through createOrGet.
      for (;;) {
        const pair = await Promise.all(servers.map((_, server) => createOrGet(server, key)));
        answers.push(...pair);
        if (pair.some(ok) || stopping) break;
        await sleep(100);
      }
    }
  };
  const healthPoller = async (server: number) => {
    while (!stopping) {
      healthAnswers.push(await health(server));
      await sleep(250);
    }
  };
  const monitorPoller = async () => {
    while (!stopping) {
      if (actionAt && !writableAt) {
        const states = await formation.states().catch(() => []);
        const promoted = states.find((s) => s.name !== oldPrimary.name && (s.reported === 'wait_primary' || s.reported === 'primary'));
        if (promoted) {
          writableAt = Date.now();
          newPrimaryName = promoted.name;
        }
      }
      await sleep(100);
    }
  };

  const loadStartedAt = Date.now();
  const running = [
    ...Array.from({ length: LANES }, (_, i) => lane(i)),
    ...servers.map((_, server) => healthPoller(server)),
    monitorPoller(),
  ];
  try {
    // Warm up: writes are flowing before the primary goes.
    await waitUntil('the load to get going', 15_000, () => answers.filter((a) => a.status === 201).length >= 20);
    actionAt = Date.now();
    await action(oldPrimary);
    await waitUntil('a new writable primary', FAILOVER_DEADLINE_MS, () => writableAt > 0);
    await waitUntil('both processes to create meetings on the new primary', FAILOVER_DEADLINE_MS, () =>
      servers.every((_, server) => answers.some((a) => a.server === server && a.status === 201 && a.startedAt > writableAt)),
    );
    await sleep(SETTLE_MS);
  } finally {
    stopping = true;
    await Promise.all(running);
  }
  const newPrimary = formation.nodes.find((n) => n.name === newPrimaryName)!;
  if (expected) assert.equal(newPrimary.name, expected, `the monitor promoted ${newPrimary.name}, expected ${expected}`);
  return { label, answers, healthAnswers, oldPrimary, newPrimary, actionAt, writableAt, loadStartedAt, loadEndedAt: Date.now() };
}

async function waitUntil(what: string, timeoutMs: number, test: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Longest stretch (ms) in which no createOrGet created a meeting (201), over the whole load. */
function longestWithoutWrite(run: Run): number {
  const writes = run.answers.filter((a) => a.status === 201).map((a) => a.endedAt).sort((a, b) => a - b);
  let longest = 0;
  let previous = run.loadStartedAt;
  for (const at of [...writes, run.loadEndedAt]) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

/** The checks every failover must pass; prints and returns the figures. */
async function verify(t: TestContext, run: Run) {
  const { answers } = run;

  // 1. Every request answered within the bound: a 2xx or Graph's 503 with Retry-After, never a 500.
  const unanswered = answers.filter((a) => a.status === 0);
  assert.deepEqual(unanswered.slice(0, 5), [], `${unanswered.length} requests got no answer within ${ANSWER_BOUND_MS} ms`);
  const slowest = Math.max(...answers.map((a) => a.endedAt - a.startedAt));
  assert.ok(slowest < ANSWER_BOUND_MS, `slowest answer took ${slowest} ms`);
  const wrong = answers.filter((a) => !ok(a) && !(a.status === 503 && a.errorCode === 'serviceNotAvailable' && /^[1-9]\d*$/.test(a.retryAfter ?? '')));
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} answers were neither 2xx nor 503 serviceNotAvailable with Retry-After`);
  for (const a of answers.filter(ok)) assert.equal(typeof a.id, 'string', `a ${a.status} without an id for ${a.key}`);
  const healthWrong = run.healthAnswers.filter(
    (h) => h.status !== 200 && !(h.status === 503 && h.errorCode === 'serviceNotAvailable' && /^[1-9]\d*$/.test(h.retryAfter ?? '')),
  );
  assert.deepEqual(healthWrong.slice(0, 5), [], '/healthz answers 200 or 503 serviceNotAvailable with Retry-After, within the bound');

  // 2. One id per acknowledged key, whichever process acknowledged it.
  const acknowledged = new Map<string, Set<string>>();
  for (const a of answers.filter(ok)) acknowledged.set(a.key, (acknowledged.get(a.key) ?? new Set()).add(a.id!));
  const split = [...acknowledged].filter(([, ids]) => ids.size > 1);

  // 3. Every acknowledged key reads back with its id through both processes (a lost meeting would
  //    come back as a new one, 201, with another id).
  const keys = [...acknowledged.keys()];
  const readBack = await runBounded(keys.length * servers.length, 16, (i) => createOrGet(i % servers.length, keys[Math.floor(i / servers.length)]!));
  const lostKeys = new Set<string>();
  for (const settled of readBack) {
    assert.equal(settled.status, 'fulfilled');
    const answer = (settled as PromiseFulfilledResult<Answer>).value;
    const ids = acknowledged.get(answer.key)!;
    if (answer.status !== 200 || !ids.has(answer.id!)) lostKeys.add(answer.key);
    assert.ok(ok(answer), `read-back of ${answer.key} through process ${answer.server}: ${answer.status} ${answer.errorCode ?? ''}`);
  }

  // 4. The database agrees: one row per key, the acknowledged one.
  const rows = await formation.sql<{ external_id: string; id: string }>(
    run.newPrimary,
    'SELECT external_id, id FROM meetings WHERE external_id = ANY($1)',
    [keys],
  );
  const rowsByKey = new Map<string, string[]>();
  for (const row of rows) rowsByKey.set(row.external_id, [...(rowsByKey.get(row.external_id) ?? []), row.id]);
  for (const key of keys) {
    const stored = rowsByKey.get(key) ?? [];
    if (stored.length !== 1 || !acknowledged.get(key)!.has(stored[0]!)) lostKeys.add(key);
  }
  const duplicates = await formation.sql(
    run.newPrimary,
    `SELECT tenant_id, organizer_id, external_id, count(*)::int AS n FROM meetings
     WHERE external_id IS NOT NULL GROUP BY tenant_id, organizer_id, external_id HAVING count(*) > 1`,
  );

  const figures = {
    scenario: run.label,
    from: run.oldPrimary.name,
    to: run.newPrimary.name,
    requests: answers.length,
    acknowledged: answers.filter(ok).length,
    acknowledgedKeys: acknowledged.size,
    unavailable503: answers.filter((a) => a.status === 503).length,
    lost: lostKeys.size,
    duplicated: split.length + duplicates.length,
    secondsWithoutSuccessfulWrite: Number((longestWithoutWrite(run) / 1000).toFixed(1)),
    slowestAnswerMs: slowest,
    healthz503: run.healthAnswers.filter((h) => h.status === 503).length,
    secondsFailoverToWritable: Number(((run.writableAt - run.actionAt) / 1000).toFixed(1)),
    secondsWritableToFirstWrite: servers.map((_, server) => {
      const first = Math.min(...answers.filter((a) => a.server === server && a.status === 201 && a.startedAt > run.writableAt).map((a) => a.endedAt));
      return Number(((first - run.writableAt) / 1000).toFixed(1));
    }),
  };
  t.diagnostic(`figures ${JSON.stringify(figures)}`);
  console.log(`postgres-ha figures: ${JSON.stringify(figures)}`);

  assert.deepEqual(split, [], 'keys acknowledged with two different ids');
  assert.deepEqual(duplicates, [], 'keys with two meetings');
  assert.deepEqual([...lostKeys].slice(0, 10), [], `${lostKeys.size} acknowledged keys did not read back with their id`);

  // 5. The same processes (no restart) create new meetings on the new primary.
  for (const [index, server] of servers.entries()) {
    assert.equal(server.child.exitCode, null, `process ${index} exited`);
    assert.equal(server.child.signalCode, null, `process ${index} was killed`);
    const fresh = await createOrGet(index, `${run.label}-after-${index}`);
    assert.equal(fresh.status, 201, `a new meeting through process ${index}: ${fresh.status} ${fresh.errorCode ?? ''}`);
    assert.equal((await formation.sql(run.newPrimary, 'SELECT 1 FROM meetings WHERE id = $1', [fresh.id])).length, 1);
  }
  return figures;
}

/** No graph-meetings connection is left on a node that is no longer the primary. */
async function assertNoConnectionsLeft(node: FormationNode) {
  const rows = await formation.sql<{ n: number }>(node, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'graph-meetings'");
  assert.deepEqual(rows, [{ n: 0 }], `graph-meetings connections left on ${node.name}, now a standby`);
}

// ---------------------------------------------------------------------------------------------

describe('PostgreSQL HA: two serve processes on a pg_auto_failover formation', () => {
  before(async () => {
    issuer = await TestIssuer.start();
    dir = tempDir();
    const directoryFile = writeDirectory(dir, DIRECTORY);
    formation = await startFormation({ dataNodes: 3 });
    const args = ['--port', '0', '--db', formation.url, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directoryFile, '--log-level', 'warn'];
    servers.push(await startCliServer(args, { timeoutMs: 30_000 }));
    servers.push(await startCliServer(args, { timeoutMs: 30_000 }));
    token = await issuer.userToken(ALICE);
  });

  after(async () => {
    await killAllChildren();
    await formation?.destroy();
    await issuer?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let killed: FormationNode | undefined;

  test('they run on the URL `pg_autoctl show uri` prints (a user added); replication is synchronous', async () => {
    assert.match(formation.shownUri, /^postgres:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/graph_meetings\?target_session_attrs=read-write&sslmode=prefer$/);
    assert.equal(formation.url, formation.shownUri.replace('postgres://', 'postgres://postgres@'));
    const primary = await formation.waitStable();
    const [settings] = await formation.sql(primary, "SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS commit");
    assert.match(settings.names, /^ANY 1 \(/);
    assert.equal(settings.commit, 'on');
    for (const index of servers.keys()) assert.equal((await createOrGet(index, `smoke-${index}`)).status, 201);
  });

  test('a primary that turns read-only under the pool: 503 serviceNotAvailable (never a 500), /healthz 503, writes resume without restart', async () => {
    const primary = await formation.waitStable();
    const setReadOnly = async (on: boolean) => {
      await formation.sql(primary, on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only');
      await formation.sql(primary, 'SELECT pg_reload_conf()');
    };
    await setReadOnly(true);
    try {
      // The pooled connections were writable a moment ago; now each write meets 25006.
      await sleep(500);
      for (const index of servers.keys()) {
        const answer = await createOrGet(index, `read-only-${index}`);
        assert.equal(answer.status, 503, `process ${index}: ${answer.status} ${answer.errorCode ?? ''}`);
        assert.equal(answer.errorCode, 'serviceNotAvailable');
        assert.match(answer.retryAfter ?? '', /^[1-9]\d*$/);
        // The pool was dropped and no host is writable: the health check says so.
        const check = await health(index);
        assert.equal(check.status, 503);
        assert.match(check.retryAfter ?? '', /^[1-9]\d*$/);
      }
    } finally {
      await setReadOnly(false);
    }
    for (const index of servers.keys()) {
      const deadline = Date.now() + 10_000;
      let answer = await createOrGet(index, `read-only-${index}`);
      while (answer.status !== 201 && Date.now() < deadline) {
        await sleep(200);
        answer = await createOrGet(index, `read-only-${index}`);
      }
      assert.equal(answer.status, 201, `process ${index} after the primary is writable again: ${answer.status}`);
    }
  });

  test('a commit no synchronous standby confirmed is a 503, never a success; createOrGet\'s retry gets the meeting', async () => {
    const primary = await formation.waitStable();
    const [{ names }] = await formation.sql(primary, "SELECT current_setting('synchronous_standby_names') AS names");
    const waitingCommits = () =>
      formation.sql<{ pid: number }>(
        primary,
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'graph-meetings' AND wait_event = 'SyncRep'",
      );
    // A standby name nobody has: every commit is written locally, then waits for that standby.
    await formation.sql(primary, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
    await formation.sql(primary, 'SELECT pg_reload_conf()');
    let cancelled: Answer;
    let timedOut: Answer;
    try {
      await sleep(300);
      // 1. The wait is cancelled (pg_cancel_backend, as an operator or a pooler might): PostgreSQL
      //    then reports the commit as a success, with only a warning that it was not replicated.
      const pending = createOrGet(0, 'unconfirmed-cancelled');
      const [waiting] = await pollUntil('the commit to wait for the standby', 5_000, async () => {
        const rows = await waitingCommits();
        return rows.length > 0 ? rows : undefined;
      });
      await formation.sql(primary, 'SELECT pg_cancel_backend($1)', [waiting!.pid]);
      cancelled = await pending;
      // 2. Nobody cancels it: the wait has no server-side timeout (statement_timeout no longer runs at
      //    commit), so the client gives up after statement timeout + 1 s, outcome unknown.
      timedOut = await createOrGet(1, 'unconfirmed-timed-out');
    } finally {
      await formation.sql(primary, `ALTER SYSTEM SET synchronous_standby_names = '${names.replace(/'/g, "''")}'`);
      await formation.sql(primary, 'SELECT pg_reload_conf()');
    }
    for (const answer of [cancelled, timedOut]) {
      assert.equal(answer.status, 503, `${answer.key}: ${answer.status} ${answer.errorCode ?? ''}`);
      assert.equal(answer.errorCode, 'serviceNotAvailable');
      assert.match(answer.retryAfter ?? '', /^[1-9]\d*$/);
      assert.ok(answer.endedAt - answer.startedAt < ANSWER_BOUND_MS);
      // The client could not know; the row did commit on the primary (once replication resumed for
      // the one still waiting). createOrGet's retry, through either process, returns that meeting.
      const [row] = await pollUntil(`${answer.key} to be committed`, 10_000, async () => {
        const rows = await formation.sql<{ id: string }>(primary, 'SELECT id FROM meetings WHERE external_id = $1', [answer.key]);
        return rows.length > 0 ? rows : undefined;
      });
      for (const index of servers.keys()) {
        let retry = await createOrGet(index, answer.key);
        for (const deadline = Date.now() + 10_000; retry.status === 503 && Date.now() < deadline; ) {
          await sleep(200);
          retry = await createOrGet(index, answer.key);
        }
        assert.equal(retry.status, 200, `retry of ${answer.key} through process ${index}: ${retry.status} ${retry.errorCode ?? ''}`);
        assert.equal(retry.id, row!.id);
      }
    }
  });

  test('planned failover (perform failover) under load: nothing acknowledged is lost or duplicated', async (t) => {
    const run = await failoverUnderLoad('planned', () => formation.performFailover());
    await verify(t, run);
    // The old primary is a standby now: its pooled connections were dropped, none came back.
    await formation.waitStable();
    await assertNoConnectionsLeft(run.oldPrimary);
  });

  test('unplanned failover (kill -9 of the primary\'s postgres and pg_autoctl) under load: nothing acknowledged is lost or duplicated', async (t) => {
    const run = await failoverUnderLoad('unplanned', (primary) => {
      killed = primary;
      formation.kill(primary.name);
    });
    await verify(t, run);
    // Losing the primary left no writable server for a while: /healthz said so.
    assert.ok(run.healthAnswers.some((h) => h.status === 503), '/healthz answered 503 while there was no primary');
  });

  test('the killed node rejoins as a standby; a failover back to it under load loses nothing', async (t) => {
    assert.ok(killed, 'the unplanned failover ran');
    formation.restart(killed.name);
    await formation.waitFor(`${killed.name} to rejoin as a secondary`, (states) => states.some((s) => s.name === killed!.name && s.reported === 'secondary'));
    await formation.waitStable();
    const run = await failoverUnderLoad('back', () => formation.performPromotion(killed!.name), killed.name);
    await verify(t, run);
    await formation.waitStable();
    await assertNoConnectionsLeft(run.oldPrimary);
  });
});

// ---------------------------------------------------------------------------------------------
// The --db URL: libpq's multi-host form, parsed without a driver; sslmode as libpq reads it.

describe('multi-host --db URLs', () => {
  test('libpq URIs are parsed as libpq does: host list, default port, percent-encoding, parameters', () => {
    assert.deepEqual(parseConninfo('postgres://127.0.0.1:5001,127.0.0.1:5002/graph_meetings?target_session_attrs=read-write&sslmode=prefer'), {
      hosts: [{ host: '127.0.0.1', port: 5001 }, { host: '127.0.0.1', port: 5002 }],
      database: 'graph_meetings',
      sslmode: 'prefer',
      targetSessionAttrs: 'read-write',
    });
    assert.deepEqual(
      parseConninfo('postgresql://us%40er:p%40ss%3Aw@[::1]:5433,db2,db3:6000/my%20db?connect_timeout=1&target_session_attrs=primary&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x'),
      {
        hosts: [{ host: '::1', port: 5433 }, { host: 'db2', port: 5432 }, { host: 'db3', port: 6000 }],
        user: 'us@er',
        password: 'p@ss:w',
        database: 'my db',
        connectTimeoutMs: 2_000, // libpq raises 1 s to 2 s
        sslmode: 'verify-full',
        sslrootcert: '/etc/ca.pem',
        targetSessionAttrs: 'primary',
        applicationName: 'x',
      },
    );
    // Defaults: sslmode prefer (libpq's); one host means any server, several mean the writable one.
    assert.deepEqual(parseConninfo('postgres://u@db/meetings'), {
      hosts: [{ host: 'db', port: 5432 }], user: 'u', database: 'meetings', sslmode: 'prefer', targetSessionAttrs: 'any',
    });
    assert.equal(parseConninfo('postgres://u@a,b/m').targetSessionAttrs, 'read-write');
    assert.equal(parseConninfo('postgres://u@a/m?target_session_attrs=any&connect_timeout=0').connectTimeoutMs, 0);
    // host= and port= parameters, a Unix-socket directory among them.
    assert.deepEqual(parseConninfo('postgres:///m?host=/var/run/postgresql,db2&port=5432,5433').hosts, [
      { host: '/var/run/postgresql', port: 5432 },
      { host: 'db2', port: 5433 },
    ]);
    assert.equal(parseConninfo('postgres://a/m?ssl=true').sslmode, 'require');
  });

  test('a bad URL is one configuration error naming the problem, never the password', () => {
    const cases: [string, RegExp][] = [
      ['postgres://u:s3cret@h1:5432,h2:99999/db', /invalid port '99999'/],
      ['postgres://u:s3cret@h1,,h2/db', /empty host name/],
      ['postgres://u:s3cret@/db', /no host given/],
      ['postgres://u:s3cret@h/db?target_session_attrs=standby', /unsupported target_session_attrs 'standby'/],
      ['postgres://u:s3cret@h/db?sslmode=sometimes', /invalid sslmode 'sometimes'/],
      ['postgres://u:s3cret@h/db?keepalives=1', /unsupported URI query parameter 'keepalives'/],
      ['postgres://u:s3cret@h/db?connect_timeout=soon', /invalid connect_timeout/],
      ['postgres://u:s3cret@[::1/db', /unterminated IPv6/],
    ];
    for (const [url, problem] of cases) {
      assert.throws(() => parseDatabaseUrl(url), (error: Error) => {
        assert.ok(error instanceof InvalidDatabaseUrl, String(error));
        assert.match(error.message, problem);
        assert.doesNotMatch(error.message, /s3cret/);
        assert.match(error.message, /postgres:\/\/u:\*\*\*@/);
        return true;
      });
    }
    assert.equal(redactPassword('postgres://u:s3cr@t@h1:1,h2:2/db?password=s3cret&sslmode=disable'), 'postgres://u:***@h1:1,h2:2/db?password=***&sslmode=disable');
    assert.equal(redactPassword('postgres://h1:1,h2:2/db'), 'postgres://h1:1,h2:2/db');
  });

  test('no reachable host: the start-up error names every host tried, not the password', async () => {
    const url = 'postgres://u:s3cret@127.0.0.1:9,127.0.0.1:19/db?connect_timeout=2';
    await assert.rejects(openStore(url), (error: Error) => {
      assert.ok(error instanceof DatabaseUnreachable, String(error));
      assert.match(error.message, /127\.0\.0\.1:9: .*ECONNREFUSED/);
      assert.match(error.message, /127\.0\.0\.1:19: .*ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});

describe('sslmode against a server with TLS and without', () => {
  let cluster: Cluster;
  let certs: string;

  before(async () => {
    cluster = await startCluster();
    certs = tempDir();
    // A self-signed server certificate for the name "localhost" only (not the IP), and another CA.
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', 'server.key', '-out', 'server.crt');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=other', '-keyout', 'other.key', '-out', 'other.crt');
    const data = join(cluster.dir, 'data');
    for (const file of ['server.crt', 'server.key']) {
      copyFileSync(join(certs, file), join(data, file));
      chmodSync(join(data, file), 0o600);
      const { uid, gid } = statSync(data);
      chownSync(join(data, file), uid, gid);
    }
    await setSsl(true);
  });
  after(() => {
    cluster?.destroy();
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  async function setSsl(on: boolean) {
    const admin = new pg.Client({ connectionString: cluster.url, ssl: false });
    await admin.connect();
    try {
      await admin.query(`ALTER SYSTEM SET ssl = ${on ? 'on' : 'off'}`);
      await admin.query('SELECT pg_reload_conf()');
    } finally {
      await admin.end();
    }
    await sleep(300);
  }

  /** Whether a connection made through the layer with these URL parameters is encrypted. */
  async function encrypted(host: string, params: string): Promise<boolean> {
    const pool = new PrimaryPool(parseConninfo(`postgres://postgres@${host}:${cluster.port}/graph_meetings?${params}`), {
      poolSize: 1,
      statementTimeoutMs: 5_000,
      connectTimeoutMs: 3_000,
      applicationName: 'graph-meetings-test',
    });
    try {
      const { rows } = await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      return rows[0]!.ssl;
    } finally {
      await pool.end();
    }
  }

  test('with TLS on the server: prefer and require encrypt, disable and allow do not; verify-ca and verify-full check the certificate', async () => {
    const ca = `sslrootcert=${encodeURIComponent(join(certs, 'server.crt'))}`;
    const otherCa = `sslrootcert=${encodeURIComponent(join(certs, 'other.crt'))}`;
    assert.equal(await encrypted('127.0.0.1', 'sslmode=disable'), false);
    assert.equal(await encrypted('127.0.0.1', 'sslmode=allow'), false);
    assert.equal(await encrypted('127.0.0.1', 'sslmode=prefer'), true);
    assert.equal(await encrypted('127.0.0.1', ''), true, 'no sslmode is prefer');
    assert.equal(await encrypted('127.0.0.1', 'sslmode=require'), true);
    assert.equal(await encrypted('127.0.0.1', `sslmode=verify-ca&${ca}`), true);
    await assert.rejects(encrypted('127.0.0.1', `sslmode=verify-ca&${otherCa}`), /certificate/i);
    // The certificate names localhost, not 127.0.0.1: verify-full refuses the IP, accepts the name.
    await assert.rejects(encrypted('127.0.0.1', `sslmode=verify-full&${ca}`), /altnames|certificate|Hostname/i);
    assert.equal(await encrypted('localhost', `sslmode=verify-full&${ca}`), true);
  });

  test('without TLS on the server: prefer and allow fall back to a plain connection, require fails', async () => {
    await setSsl(false);
    assert.equal(await encrypted('127.0.0.1', 'sslmode=prefer'), false);
    assert.equal(await encrypted('127.0.0.1', 'sslmode=allow'), false);
    await assert.rejects(encrypted('127.0.0.1', 'sslmode=require'), /does not support SSL/);
  });
});
