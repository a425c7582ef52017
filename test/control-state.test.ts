// The per-request control check (control/control-state.ts). On an engine where the version read is a
// round trip, concurrent requests share reads, but a request is only ever answered by a read that
// began after it arrived: a change made through another process before a request was sent holds for
// that request, however busy the process is.
import assert from 'node:assert/strict';
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

describe('control state: version reads shared between concurrent requests', () => {
  const start = async () => {
    const versions = new ScriptedVersions();
    const state = new ControlState(versions.repository() as ControlRepository);
    const first = state.refresh()!;
    versions.reads[0]!.answer();
    await first;
    assert.equal(state.current?.version, 1);
    return { versions, state };
  };

  test('requests arriving during a read wait for the next read, which they all share', async () => {
    const { versions, state } = await start();
    const early = state.refresh()!;
    assert.equal(versions.reads.length, 2, 'an idle process reads at once');
    // Another process changes the control record while that read is under way.
    versions.version = 2;
    const late = [state.refresh()!, state.refresh()!, state.refresh()!];
    assert.equal(versions.reads.length, 2, 'nothing more is read while a read is under way');
    versions.reads[1]!.answer();
    await early;
    assert.equal(state.current?.version, 1, 'the read that began before the change answers with the old version');
    for (const waiting of late) assert.equal(await settled(waiting), 'pending', 'a later arrival does not take the earlier answer');
    assert.equal(versions.reads.length, 3, 'one read for all three');
    versions.reads[2]!.answer();
    await Promise.all(late);
    assert.equal(state.current?.version, 2);
    assert.equal(versions.reads.length, 3);
  });

  test('a failed read fails the requests it answers; the next request reads again', async () => {
    const { versions, state } = await start();
    const first = state.refresh()!;
    const second = state.refresh()!;
    versions.reads[1]!.fail(new Error('connection lost'));
    await assert.rejects(first, /connection lost/);
    assert.equal(versions.reads.length, 3, 'the waiting request gets a read of its own');
    versions.reads[2]!.fail(new Error('still down'));
    await assert.rejects(second, /still down/);
    const third = state.refresh()!;
    assert.equal(versions.reads.length, 4);
    versions.reads[3]!.answer();
    await third;
  });
});

describe('control state on PostgreSQL, under load', () => {
  let issuer: TestIssuer;
  before(async () => {
    issuer = await TestIssuer.start();
  });
  after(async () => {
    await killAllChildren();
    await issuer?.stop();
  });

  test('a clock set through one process holds for the next request on a busy other one, every time', async () => {
    const db = await freshDatabase((await testPostgres()).url);
    const alice = await issuer.userToken(ALICE);
    const directory = writeDirectory(tempDir(), DIRECTORY);
    const args = ['--port', '0', '--db', db, '--auth', 'oidc', '--issuer', issuer.url, '--directory', directory, '--log-level', 'warn', '--admin-key', TEST_ADMIN_KEY];
    const [a, b] = [await startCliServer(args), await startCliServer(args)];
    const busy = { on: true, served: 0 };
    // 32 clients keep the other process's version reads always under way.
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
    }
    assert.ok(busy.served > 100, `the other process was busy (${busy.served} requests)`);
    await Promise.all([a.stop(), b.stop()]);
  });
});
