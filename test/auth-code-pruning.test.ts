// Redeemed authorization codes do not pile up, on SQLite and PostgreSQL: each redemption claims its
// code once (two stores on one database standing for two processes: exactly one wins) and deletes
// the claims of codes expired for longer than the grace; the claims kept by the previous release in
// settings move to the new table and still refuse their codes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadDevIssuer } from '../src/auth/dev-issuer.js';
import { CLAIM_GRACE_SECONDS, CODE_LIFETIME_SECONDS, type CodeGrant, GrantTokens } from '../src/auth/entra/grant-tokens.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { rawSql } from './helpers/raw-sql.js';
import { tempDir } from './helpers/server.js';

const dir = tempDir('graph-meetings-code-pruning-');
after(() => rmSync(dir, { recursive: true, force: true }));

const ENGINES = [
  { name: 'SQLite', db: async () => `sqlite:${join(dir, `${randomUUID()}.db`)}` },
  { name: 'PostgreSQL', db: async () => freshDatabase((await testPostgres()).url) },
];

const GRANT: CodeGrant = {
  tid: randomUUID(),
  oid: randomUUID(),
  azp: randomUUID(),
  redirect_uri: 'http://localhost:3000/callback',
  scope: 'openid',
};

/** The jtis of the claims stored, in order. */
async function claims(db: string): Promise<string[]> {
  return (await rawSql<{ jti: string }>(db, 'SELECT jti FROM redeemed_codes ORDER BY jti')).map((r) => r.jti);
}

/** Two processes on one database (a store each), their grant tokens on one test clock. */
async function processes(db: string) {
  const stores: Store[] = [await openStore(db), await openStore(db)];
  const clock = { ms: Date.now(), now: () => clock.ms };
  const issuer = await loadDevIssuer(stores[0]!);
  const [one, two] = stores.map((store) => new GrantTokens(issuer, store, 'https://login.test/tenant/v2.0', clock)) as [GrantTokens, GrantTokens];
  /** A new code (`text`) and its grant as the token endpoint reads it back. */
  const code = async () => {
    const text = await one.issueCode(GRANT);
    const read = await one.readCode(text);
    assert.ok(read, 'a fresh code reads back');
    return { ...read, text };
  };
  return { one, two, clock, code, close: () => Promise.all(stores.map((s) => s.close())) };
}

for (const engine of ENGINES) {
  describe(`${engine.name}: redeemed authorization codes`, () => {
    test('a claim outlives its code by the grace, then goes at a later redemption; single use holds throughout', async () => {
      const db = await engine.db();
      const { one, two, clock, code, close } = await processes(db);
      try {
        const first = await code();
        assert.equal(await one.redeemOnce(first), true);
        assert.equal(await one.redeemOnce(first), false, 'a code is redeemed once');
        assert.equal(await two.redeemOnce(first), false, 'on any process');
        assert.deepEqual(await claims(db), [first.jti]);

        // Expired, but within the grace: a process whose clock lags may still read the code, so its claim stays.
        clock.ms += (CODE_LIFETIME_SECONDS + 1) * 1000;
        const second = await code();
        assert.equal(await one.redeemOnce(second), true);
        assert.deepEqual(await claims(db), [first.jti, second.jti].sort());

        // Past the grace: the next redemption deletes the first claim, whose code is refused anyway.
        clock.ms += CLAIM_GRACE_SECONDS * 1000;
        const third = await code();
        const outcomes = await Promise.all([one.redeemOnce(third), two.redeemOnce(third)]);
        assert.deepEqual(outcomes.sort(), [false, true], 'two processes redeeming one code: exactly one wins');
        assert.deepEqual(await claims(db), [second.jti, third.jti].sort(), "the first code's claim is gone");
        assert.equal(await two.readCode(first.text), undefined, 'the first code itself is refused: expired');
        assert.equal(await two.redeemOnce(third), false, 'the new code is still redeemed once');
        assert.equal(await one.redeemOnce(second), false, 'the second claim stands too');
      } finally {
        await close();
      }
    });

    test("the previous release's claims (settings rows) move to the new table and keep refusing their codes", async () => {
      const db = await engine.db();
      await (await openStore(db)).close();
      // Back to before the migration, with a claim as the previous release stored it.
      for (const statement of [
        'DROP TABLE redeemed_codes',
        'DELETE FROM schema_migrations WHERE version = 6',
        "INSERT INTO settings (name, value) VALUES ('entra-code-redeemed:legacy-jti', 'winner')",
      ]) {
        await rawSql(db, statement);
      }
      const store = await openStore(db);
      try {
        assert.deepEqual(await claims(db), ['legacy-jti']);
        assert.deepEqual(await rawSql(db, "SELECT name FROM settings WHERE name LIKE 'entra-code-redeemed:%'"), []);
        const now = Math.floor(Date.now() / 1000);
        assert.equal(await store.redeemCode('legacy-jti', now + CODE_LIFETIME_SECONDS, now), false);
        assert.equal(await store.redeemCode('new-jti', now + CODE_LIFETIME_SECONDS, now), true);
      } finally {
        await store.close();
      }
    });
  });
}
