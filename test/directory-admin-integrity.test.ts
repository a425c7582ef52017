// Directory administration keeps its data whole, on SQLite and PostgreSQL alike: values holding
// U+0000 (which PostgreSQL text cannot store) are refused with a 400 naming the member, by every
// way in (admin routes, directory import, snapshot import, --directory at start-up); an app's
// secrets keep their order however many there are, through exports and re-imports; a snapshot is
// read in one transaction; concurrent admin writes and reads on one server never interleave.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { Config } from '../src/config/config.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { rawSql } from './helpers/raw-sql.js';
import { type RunningServer, startServer, TEST_ADMIN_KEY, tempDir } from './helpers/server.js';

const TENANT = '1c7e0000-0000-4000-8000-000000000001';
const APP = '1c7e0000-0000-4000-8000-0000000000a1';
const USER = '1c7e0000-0000-4000-8000-0000000000b1';
const NUL = '\u0000';

const dir = tempDir('graph-meetings-directory-integrity-');
after(() => rmSync(dir, { recursive: true, force: true }));

const ENGINES = [
  { name: 'SQLite', db: async () => `sqlite:${join(dir, `${randomUUID()}.db`)}` },
  { name: 'PostgreSQL', db: async () => freshDatabase((await testPostgres()).url) },
];

function certificate(): string {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-days', '2', '-subj', '/CN=integrity'];
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

async function json(response: Response, status: number): Promise<Json> {
  const text = await response.text();
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function withServer(db: string, work: (server: RunningServer) => Promise<void>, directory?: unknown) {
  const server = await startServer({ config: { db } as Partial<Config>, ...(directory ? { directory } : {}) });
  try {
    await work(server);
  } finally {
    await server.close();
  }
}

/**
 * Sends the requests pipelined on one connection, in one write: the server parses them in one go, so
 * their handlers run side by side in one turn of the event loop. Their statuses and bodies, in order.
 */
async function pipelined(url: string, key: string, requests: { method: string; path: string; body?: unknown }[]): Promise<{ status: number; body: string }[]> {
  const { hostname, port } = new URL(url);
  const wire = requests
    .map(({ method, path, body }, i) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      const headers = [`${method} /__admin${path} HTTP/1.1`, `host: ${hostname}:${port}`, `authorization: Bearer ${key}`];
      if (body !== undefined) headers.push('content-type: application/json', `content-length: ${Buffer.byteLength(text)}`);
      if (i === requests.length - 1) headers.push('connection: close');
      return `${headers.join('\r\n')}\r\n\r\n${text}`;
    })
    .join('');
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(port), hostname, () => socket.write(wire));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks)));
    socket.on('error', reject);
  });
  const responses: { status: number; body: string }[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    const head = raw.subarray(at, headEnd).toString('latin1');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)![1]);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    assert.doesNotMatch(head, /transfer-encoding/i);
    responses.push({ status, body: raw.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8') });
    at = headEnd + 4 + length;
  }
  assert.equal(responses.length, requests.length);
  return responses;
}

const baseDirectory = () => ({
  tenants: [{ id: TENANT, displayName: 'Integrity', users: [{ id: USER, userPrincipalName: 'ida@integrity.example' }], apps: [{ appId: APP, displayName: 'App', secrets: ['app-secret-0001'] }] }],
});

/** Twelve secrets whose hints (their first three characters) give their order. */
const TWELVE = Array.from({ length: 12 }, (_, i) => `s${String(i + 1).padStart(2, '0')}-secret-${randomUUID()}`);

for (const engine of ENGINES) {
  describe(`${engine.name}: U+0000 is refused everywhere, nothing stored`, () => {
    test('admin routes, directory import and snapshot import answer 400 naming the member', async () => {
      const db = await engine.db();
      await withServer(
        db,
        async (server) => {
          const admin = (method: string, path: string, body?: unknown) => server.admin(method, path, body);
          await json(await admin('PUT', '/clock', { frozen: true }), 200);
          const snapshotBefore = await (await admin('GET', `/snapshot?tenant=${TENANT}`)).text();
          const exportBefore = await (await admin('GET', `/directory/export?tenant=${TENANT}`)).text();

          // A PEM certificate with U+0000 after its end line still parses: the value itself is refused.
          const pem = `${certificate()}${NUL}`;
          await expectGraphError(await admin('POST', `/directory/tenants/${TENANT}/apps`, { displayName: 'With cert', certificates: [pem] }), 400, {
            code: 'BadRequest',
            message: /'certificates\[0\]'.*U\+0000/,
          });
          await expectGraphError(await admin('POST', `/directory/tenants/${TENANT}/users`, { userPrincipalName: `x${NUL}y@integrity.example` }), 400, {
            code: 'BadRequest',
            message: /'userPrincipalName'/,
          });

          const seed = baseDirectory();
          seed.tenants[0]!.apps[0]!.displayName = `App${NUL}renamed`;
          await expectGraphError(await admin('POST', '/directory/import', seed), 400, { code: 'BadRequest', message: /'tenants\[0\]\.apps\[0\]\.displayName'.*U\+0000/ });
          const roles = baseDirectory();
          (roles.tenants[0]!.apps[0] as Json).roles = [`OnlineMeetings.Read.All${NUL}`];
          await expectGraphError(await admin('POST', '/directory/import', roles), 400, { message: /'tenants\[0\]\.apps\[0\]\.roles\[0\]'/ });

          const document = JSON.parse(snapshotBefore) as Json;
          const hinted = structuredClone(document);
          hinted.apps[0].secretHashes[0].hint = `s${NUL}x`;
          await expectGraphError(await admin('POST', '/snapshot', hinted), 400, { code: 'BadRequest', message: /'apps\[0\]\.secretHashes\[0\]\.hint'.*U\+0000/ });
          const named = structuredClone(document);
          named.tenant.displayName = `Integrity${NUL}`;
          await expectGraphError(await admin('POST', '/snapshot', named), 400, { message: /'tenant\.displayName'/ });

          assert.equal(await (await admin('GET', `/snapshot?tenant=${TENANT}`)).text(), snapshotBefore, 'the snapshot is unchanged');
          assert.equal(await (await admin('GET', `/directory/export?tenant=${TENANT}`)).text(), exportBefore, 'the directory is unchanged');
          const apps = await json(await admin('GET', `/directory/tenants/${TENANT}/apps`), 200);
          assert.deepEqual(apps.value.map((a: Json) => a.displayName), ['App']);
        },
        baseDirectory(),
      );
    });

    test('a --directory file with U+0000 in a value fails start-up, naming the member', async () => {
      const db = await engine.db();
      const seed = baseDirectory();
      (seed.tenants[0]!.users[0] as Json).displayName = `Ida${NUL}`;
      await assert.rejects(
        startServer({ config: { db } as Partial<Config>, directory: seed, dir: mkdtempSync(join(dir, 'start-up-')) }),
        (error: Error) => /tenants\/0\/users\/0\/displayName/.test(error.message) && /U\+0000/.test(error.message),
      );
      assert.deepEqual(await rawSql(db, 'SELECT id FROM tenants'), [], 'nothing stored');
    });
  });

  describe(`${engine.name}: twelve secrets keep their order`, () => {
    test('directory export, re-import and snapshot round trip are byte-identical', async () => {
      const directory = { tenants: [{ id: TENANT, users: [], apps: [{ appId: APP, secrets: TWELVE }] }] };
      const hints = TWELVE.map((s) => s.slice(0, 3));
      let exported = '';
      let snapshot = '';
      await withServer(
        await engine.db(),
        async (server) => {
          const listed = await json(await server.admin('GET', `/directory/tenants/${TENANT}/apps`), 200);
          assert.deepEqual(listed.value[0].secrets.map((s: Json) => s.hint), hints, 'listed in insertion order');
          exported = await (await server.admin('GET', `/directory/export?tenant=${TENANT}`)).text();
          assert.deepEqual(JSON.parse(exported).tenants[0].apps[0].secretHashes.map((s: Json) => s.hint), hints, 'exported in insertion order');
          await json(await server.admin('PUT', '/clock', { frozen: true }), 200);
          snapshot = await (await server.admin('GET', `/snapshot?tenant=${TENANT}`)).text();
          assert.deepEqual(JSON.parse(snapshot).apps[0].secretHashes.map((s: Json) => s.hint), hints, 'in the snapshot too');
        },
        directory,
      );
      await withServer(await engine.db(), async (copy) => {
        await json(await copy.admin('POST', '/directory/import', JSON.parse(exported)), 200);
        assert.equal(await (await copy.admin('GET', `/directory/export?tenant=${TENANT}`)).text(), exported, 'the re-imported export exports byte-identical');
      });
      await withServer(await engine.db(), async (copy) => {
        await json(await copy.admin('PUT', '/clock', { now: JSON.parse(snapshot).exportedAt, frozen: true }), 200);
        await json(await copy.admin('POST', '/snapshot', JSON.parse(snapshot)), 200);
        assert.equal(await (await copy.admin('GET', `/snapshot?tenant=${TENANT}`)).text(), snapshot, 'the re-imported snapshot exports byte-identical');
        // Imported twice (the ids are given again from the hashes' order): the same once more.
        await json(await copy.admin('POST', '/snapshot', JSON.parse(snapshot)), 200);
        assert.equal(await (await copy.admin('GET', `/snapshot?tenant=${TENANT}`)).text(), snapshot);
      });
    });
  });

  describe(`${engine.name}: concurrent directory administration`, () => {
    test('parallel writes and removals of apps, users, roles and policies with parallel reads: no 5xx, every change kept', async () => {
      const db = await engine.db();
      await withServer(
        db,
        async (server) => {
          const N = 20;
          const t = `/directory/tenants/${TENANT}`;
          const appIds = Array.from({ length: N }, () => randomUUID());
          const reads = () =>
            Array.from({ length: N }, (_, i) => ({
              method: 'GET',
              path: [`${t}/apps`, `${t}/users`, `${t}/policies`, `/directory/export?tenant=${TENANT}`, `/snapshot?tenant=${TENANT}`][i % 5]!,
            }));
          /** Writes and reads interleaved, all pipelined at once. */
          const allSucceed = async (writes: { method: string; path: string; body?: unknown }[]) => {
            const calls = writes.flatMap((write, i) => [write, ...(i % 4 === 0 ? [reads()[i / 4]!] : [])]);
            const answers = await pipelined(server.url, TEST_ADMIN_KEY, calls);
            const failures = answers.flatMap((answer, i) => (answer.status >= 300 ? [`${answer.status} ${calls[i]!.method} ${calls[i]!.path}: ${answer.body}`] : []));
            assert.equal(failures.length, 0, `${failures.length} calls failed, as:\n${failures.slice(0, 3).join('\n')}`);
          };

          await allSucceed(
            appIds.flatMap((appId, i) => [
              { method: 'POST', path: `${t}/apps`, body: { appId, displayName: `App ${i}`, roles: ['OnlineMeetings.ReadWrite.All'] } },
              { method: 'POST', path: `${t}/users`, body: { userPrincipalName: `user${i}@integrity.example`, displayName: `User ${i}` } },
              { method: 'PUT', path: `${t}/policies/P${i}`, body: { appIds: [appId] } },
              { method: 'POST', path: `${t}/apps/${APP}/roles`, body: { role: `Role.${i}` } },
            ]),
          );
          const apps = (await json(await server.admin('GET', `${t}/apps`), 200)).value as Json[];
          assert.equal(apps.length, N + 1);
          for (const appId of appIds) assert.equal(apps.find((a) => a.appId === appId)?.secrets.length, 1, `app ${appId} has its one secret`);
          assert.equal(apps.find((a) => a.appId === APP)!.roles.length, N, 'every role granted is kept');
          assert.equal((await json(await server.admin('GET', `${t}/users`), 200)).value.length, N + 1);
          const policies = (await json(await server.admin('GET', `${t}/policies`), 200)).value as Json[];
          assert.deepEqual(policies.map((p) => p.appIds.length), Array(N).fill(1));

          await allSucceed(
            appIds.flatMap((appId, i) => [
              { method: 'DELETE', path: `${t}/apps/${appId}` },
              { method: 'DELETE', path: `${t}/users/user${i}@integrity.example` },
              { method: 'DELETE', path: `${t}/policies/P${i}` },
              { method: 'DELETE', path: `${t}/apps/${APP}/roles/Role.${i}` },
            ]),
          );
          const left = (await json(await server.admin('GET', `${t}/apps`), 200)).value as Json[];
          assert.deepEqual(left.map((a) => [a.appId, a.roles, a.secrets.length]), [[APP, [], 1]]);
          assert.deepEqual((await json(await server.admin('GET', `${t}/users`), 200)).value.map((u: Json) => u.id), [USER]);
          assert.deepEqual((await json(await server.admin('GET', `${t}/policies`), 200)).value, []);
        },
        baseDirectory(),
      );
    });
  });
}

describe('PostgreSQL: a snapshot is read in one transaction', () => {
  test('a change committed while the export is under way is not half in it', async () => {
    const db = await freshDatabase((await testPostgres()).url);
    await withServer(
      db,
      async (server) => {
        await json(await server.admin('PUT', '/clock', { frozen: true }), 200);
        const before = await (await server.admin('GET', `/snapshot?tenant=${TENANT}`)).text();
        const locker = new pg.Client({ connectionString: db });
        const watcher = new pg.Client({ connectionString: db });
        await locker.connect();
        await watcher.connect();
        try {
          // The export's read of the secrets waits for this lock; the change commits meanwhile.
          await locker.query('BEGIN');
          await locker.query('LOCK TABLE app_secrets IN ACCESS EXCLUSIVE MODE');
          const exporting = server.admin('GET', `/snapshot?tenant=${TENANT}`);
          for (let waited = 0; ; waited += 20) {
            const { rows } = await watcher.query("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'app_secrets'::regclass");
            if (rows[0].n > 0) break;
            assert.ok(waited < 15_000, 'the export reached the secrets');
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await locker.query("UPDATE tenants SET display_name = 'Changed meanwhile' WHERE id = $1", [TENANT]);
          await locker.query("UPDATE users SET display_name = 'Changed meanwhile' WHERE tenant_id = $1", [TENANT]);
          const [secret] = (await locker.query('SELECT * FROM app_secrets WHERE tenant_id = $1', [TENANT])).rows;
          await locker.query(
            "INSERT INTO app_secrets (tenant_id, app_id, id, hash, hint, created_date_time) VALUES ($1, $2, '2', $3, 'new', $4)",
            [TENANT, APP, secret.hash, secret.created_date_time],
          );
          await locker.query('COMMIT');
          const response = await exporting;
          assert.equal(response.status, 200);
          assert.equal(await response.text(), before, 'the export is the tenant as it was when it began');
          const after = JSON.parse(await (await server.admin('GET', `/snapshot?tenant=${TENANT}`)).text()) as Json;
          assert.equal(after.tenant.displayName, 'Changed meanwhile');
          assert.equal(after.apps[0].secretHashes.length, 2);
        } finally {
          await locker.query('ROLLBACK').catch(() => undefined);
          await locker.end();
          await watcher.end();
        }
      },
      baseDirectory(),
    );
  });
});
