// graph-meetings under Vitest: a real server per test file, controlled from the test.
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { type GraphMeetings, startGraphMeetings } from 'graph-meetings/testing';

let gm: GraphMeetings;
beforeAll(async () => {
  gm = await startGraphMeetings();
}, 60_000);
afterAll(() => gm.close());
// Every test starts from an empty server.
beforeEach(() => gm.reset());

async function createOrGet(token: string, externalId: string) {
  return fetch(`${gm.graphUrl}/me/onlineMeetings/createOrGet`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ externalId, subject: 'Kick-off' }),
  });
}

test('a 503 from Graph, then the meeting; it expires after 61 days', async () => {
  const token = await gm.token({ user: 'alice@contoso.example' });
  await gm.faults.add({ match: { path: '/v1.0/me/onlineMeetings/*' }, count: 1, respond: { status: 503, retryAfter: 1 } });

  const unavailable = await createOrGet(token, 'order-2001');
  expect(unavailable.status).toBe(503);
  expect((await unavailable.json()).error.code).toBe('serviceNotAvailable');
  const created = await createOrGet(token, 'order-2001');
  expect(created.status).toBe(201);
  const meeting = await created.json();

  await gm.clock.advance('P61D');
  const read = await fetch(`${gm.graphUrl}/me/onlineMeetings/${meeting.id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(read.status).toBe(404);
  // The externalId is free again: a new meeting.
  expect((await createOrGet(token, 'order-2001')).status).toBe(201);
});

test('reset between tests leaves nothing behind', async () => {
  expect(await gm.faults.list()).toEqual([]);
  expect(await gm.requests()).toEqual([]);
});
