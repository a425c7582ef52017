// Directory administration (issue 8, parts 4–6): the richer seed (apps, secrets, certificates,
// passwords — stored hashed), /__admin/directory/… and `graph-meetings directory …` on SQLite and
// PostgreSQL, named application access policies (per-user over global), changes holding on a second
// process without a restart, --policy-propagation-delay, and the admin API's guard and rate limit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { Config } from '../src/config/config.js';
import type { DirectoryAdmin } from '../src/store/directory-admin.js';
import { openStore } from '../src/store/open-store.js';
import { killAllChildren, runCli, startCliServer } from './helpers/cli.js';
import { ALICE, BOB, BOOKING_APP, CONTOSO, CRM_APP, DIRECTORY } from './helpers/fixtures.js';
import { expectGraphError } from './helpers/graph-assert.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, type RunningServer, startServer, TEST_ADMIN_KEY, tempDir, writeDirectory } from './helpers/server.js';

const TENANT = '5e7a0000-0000-4000-8000-0000000000a1';
const ADELE = { id: '5e7a0000-0000-4000-8000-0000000000b1', upn: 'adele@tailspin.example' };
const LEE = { id: '5e7a0000-0000-4000-8000-0000000000b2', upn: 'lee@tailspin.example' };
const BOT = '5e7a0000-0000-4000-8000-0000000000c1';
const OTHER_APP = '5e7a0000-0000-4000-8000-0000000000c2';
const BOT_SECRET = 'bot-secret-Plain-Text-0001';
const ADELE_PASSWORD = 'Adele-Password-Plain-0002';
const ROLE = 'OnlineMeetings.ReadWrite.All';

const dir = tempDir('graph-meetings-directory-admin-');
after(async () => {
  await killAllChildren();
});

/** A self-signed PEM certificate (openssl), for certificate credentials. */
function certificate(): string {
  const key = join(dir, `key-${Math.random()}.pem`);
  const cert = `${key}.crt`;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=bot'], { stdio: 'ignore' });
  return readFileSync(cert, 'utf8');
}

function seed(pem: string) {
  return {
    tenants: [
      {
        id: TENANT,
        displayName: 'Tailspin',
        users: [
          { id: ADELE.id, userPrincipalName: ADELE.upn, password: ADELE_PASSWORD },
          { id: LEE.id, userPrincipalName: LEE.upn },
        ],
        apps: [
          { appId: BOT, displayName: 'Bot', secrets: [BOT_SECRET], certificates: [pem], roles: [ROLE], redirectUris: ['http://localhost:3000/callback'] },
        ],
      },
    ],
  };
}

async function json(response: Response, status: number): Promise<any> {
  const text = await response.text();
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

type Engine = { name: string; db: () => Promise<string>; rawText: (db: string) => Promise<string> };

/** Everything the database holds, as text: where a plain secret must never appear. */
const sqliteText = async (db: string) => {
  const path = db.slice('sqlite:'.length);
  const folder = path.slice(0, path.lastIndexOf('/'));
  const base = path.slice(path.lastIndexOf('/') + 1);
  return readdirSync(folder)
    .filter((f) => f.startsWith(base))
    .map((f) => readFileSync(join(folder, f)).toString('latin1'))
    .join('\n');
};
const postgresText = async (db: string) => {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    const parts: string[] = [];
    for (const table of ['users', 'apps', 'app_secrets', 'app_certificates', 'settings', 'tenants']) {
      const { rows } = await client.query(`SELECT row_to_json(t)::text AS row FROM ${table} t`);
      parts.push(...rows.map((r) => r.row as string));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
};

let sqliteCount = 0;
const ENGINES: Engine[] = [
  { name: 'SQLite', db: async () => `sqlite:${join(dir, `engine-${++sqliteCount}.db`)}`, rawText: sqliteText },
  { name: 'PostgreSQL', db: async () => freshDatabase((await testPostgres()).url), rawText: postgresText },
];

/** The verification API (store.directoryAdmin), on a store of its own opened on `db`. */
async function withDirectory(db: string, check: (directory: DirectoryAdmin) => Promise<void>) {
  const store = await openStore(db);
  try {
    await check(store.directoryAdmin);
  } finally {
    await store.close();
  }
}

/** A server on a fresh database of the engine (where exports are imported). */
async function onFreshServer(engine: Engine, work: (server: RunningServer, db: string) => Promise<void>) {
  const db = await engine.db();
  const server = await startServer({ config: { db } as Partial<Config> });
  try {
    await work(server, db);
  } finally {
    await server.close();
  }
}

async function appToken(server: { url: string }, appId: string, tenant = TENANT): Promise<string> {
  const body = await json(await adminFetch(server.url, 'POST', '/tokens', { app: appId, tenant, roles: ROLE }), 200);
  return body.access_token as string;
}

/** Creates a meeting for `user` as the app: 201, or 403 when no access policy allows it. */
async function createFor(url: string, token: string, user: string): Promise<number> {
  const response = await fetch(`${url}/v1.0/users/${user}/onlineMeetings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'policy check' }),
  });
  await response.arrayBuffer();
  return response.status;
}

for (const engine of ENGINES) {
  describe(`directory administration API on ${engine.name}`, () => {
    let server: RunningServer;
    let db: string;
    let pem: string;
    const admin = (method: string, path: string, body?: unknown) => server.admin(method, `/directory${path}`, body);
    const t = `/tenants/${TENANT}`;

    before(async () => {
      pem = certificate();
      db = await engine.db();
      server = await startServer({ config: { db } as Partial<Config>, directory: seed(pem) });
    });
    after(() => server?.close());

    test('a seed with apps, secrets, certificates and passwords is stored hashed; the verification API checks them', async () => {
      const raw = await engine.rawText(db);
      assert.ok(raw.includes(BOT), 'the app is stored');
      assert.ok(!raw.includes(BOT_SECRET), 'no plain client secret in the database');
      assert.ok(!raw.includes(ADELE_PASSWORD), 'no plain password in the database');
      await withDirectory(db, async (d) => {
        assert.equal(await d.verifyAppSecret(TENANT, BOT, BOT_SECRET), true);
        assert.equal(await d.verifyAppSecret(TENANT, BOT, `${BOT_SECRET}x`), false);
        assert.equal(await d.verifyAppSecret(TENANT, OTHER_APP, BOT_SECRET), false);
        assert.equal(await d.verifyUserPassword(TENANT, ADELE.upn.toUpperCase(), ADELE_PASSWORD), true);
        assert.equal(await d.verifyUserPassword(TENANT, ADELE.id, 'wrong'), false);
        assert.equal(await d.verifyUserPassword(TENANT, LEE.upn, ''), false, 'a user without a password never signs in');
        assert.deepEqual(await d.appRoles(TENANT, BOT.toUpperCase()), [ROLE]);
        assert.deepEqual(await d.appRedirectUris(TENANT, BOT), ['http://localhost:3000/callback']);
        const [certificate] = await d.appCertificates(TENANT, BOT);
        assert.equal(certificate!.pem, pem.trim());
        assert.match(certificate!.thumbprint, /^[0-9A-F]{40}$/);
      });
    });

    test('export gives hashes only, and importing the export keeps every credential working', async () => {
      const exported = await json(await admin('GET', `/export?tenant=${TENANT}`), 200);
      const text = JSON.stringify(exported);
      assert.ok(!text.includes(BOT_SECRET) && !text.includes(ADELE_PASSWORD), 'no plain secret in the export');
      const [tenant] = exported.tenants;
      assert.match(tenant.users.find((u: any) => u.id === ADELE.id).passwordHash, /^scrypt\$/);
      assert.equal(tenant.apps[0].secretHashes[0].hint, BOT_SECRET.slice(0, 3));
      // A second database loads the export: the same secret and password verify there.
      await onFreshServer(engine, async (copy, other) => {
        await json(await copy.admin('POST', '/directory/import', exported), 200);
        await withDirectory(other, async (d) => {
          assert.equal(await d.verifyAppSecret(TENANT, BOT, BOT_SECRET), true);
          assert.equal(await d.verifyUserPassword(TENANT, ADELE.upn, ADELE_PASSWORD), true);
        });
        assert.deepEqual(await json(await copy.admin('GET', `/directory/export?tenant=${TENANT}`), 200), exported);
      });
    });

    test('snapshots carry apps, named policies and passwords as hashes (version 2); version 1 still imports; resets clear them', async () => {
      await json(await admin('PUT', `${t}/policies/Snap`, { appIds: [BOT] }), 200);
      await json(await admin('POST', `${t}/policies/Snap/grants`, { user: LEE.id }), 200);
      const document = await json(await server.admin('GET', `/snapshot?tenant=${TENANT}`), 200);
      assert.equal(document.version, 2);
      const text = JSON.stringify(document);
      assert.ok(!text.includes(BOT_SECRET) && !text.includes(ADELE_PASSWORD), 'no plain secret in the snapshot');
      assert.match(document.users.find((u: any) => u.id === ADELE.id).passwordHash, /^scrypt\$/);
      assert.equal(document.apps[0].appId, BOT);
      assert.match(document.apps[0].secretHashes[0].hash, /^scrypt\$/);
      assert.deepEqual(document.accessPolicies, [{ name: 'Snap', appIds: [BOT], users: [LEE.id], global: false }]);
      await json(await admin('DELETE', `${t}/policies/Snap`), 204);

      await onFreshServer(engine, async (copy, other) => {
        await json(await copy.admin('POST', '/snapshot', document), 200);
        await withDirectory(other, async (d) => {
          assert.equal(await d.verifyAppSecret(TENANT, BOT, BOT_SECRET), true);
          assert.equal(await d.verifyUserPassword(TENANT, ADELE.id, ADELE_PASSWORD), true);
        });
        assert.deepEqual((await json(await copy.admin('GET', `/directory${t}/policies`), 200)).value, document.accessPolicies);
        // A version 1 document (before apps and passwords) replaces the tenant whole: no apps after it.
        const { apps: _apps, accessPolicies: _policies, ...rest } = document;
        const v1 = { ...rest, version: 1, users: document.users.map(({ passwordHash: _hash, ...user }: any) => user) };
        await json(await copy.admin('POST', '/snapshot', v1), 200);
        assert.deepEqual((await json(await copy.admin('GET', `/directory${t}/apps`), 200)).value, []);
        await expectGraphError(await copy.admin('POST', '/snapshot', { ...v1, apps: [] }), 400, { message: /need version 2/ });
        await expectGraphError(
          await copy.admin('POST', '/snapshot', { ...document, users: [{ id: ADELE.id, passwordHash: ADELE_PASSWORD }] }),
          400,
          { message: /never a plain secret/ },
        );
        await json(await copy.admin('POST', '/snapshot', document), 200);
        await json(await copy.admin('POST', '/reset', { directory: true }), 200);
        await expectGraphError(await copy.admin('GET', `/directory${t}/apps`), 404);
        await withDirectory(other, async (d) => {
          assert.deepEqual(await d.appRoles(TENANT, BOT), [], 'a directory reset removes the apps');
          assert.equal(await d.verifyAppSecret(TENANT, BOT, BOT_SECRET), false);
        });
      });
    });

    test('tenants, users and apps: add, list, remove', async () => {
      const other = '5e7a0000-0000-4000-8000-0000000000a2';
      assert.equal((await admin('POST', '/tenants', { id: other, displayName: 'Wingtip' })).status, 201);
      assert.equal((await admin('POST', '/tenants', { id: other, displayName: 'Wingtip Toys' })).status, 200, 'adding again renames');
      const tenants = (await json(await admin('GET', '/tenants'), 200)).value;
      assert.deepEqual(tenants.find((x: any) => x.id === other), { id: other, displayName: 'Wingtip Toys', users: 0, apps: 0, globalAccessPolicy: null });

      const user = await json(await admin('POST', `/tenants/${other}/users`, { userPrincipalName: 'kim@wingtip.example', password: 'kim-Plain-Password' }), 201);
      assert.equal(user.hasPassword, true);
      assert.ok(!JSON.stringify(user).includes('kim-Plain-Password'), 'the password is not echoed');
      const users = (await json(await admin('GET', `/tenants/${other}/users`), 200)).value;
      assert.deepEqual(users, [{ id: user.id, userPrincipalName: 'kim@wingtip.example', displayName: null, hasPassword: true, accessPolicy: null }]);

      const app = await json(await admin('POST', `/tenants/${other}/apps`, { displayName: 'Scheduler', roles: [ROLE] }), 201);
      assert.match(app.appId, /^[0-9a-f-]{36}$/);
      assert.equal(typeof app.secret, 'string');
      assert.ok(app.secret.length >= 32);
      const apps = (await json(await admin('GET', `/tenants/${other}/apps`), 200)).value;
      assert.equal(apps.length, 1);
      assert.deepEqual(apps[0].secrets.map((s: any) => s.hint), [app.secret.slice(0, 3)]);
      assert.ok(!JSON.stringify(apps).includes(app.secret), 'listing shows no secret');
      await withDirectory(db, async (d) => {
        assert.equal(await d.verifyAppSecret(other, app.appId, app.secret), true);
      });
      const publicClient = await json(await admin('POST', `/tenants/${other}/apps`, { displayName: 'Mobile', secret: false }), 201);
      assert.equal(publicClient.secret, undefined, 'a public client has no secret');

      assert.deepEqual(await json(await admin('POST', `/tenants/${other}/apps/${app.appId}/roles`, { role: 'OnlineMeetings.Read.All' }), 200), {
        roles: ['OnlineMeetings.Read.All', ROLE],
      });
      assert.deepEqual(await json(await admin('DELETE', `/tenants/${other}/apps/${app.appId}/roles/${ROLE}`), 200), { roles: ['OnlineMeetings.Read.All'] });

      assert.equal((await admin('DELETE', `/tenants/${other}/apps/${app.appId}`)).status, 204);
      await expectGraphError(await admin('DELETE', `/tenants/${other}/apps/${app.appId}`), 404);
      assert.equal((await admin('DELETE', `/tenants/${other}/users/kim@wingtip.example`)).status, 204);
      assert.deepEqual((await json(await admin('GET', `/tenants/${other}/users`), 200)).value, []);
      assert.equal((await admin('DELETE', `/tenants/${other}`)).status, 204);
      await expectGraphError(await admin('GET', `/tenants/${other}/users`), 404);
    });

    test('bad input is a Graph-shaped 400 or 404, never a 500', async () => {
      await expectGraphError(await admin('POST', '/tenants', { id: 'not-a-guid' }), 400);
      await expectGraphError(await admin('POST', `${t}/users`, { userPrincipalName: 'x\u0000y' }), 400);
      await expectGraphError(await admin('POST', `${t}/apps`, { certificates: ['-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----'] }), 400);
      await expectGraphError(await admin('POST', '/import', { tenants: [{ id: TENANT, apps: [{ appId: 'nope' }] }] }), 400);
      await expectGraphError(await admin('DELETE', `${t}/users/nobody%00x`), 404);
      await expectGraphError(await admin('POST', `${t}/policies/Missing/grants`, { global: true }), 404);
      await expectGraphError(await admin('POST', `${t}/policies/Missing/grants`, {}), 400);
      await expectGraphError(await admin('GET', '/tenants/7d1e2a3b-0000-4c2d-9e8f-00000000dead/apps'), 404);
    });

    test('named policies: per-user grant over the global one, revocation and removal hold at once', async () => {
      const token = await appToken(server, BOT);
      assert.equal(await createFor(server.url, token, ADELE.id), 403, 'no policy yet');
      await json(await admin('PUT', `${t}/policies/Bots`, { appIds: [BOT] }), 200);
      await json(await admin('PUT', `${t}/policies/Others`, { appIds: [OTHER_APP] }), 200);
      await json(await admin('POST', `${t}/policies/Bots/grants`, { global: true }), 200);
      assert.equal(await createFor(server.url, token, ADELE.id), 201, 'global grant');
      assert.equal(await createFor(server.url, token, LEE.id), 201, 'global grant');
      await json(await admin('POST', `${t}/policies/Others/grants`, { user: ADELE.upn }), 200);
      assert.equal(await createFor(server.url, token, ADELE.id), 403, "Adele's own policy replaces the global one");
      assert.equal(await createFor(server.url, token, LEE.id), 201, 'Lee still has the global one');
      const policies = (await json(await admin('GET', `${t}/policies`), 200)).value;
      assert.deepEqual(policies, [
        { name: 'Bots', appIds: [BOT], users: [], global: true },
        { name: 'Others', appIds: [OTHER_APP], users: [ADELE.id], global: false },
      ]);
      assert.equal((await admin('DELETE', `${t}/policies/Others/grants/${ADELE.id}`)).status, 204);
      assert.equal(await createFor(server.url, token, ADELE.id), 201, 'back to the global grant');
      assert.equal((await admin('DELETE', `${t}/policies/Bots/grants/global`)).status, 204);
      assert.equal(await createFor(server.url, token, LEE.id), 403, 'revoked');
      assert.equal((await admin('DELETE', `${t}/policies/Bots`)).status, 204);
      assert.equal((await admin('DELETE', `${t}/policies/Others`)).status, 204);
      assert.deepEqual((await json(await admin('GET', `${t}/policies`), 200)).value, []);
      // The console's read-only listing still answers.
      const listing = await json(await server.admin('GET', '/directory'), 200);
      assert.ok(listing.tenants.some((x: any) => x.id === TENANT));
    });
  });

  describe(`graph-meetings directory … (CLI, --db) on ${engine.name}`, () => {
    let db: string;
    const cli = async (...args: string[]) => {
      const result = await runCli(['directory', ...args, '--db', db]);
      assert.equal(result.code, 0, `directory ${args.join(' ')}\n${result.stderr}`);
      return result.stdout.trim() ? JSON.parse(result.stdout) : undefined;
    };
    before(async () => {
      db = await engine.db();
    });

    test('every command', async () => {
      const pem = certificate();
      const file = join(dir, `seed-${engine.name}.json`);
      writeFileSync(file, JSON.stringify(seed(pem)));
      assert.deepEqual(await cli('import', file), { tenants: [TENANT] });
      const other = '5e7a0000-0000-4000-8000-0000000000a3';
      await cli('tenants', 'add', other, '--name', 'Litware');
      assert.ok((await cli('tenants', 'list')).value.some((x: any) => x.id === other && x.displayName === 'Litware'));
      const passwordFile = join(dir, 'password.txt');
      writeFileSync(passwordFile, 'file-Password-Plain\n');
      const user = await cli('users', 'add', 'sam@litware.example', '--tenant', other, '--password-file', passwordFile);
      assert.equal(user.hasPassword, true);
      assert.equal((await cli('users', 'list', '--tenant', other)).value[0].userPrincipalName, 'sam@litware.example');
      const certFile = join(dir, `cert-${engine.name}.pem`);
      writeFileSync(certFile, pem);
      const app = await cli('apps', 'add', '--tenant', other, '--name', 'CLI bot', '--role', ROLE, '--redirect-uri', 'http://localhost:5000/cb', '--certificate', certFile);
      assert.equal(typeof app.secret, 'string');
      const [listed] = (await cli('apps', 'list', '--tenant', other)).value;
      assert.deepEqual(
        { roles: listed.roles, redirectUris: listed.redirectUris, certificates: listed.certificates.length },
        { roles: [ROLE], redirectUris: ['http://localhost:5000/cb'], certificates: 1 },
      );
      assert.deepEqual(await cli('roles', 'grant', app.appId, 'OnlineMeetings.Read.All', '--tenant', other), { roles: ['OnlineMeetings.Read.All', ROLE] });
      assert.deepEqual(await cli('roles', 'revoke', app.appId, ROLE, '--tenant', other), { roles: ['OnlineMeetings.Read.All'] });
      await cli('policies', 'add', 'CliPolicy', '--app', app.appId, '--tenant', other);
      await cli('policies', 'grant', 'CliPolicy', '--user', 'sam@litware.example', '--tenant', other);
      await cli('policies', 'grant', 'CliPolicy', '--global', '--tenant', other);
      assert.deepEqual((await cli('policies', 'list', '--tenant', other)).value, [{ name: 'CliPolicy', appIds: [app.appId], users: [user.id], global: true }]);
      await cli('policies', 'revoke', 'CliPolicy', '--user', user.id, '--tenant', other);
      await cli('policies', 'revoke', 'CliPolicy', '--global', '--tenant', other);
      assert.deepEqual((await cli('policies', 'list', '--tenant', other)).value[0].global, false);
      const out = join(dir, `export-${engine.name}.json`);
      await cli('export', '--tenant', other, '--out', out);
      const exported = readFileSync(out, 'utf8');
      assert.ok(!exported.includes(app.secret) && !exported.includes('file-Password-Plain'), 'export carries hashes only');
      assert.ok(exported.includes(app.appId));
      await cli('policies', 'remove', 'CliPolicy', '--tenant', other);
      await cli('apps', 'remove', app.appId, '--tenant', other);
      await cli('users', 'remove', 'sam@litware.example', '--tenant', other);
      await cli('tenants', 'remove', other);
      assert.ok(!(await cli('tenants', 'list')).value.some((x: any) => x.id === other));
      const raw = await engine.rawText(db);
      assert.ok(!raw.includes(BOT_SECRET) && !raw.includes(ADELE_PASSWORD), 'no plain secret in the database');
      const failed = await runCli(['directory', 'policies', 'grant', 'X', '--tenant', other, '--db', db]);
      assert.notEqual(failed.code, 0, 'grant needs --user or --global');
    });
  });
}

describe('a change through one process holds on another at once (two servers, one database)', () => {
  test('revoking via the second server refuses the next call on the first', async () => {
    const db = `sqlite:${join(dir, 'two-processes.db')}`;
    const directory = writeDirectory(tempDir(), {
      tenants: [{ id: TENANT, users: [{ id: ADELE.id, userPrincipalName: ADELE.upn }], apps: [{ appId: BOT, roles: [ROLE] }], policies: [{ name: 'Bots', appIds: [BOT], global: true }] }],
    });
    const args = ['--port', '0', '--db', db, '--admin-key', TEST_ADMIN_KEY, '--log-level', 'silent', '--directory', directory];
    const first = await startCliServer(args);
    const second = await startCliServer(args);
    const token = await appToken(first, BOT);
    assert.equal(await createFor(first.url, token, ADELE.id), 201);
    await json(await adminFetch(second.url, 'DELETE', `/directory/tenants/${TENANT}/policies/Bots/grants/global`), 204);
    assert.equal(await createFor(first.url, token, ADELE.id), 403, 'the first process sees the revocation without a restart');
    await json(await adminFetch(second.url, 'POST', `/directory/tenants/${TENANT}/policies/Bots/grants`, { user: ADELE.id }), 200);
    assert.equal(await createFor(first.url, token, ADELE.id), 201, 'and the new grant');
    await Promise.all([first.stop(), second.stop()]);
  });
});

describe('--policy-propagation-delay', () => {
  test('a revocation holds only after the delay', async () => {
    const DELAY_S = 4;
    const server = await startServer({
      config: { policyPropagationDelay: DELAY_S } as Partial<Config>,
      directory: { tenants: [{ id: TENANT, users: [{ id: ADELE.id }], policies: [{ name: 'Bots', appIds: [BOT], global: true }] }] },
    });
    try {
      const token = await appToken(server, BOT);
      const seen = Date.now();
      assert.equal(await createFor(server.url, token, ADELE.id), 201);
      await json(await server.admin('DELETE', `/directory/tenants/${TENANT}/policies/Bots/grants/global`), 204);
      const status = await createFor(server.url, token, ADELE.id);
      if (Date.now() - seen < DELAY_S * 1000) assert.equal(status, 201, 'within the delay the old answer holds');
      let refused = status === 403;
      while (!refused) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        refused = (await createFor(server.url, token, ADELE.id)) === 403;
      }
      assert.ok(Date.now() - seen >= DELAY_S * 1000, 'not refused before the delay had passed');
    } finally {
      await server.close();
    }
  });
});

describe('the existing directory files still load', () => {
  test('test fixtures: access policies as before (per-user over global), exported in the new format', async () => {
    const server = await startServer({ directory: DIRECTORY });
    try {
      const booking = await appToken(server, BOOKING_APP.appId, CONTOSO);
      const crm = await appToken(server, CRM_APP.appId, CONTOSO);
      assert.equal(await createFor(server.url, booking, ALICE.id), 201);
      assert.equal(await createFor(server.url, booking, BOB.id), 403);
      assert.equal(await createFor(server.url, crm, BOB.id), 201, 'global grant');
      assert.equal(await createFor(server.url, crm, ALICE.id), 403, "Alice's own grant replaces the global one");
      const exported = await json(await server.admin('GET', `/directory/export?tenant=${CONTOSO}`), 200);
      assert.deepEqual(exported.tenants[0].applicationAccessPolicies, [
        { appId: BOOKING_APP.appId, users: [ALICE.id] },
        { appId: CRM_APP.appId, scope: 'global' },
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('the admin API guard', () => {
  test('no secret, password or admin key reaches the server log', async () => {
    const db = `sqlite:${join(dir, 'logging.db')}`;
    const server = await startCliServer(['--port', '0', '--db', db, '--admin-key', TEST_ADMIN_KEY, '--log-level', 'trace']);
    await json(await adminFetch(server.url, 'POST', '/directory/tenants', { id: TENANT }), 201);
    await json(await adminFetch(server.url, 'POST', `/directory/tenants/${TENANT}/users`, { userPrincipalName: ADELE.upn, password: ADELE_PASSWORD }), 201);
    const app = await json(await adminFetch(server.url, 'POST', `/directory/tenants/${TENANT}/apps`, { roles: [ROLE] }), 201);
    await expectGraphError(await adminFetch(server.url, 'GET', '/directory/tenants', undefined, 'a-wrong-key-to-log'), 401);
    await server.stop();
    // The log lines (JSON); the start-up banner prints the console's link with the key on purpose.
    const log = (server.stdout() + server.stderr())
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .join('\n');
    assert.match(log, /__admin\/directory/, 'the calls are logged');
    for (const secret of [ADELE_PASSWORD, app.secret, TEST_ADMIN_KEY, 'a-wrong-key-to-log']) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  });

  test('a missing or wrong credential is refused; repeated failures are throttled, the right key still works', async () => {
    const server = await startServer();
    try {
      const path = `${server.url}/__admin/directory/tenants`;
      await expectGraphError(await fetch(path), 401, { code: 'Unauthorized' });
      await expectGraphError(await fetch(path, { headers: { authorization: 'Bearer wrong-key-0000000' } }), 401, { code: 'Unauthorized' });
      await expectGraphError(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: TENANT }) }), 401);
      let throttled: Response | undefined;
      for (let i = 0; i < 40 && !throttled; i++) {
        const response = await fetch(path, { headers: { authorization: `Bearer guess-${i}-xxxxxxxx` } });
        if (response.status === 429) throttled = response;
        else await expectGraphError(response, 401);
      }
      assert.ok(throttled, 'guessing is throttled');
      assert.ok(Number(throttled!.headers.get('retry-after')) >= 1);
      await expectGraphError(throttled!, 429, { code: 'TooManyRequests' });
      await json(await server.admin('GET', '/directory/tenants'), 200);
    } finally {
      await server.close();
    }
  });
});
