// The SQLite store's cache of recent meetings (src/store/sqlite/recent-meetings.ts): a meeting read
// again is answered from memory until a version check sees a commit from another connection, and
// at once after any change made through the store itself. Behind-the-back changes are made with a
// second connection on the same file, as another process would.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { expiryCutoff } from '../src/domain/expiry.js';
import { formatInstant } from '../src/domain/instant.js';
import type { Meeting } from '../src/domain/meeting.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { meetingFor } from './helpers/meetings.js';

const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-recent-'));
const path = join(dir, 'meetings.db');
let store: Store;
let other: Database.Database;

before(async () => {
  store = await openStore(`sqlite:${path}`);
  other = new Database(path);
  other.pragma('busy_timeout = 5000');
});
after(async () => {
  other?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const now = () => expiryCutoff(Date.now());
/** What every request waits for first (control/control-state.ts). */
const check = () => store.control.controlVersion();
const subjectBehindTheBack = (meeting: Meeting, subject: string) =>
  other
    .prepare("UPDATE meetings SET properties = json_set(properties, '$.subject', ?) WHERE id = ?")
    .run(subject, meeting.properties.id);

async function stored(): Promise<Meeting> {
  const meeting = meetingFor(randomUUID(), randomUUID(), `key-${randomUUID()}`);
  assert.equal((await store.insertOrGetMeeting(meeting, now())).created, true);
  return meeting;
}

const byId = (m: Meeting) => store.getMeeting(m.tenantId, m.properties.id);
const byKey = (m: Meeting) => store.findLiveMeetingByKey(m.tenantId, m.organizerId, m.properties.externalId!, now());

describe('the SQLite cache of recent meetings', () => {
  test('another connection’s change is served once the next version check has seen it, by id and by key', async () => {
    const meeting = await stored();
    check();
    assert.equal((await byId(meeting))?.properties.subject, 'subject');
    assert.equal((await byKey(meeting))?.properties.subject, 'subject');
    subjectBehindTheBack(meeting, 'changed elsewhere');
    // No check since: the reads are the cached ones (which is what the cache is for) ...
    assert.equal((await byId(meeting))?.properties.subject, 'subject');
    assert.equal((await byKey(meeting))?.properties.subject, 'subject');
    // ... and a request arriving now waits for a check, which sees the commit.
    check();
    assert.equal((await byId(meeting))?.properties.subject, 'changed elsewhere');
    assert.equal((await byKey(meeting))?.properties.subject, 'changed elsewhere');
  });

  test('a delete through another connection: gone for the next request, and its key is free', async () => {
    const meeting = await stored();
    check();
    await byId(meeting);
    await byKey(meeting);
    other.prepare('DELETE FROM meetings WHERE id = ?').run(meeting.properties.id);
    check();
    assert.equal(await byId(meeting), undefined);
    assert.equal(await byKey(meeting), undefined);
    const next = meetingFor(meeting.tenantId, meeting.organizerId, meeting.properties.externalId);
    assert.equal((await store.insertOrGetMeeting(next, now())).created, true);
  });

  test('the store’s own update and delete are seen at once, with no check between', async () => {
    const meeting = await stored();
    check();
    await byId(meeting);
    await byKey(meeting);
    await store.updateMeeting(meeting.tenantId, meeting.properties.id, (m) => ({ ...m, properties: { ...m.properties, subject: 'updated' } }));
    assert.equal((await byId(meeting))?.properties.subject, 'updated');
    assert.equal((await byKey(meeting))?.properties.subject, 'updated');
    assert.equal(await store.deleteMeeting(meeting.tenantId, meeting.properties.id), true);
    assert.equal(await byId(meeting), undefined);
    assert.equal(await byKey(meeting), undefined);
  });

  test('a tenant reset through the store’s control API empties what was cached', async () => {
    const meeting = await stored();
    check();
    await byId(meeting);
    await store.control.reset({ tenantId: meeting.tenantId });
    assert.equal(await byId(meeting), undefined);
    assert.equal(await byKey(meeting), undefined);
  });

  test('an expired key holder is not served from the cache, and its replacement is', async () => {
    const cutoffMs = Date.now();
    const old = meetingFor(randomUUID(), randomUUID(), `key-${randomUUID()}`, { expiryDateTime: formatInstant({ ms: cutoffMs + 60_000, ticks: 0 }) });
    await store.insertOrGetMeeting(old, expiryCutoff(cutoffMs));
    check();
    assert.equal((await store.findLiveMeetingByKey(old.tenantId, old.organizerId, old.properties.externalId!, expiryCutoff(cutoffMs)))?.properties.id, old.properties.id);
    await byId(old);
    // A minute on, the cached holder has expired: the lookup misses, and the writer thread replaces it.
    const later = expiryCutoff(cutoffMs + 120_000);
    assert.equal(await store.findLiveMeetingByKey(old.tenantId, old.organizerId, old.properties.externalId!, later), undefined);
    const replacement = meetingFor(old.tenantId, old.organizerId, old.properties.externalId);
    assert.equal((await store.insertOrGetMeeting(replacement, later)).created, true);
    assert.equal(await byId(old), undefined, 'the replaced meeting is gone by id too');
    assert.equal((await store.findLiveMeetingByKey(old.tenantId, old.organizerId, old.properties.externalId!, later))?.properties.id, replacement.properties.id);
  });

  test('a store that has had no version check reads the database every time', async () => {
    const unchecked = await openStore(`sqlite:${path}`);
    try {
      const meeting = await stored();
      assert.equal((await unchecked.getMeeting(meeting.tenantId, meeting.properties.id))?.properties.subject, 'subject');
      subjectBehindTheBack(meeting, 'seen at once');
      assert.equal((await unchecked.getMeeting(meeting.tenantId, meeting.properties.id))?.properties.subject, 'seen at once');
    } finally {
      await unchecked.close();
    }
  });
});
