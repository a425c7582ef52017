// /metrics in Prometheus' text format, over real HTTP: the requests just made counted by route
// template, method and status (never by raw URL), their latency, Graph errors by code, meetings
// created, SQLite group-commit batch sizes, PostgreSQL pool use and process metrics; off the public
// surface by default; --metrics, --metrics-port and --workers through the real CLI.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { CreateOrGetPostRequestBody } from '@microsoft/msgraph-sdk-users/users/item/onlineMeetings/createOrGet/index.js';
import { type CliServer, killAllChildren, runCli, startCliServer } from './helpers/cli.js';
import { ALICE, BOOKING_APP, DIRECTORY } from './helpers/fixtures.js';
import { graphSdk } from './helpers/graph-client.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { parsePrometheus, type Sample, valueOf } from './helpers/prometheus.js';
import { type RunningServer, startServer, tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings';
const CREATE_OR_GET = `${ME}/createOrGet`;
const REQUESTS = 'graph_meetings_http_requests_total';
const LATENCY = 'graph_meetings_http_request_duration_seconds';
const ERRORS = 'graph_meetings_graph_errors_total';
const CREATED = 'graph_meetings_meetings_created_total';
const BATCH = 'graph_meetings_sqlite_commit_batch_size';
const PROMETHEUS_TEXT = /^text\/plain; version=0\.0\.4; charset=utf-8$/;

let issuer: TestIssuer;
let server: RunningServer;
let aliceToken: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY, config: { metrics: true } });
  aliceToken = await issuer.userToken(ALICE);
});
after(async () => {
  await killAllChildren();
  await server?.close();
  await issuer?.stop();
});

async function scrapeUrl(url: string): Promise<Sample[]> {
  const response = await fetch(url);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  assert.match(response.headers.get('content-type') ?? '', PROMETHEUS_TEXT);
  return parsePrometheus(text);
}

const scrape = (target = server) => scrapeUrl(`${target.url}/metrics`);

/** How much each of `series` moved while `work` ran. */
async function deltas(series: Record<string, [string, Record<string, string>]>, work: () => Promise<void>, read = () => scrape()) {
  const before = await read();
  await work();
  const after = await read();
  return Object.fromEntries(Object.entries(series).map(([key, [name, labels]]) => [key, valueOf(after, name, labels) - valueOf(before, name, labels)]));
}

async function call(path: string, init: { token?: string; json?: unknown; method?: string } = {}, target = server) {
  const response = await target.request(path, { token: init.token, json: init.json, method: init.method ?? (init.json === undefined ? 'GET' : 'POST') });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
}

async function createOrGet(externalId = randomUUID(), token = aliceToken) {
  const created = await call(CREATE_OR_GET, { token, json: { externalId, subject: 'Metrics' } });
  assert.ok(created.status === 201 || created.status === 200, created.text);
  return created;
}

describe('on the main port with --metrics', () => {
  test('counts the requests just made by route template, method and status, with their latency', async () => {
    let meetingId = '';
    const externalIds = [randomUUID(), randomUUID(), randomUUID()];
    const moved = await deltas(
      {
        created: [REQUESTS, { route: CREATE_OR_GET, method: 'POST', status: '201' }],
        read: [REQUESTS, { route: `${ME}/:meetingId`, method: 'GET', status: '200' }],
        createdTimed: [`${LATENCY}_count`, { route: CREATE_OR_GET, method: 'POST' }],
        createdInf: [`${LATENCY}_bucket`, { route: CREATE_OR_GET, method: 'POST', le: '+Inf' }],
        createdSeconds: [`${LATENCY}_sum`, { route: CREATE_OR_GET, method: 'POST' }],
        readTimed: [`${LATENCY}_count`, { route: `${ME}/:meetingId`, method: 'GET' }],
      },
      async () => {
        for (const externalId of externalIds) {
          const created = await createOrGet(externalId);
          assert.equal(created.status, 201, created.text);
          meetingId = created.body.id;
        }
        for (let i = 0; i < 2; i++) {
          const read = await call(`${ME}/${encodeURIComponent(meetingId)}`, { token: aliceToken });
          assert.equal(read.status, 200, read.text);
        }
      },
    );
    assert.deepEqual(
      { ...moved, createdSeconds: moved.createdSeconds! > 0 },
      { created: 3, read: 2, createdTimed: 3, createdInf: 3, createdSeconds: true, readTimed: 2 },
    );

    // Series are named by template: no id from the URLs made it into a label.
    const samples = await scrape();
    const labelValues = samples.filter((s) => s.name.startsWith('graph_meetings_http_')).flatMap((s) => Object.values(s.labels));
    for (const raw of [meetingId, encodeURIComponent(meetingId), ...externalIds]) {
      assert.ok(!labelValues.some((value) => value.includes(raw)), `a label holds ${raw}`);
    }
    for (const route of new Set(samples.filter((s) => s.name === REQUESTS).map((s) => s.labels.route!))) {
      assert.ok(route === '(unmatched)' || route.startsWith('/'), route);
    }
  });

  test('a call through the Graph SDK is counted under its route template, not the user id', async () => {
    const sdk = graphSdk(server.url, () => issuer.appToken(BOOKING_APP));
    const route = '/v1.0/users/:userId/onlineMeetings/createOrGet';
    const moved = await deltas({ created: [REQUESTS, { route, method: 'POST', status: '201' }] }, async () => {
      const body: CreateOrGetPostRequestBody = { externalId: randomUUID(), subject: 'Through the SDK' };
      const meeting = await sdk.client.users.byUserId(ALICE.id).onlineMeetings.createOrGet.post(body);
      assert.equal(meeting?.subject, 'Through the SDK');
    });
    assert.equal(moved.created, 1);
    const samples = await scrape();
    assert.ok(!samples.some((s) => Object.values(s.labels).some((value) => value.includes(ALICE.id))));
  });

  test('counts Graph errors by code and status', async () => {
    const { body: meeting } = await createOrGet();
    const path = `${ME}/${encodeURIComponent(meeting.id)}`;
    assert.equal((await call(path, { token: aliceToken, method: 'DELETE' })).status, 204);
    const codes: string[] = [];
    const moved = await deltas(
      {
        unauthenticated: [ERRORS, { code: 'InvalidAuthenticationToken', status: '401' }],
        unknownPath: [ERRORS, { code: 'BadRequest', status: '400' }],
        notFound: [ERRORS, { code: 'NotFound', status: '404' }],
        unmatched: [REQUESTS, { route: '(unmatched)', method: 'GET', status: '400' }],
        deletedRead: [REQUESTS, { route: `${ME}/:meetingId`, method: 'GET', status: '404' }],
      },
      async () => {
        for (const [target, token] of [[ME, undefined], ['/v1.0/noSuchThing', aliceToken], [path, aliceToken]] as const) {
          codes.push((await call(target, { token })).body.error.code);
        }
      },
    );
    assert.deepEqual(codes, ['InvalidAuthenticationToken', 'BadRequest', 'NotFound']);
    assert.deepEqual(moved, { unauthenticated: 1, unknownPath: 1, notFound: 1, unmatched: 1, deletedRead: 1 });
  });

  test('counts meetings created, by API version; a createOrGet that finds its meeting creates none', async () => {
    const externalId = randomUUID();
    const moved = await deltas(
      { v1: [CREATED, { version: 'v1.0' }], beta: [CREATED, { version: 'beta' }] },
      async () => {
        assert.equal((await createOrGet(externalId)).status, 201);
        assert.equal((await createOrGet(externalId)).status, 200);
        assert.equal((await createOrGet()).status, 201);
        const beta = await call('/beta/me/onlineMeetings', { token: aliceToken, json: { subject: 'Beta' } });
        assert.equal(beta.status, 201, beta.text);
        const refused = await call(ME, { token: aliceToken, json: { subject: 42 } });
        assert.equal(refused.status, 400, refused.text);
      },
    );
    assert.deepEqual(moved, { v1: 2, beta: 1 });
  });

  test('SQLite group commits: the batch-size histogram holds every meeting inserted', async () => {
    const count = 8;
    const moved = await deltas({ batches: [`${BATCH}_count`, {}], meetings: [`${BATCH}_sum`, {}] }, async () => {
      const created = await Promise.all(Array.from({ length: count }, () => createOrGet()));
      assert.deepEqual(created.map((c) => c.status), Array(count).fill(201));
    });
    assert.equal(moved.meetings, count);
    assert.ok(moved.batches! >= 1 && moved.batches! <= count, `batches: ${moved.batches}`);
  });

  test("process metrics, and each of the server's metrics declared with its type", async () => {
    const response = await fetch(`${server.url}/metrics`);
    const text = await response.text();
    for (const [name, type] of [
      [REQUESTS, 'counter'],
      [LATENCY, 'histogram'],
      [ERRORS, 'counter'],
      [CREATED, 'counter'],
      [BATCH, 'histogram'],
      ['process_cpu_user_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
      ['nodejs_eventloop_lag_seconds', 'gauge'],
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    }
    const samples = parsePrometheus(text);
    assert.ok(valueOf(samples, 'process_resident_memory_bytes') > 0);
    // SQLite has no connection pool to report.
    assert.ok(!samples.some((s) => s.name.startsWith('graph_meetings_db_pool_')));
  });
});

test('without --metrics, /metrics is an unknown path like any other', async () => {
  const plain = await startServer({ issuer, directory: DIRECTORY });
  try {
    const metrics = await call('/metrics', {}, plain);
    const unknown = await call('/noSuchPath', {}, plain);
    assert.equal(metrics.status, 400, metrics.text);
    assert.equal(metrics.status, unknown.status);
    assert.equal(metrics.body.error.code, unknown.body.error.code);
    assert.equal(metrics.body.error.message, 'Invalid version: metrics');
  } finally {
    await plain.close();
  }
});

describe('on PostgreSQL', () => {
  let pgServer: RunningServer;
  before(async () => {
    const db = await freshDatabase((await testPostgres()).url);
    pgServer = await startServer({ issuer, directory: DIRECTORY, config: { db, dbPool: 3, metrics: true } });
  });
  after(async () => {
    await pgServer?.close();
  });

  test('reports the connection pool: open, idle and waiting', async () => {
    const created = await call(CREATE_OR_GET, { token: aliceToken, json: { externalId: randomUUID() } }, pgServer);
    assert.equal(created.status, 201, created.text);
    const samples = await scrape(pgServer);
    const open = valueOf(samples, 'graph_meetings_db_pool_connections');
    const idle = valueOf(samples, 'graph_meetings_db_pool_idle_connections');
    assert.ok(open >= 1 && open <= 3, `open: ${open}`);
    // Nothing is in flight while /metrics answers: every open connection is idle.
    assert.equal(idle, open);
    assert.equal(valueOf(samples, 'graph_meetings_db_pool_waiting_requests'), 0);
    assert.equal(valueOf(samples, `${BATCH}_count`), 0);
    assert.equal(valueOf(samples, CREATED, { version: 'v1.0' }), 1);
  });
});

describe('through the CLI', () => {
  let dir: string;
  let serveArgs: string[];
  before(() => {
    dir = tempDir();
    serveArgs = ['--port', '0', '--auth', 'oidc', '--issuer', issuer.url, '--directory', writeDirectory(dir, DIRECTORY), '--log-level', 'warn'];
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const metricsUrlOf = (cli: CliServer) => {
    const match = /^ {2}metrics: (http:\/\/\S+\/metrics)/m.exec(cli.stdout());
    assert.ok(match, cli.stdout());
    return match[1]!;
  };

  /** GET on a connection of its own, so that a cluster spreads the requests over its workers. */
  const getOnNewConnection = (url: string) =>
    new Promise<number>((resolve, reject) => {
      get(url, { agent: false }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode!));
      }).on('error', reject);
    });

  test('--metrics-port serves /metrics on that port only, counting the main port\'s requests', async () => {
    const cli = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/port.db`, '--metrics-port', '0']);
    try {
      const metricsUrl = metricsUrlOf(cli);
      assert.notEqual(new URL(metricsUrl).port, new URL(cli.url).port);
      const onMain = await cli.request('/metrics');
      assert.equal(onMain.status, 400);
      assert.equal(((await onMain.json()) as { error: { code: string } }).error.code, 'BadRequest');
      assert.equal((await fetch(metricsUrl.replace(/\/metrics$/, '/v1.0/me/onlineMeetings'))).status, 404);

      const moved = await deltas(
        { unauthenticated: [REQUESTS, { route: ME, method: 'GET', status: '401' }], scrapesOnMain: [REQUESTS, { route: '(unmatched)' }] },
        async () => {
          for (let i = 0; i < 3; i++) assert.equal((await cli.request(ME)).status, 401);
        },
        () => scrapeUrl(metricsUrl),
      );
      // Scrapes on the metrics port are not requests of the main server.
      assert.deepEqual(moved, { unauthenticated: 3, scrapesOnMain: 0 });
    } finally {
      await cli.stop();
    }
  });

  test('GRAPH_MEETINGS_METRICS (--metrics) serves /metrics on the main port', async () => {
    const cli = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/main.db`], { env: { GRAPH_MEETINGS_METRICS: '1' } });
    try {
      assert.equal(metricsUrlOf(cli), `${cli.url}/metrics`);
      const samples = await scrapeUrl(`${cli.url}/metrics`);
      // The server's own readiness probes were counted.
      assert.ok(valueOf(samples, REQUESTS, { route: '/healthz', method: 'GET', status: '200' }) >= 1);
    } finally {
      await cli.stop();
    }
  });

  test('a bad --metrics-port stops the start with one line', async () => {
    for (const [args, message] of [
      [['--metrics-port', '70000'], "invalid --metrics-port '70000'"],
      [['--port', '8123', '--metrics-port', '8123'], '--metrics-port must differ from --port'],
      [['--metrics-port', 'nine'], 'expected a whole number for --metrics-port'],
    ] as const) {
      const result = await runCli(['serve', '--port', '0', '--db', `sqlite:${dir}/bad.db`, ...args]);
      assert.notEqual(result.code, 0);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.ok(result.stderr.includes(message), result.stderr);
      assert.ok(!result.stdout.includes('listening on'));
    }
  });

  test('--workers 2 with --metrics-port: the primary serves the sum of its workers', async () => {
    const cli = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/cluster.db`, '--workers', '2', '--metrics-port', '0'], { timeoutMs: 40_000 });
    try {
      assert.match(cli.stdout(), /metrics: \S+ \(the sum of all 2 worker processes\)/);
      const metricsUrl = metricsUrlOf(cli);
      const moved = await deltas(
        { unauthenticated: [REQUESTS, { route: ME, method: 'GET', status: '401' }] },
        async () => {
          for (let i = 0; i < 6; i++) assert.equal(await getOnNewConnection(`${cli.url}${ME}`), 401);
        },
        () => scrapeUrl(metricsUrl),
      );
      assert.equal(moved.unauthenticated, 6);
    } finally {
      await cli.stop();
    }
  });
});
