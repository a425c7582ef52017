// graph-meetings under node:test: a real server per test file, controlled from the test.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startGraphMeetings } from 'graph-meetings/testing';

let gm;
before(async () => {
  gm = await startGraphMeetings();
});
after(() => gm.close());

/** What the app under test would send: createOrGet for the signed-in user. */
async function createOrGet(token, externalId) {
  return fetch(`${gm.graphUrl}/me/onlineMeetings/createOrGet`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ externalId, subject: 'Kick-off' }),
  });
}

test('createOrGet, a throttled call, expiry after 61 days, reset', async () => {
  const token = await gm.token({ user: 'alice@contoso.example' });
  const created = await createOrGet(token, 'order-1001');
  assert.equal(created.status, 201);
  const meeting = await created.json();

  // Throttle exactly the next createOrGet.
  await gm.faults.add({ match: { method: 'POST', path: '/v1.0/me/onlineMeetings/createOrGet' }, count: 1, respond: { status: 429, retryAfter: 2 } });
  const throttled = await createOrGet(token, 'order-1001');
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers.get('retry-after'), '2');
  assert.equal((await createOrGet(token, 'order-1001')).status, 200); // the same meeting again

  // 61 days later the meeting has expired.
  await gm.clock.advance('P61D');
  const read = await fetch(`${gm.graphUrl}/me/onlineMeetings/${meeting.id}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(read.status, 404);

  const posts = await gm.requests({ method: 'POST' });
  assert.deepEqual(posts.map((entry) => entry.status), [200, 429, 201]); // newest first

  await gm.reset();
  assert.deepEqual(await gm.faults.list(), []);
  assert.equal((await gm.clock.get()).frozen, false);
});
