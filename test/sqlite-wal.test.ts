// The SQLite store's write-ahead log under sustained group commits: the writer thread restarts it
// once the checkpointer has copied it back, so it stays well under the 64 MB backstop checkpoint
// that would stall a commit, and no meeting is lost on the way.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { expiryCutoff } from '../src/domain/expiry.js';
import { openStore } from '../src/store/open-store.js';
import { meetingFor } from './helpers/meetings.js';

const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-wal-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TENANT = '11111111-2222-3333-4444-555555555555';
const ORGANIZER = 'aaaaaaaa-0000-0000-0000-000000000001';
const MB = 1024 * 1024;

test('6000 creates from 48 concurrent clients: the WAL is restarted before 48 MB, and every meeting is stored once', async (t) => {
  const path = join(dir, 'wal.db');
  const store = await openStore(`sqlite:${path}`);
  const walBytes = () => statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  let largestWal = 0;
  const ids: string[] = [];
  try {
    // ~5 WAL pages a meeting: about 120 MB of frames in all, twice the backstop's 64 MB.
    await Promise.all(
      Array.from({ length: 48 }, async (_, client) => {
        for (let i = 0; i < 125; i++) {
          const { meeting, created } = await store.insertOrGetMeeting(meetingFor(TENANT, ORGANIZER, `wal-${client}-${i}`), expiryCutoff(Date.now()));
          assert.ok(created);
          ids.push(meeting.properties.id);
          largestWal = Math.max(largestWal, walBytes());
        }
      }),
    );
    for (const id of ids.filter((_, i) => i % 97 === 0)) assert.equal((await store.getMeeting(TENANT, id))?.properties.id, id);
  } finally {
    await store.close();
  }
  t.diagnostic(`largest WAL seen: ${(largestWal / MB).toFixed(1)} MB`);
  assert.equal(new Set(ids).size, 6000);
  assert.ok(largestWal > 0, 'the WAL was in use');
  assert.ok(largestWal < 48 * MB, `the WAL grew to ${(largestWal / MB).toFixed(1)} MB`);
});

test('a burst of large meetings is committed in bounded batches: 120 concurrent creates of ~900 KB each all succeed', async () => {
  const path = join(dir, 'large.db');
  const store = await openStore(`sqlite:${path}`);
  // ~110 million characters of properties in one burst: sent to the writer thread as one batch, they
  // would exceed the thread's heap, which then stops and fails every create in the batch.
  // Two bytes a character in the thread's heap (not Latin-1): the largest a batch's text can weigh.
  const subject = 'large meeting 会議 '.repeat(53 * 1024);
  try {
    for (let burst = 0; burst < 2; burst++) {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 120 }, (_, i) => store.insertOrGetMeeting(meetingFor(TENANT, ORGANIZER, `large-${burst}-${i}`, { subject }), expiryCutoff(Date.now()))),
      );
      const failed = outcomes.filter((o) => o.status === 'rejected');
      assert.equal(failed.length, 0, `${failed.length} creates failed: ${(failed[0] as PromiseRejectedResult | undefined)?.reason}`);
      for (const outcome of outcomes) {
        const { meeting, created } = (outcome as PromiseFulfilledResult<Awaited<ReturnType<typeof store.insertOrGetMeeting>>>).value;
        assert.ok(created);
        assert.equal((await store.getMeeting(TENANT, meeting.properties.id))?.properties.subject?.length, subject.length);
      }
    }
  } finally {
    await store.close();
  }
});

test('a retry storm for one large meeting: 400 concurrent creates of one key, the first ~900 KB, get one meeting', async () => {
  const store = await openStore(`sqlite:${join(dir, 'storm.db')}`);
  // The racers after the winner all get its row. Read and sent once per racer, 400 copies of it
  // exceeded the writer thread's heap and failed 398 of the creates.
  const subject = 'large meeting '.repeat(64 * 1024);
  try {
    const outcomes = await Promise.all(
      Array.from({ length: 400 }, (_, i) => store.insertOrGetMeeting(meetingFor(TENANT, ORGANIZER, 'storm', i === 0 ? { subject } : {}), expiryCutoff(Date.now()))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.created),
      outcomes.map((_, i) => i === 0),
    );
    const ids = new Set(outcomes.map((o) => o.meeting.properties.id));
    assert.equal(ids.size, 1);
    for (const { meeting } of outcomes) assert.equal(meeting.properties.subject?.length, subject.length);
  } finally {
    await store.close();
  }
});

test('a store closed while its checkpointer is copying closes (the process does not end with close pending)', { timeout: 60_000 }, async () => {
  const store = await openStore(`sqlite:${join(dir, 'closing.db')}`);
  // 400 inserts commit in a few batches: past 256 the checkpointer starts, and is still at work
  // when close() asks it to stop. Its answer used to unreference the thread close() was waiting
  // for, so the event loop could end first: close() never resolved, and this test was cancelled.
  const outcomes = await Promise.all(Array.from({ length: 400 }, (_, i) => store.insertOrGetMeeting(meetingFor(TENANT, ORGANIZER, `closing-${i % 2}`), expiryCutoff(Date.now()))));
  assert.equal(outcomes.filter((o) => o.created).length, 2);
  await store.close();
  const reopened = await openStore(`sqlite:${join(dir, 'closing.db')}`);
  try {
    assert.ok(await reopened.findLiveMeetingByKey(TENANT, ORGANIZER, 'closing-1', expiryCutoff(Date.now())));
  } finally {
    await reopened.close();
  }
});
