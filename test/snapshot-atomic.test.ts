// POST /__admin/snapshot is all or nothing, on SQLite and PostgreSQL: an import that fails after it
// wrote the tenant, its users, apps (secret and certificate hashes), named policies, password hashes
// and meetings leaves the tenant exactly as it was — a fresh export is byte-identical to the one
// before, and the old secret and password still work.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { rawSql } from './helpers/raw-sql.js';
import { type RunningServer, startServer, tempDir } from './helpers/server.js';

const TENANT = '5a0e0000-0000-4000-8000-000000000001';
const OTHER_TENANT = '5a0e0000-0000-4000-8000-000000000002';
const ADA = { id: '5a0e0000-0000-4000-8000-0000000000a1', userPrincipalName: 'ada@tenant.example', displayName: 'Ada', password: 'Ada-Password-0001' };
const BEN = { id: '5a0e0000-0000-4000-8000-0000000000a2', userPrincipalName: 'ben@tenant.example', displayName: 'Ben' };
const OLGA = { id: '5a0e0000-0000-4000-8000-0000000000b1', userPrincipalName: 'olga@other.example' };
const DAEMON = '5a0e0000-0000-4000-8000-0000000000c1';
const DESKTOP = '5a0e0000-0000-4000-8000-0000000000c2';
const DAEMON_SECRET = 'daemon-secret-0123456789';
/** The policy name the injected trigger refuses to grant. */
const POISON = 'poison';

const dir = tempDir('graph-meetings-snapshot-atomic-');
after(() => rmSync(dir, { recursive: true, force: true }));

interface Engine {
  name: string;
  db(): Promise<string>;
  /** Statements making the insert of a grant of the POISON policy fail: a failure among the credential writes. */
  refuseGrant: string[];
}

const ENGINES: Engine[] = [
  {
    name: 'SQLite',
    db: async () => `sqlite:${join(dir, `${randomUUID()}.db`)}`,
    refuseGrant: [
      `CREATE TRIGGER refuse_grant BEFORE INSERT ON policy_grants WHEN NEW.policy_name = '${POISON}'
       BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    ],
  },
  {
    name: 'PostgreSQL',
    db: async () => freshDatabase((await testPostgres()).url),
    refuseGrant: [
      "CREATE FUNCTION refuse_grant() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
      `CREATE TRIGGER refuse_grant BEFORE INSERT ON policy_grants FOR EACH ROW WHEN (NEW.policy_name = '${POISON}')
       EXECUTE FUNCTION refuse_grant()`,
    ],
  },
];

/** A self-signed PEM certificate, for a certificate credential. */
function certificate(): string {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-days', '2', '-subj', '/CN=daemon'];
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

const seed = () => ({
  tenants: [
    {
      id: TENANT,
      displayName: 'Tenant',
      users: [ADA, BEN],
      apps: [
        { appId: DAEMON, displayName: 'Daemon', secrets: [DAEMON_SECRET], certificates: [certificate()], roles: ['OnlineMeetings.ReadWrite.All'] },
        { appId: DESKTOP, displayName: 'Desktop', redirectUris: ['http://localhost:3000/callback'] },
      ],
      policies: [
        { name: 'daemons', appIds: [DAEMON], global: true },
        { name: 'desktop', appIds: [DESKTOP], users: [BEN.id] },
      ],
      applicationAccessPolicies: [{ appId: DAEMON, users: [ADA.id] }],
    },
    { id: OTHER_TENANT, users: [OLGA] },
  ],
});

async function created(server: RunningServer, upn: string, externalId: string): Promise<Json> {
  const minted = await server.admin('POST', '/tokens', { user: upn });
  assert.equal(minted.status, 200, await minted.clone().text());
  const { access_token: token } = (await minted.json()) as { access_token: string };
  const response = await server.request('/v1.0/me/onlineMeetings/createOrGet', { method: 'POST', token, json: { externalId, subject: externalId } });
  assert.equal(response.status, 201, await response.clone().text());
  return response.json();
}

async function exportText(server: RunningServer): Promise<string> {
  const response = await server.admin('GET', `/snapshot?tenant=${TENANT}`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The token endpoint's status for these form fields (a secret or a password checked against the stored hash). */
async function tokenStatus(server: RunningServer, fields: Record<string, string>): Promise<number> {
  const response = await server.request(`/${TENANT}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(fields) });
  await response.arrayBuffer();
  return response.status;
}

const DAEMON_GRANT = { grant_type: 'client_credentials', client_id: DAEMON, client_secret: DAEMON_SECRET, scope: 'https://graph.microsoft.com/.default' };

async function assertCredentialsWork(server: RunningServer) {
  assert.equal(await tokenStatus(server, DAEMON_GRANT), 200);
  const password = { grant_type: 'password', client_id: DESKTOP, scope: 'openid', username: ADA.userPrincipalName, password: ADA.password };
  assert.equal(await tokenStatus(server, password), 200);
}

/** A valid document in which every part of the tenant differs from `document`. */
function changed(document: Json): Json {
  const copy = structuredClone(document);
  copy.tenant.displayName = 'Half imported';
  const anotherHash = copy.apps.find((a: Json) => a.appId === DAEMON).secretHashes[0].hash;
  copy.users = [
    { ...copy.users.find((u: Json) => u.id === ADA.id), displayName: 'Ada (changed)', passwordHash: anotherHash },
    { id: randomUUID(), userPrincipalName: 'new@tenant.example', displayName: 'New', passwordHash: anotherHash },
  ];
  copy.apps = [
    { appId: DAEMON, displayName: 'Daemon (changed)', roles: [], redirectUris: [], secretHashes: [], certificates: [] },
    { appId: randomUUID(), displayName: 'New app', roles: ['OnlineMeetings.Read.All'], redirectUris: [], secretHashes: [{ hash: anotherHash, hint: 'new' }], certificates: [] },
  ];
  copy.accessPolicies = [{ name: 'new', appIds: [DESKTOP], users: [ADA.id], global: true }];
  copy.applicationAccessPolicies = [];
  copy.meetings = [{ ...copy.meetings[0], properties: { ...copy.meetings[0].properties, subject: 'half imported' } }];
  return copy;
}

for (const engine of ENGINES) {
  describe(`${engine.name}: a snapshot import that fails changes nothing`, () => {
    test('a meeting id of another tenant, last; a failure among the credential writes', async () => {
      const db = await engine.db();
      const server = await startServer({ directory: seed(), config: { db } });
      try {
        await created(server, ADA.userPrincipalName, 'planning');
        await created(server, BEN.userPrincipalName, 'review');
        const theirs = await created(server, OLGA.userPrincipalName, 'theirs');
        // Frozen, the clock gives every export the same exportedAt: exports compare byte for byte.
        assert.equal((await server.admin('PUT', '/clock', { frozen: true })).status, 200);
        const before = await exportText(server);
        const document = JSON.parse(before) as Json;
        assert.equal(document.apps.length, 2);
        assert.equal(document.accessPolicies.length, 2);
        assert.equal(document.apps[0].certificates.length, 1);
        assert.match(document.users.find((u: Json) => u.id === ADA.id).passwordHash, /^scrypt\$/);
        const replacement = changed(document);

        // Refused at the last meeting, after everything else of the tenant was written.
        const stolen = { ...replacement.meetings[0], properties: { ...replacement.meetings[0].properties, id: theirs.id, externalId: 'stolen' } };
        const colliding = await server.admin('POST', '/snapshot', { ...replacement, meetings: [...replacement.meetings, stolen] });
        await expectGraphError(colliding, 409, { code: 'Conflict', message: new RegExp(`tenant ${OTHER_TENANT}`) });
        assert.equal(await exportText(server), before, 'after a meeting id conflict');
        await assertCredentialsWork(server);

        // The database refuses one of the credential writes (the policy grants, after the users, apps and secrets).
        for (const statement of engine.refuseGrant) await rawSql(db, statement);
        const poisoned = { ...replacement, accessPolicies: [...replacement.accessPolicies, { name: POISON, appIds: [DAEMON], users: [ADA.id] }] };
        await expectGraphError(await server.admin('POST', '/snapshot', poisoned), 500, { code: 'InternalServerError' });
        assert.equal(await exportText(server), before, 'after a failed credential write');
        await assertCredentialsWork(server);

        // The same document without the trigger's policy goes in whole.
        assert.equal((await server.admin('POST', '/snapshot', replacement)).status, 200);
        const { exportedAt: _at, ...after } = JSON.parse(await exportText(server)) as Json;
        assert.equal(after.tenant.displayName, 'Half imported');
        assert.deepEqual(after.accessPolicies, replacement.accessPolicies);
        assert.deepEqual(
          after.apps.map((a: Json) => a.appId).sort(),
          replacement.apps.map((a: Json) => a.appId).sort(),
        );
        assert.equal(after.meetings.length, 1);
        assert.notEqual(await tokenStatus(server, DAEMON_GRANT), 200, "the daemon's secret is gone");
      } finally {
        await server.close();
      }
    });
  });
}
