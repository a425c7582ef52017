// Several real `graph-meetings serve` processes sharing one SQLite file: the createOrGet key holds
// across processes, start-up races are safe, SIGTERM drains in-flight requests, data survives restarts.
import assert from 'node:assert/strict';
import { Agent, type ClientRequest, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { type CliServer, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { ALICE, BOB, CAROL, CRM_APP, DIRECTORY } from './helpers/fixtures.js';
import { tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';

let issuer: TestIssuer;
let dir: string;
let directoryFile: string;

before(async () => {
  issuer = await TestIssuer.start();
  dir = tempDir();
  directoryFile = writeDirectory(dir, DIRECTORY);
});
after(async () => {
  await killAllChildren();
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const oidcArgs = (dbPath: string) => [
  '--port', '0', '--db', `sqlite:${dbPath}`, '--auth', 'oidc', '--issuer', issuer.url,
  '--directory', directoryFile, '--log-level', 'warn',
];

/** Rows stored for one createOrGet key, read straight from the file. */
function rowsForKey(dbPath: string, user: { tenantId: string; id: string }, externalId: string) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare<[string, string, string], { id: string }>(
        'SELECT id FROM meetings WHERE tenant_id = ? AND organizer_id = ? AND external_id = ?',
      )
      .all(user.tenantId, user.id, externalId);
  } finally {
    db.close();
  }
}

interface Outcome {
  status: number;
  id: string;
}

async function createOrGet(server: CliServer, token: string, externalId: string): Promise<Outcome> {
  const response = await server.request(CREATE_OR_GET, { token, json: { externalId } });
  const body = (await response.json()) as { id?: string; externalId?: string; error?: unknown };
  assert.ok(response.status === 200 || response.status === 201, `unexpected ${response.status}: ${JSON.stringify(body)}`);
  assert.equal(body.externalId, externalId);
  return { status: response.status, id: body.id! };
}

describe('two processes on one SQLite file', () => {
  const dbPath = () => join(dir, 'shared.db');
  let servers: CliServer[];
  let aliceToken: string;

  before(async () => {
    // One after the other: the racing start is its own test below.
    servers = [await startCliServer(oidcArgs(dbPath())), await startCliServer(oidcArgs(dbPath()))];
    aliceToken = await issuer.userToken(ALICE);
  });
  after(async () => {
    for (const server of servers ?? []) await server.stop().catch(() => undefined);
  });

  test('100 concurrent first createOrGet calls for one key over both processes: one 201, one row', async () => {
    const key = 'race-one-key';
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => createOrGet(servers[i % 2]!, aliceToken, key)),
    );
    assert.equal(outcomes.filter((o) => o.status === 201).length, 1);
    assert.equal(outcomes.filter((o) => o.status === 200).length, 99);
    assert.equal(new Set(outcomes.map((o) => o.id)).size, 1, 'every caller got the same meeting');
    assert.deepEqual(rowsForKey(dbPath(), ALICE, key), [{ id: outcomes[0]!.id }]);
  });

  test('200 concurrent calls over 40 keys on both processes: 40 × 201, 40 rows', async () => {
    const keys = Array.from({ length: 40 }, (_, k) => `burst-${k}`);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => createOrGet(servers[i % 2]!, aliceToken, keys[i % 40]!)),
    );
    assert.equal(outcomes.filter((o) => o.status === 201).length, 40);
    assert.equal(outcomes.filter((o) => o.status === 200).length, 160);
    for (const [k, key] of keys.entries()) {
      const ids = new Set(outcomes.filter((_, i) => i % 40 === k).map((o) => o.id));
      assert.equal(ids.size, 1, `one meeting for ${key}`);
      assert.deepEqual(rowsForKey(dbPath(), ALICE, key), [{ id: [...ids][0] }]);
    }
    assert.equal(new Set(outcomes.map((o) => o.id)).size, 40);
  });

  test('a meeting read again and again on one process: a change or delete through the other is seen by its next request', async () => {
    const [reader, writer] = servers;
    const key = 'changed-on-the-other';
    const item = (id: string) => `/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`;
    const subjectOn = async (server: CliServer, id: string) => {
      const response = await server.request(item(id), { token: aliceToken });
      return response.status === 200 ? ((await response.json()) as { subject: string }).subject : response.status;
    };
    let { id } = await createOrGet(reader!, aliceToken, key);
    for (let round = 0; round < 10; round++) {
      // Read twice on the reader (the second read may be answered from its memory), then change on the writer.
      await subjectOn(reader!, id);
      await createOrGet(reader!, aliceToken, key);
      const patched = await writer!.request(item(id), { method: 'PATCH', token: aliceToken, json: { subject: `round ${round}` } });
      assert.equal(patched.status, 200);
      assert.equal(await subjectOn(reader!, id), `round ${round}`);
      const viaKey = await reader!.request(CREATE_OR_GET, { token: aliceToken, json: { externalId: key } });
      assert.equal(((await viaKey.json()) as { subject: string }).subject, `round ${round}`);
      if (round % 3 === 2) {
        assert.equal((await writer!.request(item(id), { method: 'DELETE', token: aliceToken })).status, 204);
        assert.equal(await subjectOn(reader!, id), 404);
        const recreated = await createOrGet(reader!, aliceToken, key);
        assert.equal(recreated.status, 201, 'the key is free once its meeting is deleted');
        id = recreated.id;
      }
    }
  });

  test('while another process holds the write lock, a PATCH, a create and a control write wait for it and the server keeps answering reads', async () => {
    // Its own process, with the control API on: adding a fault rule is a write on the main connection.
    const adminKey = 'lock-test-admin-key';
    const server = await startCliServer([...oidcArgs(dbPath()), '--admin-key', adminKey]);
    const { id } = await createOrGet(server, aliceToken, 'lock-held-elsewhere');
    const item = `/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`;
    // This test process is the other process: it takes the write lock and keeps it.
    const other = new Database(dbPath());
    other.exec('BEGIN IMMEDIATE');
    let released = false;
    try {
      const settled: string[] = [];
      const readsAnswered = async () => {
        for (let round = 0; round < 3; round++) {
          const read = await within(server.request(item, { token: aliceToken }), 5_000, 'a GET while writes wait for the lock');
          assert.equal(read.status, 200);
          assert.equal(((await read.json()) as { subject: string | null }).subject, null, 'the PATCH has not committed');
          const existing = await within(createOrGet(server, aliceToken, 'lock-held-elsewhere'), 5_000, 'an existing-key createOrGet');
          assert.deepEqual(existing, { status: 200, id });
        }
      };
      // First a write on the main connection alone (the writer thread has nothing in flight), then
      // writes that go through the writer thread; the event loop keeps serving throughout (SQLite's
      // busy handler used to sleep it).
      const rule = { match: { method: 'GET', path: '/v1.0/nothing-here' }, respond: { status: 503 } };
      const fault = server.request('/__admin/faults', { token: adminKey, json: rule });
      void fault.then(() => settled.push('fault'));
      await readsAnswered();
      const patch = server.request(item, { method: 'PATCH', token: aliceToken, json: { subject: 'after the lock' } });
      const create = server.request(CREATE_OR_GET, { token: aliceToken, json: { externalId: 'created-after-the-lock' } });
      void patch.then(() => settled.push('patch'));
      void create.then(() => settled.push('create'));
      await readsAnswered();
      assert.deepEqual(settled, [], 'no write was answered while the lock was held');
      other.exec('COMMIT');
      released = true;
      const [patched, created, added] = await within(Promise.all([patch, create, fault]), 10_000, 'the writes once the lock is free');
      assert.equal(added.status, 201);
      const ruleId = ((await added.json()) as { id: string }).id;
      assert.equal((await server.request(`/__admin/faults/${ruleId}`, { method: 'DELETE', token: adminKey })).status, 204);
      assert.equal(patched.status, 200);
      assert.equal(((await patched.json()) as { subject: string }).subject, 'after the lock');
      assert.equal(created.status, 201);
      const createdId = ((await created.json()) as { id: string }).id;
      assert.deepEqual(rowsForKey(dbPath(), ALICE, 'created-after-the-lock'), [{ id: createdId }]);
      const read = await server.request(item, { token: aliceToken });
      assert.equal(((await read.json()) as { subject: string }).subject, 'after the lock');
    } finally {
      if (!released) other.exec('ROLLBACK');
      other.close();
      await server.stop();
    }
  });

  test('after a restart the same key returns 200 with the same id, and GET by id works', async () => {
    const first = await createOrGet(servers[0]!, aliceToken, 'survives-restart');
    assert.equal(first.status, 201);
    assert.deepEqual(await servers[0]!.stop(), { code: 0, signal: null });
    servers[0] = await startCliServer(oidcArgs(dbPath()));

    const again = await createOrGet(servers[0], aliceToken, 'survives-restart');
    assert.deepEqual(again, { status: 200, id: first.id });
    const read = await servers[0].request(`/v1.0/me/onlineMeetings/${encodeURIComponent(first.id)}`, { token: aliceToken });
    assert.equal(read.status, 200);
    assert.equal(((await read.json()) as { id: string }).id, first.id);
  });

  test('SIGTERM: 20 requests in flight when the signal arrives all complete with 201, then the process exits 0', async () => {
    const server = await startCliServer(oidcArgs(dbPath()));
    const token = await issuer.userToken(BOB);
    const keys = Array.from({ length: 20 }, (_, i) => `in-flight-at-sigterm-${i}`);
    const pending = keys.map((key) => inFlightCreateOrGet(server, token, key, { agent: false }));
    await within(Promise.all(pending.map((p) => p.continued)), 5_000, '100 Continue for every request');

    // No request can finish without its body: SIGTERM now, and wait until the server has stopped
    // accepting connections (shutdown has begun) before sending the bodies.
    server.child.kill('SIGTERM');
    await within(refusesConnections(server), 5_000, 'the server to stop accepting connections');
    for (const p of pending) p.sendBody();

    const responses = await within(Promise.all(pending.map((p) => p.response)), 5_000, 'the in-flight responses');
    for (const [i, { status, text }] of responses.entries()) {
      assert.equal(status, 201, text);
      const meeting = JSON.parse(text) as { id: string; externalId: string };
      assert.equal(meeting.externalId, keys[i]);
      assert.deepEqual(rowsForKey(dbPath(), BOB, keys[i]!), [{ id: meeting.id }], 'answered means stored');
    }
    assert.deepEqual(await within(server.exited, 10_000, 'exit after SIGTERM'), { code: 0, signal: null });
  });

  test('SIGTERM: a keep-alive client whose request was in flight does not hold the process open', async () => {
    const server = await startCliServer(oidcArgs(dbPath()));
    // A pooling client, as every HTTP library and load balancer is: it keeps the connection open.
    const agent = new Agent({ keepAlive: true, timeout: 120_000 });
    try {
      const pending = inFlightCreateOrGet(server, await issuer.userToken(BOB), 'in-flight-keep-alive', { agent });
      await within(pending.continued, 5_000, '100 Continue');
      server.child.kill('SIGTERM');
      await within(refusesConnections(server), 5_000, 'the server to stop accepting connections');
      pending.sendBody();
      assert.equal((await within(pending.response, 5_000, 'the in-flight response')).status, 201);
      assert.deepEqual(await within(server.exited, 5_000, 'exit after SIGTERM with an idle keep-alive connection'), {
        code: 0,
        signal: null,
      });
    } finally {
      agent.destroy();
    }
  });

  test('SIGTERM during a burst of 20 requests: every response is a proper one, all 201s are stored, exit 0', async () => {
    const server = await startCliServer(oidcArgs(dbPath()));
    const token = await issuer.userToken(CAROL);
    const requests = Array.from({ length: 20 }, async (_, i) => {
      const { status, text } = await post(server, CREATE_OR_GET, token, { externalId: `burst-sigterm-${i}` });
      return { i, status, body: JSON.parse(text) as Record<string, any> };
    });
    // Signal as soon as the first answer is back: the server is busy with the rest of the burst.
    await within(Promise.race(requests.map((r) => r.catch(() => undefined))), 5_000, 'a first response');
    server.child.kill('SIGTERM');
    const results = await within(Promise.allSettled(requests), 10_000, 'the burst to settle');
    const exit = await within(server.exited, 10_000, 'exit after SIGTERM');

    for (const result of results) {
      // Allowed: a connection the server never served (listener closed, unused socket reset).
      // A response that broke off or is not JSON rejects with something else and fails here.
      if (result.status === 'rejected') {
        assert.match(String(result.reason?.code), /^(ECONNREFUSED|ECONNRESET|EPIPE)$/, String(result.reason));
        continue;
      }
      const { i, status, body } = result.value;
      if (status === 503) {
        assertGraphError(body); // arrived after shutdown began
        continue;
      }
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(body.externalId, `burst-sigterm-${i}`);
      assert.deepEqual(rowsForKey(dbPath(), CAROL, `burst-sigterm-${i}`), [{ id: body.id }], 'answered means stored');
    }
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});

/** Resolves once a new TCP connection to the server's port is refused (its listener is closed). */
async function refusesConnections(server: CliServer): Promise<void> {
  const port = Number(new URL(server.url).port);
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    });
    if (refused) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Graph's error shape: {"error":{"code","message","innerError":{...}}}. */
function assertGraphError(body: any) {
  assert.equal(typeof body?.error, 'object', `not a Graph error: ${JSON.stringify(body)}`);
  assert.equal(typeof body.error.code, 'string');
  assert.equal(typeof body.error.message, 'string');
  assert.equal(typeof body.error.innerError?.['request-id'], 'string');
}

interface RawResponse {
  status: number;
  text: string;
}

function collect(req: ClientRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () => resolve({ status: res.statusCode!, text }));
      res.once('error', reject);
    });
  });
}

/**
 * A createOrGet whose headers go out now (with Expect: 100-continue) and whose body is sent later.
 * The server answers 100 Continue when it dispatches the request: from then on it is in flight.
 */
function inFlightCreateOrGet(server: CliServer, token: string, externalId: string, options: { agent: Agent | false }) {
  const body = JSON.stringify({ externalId });
  const url = new URL(server.url);
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    agent: options.agent,
    method: 'POST',
    path: CREATE_OR_GET,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      expect: '100-continue',
    },
  });
  const continued = new Promise<void>((resolve) => req.once('continue', resolve));
  const response = collect(req);
  req.flushHeaders();
  return { continued, response, sendBody: () => req.end(body) };
}

/** A JSON POST on a connection of its own (no keep-alive pool). */
function post(server: CliServer, path: string, token: string, json: unknown): Promise<RawResponse> {
  const body = JSON.stringify(json);
  const url = new URL(server.url);
  const req = httpRequest({
    host: url.hostname,
    port: url.port,
    agent: false,
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const response = collect(req);
  req.end(body);
  return response;
}

describe('start-up races on a fresh database', () => {
  test('two oidc processes starting at once (migrations and directory seed racing) both come up healthy', async () => {
    for (let round = 0; round < 8; round++) {
      const dbPath = join(dir, `fresh-oidc-${round}.db`);
      const [a, b] = await Promise.all([startCliServer(oidcArgs(dbPath)), startCliServer(oidcArgs(dbPath))]);
      try {
        const token = await issuer.userToken(ALICE);
        const outcomes = await Promise.all([createOrGet(a, token, 'fresh'), createOrGet(b, token, 'fresh')]);
        assert.deepEqual(outcomes.map((o) => o.status).sort(), [200, 201]);
        assert.equal(outcomes[0]!.id, outcomes[1]!.id);
        // The seeded directory is complete: Bob's global CRM grant resolves on both processes.
        for (const server of [a, b]) {
          const response = await server.request(`/v1.0/users/${BOB.id}/onlineMeetings/createOrGet`, {
            token: await issuer.appToken(CRM_APP),
            json: { externalId: 'fresh-app' },
          });
          assert.ok([200, 201].includes(response.status), `app call on ${server.url}: ${response.status}`);
        }
      } finally {
        assert.deepEqual(await a.stop(), { code: 0, signal: null });
        assert.deepEqual(await b.stop(), { code: 0, signal: null });
      }
    }
  });

  test('two dev-auth processes starting at once share one signing key; a CLI token works on both', async () => {
    const db = `sqlite:${join(dir, 'fresh-dev.db')}`;
    const args = ['--port', '0', '--db', db, '--log-level', 'warn'];
    const [a, b] = await Promise.all([startCliServer(args), startCliServer(args)]);
    try {
      const jwks = await Promise.all([a, b].map(async (s) => (await s.request('/dev-issuer/discovery/keys')).json()));
      assert.deepEqual(jwks[0], jwks[1]);
      const minted = await runCli(['token', '--user', 'dana@contoso.example', '--db', db]);
      assert.equal(minted.code, 0, minted.stderr);
      const token = minted.stdout.trim();
      const outcomes = await Promise.all([createOrGet(a, token, 'dev-shared'), createOrGet(b, token, 'dev-shared')]);
      assert.deepEqual(outcomes.map((o) => o.status).sort(), [200, 201]);
    } finally {
      assert.deepEqual(await a.stop(), { code: 0, signal: null });
      assert.deepEqual(await b.stop(), { code: 0, signal: null });
    }
  });
});

describe('group commit through the writer thread', () => {
  test('SIGKILL right after a burst of 201s: every meeting answered 2xx is in the file under its key, once', async (t) => {
    const dbPath = join(dir, 'group-commit.db');
    const server = await startCliServer(oidcArgs(dbPath));
    const token = await issuer.userToken(ALICE);
    const answered: Outcome[] = [];
    const keys: string[] = [];
    let killed = false;
    // 32 clients create new keys until the 300th answer, then the process is killed at once:
    // batches are being committed in that instant, so acknowledged and unacknowledged rows mix.
    await Promise.all(
      Array.from({ length: 32 }, async (_, client) => {
        for (let i = 0; !killed; i++) {
          const externalId = `burst-${client}-${i}`;
          try {
            const outcome = await createOrGet(server, token, externalId);
            assert.equal(outcome.status, 201);
            if (killed) continue; // answered, but after the kill was sent: still counts below
            answered.push(outcome);
            keys.push(externalId);
            if (answered.length === 300) {
              killed = true;
              server.child.kill('SIGKILL');
            }
          } catch (error) {
            assert.ok(killed, `request failed before the kill: ${String(error)}`);
          }
        }
      }),
    );
    assert.deepEqual(await within(server.exited, 5_000, 'the killed process to exit'), { code: null, signal: 'SIGKILL' });
    for (const [i, outcome] of answered.entries()) {
      assert.deepEqual(rowsForKey(dbPath, ALICE, keys[i]!), [{ id: outcome.id }], `acknowledged ${keys[i]} is stored once`);
    }
    // And the file opens cleanly for the next process, which sees the same meetings.
    const next = await startCliServer(oidcArgs(dbPath));
    try {
      const again = await createOrGet(next, token, keys[0]!);
      assert.deepEqual(again, { status: 200, id: answered[0]!.id });
    } finally {
      await next.stop();
    }
    t.diagnostic(`${answered.length} acknowledged before SIGKILL, all stored`);
  });
});
