// The Store contract (src/store/store.ts, src/domain/ports.ts), run against every engine through the
// Store interface only, on real databases. A new engine is a new adapter plus one `contract(...)` line.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DirectorySeed, DirectoryUser } from '../src/domain/directory.js';
import { expiryCutoff } from '../src/domain/expiry.js';
import { formatInstant } from '../src/domain/instant.js';
import type { Meeting } from '../src/domain/meeting.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { meetingFor } from './helpers/meetings.js';
import { freshDatabase as freshPostgresDatabase, testPostgres } from './helpers/postgres-cluster.js';

type Opener = () => Promise<Store>;
/** Makes an empty database; the returned opener opens a store on it (each call: another "process"). */
type FreshDatabase = () => Promise<Opener>;


const sqliteRoot = mkdtempSync(join(tmpdir(), 'graph-meetings-store-contract-'));
after(() => rmSync(sqliteRoot, { recursive: true, force: true }));

const now = () => expiryCutoff(Date.now());
const key = () => `key-${randomUUID()}`;
const withSubject = (m: Meeting, subject: string): Meeting => ({ ...m, properties: { ...m.properties, subject } });

/** Same meeting: equal values and the same member order (properties are kept as JSON text). */
function assertSameMeeting(actual: Meeting | undefined, expected: Meeting) {
  assert.ok(actual, `expected meeting ${expected.properties.id}, got undefined`);
  assert.deepEqual(actual, expected);
  assert.equal(JSON.stringify(actual.properties), JSON.stringify(expected.properties));
}

const sortedIds = (meetings: Meeting[]) => meetings.map((m) => m.properties.id).sort();
const sortGrants = (g: { userScoped: string[]; global: string[] }) => ({ userScoped: [...g.userScoped].sort(), global: [...g.global].sort() });

const TIMEOUT = new Error('did not settle within 5 s');
function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(TIMEOUT), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/**
 * One fresh database per describe block: `store` is opened before its tests, `another()` opens
 * more stores on the same database, `newDatabase()` gives another empty one. All are closed after.
 */
function useDatabase(fresh: FreshDatabase) {
  const opened: Store[] = [];
  const closed = new Set<Store>();
  let openDefault: Opener;
  const track = async (opening: Promise<Store>) => {
    const store = await opening;
    opened.push(store);
    return store;
  };
  const ctx = {
    store: undefined as unknown as Store,
    another: () => track(openDefault()),
    async newDatabase(): Promise<Opener> {
      const open = await fresh();
      return () => track(open());
    },
    async close(store: Store) {
      closed.add(store);
      await store.close();
    },
  };
  before(async () => {
    openDefault = await fresh();
    ctx.store = await ctx.another();
  });
  after(async () => {
    for (const store of opened) if (!closed.has(store)) await store.close();
  });
  return ctx;
}

/** Runs `count` insertOrGet calls for one key at once, spread over `stores`; checks exactly one was created. */
async function raceForKey(stores: Store[], count: number, tenant: string, organizer: string, externalId: string, cutoff = now()) {
  const candidates = Array.from({ length: count }, () => meetingFor(tenant, organizer, externalId));
  const results = await Promise.all(candidates.map((m, i) => stores[i % stores.length]!.insertOrGetMeeting(m, cutoff)));
  const created = results.filter((r) => r.created);
  assert.equal(created.length, 1, `created ${created.length} of ${count}`);
  const winner = created[0]!.meeting;
  for (const r of results) assertSameMeeting(r.meeting, winner);
  // Only the winner is stored; every loser's id is unknown.
  assertSameMeeting(await stores[0]!.getMeeting(tenant, winner.properties.id), winner);
  for (const m of candidates) {
    if (m.properties.id !== winner.properties.id) assert.equal(await stores[0]!.getMeeting(tenant, m.properties.id), undefined);
  }
  return winner;
}

function contract(engine: string, fresh: FreshDatabase) {
  describe(`${engine} store contract`, () => {
    describe('migrations', () => {
      const db = useDatabase(fresh);

      test('opening an existing database again keeps its schema and data', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const first = meetingFor(tenant, organizer, externalId);
        assert.equal((await db.store.insertOrGetMeeting(first, now())).created, true);
        const second = await db.another();
        assertSameMeeting(await second.getMeeting(tenant, first.properties.id), first);
        const again = await second.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), now());
        assert.equal(again.created, false);
        assertSameMeeting(again.meeting, first);
        // Closed and opened again: the data is still there.
        await db.close(second);
        const third = await db.another();
        assertSameMeeting(await third.getMeeting(tenant, first.properties.id), first);
      });

      test('5 concurrent opens of one fresh database make one schema', async () => {
        const open = await db.newDatabase();
        const stores = await Promise.all(Array.from({ length: 5 }, () => open()));
        for (const s of stores) await s.ping();
        const written = meetingFor(randomUUID(), randomUUID(), key());
        await stores[0]!.insertOrGetMeeting(written, now());
        for (const s of stores) assertSameMeeting(await s.getMeeting(written.tenantId, written.properties.id), written);
        // One unique index shared by all: the key holds across the five stores.
        await raceForKey(stores, 10, randomUUID(), randomUUID(), key());
        // One settings table, one directory.
        const values = await Promise.all(stores.map((s, i) => s.getOrCreateSetting('shared', async () => `v${i}`)));
        assert.equal(new Set(values).size, 1);
        const user: DirectoryUser = { tenantId: randomUUID(), id: randomUUID(), userPrincipalName: 'one@schema.example', displayName: 'One' };
        await stores[4]!.provisionUser(user);
        for (const s of stores) assert.deepEqual(await s.findUser(user.tenantId, user.id), user);
      });
    });

    describe('insertOrGetMeeting', () => {
      const db = useDatabase(fresh);

      test('first call creates; the same key again returns the first meeting unchanged', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const first = meetingFor(tenant, organizer, externalId);
        const created = await db.store.insertOrGetMeeting(first, now());
        assert.equal(created.created, true);
        assertSameMeeting(created.meeting, first);

        const second = withSubject(meetingFor(tenant, organizer, externalId), 'a different subject');
        assert.notEqual(second.properties.id, first.properties.id);
        const got = await db.store.insertOrGetMeeting(second, now());
        assert.equal(got.created, false);
        assertSameMeeting(got.meeting, first);
        assertSameMeeting(await db.store.getMeeting(tenant, first.properties.id), first);
        assert.equal(await db.store.getMeeting(tenant, second.properties.id), undefined);
      });

      test('findLiveMeetingByKey finds the holder of a key (ids in any case) until its expiry, and nothing else', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const stored = meetingFor(tenant, organizer, externalId);
        await db.store.insertOrGetMeeting(stored, now());
        assertSameMeeting(await db.store.findLiveMeetingByKey(tenant.toUpperCase(), organizer.toUpperCase(), externalId, now()), stored);
        assert.equal(await db.store.findLiveMeetingByKey(tenant, organizer, externalId.toUpperCase(), now()), undefined);
        assert.equal(await db.store.findLiveMeetingByKey(tenant, randomUUID(), externalId, now()), undefined);
        assert.equal(await db.store.findLiveMeetingByKey(randomUUID(), organizer, externalId, now()), undefined);
        // At or past its expiryDateTime it no longer holds the key.
        assert.equal(await db.store.findLiveMeetingByKey(tenant, organizer, externalId, stored.properties.expiryDateTime), undefined);
      });

      test('tenant, organizer and externalId each make a different key', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const base = await db.store.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), now());
        assert.equal(base.created, true);
        const variants = [
          meetingFor(randomUUID(), organizer, externalId),
          meetingFor(tenant, randomUUID(), externalId),
          meetingFor(tenant, organizer, key()),
        ];
        for (const m of variants) {
          const r = await db.store.insertOrGetMeeting(m, now());
          assert.equal(r.created, true, `tenant ${m.tenantId} organizer ${m.organizerId} externalId ${m.properties.externalId}`);
          assertSameMeeting(r.meeting, m);
        }
        assert.equal((await db.store.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), now())).created, false);
      });

      test('externalId is case-sensitive', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), `Key-${randomUUID()}`];
        const upper = meetingFor(tenant, organizer, externalId.toUpperCase());
        const lower = meetingFor(tenant, organizer, externalId.toLowerCase());
        assert.equal((await db.store.insertOrGetMeeting(upper, now())).created, true);
        const r = await db.store.insertOrGetMeeting(lower, now());
        assert.equal(r.created, true);
        assertSameMeeting(r.meeting, lower);
        assertSameMeeting((await db.store.insertOrGetMeeting(meetingFor(tenant, organizer, externalId.toUpperCase()), now())).meeting, upper);
      });

      test('meetings without an externalId are always inserted', async () => {
        const [tenant, organizer] = [randomUUID(), randomUUID()];
        const meetings = [meetingFor(tenant, organizer, null), meetingFor(tenant, organizer, null), meetingFor(tenant, organizer, null)];
        for (const m of meetings) {
          const r = await db.store.insertOrGetMeeting(m, now());
          assert.equal(r.created, true);
          assertSameMeeting(r.meeting, m);
        }
        for (const m of meetings) assertSameMeeting(await db.store.getMeeting(tenant, m.properties.id), m);
      });

      test('50 concurrent calls for one key on one store: exactly one created', async () => {
        await raceForKey([db.store], 50, randomUUID(), randomUUID(), key());
      });

      test('50 concurrent calls for one key over 3 stores on one database: exactly one created', async () => {
        const stores = [db.store, await db.another(), await db.another()];
        await raceForKey(stores, 50, randomUUID(), randomUUID(), key());
        // Several keys racing at once, too.
        await Promise.all(Array.from({ length: 5 }, () => raceForKey(stores, 12, randomUUID(), randomUUID(), key())));
      });
    });

    describe('expiry', () => {
      const db = useDatabase(fresh);
      const at = (ms: number, ticks = 0) => formatInstant({ ms, ticks });

      for (const [label, expiry] of [
        ['before the cutoff', (cutoffMs: number) => at(cutoffMs - 1_000)],
        ['exactly at the cutoff', (cutoffMs: number) => at(cutoffMs)],
      ] as const) {
        test(`a meeting that expired ${label} is replaced`, async () => {
          const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
          const cutoffMs = Date.now();
          const old = meetingFor(tenant, organizer, externalId, { expiryDateTime: expiry(cutoffMs) });
          assert.equal((await db.store.insertOrGetMeeting(old, expiryCutoff(cutoffMs))).created, true);
          const replacement = meetingFor(tenant, organizer, externalId);
          const r = await db.store.insertOrGetMeeting(replacement, expiryCutoff(cutoffMs));
          assert.equal(r.created, true);
          assertSameMeeting(r.meeting, replacement);
          assert.notEqual(r.meeting.properties.id, old.properties.id);
          assertSameMeeting(await db.store.getMeeting(tenant, replacement.properties.id), replacement);
          assert.equal(await db.store.getMeeting(tenant, old.properties.id), undefined);
          // The replacement now holds the key.
          assert.equal((await db.store.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), expiryCutoff(cutoffMs))).created, false);
        });
      }

      test('a meeting expiring after the cutoff (even by 100 ns) keeps its key', async () => {
        const cutoffMs = Date.now();
        for (const expiry of [at(cutoffMs, 1), at(cutoffMs + 1_000)]) {
          const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
          const live = meetingFor(tenant, organizer, externalId, { expiryDateTime: expiry });
          await db.store.insertOrGetMeeting(live, expiryCutoff(cutoffMs));
          const r = await db.store.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), expiryCutoff(cutoffMs));
          assert.equal(r.created, false, `expiry ${expiry}, cutoff ${expiryCutoff(cutoffMs)}`);
          assertSameMeeting(r.meeting, live);
        }
      });

      test('an expired meeting is still returned by getMeeting and findMeetings', async () => {
        const cutoffMs = Date.now();
        const expired = meetingFor(randomUUID(), randomUUID(), key(), { expiryDateTime: at(cutoffMs - 1_000) });
        await db.store.insertOrGetMeeting(expired, expiryCutoff(cutoffMs));
        assertSameMeeting(await db.store.getMeeting(expired.tenantId, expired.properties.id), expired);
        assert.deepEqual(await db.store.findMeetings(expired.tenantId, { joinWebUrl: expired.properties.joinWebUrl }), [expired]);
      });

      test('20 concurrent replacements of an expired meeting over 2 stores: exactly one created', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const cutoffMs = Date.now();
        const old = meetingFor(tenant, organizer, externalId, { expiryDateTime: at(cutoffMs - 1_000) });
        await db.store.insertOrGetMeeting(old, expiryCutoff(cutoffMs));
        await raceForKey([db.store, await db.another()], 20, tenant, organizer, externalId, expiryCutoff(cutoffMs));
        assert.equal(await db.store.getMeeting(tenant, old.properties.id), undefined);
      });
    });

    describe('getMeeting and findMeetings', () => {
      const db = useDatabase(fresh);
      const [tenant, otherTenant, organizer] = [randomUUID(), randomUUID(), randomUUID()];
      const mine = meetingFor(tenant, organizer, key());
      const alsoMine = meetingFor(tenant, organizer, null);
      const theirs = meetingFor(otherTenant, organizer, key());
      before(async () => {
        for (const m of [mine, alsoMine, theirs]) await db.store.insertOrGetMeeting(m, now());
      });

      test('getMeeting finds a meeting by id in its tenant only', async () => {
        assertSameMeeting(await db.store.getMeeting(tenant, mine.properties.id), mine);
        assertSameMeeting(await db.store.getMeeting(otherTenant, theirs.properties.id), theirs);
        assert.equal(await db.store.getMeeting(otherTenant, mine.properties.id), undefined);
        assert.equal(await db.store.getMeeting(tenant, theirs.properties.id), undefined);
        assert.equal(await db.store.getMeeting(tenant, 'no-such-meeting'), undefined);
        assert.equal(await db.store.getMeeting(randomUUID(), mine.properties.id), undefined);
      });

      test('a meeting is found under the tenant id it was stored with, even an upper-case GUID', async () => {
        const upperTenant = randomUUID().toUpperCase();
        const m = meetingFor(upperTenant, organizer, key());
        assert.equal((await db.store.insertOrGetMeeting(m, now())).created, true);
        // The store may keep the GUID lower-case; it must not lose the meeting.
        const sameMeeting = (found: Meeting | undefined) => {
          assert.ok(found, `meeting stored under tenant ${upperTenant} not found under that tenant`);
          assert.equal(found.tenantId.toLowerCase(), upperTenant.toLowerCase());
          assert.deepEqual(found.properties, m.properties);
        };
        sameMeeting(await db.store.getMeeting(upperTenant, m.properties.id));
        const found = await db.store.findMeetings(upperTenant, { joinWebUrl: m.properties.joinWebUrl });
        assert.equal(found.length, 1);
        sameMeeting(found[0]);
        // And it still holds its key.
        const again = await db.store.insertOrGetMeeting(meetingFor(upperTenant, organizer, m.properties.externalId), now());
        assert.equal(again.created, false);
        sameMeeting(again.meeting);
      });

      const lookups = {
        joinWebUrl: (m: Meeting) => ({ joinWebUrl: m.properties.joinWebUrl }),
        joinMeetingId: (m: Meeting) => ({ joinMeetingId: m.properties.joinMeetingIdSettings.joinMeetingId }),
        videoTeleconferenceId: (m: Meeting) => ({ videoTeleconferenceId: m.properties.videoTeleconferenceId! }),
      };
      for (const [name, lookup] of Object.entries(lookups)) {
        test(`findMeetings by ${name}: in its tenant, not in another, [] when none`, async () => {
          assert.deepEqual(await db.store.findMeetings(tenant, lookup(mine)), [mine]);
          assert.deepEqual(await db.store.findMeetings(tenant, lookup(alsoMine)), [alsoMine]);
          assert.deepEqual(await db.store.findMeetings(otherTenant, lookup(theirs)), [theirs]);
          assert.deepEqual(await db.store.findMeetings(otherTenant, lookup(mine)), []);
          assert.deepEqual(await db.store.findMeetings(tenant, lookup(theirs)), []);
          const unknown = meetingFor(tenant, organizer, key()); // never stored
          assert.deepEqual(await db.store.findMeetings(tenant, lookup(unknown)), []);
        });
      }

      test('findMeetings returns every meeting of the tenant holding the value', async () => {
        const shared = '9999999999';
        const a = meetingFor(tenant, organizer, key(), { videoTeleconferenceId: shared });
        const b = meetingFor(tenant, randomUUID(), null, { videoTeleconferenceId: shared });
        const elsewhere = meetingFor(otherTenant, organizer, key(), { videoTeleconferenceId: shared });
        for (const m of [a, b, elsewhere]) await db.store.insertOrGetMeeting(m, now());
        const found = await db.store.findMeetings(tenant, { videoTeleconferenceId: shared });
        assert.deepEqual(sortedIds(found), sortedIds([a, b]));
      });
    });

    describe('updateMeeting', () => {
      const db = useDatabase(fresh);
      const stored = async (subject = 'before', tenant = randomUUID()) => {
        const m = withSubject(meetingFor(tenant, randomUUID(), key()), subject);
        await db.store.insertOrGetMeeting(m, now());
        return m;
      };
      const increment = (m: Meeting) => withSubject(m, String(Number(m.properties.subject) + 1));

      test('returns the changed meeting and persists it, indexed values included', async () => {
        const m = await stored();
        let seen: Meeting | undefined;
        const changed = { ...m, properties: { ...m.properties, subject: 'after', videoTeleconferenceId: '1234567890' } };
        const result = await db.store.updateMeeting(m.tenantId, m.properties.id, (current) => {
          seen = current;
          return changed;
        });
        assertSameMeeting(seen, m);
        assertSameMeeting(result, changed);
        assertSameMeeting(await db.store.getMeeting(m.tenantId, m.properties.id), changed);
        assertSameMeeting(await (await db.another()).getMeeting(m.tenantId, m.properties.id), changed);
        assert.deepEqual(await db.store.findMeetings(m.tenantId, { videoTeleconferenceId: '1234567890' }), [changed]);
        assert.deepEqual(await db.store.findMeetings(m.tenantId, { videoTeleconferenceId: m.properties.videoTeleconferenceId! }), []);
        // Still the key holder, with its new contents.
        const again = await db.store.insertOrGetMeeting(meetingFor(m.tenantId, m.organizerId, m.properties.externalId), now());
        assert.equal(again.created, false);
        assertSameMeeting(again.meeting, changed);
      });

      test('an unknown id, or another tenant, gives undefined and changes nothing', async () => {
        const m = await stored();
        assert.equal(await db.store.updateMeeting(m.tenantId, 'no-such-meeting', (c) => withSubject(c, 'x')), undefined);
        assert.equal(await db.store.updateMeeting(randomUUID(), m.properties.id, (c) => withSubject(c, 'x')), undefined);
        assertSameMeeting(await db.store.getMeeting(m.tenantId, m.properties.id), m);
      });

      test('a change that throws aborts with its error and stores nothing', async () => {
        const m = await stored();
        const failure = new Error('change refused');
        await assert.rejects(
          db.store.updateMeeting(m.tenantId, m.properties.id, () => {
            throw failure;
          }),
          (error) => error === failure,
        );
        assertSameMeeting(await db.store.getMeeting(m.tenantId, m.properties.id), m);
        // The store is still usable: the next update and insert go through.
        const next = await db.store.updateMeeting(m.tenantId, m.properties.id, (c) => withSubject(c, 'after'));
        assert.equal(next?.properties.subject, 'after');
        assert.equal((await db.store.insertOrGetMeeting(meetingFor(randomUUID(), randomUUID(), key()), now())).created, true);
      });

      test('20 concurrent updates on one store: none lost', async () => {
        const m = await stored('0');
        const results = await Promise.all(Array.from({ length: 20 }, () => db.store.updateMeeting(m.tenantId, m.properties.id, increment)));
        assert.deepEqual(results.map((r) => Number(r!.properties.subject)).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
        assert.equal((await db.store.getMeeting(m.tenantId, m.properties.id))!.properties.subject, '20');
      });

      test('20 concurrent updates over 2 stores on one database: none lost', async () => {
        const m = await stored('0');
        const stores = [db.store, await db.another()];
        await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.updateMeeting(m.tenantId, m.properties.id, increment)));
        for (const s of stores) assert.equal((await s.getMeeting(m.tenantId, m.properties.id))!.properties.subject, '20');
      });
    });

    describe('deleteMeeting', () => {
      const db = useDatabase(fresh);

      test('true, then false; the meeting is gone and its key is free', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const m = meetingFor(tenant, organizer, externalId);
        await db.store.insertOrGetMeeting(m, now());
        assert.equal(await db.store.deleteMeeting(randomUUID(), m.properties.id), false, 'deleted from another tenant');
        assertSameMeeting(await db.store.getMeeting(tenant, m.properties.id), m);
        assert.equal(await db.store.deleteMeeting(tenant, m.properties.id), true);
        assert.equal(await db.store.deleteMeeting(tenant, m.properties.id), false);
        assert.equal(await db.store.getMeeting(tenant, m.properties.id), undefined);
        assert.deepEqual(await db.store.findMeetings(tenant, { joinWebUrl: m.properties.joinWebUrl }), []);
        const next = meetingFor(tenant, organizer, externalId);
        const r = await db.store.insertOrGetMeeting(next, now());
        assert.equal(r.created, true);
        assertSameMeeting(r.meeting, next);
      });

      test('insertOrGet racing a delete of the key holder always answers', async () => {
        const [tenant, organizer, externalId] = [randomUUID(), randomUUID(), key()];
        const other = await db.another();
        for (let round = 0; round < 20; round++) {
          const holder = meetingFor(tenant, organizer, externalId);
          const first = await db.store.insertOrGetMeeting(holder, now());
          const [deleted, result] = await Promise.all([
            db.store.deleteMeeting(tenant, first.meeting.properties.id),
            other.insertOrGetMeeting(meetingFor(tenant, organizer, externalId), now()),
          ]);
          assert.equal(deleted, true);
          if (result.created) {
            assertSameMeeting(await db.store.getMeeting(tenant, result.meeting.properties.id), result.meeting);
            assert.equal(await db.store.deleteMeeting(tenant, result.meeting.properties.id), true);
          } else {
            assertSameMeeting(result.meeting, first.meeting);
          }
        }
      });

      test('an unknown id gives false', async () => {
        assert.equal(await db.store.deleteMeeting(randomUUID(), 'no-such-meeting'), false);
      });
    });

    describe('directory', () => {
      const db = useDatabase(fresh);
      const [contoso, fabrikam] = [randomUUID(), randomUUID()];
      const APP_ALICE = randomUUID();
      const APP_GLOBAL = randomUUID();
      const APP_FABRIKAM = randomUUID();
      const alice = { id: randomUUID(), userPrincipalName: 'Alice.Adams@Contoso.Example', displayName: 'Alice Adams' };
      const bob = { id: randomUUID(), userPrincipalName: 'bob@contoso.example', displayName: 'Bob Brown' };
      const nameless = { id: randomUUID(), userPrincipalName: null, displayName: null };
      const frank = { id: randomUUID(), userPrincipalName: 'alice.adams@contoso.example', displayName: 'Frank, same UPN' };
      // Some GUIDs are seeded upper-case: object ids compare without case and are kept lower-case.
      const seed: DirectorySeed = {
        tenants: [
          {
            id: contoso,
            displayName: 'Contoso',
            users: [alice, bob, nameless],
            applicationAccessPolicies: [
              { appId: APP_ALICE, users: [alice.id.toUpperCase()] },
              { appId: APP_GLOBAL, users: 'global' },
            ],
          },
          { id: fabrikam.toUpperCase(), displayName: 'Fabrikam', users: [{ ...frank, id: frank.id.toUpperCase() }], applicationAccessPolicies: [{ appId: APP_FABRIKAM, users: 'global' }] },
        ],
      };
      const inTenant = (tenantId: string, u: Omit<DirectoryUser, 'tenantId'>): DirectoryUser => ({ tenantId, ...u });

      /** What `seed` promises, checked through `store`. */
      async function assertSeeded(store: Store) {
        assert.deepEqual(await store.findUser(contoso, alice.id), inTenant(contoso, alice));
        assert.deepEqual(await store.findUser(contoso, bob.id), inTenant(contoso, bob));
        assert.deepEqual(await store.findUser(contoso, nameless.id), inTenant(contoso, nameless));
        assert.deepEqual(await store.findUser(fabrikam, frank.id), inTenant(fabrikam, frank));
        assert.deepEqual(sortGrants(await store.accessPolicyGrants(contoso, alice.id)), { userScoped: [APP_ALICE], global: [APP_GLOBAL] });
        assert.deepEqual(await store.accessPolicyGrants(contoso, bob.id), { userScoped: [], global: [APP_GLOBAL] });
        assert.deepEqual(await store.findUsersByUpn('bob@contoso.example'), [inTenant(contoso, bob)]);
      }

      before(() => db.store.seedDirectory(seed));

      test('findUser by id, by case-insensitive upn, by upper-case GUID; not across tenants', async () => {
        await assertSeeded(db.store);
        assert.deepEqual(await db.store.findUser(contoso, 'alice.adams@contoso.example'), inTenant(contoso, alice));
        assert.deepEqual(await db.store.findUser(contoso, 'ALICE.ADAMS@CONTOSO.EXAMPLE'), inTenant(contoso, alice));
        assert.deepEqual(await db.store.findUser(contoso.toUpperCase(), alice.id.toUpperCase()), inTenant(contoso, alice));
        assert.equal(await db.store.findUser(fabrikam, bob.id), undefined);
        assert.equal(await db.store.findUser(fabrikam, bob.userPrincipalName), undefined);
        assert.equal(await db.store.findUser(contoso, frank.id), undefined);
        assert.equal(await db.store.findUser(contoso, randomUUID()), undefined);
        assert.equal(await db.store.findUser(randomUUID(), alice.id), undefined);
      });

      test('findUsersByUpn searches every tenant, case-insensitively', async () => {
        const found = await db.store.findUsersByUpn('ALICE.adams@contoso.EXAMPLE');
        const byTenant = (a: DirectoryUser, b: DirectoryUser) => a.tenantId.localeCompare(b.tenantId);
        assert.deepEqual([...found].sort(byTenant), [inTenant(contoso, alice), inTenant(fabrikam, frank)].sort(byTenant));
        assert.deepEqual(await db.store.findUsersByUpn('nobody@contoso.example'), []);
      });

      test('accessPolicyGrants splits user-scoped and global grants, per tenant', async () => {
        assert.deepEqual(sortGrants(await db.store.accessPolicyGrants(contoso.toUpperCase(), alice.id.toUpperCase())), {
          userScoped: [APP_ALICE],
          global: [APP_GLOBAL],
        });
        assert.deepEqual(await db.store.accessPolicyGrants(contoso, randomUUID()), { userScoped: [], global: [APP_GLOBAL] });
        assert.deepEqual(await db.store.accessPolicyGrants(fabrikam, frank.id), { userScoped: [], global: [APP_FABRIKAM] });
        assert.deepEqual(await db.store.accessPolicyGrants(fabrikam, alice.id), { userScoped: [], global: [APP_FABRIKAM] });
        assert.deepEqual(await db.store.accessPolicyGrants(randomUUID(), alice.id), { userScoped: [], global: [] });
      });

      test('provisionUser adds a new user and tenant and returns what is stored', async () => {
        const tenant = randomUUID();
        const user: DirectoryUser = { tenantId: tenant, id: randomUUID(), userPrincipalName: 'New.User@New.Example', displayName: 'New User' };
        assert.deepEqual(await db.store.provisionUser(user), user);
        assert.deepEqual(await db.store.findUser(tenant, user.id), user);
        assert.deepEqual(await db.store.findUser(tenant, 'new.user@new.example'), user);
        // Its tenant exists now: a second user of it can be provisioned and seen.
        const colleague: DirectoryUser = { tenantId: tenant, id: randomUUID(), userPrincipalName: null, displayName: null };
        assert.deepEqual(await db.store.provisionUser(colleague), colleague);
        assert.deepEqual(await db.store.findUser(tenant, colleague.id), colleague);
        assert.deepEqual(await db.store.accessPolicyGrants(tenant, user.id), { userScoped: [], global: [] });
      });

      test('provisionUser given upper-case GUIDs returns the stored user, findable by either case', async () => {
        const tenant = randomUUID();
        const id = randomUUID();
        const returned = await db.store.provisionUser({ tenantId: tenant.toUpperCase(), id: id.toUpperCase(), userPrincipalName: 'up@case.example', displayName: 'Up' });
        assert.deepEqual(await db.store.findUser(tenant, id), returned);
        assert.deepEqual(await db.store.findUser(tenant.toUpperCase(), id.toUpperCase()), returned);
        assert.equal(returned.id.toLowerCase(), id);
        assert.equal(returned.tenantId.toLowerCase(), tenant);
      });

      test('provisionUser of an existing user returns the stored one unchanged', async () => {
        const attempt: DirectoryUser = { tenantId: contoso, id: alice.id, userPrincipalName: 'changed@contoso.example', displayName: 'Changed' };
        assert.deepEqual(await db.store.provisionUser(attempt), inTenant(contoso, alice));
        assert.deepEqual(await db.store.findUser(contoso, alice.id), inTenant(contoso, alice));
        assert.equal(await db.store.findUser(contoso, 'changed@contoso.example'), undefined);
        await assertSeeded(db.store);
      });

      test('seeding the same directory again changes nothing', async () => {
        await db.store.seedDirectory(seed);
        await db.store.seedDirectory(seed);
        await assertSeeded(db.store);
        assert.equal((await db.store.findUsersByUpn(alice.userPrincipalName)).length, 2);
      });

      test("a seed with different policies replaces the tenant's policies", async () => {
        const open = await db.newDatabase();
        const store = await open();
        await store.seedDirectory(seed);
        const APP_BOB = randomUUID();
        const changed: DirectorySeed = {
          tenants: [{ ...seed.tenants[0]!, applicationAccessPolicies: [{ appId: APP_BOB, users: [bob.id] }] }],
        };
        await store.seedDirectory(changed);
        assert.deepEqual(await store.accessPolicyGrants(contoso, alice.id), { userScoped: [], global: [] });
        assert.deepEqual(await store.accessPolicyGrants(contoso, bob.id), { userScoped: [APP_BOB], global: [] });
        // Other tenants keep theirs, and users stay.
        assert.deepEqual(await store.accessPolicyGrants(fabrikam, frank.id), { userScoped: [], global: [APP_FABRIKAM] });
        assert.deepEqual(await store.findUser(contoso, alice.id), inTenant(contoso, alice));
        // And back again.
        await store.seedDirectory(seed);
        await assertSeeded(store);
      });

      test('5 concurrent seeds over 2 stores leave a consistent directory', async () => {
        const open = await db.newDatabase();
        const stores = [await open(), await open()];
        await Promise.all(Array.from({ length: 5 }, (_, i) => stores[i % 2]!.seedDirectory(seed)));
        for (const s of stores) await assertSeeded(s);
        assert.equal((await stores[1]!.findUsersByUpn(alice.userPrincipalName)).length, 2);
      });
    });

    describe('getOrCreateSetting', () => {
      const db = useDatabase(fresh);

      test('the first value created is kept; later creators are not called', async () => {
        const name = `setting-${randomUUID()}`;
        assert.equal(await db.store.getOrCreateSetting(name, async () => 'first'), 'first');
        let calls = 0;
        const later = async () => {
          calls++;
          return 'second';
        };
        assert.equal(await db.store.getOrCreateSetting(name, later), 'first');
        assert.equal(await (await db.another()).getOrCreateSetting(name, later), 'first');
        assert.equal(calls, 0);
      });

      test('concurrent creators over 2 stores all get the one stored value', async () => {
        const name = `setting-${randomUUID()}`;
        const stores = [db.store, await db.another()];
        const values = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            stores[i % 2]!.getOrCreateSetting(name, async () => {
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
              return `value-${i}`;
            }),
          ),
        );
        assert.equal(new Set(values).size, 1, `got ${[...new Set(values)].join(', ')}`);
        assert.match(values[0]!, /^value-\d$/);
        assert.equal(await db.store.getOrCreateSetting(name, async () => 'late'), values[0]);
      });

      test('settings are independent by name; a failing create stores nothing', async () => {
        const [a, b] = [`setting-${randomUUID()}`, `setting-${randomUUID()}`];
        const failure = new Error('no key today');
        await assert.rejects(
          db.store.getOrCreateSetting(a, async () => {
            throw failure;
          }),
          (error) => error === failure,
        );
        assert.equal(await db.store.getOrCreateSetting(b, async () => 'b'), 'b');
        assert.equal(await db.store.getOrCreateSetting(a, async () => 'a'), 'a');
        assert.equal(await db.store.getOrCreateSetting(b, async () => 'other'), 'b');
      });
    });

    describe('ping and close', () => {
      const db = useDatabase(fresh);

      test('ping resolves on an open store', async () => {
        assert.equal(await within(db.store.ping()), undefined);
      });

      test('after close, operations reject promptly; other stores are unaffected', async () => {
        const written = meetingFor(randomUUID(), randomUUID(), key());
        await db.store.insertOrGetMeeting(written, now());
        const store = await db.another();
        assert.ok(await store.getMeeting(written.tenantId, written.properties.id));
        await within(db.close(store));
        const operations: Array<[string, () => Promise<unknown>]> = [
          ['ping', () => store.ping()],
          ['insertOrGetMeeting', () => store.insertOrGetMeeting(meetingFor(randomUUID(), randomUUID(), key()), now())],
          ['getMeeting', () => store.getMeeting(written.tenantId, written.properties.id)],
          ['findMeetings', () => store.findMeetings(written.tenantId, { joinWebUrl: written.properties.joinWebUrl })],
          ['updateMeeting', () => store.updateMeeting(written.tenantId, written.properties.id, (m) => m)],
          ['deleteMeeting', () => store.deleteMeeting(written.tenantId, written.properties.id)],
          ['findUser', () => store.findUser(randomUUID(), randomUUID())],
          ['findUsersByUpn', () => store.findUsersByUpn('a@b.example')],
          ['provisionUser', () => store.provisionUser({ tenantId: randomUUID(), id: randomUUID(), userPrincipalName: null, displayName: null })],
          ['accessPolicyGrants', () => store.accessPolicyGrants(randomUUID(), randomUUID())],
          ['seedDirectory', () => store.seedDirectory({ tenants: [] })],
          ['getOrCreateSetting', () => store.getOrCreateSetting(`setting-${randomUUID()}`, async () => 'x')],
        ];
        for (const [name, operation] of operations) {
          await assert.rejects(
            within(Promise.resolve().then(operation)),
            (error) => error !== TIMEOUT,
            `${name} after close: expected a rejection, not a hang`,
          );
        }
        await db.store.ping();
        assertSameMeeting(await db.store.getMeeting(written.tenantId, written.properties.id), written);
      });

      test('close with inserts in flight: each settles, and each reported as created is stored', async () => {
        const store = await db.another();
        const meetings = Array.from({ length: 20 }, () => meetingFor(randomUUID(), randomUUID(), key()));
        const inFlight = meetings.map((m) => within(store.insertOrGetMeeting(m, now())));
        await within(db.close(store));
        const outcomes = await Promise.allSettled(inFlight);
        for (const [i, outcome] of outcomes.entries()) {
          if (outcome.status === 'rejected') assert.notEqual(outcome.reason, TIMEOUT, `insert ${i} hung`);
          else if (outcome.value.created) assertSameMeeting(await db.store.getMeeting(meetings[i]!.tenantId, meetings[i]!.properties.id), meetings[i]!);
        }
      });
    });
  });
}

/** The store, with a version check made before each of its calls (a failed check, on a closed store, is ignored). */
function checkedBeforeEveryCall(store: Store): Store {
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function' || property === 'close') return value;
      return (...args: unknown[]) => {
        try {
          target.control.controlVersion();
        } catch {
          // the call itself reports the closed store
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

// One line per engine. (At the end: the suites are declared synchronously and use the helpers above.)
contract('sqlite', async () => {
  const url = `sqlite:${mkdtempSync(join(sqliteRoot, 'db-'))}/x.db`;
  return () => openStore(url);
});
// SQLite again, as the server uses it: a control-version check before every call (each request waits
// for one), which arms the store's cache of recent meetings (src/store/sqlite/recent-meetings.ts).
contract('sqlite, a version check before every call', async () => {
  const url = `sqlite:${mkdtempSync(join(sqliteRoot, 'db-'))}/x.db`;
  return async () => checkedBeforeEveryCall(await openStore(url));
});
contract('postgres', async () => {
  const url = await freshPostgresDatabase((await testPostgres()).url);
  return () => openStore(url);
});
