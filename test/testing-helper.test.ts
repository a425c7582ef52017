// The test helper `graph-meetings/testing`: real servers as child processes, controlled from the test;
// then the same helper from a separate project that installed the packed package, under node:test,
// Vitest and Jest (the examples/), and through require().
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlApiError, type GraphMeetings, startGraphMeetings } from '../src/testing/index.js';
import { ROOT, within } from './helpers/cli.js';
import { pollUntil } from './helpers/load.js';
import { ALICE, BOOKING_APP, CONTOSO, DIRECTORY, FRANK } from './helpers/fixtures.js';
import { startServer, tempDir, TEST_ADMIN_KEY } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

type Json = Record<string, any>;
const ME = '/me/onlineMeetings';

// ---------------------------------------------------------------------------------------------
// Processes, ports and files, as the operating system sees them.

/** Child processes of `parent` running `graph-meetings serve`. */
function serverProcesses(parent = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== parent || state === 'Z') continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.includes('serve') && args.some((arg) => arg.endsWith('graph-meetings.js'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The single server process started by `start` (a child of this process), with its working directory. */
async function startedProcess<T>(start: () => Promise<T>): Promise<{ value: T; pid: number; dir: string }> {
  const before = new Set(serverProcesses());
  const value = await start();
  const started = serverProcesses().filter((pid) => !before.has(pid));
  assert.equal(started.length, 1, `expected one new server process, found ${started.length}`);
  const pid = started[0]!;
  return { value, pid, dir: readlinkSync(`/proc/${pid}/cwd`) };
}

function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

function claims(token: string): Json {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Json;
}

async function graph(gm: GraphMeetings, path: string, token: string, json?: unknown): Promise<Response> {
  return fetch(`${gm.graphUrl}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
}

async function createMeeting(gm: GraphMeetings, token: string, externalId: string, path = `${ME}/createOrGet`): Promise<Json> {
  const response = await graph(gm, path, token, { externalId, subject: externalId });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json()) as Json;
}

async function rejectsWithControlError(promise: Promise<unknown>, status: number, code: string): Promise<ControlApiError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ControlApiError, String(caught));
  assert.equal(caught.status, status, caught.message);
  assert.equal(caught.graphError?.code, code, caught.message);
  assert.equal(typeof caught.graphError?.message, 'string');
  return caught;
}

// ---------------------------------------------------------------------------------------------

describe('startGraphMeetings', { timeout: 180_000 }, () => {
  test('two helpers in one process: different ports and data; resetting one leaves the other', async () => {
    const [a, b] = await Promise.all([startGraphMeetings(), startGraphMeetings()]);
    try {
      assert.notEqual(new URL(a.url).port, new URL(b.url).port);
      assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(a.graphUrl, `${a.url}/v1.0`);
      assert.notEqual(a.adminKey, b.adminKey);
      const [aliceA, aliceB] = await Promise.all([a.token({ user: ALICE.upn }), b.token({ user: ALICE.upn })]);

      const inA = await createMeeting(a, aliceA, 'only-in-a');
      assert.equal((await graph(b, `${ME}/${inA.id}`, aliceB)).status, 404, 'a meeting created in one server is absent in the other');
      // Each server has its own signing key: a token of one is not accepted by the other.
      assert.equal((await graph(b, `${ME}/${inA.id}`, aliceA)).status, 401);
      const inB = await createMeeting(b, aliceB, 'only-in-a');
      assert.notEqual(inB.id, inA.id);

      await a.reset();
      assert.equal((await graph(a, `${ME}/${inA.id}`, aliceA)).status, 404);
      assert.equal((await graph(b, `${ME}/${inB.id}`, aliceB)).status, 200, 'resetting one server leaves the other');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  describe('one server with a directory', () => {
    let gm: GraphMeetings;
    before(async () => {
      gm = await startGraphMeetings({ directory: DIRECTORY });
    });
    after(() => gm?.close());

    test('token({ user }) mints a delegated token the server accepts', async () => {
      const token = await gm.token({ user: ALICE.upn });
      const c = claims(token);
      assert.equal(c.idtyp, 'user');
      assert.equal(c.tid, CONTOSO);
      assert.equal(c.oid, ALICE.id);
      assert.equal(c.upn, ALICE.upn);
      assert.equal(c.scp, 'OnlineMeetings.ReadWrite User.Read');
      assert.equal(c.exp - c.iat, 3600);
      const meeting = await createMeeting(gm, token, 'token-user');
      assert.equal(meeting.participants.organizer.identity.user.id, ALICE.id);

      const reader = await gm.token({ user: ALICE.id, tenant: CONTOSO, scopes: 'OnlineMeetings.Read', lifetime: 120 });
      assert.equal(claims(reader).scp, 'OnlineMeetings.Read');
      assert.equal(claims(reader).exp - claims(reader).iat, 120);
      assert.equal((await graph(gm, `${ME}/${meeting.id}`, reader)).status, 200);
      assert.equal((await graph(gm, `${ME}/createOrGet`, reader, { externalId: 'read-only' })).status, 403);
    });

    test('token({ app, tenant }) mints an app-only token the server accepts', async () => {
      const token = await gm.token({ app: BOOKING_APP.appId, tenant: CONTOSO });
      const c = claims(token);
      assert.equal(c.idtyp, 'app');
      assert.equal(c.appid, BOOKING_APP.appId);
      assert.equal(c.tid, CONTOSO);
      assert.deepEqual(c.roles, ['OnlineMeetings.ReadWrite.All']);
      await createMeeting(gm, token, 'token-app', `/users/${ALICE.id}/onlineMeetings/createOrGet`);

      const reader = await gm.token({ app: BOOKING_APP.appId, tenant: CONTOSO, roles: ['OnlineMeetings.Read.All'] });
      assert.deepEqual(claims(reader).roles, ['OnlineMeetings.Read.All']);
      assert.equal((await graph(gm, `/users/${ALICE.id}/onlineMeetings/createOrGet`, reader, { externalId: 'x' })).status, 403);
    });

    test('a token request that names no token: a thrown ControlApiError with Graph\'s 400', async () => {
      const error = await rejectsWithControlError(gm.token({ app: 'not-a-guid' }), 400, 'BadRequest');
      assert.match(error.message, /POST \/__admin\/tokens answered 400 BadRequest: .*not-a-guid/);
      await rejectsWithControlError(gm.token({} as never), 400, 'BadRequest');
      await rejectsWithControlError(gm.token({ user: ALICE.upn, app: BOOKING_APP.appId } as never), 400, 'BadRequest');
      await rejectsWithControlError(gm.token({ user: ALICE.upn, lifetime: 0 }), 400, 'BadRequest');
      await rejectsWithControlError(gm.token({ user: ALICE.upn, tenant: 'contoso' }), 400, 'BadRequest');
      await rejectsWithControlError(gm.token({ user: ALICE.upn, secret: 'x' } as never), 400, 'BadRequest');
    });

    test('faults: add, list, fire once, remove, clear', async () => {
      const token = await gm.token({ user: ALICE.upn });
      const rule = await gm.faults.add({ match: { method: 'POST', path: '/v1.0/me/onlineMeetings/*' }, count: 1, respond: { status: 503, retryAfter: 3 } });
      assert.match(rule.id, /\S/);
      assert.deepEqual((await gm.faults.list()).map((r) => r.id), [rule.id]);

      const unavailable = await graph(gm, `${ME}/createOrGet`, token, { externalId: 'fault-once' });
      assert.equal(unavailable.status, 503);
      assert.equal(unavailable.headers.get('retry-after'), '3');
      assert.equal(((await unavailable.json()) as Json).error.code, 'serviceNotAvailable');
      await createMeeting(gm, token, 'fault-once');

      const other = await gm.faults.add({ respond: { status: 500 }, match: { method: 'DELETE' } });
      await gm.faults.remove(other.id);
      assert.ok(!(await gm.faults.list()).some((r) => r.id === other.id));
      await rejectsWithControlError(gm.faults.remove(other.id), 404, 'NotFound');
      await gm.faults.add({ respond: { status: 500 }, match: { method: 'DELETE' } });
      await gm.faults.clear();
      assert.deepEqual(await gm.faults.list(), []);
      await rejectsWithControlError(gm.faults.add({ respond: { status: 418 } } as never), 400, 'BadRequest');
    });

    test('clock: set and freeze, advance to expiry, reset to real time', async () => {
      const token = await gm.token({ user: ALICE.upn });
      const set = await gm.clock.set(new Date('2030-01-15T09:00:00Z'), { frozen: true });
      assert.equal(Date.parse(set.now), Date.parse('2030-01-15T09:00:00Z'));
      assert.equal(set.frozen, true);
      assert.deepEqual(await gm.clock.get(), set);

      const meeting = await createMeeting(gm, token, 'clock-expiry');
      assert.equal(Date.parse(meeting.creationDateTime), Date.parse('2030-01-15T09:00:00Z'));
      const advanced = await gm.clock.advance('P61D');
      assert.equal(Date.parse(advanced.now), Date.parse('2030-03-17T09:00:00Z'));
      assert.equal((await graph(gm, `${ME}/${meeting.id}`, token)).status, 404, 'expired 60 days after its end');
      assert.equal(Date.parse((await gm.clock.advance(1500)).now), Date.parse('2030-03-17T09:00:01.500Z'));
      await rejectsWithControlError(gm.clock.advance('soon'), 400, 'BadRequest');

      const reset = await gm.clock.reset();
      assert.equal(reset.frozen, false);
      assert.ok(Math.abs(Date.parse(reset.now) - Date.now()) < 60_000, reset.now);
    });

    test('requests(filter): what the app sent, newest first, without its token', async () => {
      await gm.clearRequests();
      const token = await gm.token({ user: ALICE.upn });
      const meeting = await createMeeting(gm, token, 'logged');
      assert.equal((await graph(gm, `${ME}/${meeting.id}`, token)).status, 200);

      const all = await gm.requests();
      assert.deepEqual(all.map((entry) => [entry.method, entry.status]), [['GET', 200], ['POST', 201]]);
      const posts = await gm.requests({ method: 'POST', status: 201, path: '/v1.0/me/onlineMeetings/*' });
      assert.equal(posts.length, 1);
      assert.equal(posts[0]!.path, '/v1.0/me/onlineMeetings/createOrGet');
      assert.deepEqual(posts[0]!.requestBody, { externalId: 'logged', subject: 'logged' });
      assert.equal(posts[0]!.tenant, CONTOSO);
      assert.deepEqual(await gm.requests({ limit: 1 }), all.slice(0, 1));
      assert.ok(!JSON.stringify(all).includes(token), 'the log holds no token');
      await rejectsWithControlError(gm.requests({ status: 'teapot' }), 400, 'BadRequest');
    });

    test('snapshot(tenant) and restore(snapshot): a meeting made after the snapshot is gone, the rest reads back identical', async () => {
      const token = await gm.token({ user: ALICE.upn });
      const kept = await createMeeting(gm, token, 'snapshot-kept');
      const keptText = await (await graph(gm, `${ME}/${kept.id}`, token)).text();
      const snapshot = await gm.snapshot(CONTOSO);
      assert.equal(typeof snapshot, 'object');

      const later = await createMeeting(gm, token, 'snapshot-later');
      await gm.restore(snapshot);
      assert.equal((await graph(gm, `${ME}/${later.id}`, token)).status, 404);
      assert.equal(await (await graph(gm, `${ME}/${kept.id}`, token)).text(), keptText);
      await rejectsWithControlError(gm.restore({ not: 'a snapshot' }), 400, 'BadRequest');
    });

    test('reset({ tenant }) wipes that tenant\'s meetings only; reset() wipes meetings, faults, clock and the log', async () => {
      const alice = await gm.token({ user: ALICE.upn });
      const frank = await gm.token({ user: FRANK.upn });
      await gm.clock.advance('PT1H');
      await gm.faults.add({ match: { method: 'PATCH' }, respond: { status: 500 } });
      const contoso = await createMeeting(gm, alice, 'reset-contoso');
      const fabrikam = await createMeeting(gm, frank, 'reset-fabrikam');

      await gm.reset({ tenant: CONTOSO });
      assert.equal((await graph(gm, `${ME}/${contoso.id}`, alice)).status, 404);
      assert.equal((await graph(gm, `${ME}/${fabrikam.id}`, frank)).status, 200);
      assert.equal((await gm.faults.list()).length, 1, 'a tenant reset keeps fault rules');
      assert.ok(Date.parse((await gm.clock.get()).now) > Date.now() + 3_000_000, 'a tenant reset keeps the clock');

      await gm.reset();
      assert.equal((await graph(gm, `${ME}/${fabrikam.id}`, frank)).status, 404);
      assert.deepEqual(await gm.faults.list(), []);
      assert.ok(Math.abs(Date.parse((await gm.clock.get()).now) - Date.now()) < 60_000, 'the clock is back on real time');
      const log = await gm.requests();
      assert.deepEqual(log.map((entry) => entry.path), [`/v1.0${ME}/${fabrikam.id}`], 'the log was emptied: only the read since');
      // Tokens issued before a reset keep working (the signing keys stay)...
      await createMeeting(gm, alice, 'after-reset');
      // ...unless the directory goes too: then the key is new, and token() mints with it.
      await gm.reset({ directory: true });
      assert.equal((await graph(gm, `${ME}/createOrGet`, alice, { externalId: 'old-key' })).status, 401);
      await createMeeting(gm, await gm.token({ user: ALICE.upn }), 'new-key');
    });
  });

  test('options: limits, faults and publicUrl reach the server', async () => {
    const gm = await startGraphMeetings({
      limits: { meetingsPerUserPerMonth: 1 },
      faults: [{ match: { method: 'GET' }, count: 1, respond: { status: 502 } }],
      publicUrl: 'https://meetings.example.test',
    });
    try {
      const token = await gm.token({ user: 'olga@contoso.example' });
      const meeting = await createMeeting(gm, token, 'limits-1');
      assert.ok(meeting.joinWebUrl.startsWith('https://meetings.example.test/'), meeting.joinWebUrl);
      const over = await graph(gm, `${ME}/createOrGet`, token, { externalId: 'limits-2' });
      assert.equal(over.status, 429);
      assert.equal((await graph(gm, `${ME}/${meeting.id}`, token)).status, 502, 'the start-up fault fires on the first read');
      assert.equal((await graph(gm, `${ME}/${meeting.id}`, token)).status, 200);
    } finally {
      await gm.close();
    }
  });

  test('db and directory given as the caller\'s files: relative paths are the caller\'s, and the database outlives close()', async () => {
    const dir = tempDir();
    try {
      const directoryFile = join(dir, 'directory.json');
      writeFileSync(directoryFile, JSON.stringify(DIRECTORY));
      const options = { db: `sqlite:${relative(process.cwd(), join(dir, 'kept.db'))}`, directory: relative(process.cwd(), directoryFile) };
      const first = await startGraphMeetings(options);
      let meeting: Json;
      try {
        const token = await first.token({ user: ALICE.upn });
        assert.equal(claims(token).oid, ALICE.id, 'the directory file was loaded');
        meeting = await createMeeting(first, token, 'kept');
      } finally {
        await first.close();
      }
      assert.ok(existsSync(join(dir, 'kept.db')), 'the caller\'s database file stays');
      const second = await startGraphMeetings(options);
      try {
        assert.equal((await graph(second, `${ME}/${meeting.id}`, await second.token({ user: ALICE.upn }))).status, 200);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('env reaches the server; GRAPH_MEETINGS_* of the test process does not', async () => {
    process.env.GRAPH_MEETINGS_AUTH = 'oidc';
    let gm: GraphMeetings;
    try {
      gm = await startGraphMeetings({ env: { GRAPH_MEETINGS_REQUEST_LOG_SIZE: '0' } });
    } finally {
      delete process.env.GRAPH_MEETINGS_AUTH;
    }
    try {
      const token = await gm.token({ user: 'env@contoso.example' });
      await createMeeting(gm, token, 'not-logged');
      assert.deepEqual(await gm.requests(), [], 'a request log of size 0 keeps nothing');
    } finally {
      await gm.close();
    }
  });

  test('a start-up failure says why and leaves nothing behind', async () => {
    const leftovers = () => readdirSync(tmpdir()).filter((name) => name.startsWith('graph-meetings-testing-')).length;
    const before = leftovers();
    await assert.rejects(startGraphMeetings({ limits: { meetingsPerUserPerMonth: 0 } }), /limits option.*positive whole number/);
    await assert.rejects(
      startGraphMeetings({ directory: { tenants: [{ id: 'not-a-guid' }] } }),
      (error: Error) => /did not start/.test(error.message) && /directory/i.test(error.message),
    );
    assert.equal(leftovers(), before);
    assert.deepEqual(serverProcesses(), []);
  });

  test('close() frees the port, removes the temp files, leaves no child process, and may be called again', async () => {
    const { value: gm, pid, dir } = await startedProcess(() => startGraphMeetings());
    assert.ok(existsSync(join(dir, 'meetings.db')), `the SQLite file is in the helper's temp directory ${dir}`);
    assert.equal(await connectionRefused(gm.url), false);

    await gm.close();
    assert.equal(isRunning(pid), false);
    assert.deepEqual(serverProcesses(), []);
    assert.equal(existsSync(dir), false);
    assert.equal(await connectionRefused(gm.url), true);
    await gm.close();
    await assert.rejects(gm.clock.get(), /did not answer GET \/__admin\/clock[\s\S]*ended \(exit code 0\)/);
  });

  describe('a test process that ends without close()', () => {
    /** Runs a script that starts a helper and reports its URL, then ends as `ending` says. */
    async function orphanServer(ending: 'returns' | 'is killed') {
      const script = `
        import { startGraphMeetings } from ${JSON.stringify(join(ROOT, 'dist/testing/index.js'))};
        const gm = await startGraphMeetings();
        await gm.token({ user: 'orphan@contoso.example' });
        process.stdout.write(gm.url + '\\n');
        ${ending === 'is killed' ? 'setInterval(() => {}, 1000);' : ''}
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      await within(
        (async () => {
          while (!stdout.includes('\n')) await new Promise((resolve) => setTimeout(resolve, 20));
        })(),
        60_000,
        'the script to start its helper',
      );
      const [pid] = serverProcesses(child.pid!);
      assert.ok(pid, 'the script started a server process');
      return { child, exited, url: stdout.trim(), pid, dir: readlinkSync(`/proc/${pid}/cwd`) };
    }

    test('when it ends normally, its exit hook stops the server and removes the temp files', async () => {
      const { exited, url, pid, dir } = await orphanServer('returns');
      assert.equal(await within(exited, 30_000, 'the script to exit on its own'), 0, 'a forgotten close() does not keep the process alive');
      await waitUntil(() => !isRunning(pid), 'the server to stop');
      assert.equal(existsSync(dir), false);
      // A killed process shows as a zombie while its other threads still exit and hold the port.
      await pollUntil('the port to close', 10_000, async () => ((await connectionRefused(url)) ? true : undefined), 50);
      assert.equal(await connectionRefused(url), true);
    });

    test('when it is killed, the server notices and stops on its own', async () => {
      const { child, exited, url, pid, dir } = await orphanServer('is killed');
      child.kill('SIGKILL');
      await exited;
      await waitUntil(() => !isRunning(pid), 'the orphaned server to stop');
      assert.equal(await connectionRefused(url), true);
      rmSync(dir, { recursive: true, force: true }); // a killed process cannot clean up; the OS temp dir holds it
    });
  });
});

describe('POST /__admin/tokens', () => {
  test('with --auth oidc there is no dev issuer: a clear 400', async () => {
    const issuer = await TestIssuer.start();
    const server = await startServer({ issuer });
    try {
      const response = await server.admin('POST', '/tokens', { user: 'alice@contoso.example' });
      assert.equal(response.status, 400);
      const body = (await response.json()) as Json;
      assert.equal(body.error.code, 'BadRequest');
      assert.match(body.error.message, /--auth oidc/);
    } finally {
      await server.close();
      await issuer.stop();
    }
  });

  test('answers the token shape, and needs the admin key', async () => {
    const server = await startServer();
    try {
      const response = await server.admin('POST', '/tokens', { user: 'alice@contoso.example', scopes: ['OnlineMeetings.Read'], lifetime: 600 });
      assert.equal(response.status, 200);
      const body = (await response.json()) as Json;
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 600);
      assert.equal(claims(body.access_token).scp, 'OnlineMeetings.Read');
      const me = await server.request('/v1.0/me/onlineMeetings/createOrGet', { method: 'POST', token: body.access_token, json: { externalId: 'x' } });
      assert.equal(me.status, 403, 'the minted token carries the scopes asked for');

      const anonymous = await fetch(`${server.url}/__admin/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user":"a@b.example"}' });
      assert.equal(anonymous.status, 401);
      assert.notEqual(TEST_ADMIN_KEY, '');
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// From a separate project that installed the packed package.

interface Run {
  code: number | null;
  stdout: string;
  /** stdout and stderr as they came. */
  output: string;
}

/** The environment of this process minus what would leak into the nested tools (test-runner and npm context). */
function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(GRAPH_MEETINGS_|npm_)/i.test(name) || name === 'NODE_OPTIONS' || name === 'NODE_TEST_CONTEXT') continue;
    env[name] = value;
  }
  return { ...env, CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };
}

async function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  const child = spawn(command, args, { cwd, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  try {
    const code = await within(closed, timeoutMs, `${command} ${args.join(' ')} in ${cwd}`);
    return { code, stdout, output };
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- output so far ---\n${output}`);
  }
}

function assertSucceeded(result: Run, what: string) {
  assert.equal(result.code, 0, `${what} failed (exit ${result.code}):\n${result.output}`);
}

const examplePackage = (name: string) => JSON.parse(readFileSync(join(ROOT, 'examples', name, 'package.json'), 'utf8')) as Json;

describe('from a project that installed the package', { timeout: 15 * 60_000 }, () => {
  let work: string;
  let project: string;
  let packedFiles: string[];

  before(async () => {
    work = tempDir('graph-meetings-pack-');
    // The package as published: `npm pack` of the built tree (npm test builds first).
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT, 120_000);
    assertSucceeded(packed, 'npm pack');
    const [manifest] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packedFiles = manifest!.files.map((file) => file.path);

    // One project for all three runners (one install): the examples' dev dependencies, the tarball for graph-meetings.
    project = join(work, 'project');
    const devDependencies: Record<string, string> = { 'graph-meetings': `file:${join(work, manifest!.filename)}` };
    for (const name of ['vitest', 'jest']) {
      for (const [dependency, range] of Object.entries(examplePackage(name).devDependencies as Record<string, string>)) {
        if (dependency !== 'graph-meetings') devDependencies[dependency] = range;
      }
    }
    cpSync(join(ROOT, 'examples'), project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-graph-meetings', private: true, type: 'module', devDependencies }, null, 2));
    // better-sqlite3 compiles from source against Node's own headers (see .npmrc).
    cpSync(join(ROOT, '.npmrc'), join(project, '.npmrc'));
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project, 12 * 60_000);
    assertSucceeded(install, 'npm install of the packed package');
    // Each example runs as its own project on the shared install.
    for (const name of ['node-test', 'vitest', 'jest']) symlinkSync(join(project, 'node_modules'), join(project, name, 'node_modules'), 'dir');
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the package ships bin/, dist/ (with the helper\'s types) and the README; no tests, sources or examples', () => {
    for (const file of ['bin/graph-meetings.js', 'dist/cli/main.js', 'dist/testing/index.js', 'dist/testing/index.d.ts', 'README.md', 'package.json']) {
      assert.ok(packedFiles.includes(file), `${file} is in the package`);
    }
    const stray = packedFiles.filter((file) => /^(test|src|examples|bench|spec)\//.test(file) || file.endsWith('.map'));
    assert.deepEqual(stray, []);
  });

  test('examples/node-test passes under node:test', async () => {
    const result = await run('npm', ['test'], join(project, 'node-test'), 120_000);
    assertSucceeded(result, 'npm test (node:test)');
    assert.match(result.output, /^# pass 1$/m, result.output);
    assert.match(result.output, /^# fail 0$/m, result.output);
  });

  test('examples/vitest passes under Vitest', async () => {
    const result = await run('npm', ['test'], join(project, 'vitest'), 180_000);
    assertSucceeded(result, 'npm test (Vitest)');
    assert.match(result.output, /Tests\s+2 passed \(2\)/, result.output);
  });

  test('examples/jest passes under Jest (ESM mode)', async () => {
    const result = await run('npm', ['test'], join(project, 'jest'), 180_000);
    assertSucceeded(result, 'npm test (Jest)');
    assert.match(result.output, /Tests:\s+2 passed, 2 total/, result.output);
  });

  test('require("graph-meetings/testing") works from CommonJS', async () => {
    writeFileSync(
      join(project, 'check.cjs'),
      `const { startGraphMeetings, ControlApiError } = require('graph-meetings/testing');
(async () => {
  const gm = await startGraphMeetings();
  try {
    const token = await gm.token({ user: 'carol@contoso.example' });
    const response = await fetch(gm.graphUrl + '/me/onlineMeetings/createOrGet', {
      method: 'POST',
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' },
      body: JSON.stringify({ externalId: 'from-commonjs' }),
    });
    if (response.status !== 201) throw new Error('createOrGet answered ' + response.status);
    await gm.token({ app: 'not-a-guid' }).then(
      () => { throw new Error('expected a ControlApiError'); },
      (error) => { if (!(error instanceof ControlApiError) || error.status !== 400) throw error; },
    );
  } finally {
    await gm.close();
  }
  console.log('require() ok');
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const result = await run(process.execPath, ['check.cjs'], project, 60_000);
    assertSucceeded(result, 'node check.cjs');
    assert.match(result.output, /^require\(\) ok$/m);
  });

  test('its types check under TypeScript (module nodenext), the Vitest example included', async () => {
    writeFileSync(
      join(project, 'types-check.ts'),
      `import { ControlApiError, type FaultRule, type GraphMeetings, type RequestLogEntry, startGraphMeetings } from 'graph-meetings/testing';
const rule: FaultRule = { match: { path: '/v1.0/*' }, count: 1, respond: { status: 429 } };
// @ts-expect-error a rule needs respond
const incomplete: FaultRule = { count: 1 };
export async function use(): Promise<RequestLogEntry[]> {
  const gm: GraphMeetings = await startGraphMeetings({ limits: { meetingsPerUserPerMonth: 5 }, faults: [rule, incomplete], directory: { tenants: [] } });
  const token: string = await gm.token({ app: '00000000-0000-4000-8000-000000000000', roles: ['OnlineMeetings.Read.All'] });
  const error: ControlApiError | undefined = undefined;
  void token; void error;
  await gm.clock.advance('P61D');
  return gm.requests({ method: 'POST' });
}
`,
    );
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const common = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--typeRoots', join(ROOT, 'node_modules/@types'), '--types', 'node'];
    assertSucceeded(await run(process.execPath, [tsc, ...common, 'types-check.ts'], project, 120_000), 'tsc on the helper\'s types');
    assertSucceeded(await run(process.execPath, [tsc, ...common, '--skipLibCheck', '--lib', 'es2022,dom', 'vitest/meetings.test.ts'], project, 120_000), 'tsc on examples/vitest');
  });
});
