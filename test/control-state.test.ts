// The per-request control check (control/control-state.ts). Concurrent requests share version reads
// (one per event-loop pass on SQLite, one per round trip on PostgreSQL), but a request is only ever
// answered by a read that began after it arrived: a change made through another process before a
// request was sent holds for that request, however busy the process is.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ControlState } from '../src/control/control-state.js';
import type { ControlRecord, ControlRepository } from '../src/control/ports.js';
import { killAllChildren, startCliServer } from './helpers/cli.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { freshDatabase, testPostgres } from './helpers/postgres-cluster.js';
import { adminFetch, tempDir, TEST_ADMIN_KEY, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

/** A version the test releases by hand, read by read, as a database round trip would answer. */
class ScriptedVersions {
  version = 1;
  readonly reads: { answer(): void; fail(error: Error): void }[] = [];

  repository(): Pick<ControlRepository, 'controlVersion' | 'readControl'> {
    return {
      controlVersion: () =>
        new Promise<number>((resolve, reject) => {
          // What the database would answer is fixed when the read begins, not when it returns.
          const seen = this.version;
          this.reads.push({ answer: () => resolve(seen), fail: reject });
        }),
      readControl: async (): Promise<ControlRecord> => ({ version: this.version, clock: null, resets: 0, faults: [] }),
    };
  }
}

async function settled(promise: Promise<unknown>): Promise<'pending' | 'done' | 'failed'> {
  let state: 'pending' | 'done' | 'failed' = 'pending';
  promise.then(
    () => (state = 'done'),
    () => (state = 'failed'),
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return state;
}

/** The end of this event-loop pass (its check phase), where a wanted read begins. */
const endOfPass = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A synchronous version source, as SQLite's: counts its reads; fails when told to. */
class SynchronousVersions {
  version = 1;
  calls = 0;
  failure: Error | undefined;

  repository(): Pick<ControlRepository, 'controlVersion' | 'readControl'> {
    return {
      controlVersion: () => {
        this.calls++;
        if (this.failure) throw this.failure;
        return this.version;
      },
      readControl: async (): Promise<ControlRecord> => ({ version: this.version, clock: null, resets: 0, faults: [] }),
    };
  }
}

describe('control state: one version read for the requests of a round trip (PostgreSQL)', () => {
  const start = async () => {
    const versions = new ScriptedVersions();
    const state = new ControlState(versions.repository() as ControlRepository);
    const first = state.refresh();
    await endOfPass();
    versions.reads[0]!.answer();
    await first;
    assert.equal(state.current?.version, 1);
    return { versions, state };
  };

  test('requests arriving during a read wait for the next read, which they all share', async () => {
    const { versions, state } = await start();
    const early = state.refresh();
    assert.equal(state.refresh(), early, 'requests of one pass share one check');
    assert.equal(versions.reads.length, 1, 'the read begins at the end of the pass');
    await endOfPass();
    assert.equal(versions.reads.length, 2);
    // Another process changes the control record while that read is under way.
    versions.version = 2;
    const late = [state.refresh(), state.refresh(), state.refresh()];
    await endOfPass();
    assert.equal(versions.reads.length, 2, 'nothing more is read while a read is under way');
    versions.reads[1]!.answer();
    await early;
    assert.equal(state.current?.version, 1, 'the read that began before the change answers with the old version');
    for (const waiting of late) assert.equal(await settled(waiting), 'pending', 'a later arrival does not take the earlier answer');
    assert.equal(versions.reads.length, 3, 'one read for all three, begun as the earlier one ended');
    versions.reads[2]!.answer();
    await Promise.all(late);
    assert.equal(state.current?.version, 2);
    assert.equal(versions.reads.length, 3);
  });

  test('a failed read fails the requests it answers; the next request reads again', async () => {
    const { versions, state } = await start();
    const first = state.refresh();
    await endOfPass();
    const second = state.refresh();
    versions.reads[1]!.fail(new Error('connection lost'));
    await assert.rejects(first, /connection lost/);
    assert.equal(versions.reads.length, 3, 'the waiting request gets a read of its own');
    versions.reads[2]!.fail(new Error('still down'));
    await assert.rejects(second, /still down/);
    const third = state.refresh();
    await endOfPass();
    assert.equal(versions.reads.length, 4);
    versions.reads[3]!.answer();
    await third;
  });
});

describe('control state: one version read per event-loop pass (SQLite)', () => {
  test('the requests of a pass share a read made at its end; a change before it holds for all of them', async () => {
    const versions = new SynchronousVersions();
    const state = new ControlState(versions.repository() as ControlRepository);
    await state.refresh();
    assert.equal(versions.calls, 1);
    const pass = Array.from({ length: 50 }, () => state.refresh());
    assert.equal(versions.calls, 1, 'nothing is read while the pass takes requests in');
    // Changed by another process after these requests arrived, before the pass ended; one more arrives.
    versions.version = 2;
    const sentAfterTheChange = state.refresh();
    await sentAfterTheChange;
    assert.equal(state.current?.version, 2, 'a request that arrived after the change sees it');
    await Promise.all(pass);
    assert.equal(versions.calls, 2, 'one read for the 51');
    assert.equal(state.current?.version, 2);
    await state.refresh();
    assert.equal(versions.calls, 3, 'the next pass reads again');
  });

  test('a store that fails to answer fails the requests waiting, without stopping the process', async () => {
    const versions = new SynchronousVersions();
    const state = new ControlState(versions.repository() as ControlRepository);
    await state.refresh();
    versions.failure = new Error('the database connection is not open');
    const waiting = [state.refresh(), state.refresh()];
    for (const request of waiting) await assert.rejects(request, /not open/);
    versions.failure = undefined;
    await state.refresh();
    assert.equal(state.current?.version, 1);
  });
});

describe('control state under load, across processes', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await TestIssuer.start();
  });
  after(async () => {
    await killAllChildren();
    await issuer?.stop();
  });

  /** `database` names the store, given the test's scratch directory (removed afterwards). */
  const busyOther = async (database: (dir: string) => string | Promise<string>) => {
    const alice = await issuer.userToken(ALICE);
    const dir = tempDir();
    const db = await database(dir);
    const directory = writeDirectory(dir, DIRECTORY);
    const args = ['--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directory, '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY];
    const [a, b] = [await startCliServer(args), await startCliServer(args)];
    const busy = { on: true, served: 0 };
    // 32 clients keep the other process's version reads always wanted or under way.
    const load = Array.from({ length: 32 }, async (_, i) => {
      while (busy.on) {
        const response = await b.request('/v1.0/me/onlineMeetings/createOrGet', { token: alice, json: { externalId: `load-${i}` } });
        assert.ok(response.status === 200 || response.status === 201, `load request: ${response.status}`);
        await response.arrayBuffer();
        busy.served++;
      }
    });
    try {
      for (let day = 1; day <= 20; day++) {
        const now = `2031-07-${String(day).padStart(2, '0')}T09:00:00`;
        assert.equal((await adminFetch(a.url, 'PUT', '/clock', { now: `${now}Z`, frozen: true })).status, 200);
        const created = await b.request('/v1.0/me/onlineMeetings/createOrGet', { token: alice, json: { externalId: `after-change-${day}` } });
        assert.equal(created.status, 201);
        const { creationDateTime } = (await created.json()) as { creationDateTime: string };
        assert.ok(creationDateTime.startsWith(now), `change ${day}: created at ${creationDateTime}`);
      }
    } finally {
      busy.on = false;
      await Promise.all(load);
      await Promise.all([a.stop(), b.stop()]);
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(busy.served > 100, `the other process was busy (${busy.served} requests)`);
  };

  test('SQLite: a clock set through one process holds for the next request on a busy other one, every time', async () => {
    await busyOther((dir) => `sqlite:${join(dir, 'meetings.db')}`);
  });

  test('PostgreSQL: a clock set through one process holds for the next request on a busy other one, every time', async () => {
    await busyOther(async () => freshDatabase((await testPostgres()).url));
  });
});
