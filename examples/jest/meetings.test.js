// graph-meetings under Jest (ESM mode: see "test" in package.json): a real server per test file.
import { startGraphMeetings } from 'graph-meetings/testing';

let gm;
beforeAll(async () => {
  gm = await startGraphMeetings();
}, 60_000);
afterAll(() => gm.close());
beforeEach(() => gm.reset());

async function createOrGet(token, externalId) {
  return fetch(`${gm.graphUrl}/me/onlineMeetings/createOrGet`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ externalId, subject: 'Kick-off' }),
  });
}

test('a 500 once, then the meeting; it expires after 61 days', async () => {
  const alice = await gm.token({ user: 'alice@contoso.example' });
  const created = await createOrGet(alice, 'order-3001');
  expect(created.status).toBe(201);
  const meeting = await created.json();

  // The next read fails once with a 500.
  await gm.faults.add({ match: { method: 'GET' }, count: 1, respond: { status: 500 } });
  const url = `${gm.graphUrl}/me/onlineMeetings/${meeting.id}`;
  expect((await fetch(url, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(500);
  expect((await fetch(url, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(200);

  await gm.clock.advance('P61D');
  expect((await fetch(url, { headers: { authorization: `Bearer ${alice}` } })).status).toBe(404);
});

test('an app-only token', async () => {
  const token = await gm.token({ app: 'b00c1420-0000-4000-8000-00000000a001', tenant: '7d1e2a3b-1111-4c2d-9e8f-000000000001' });
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  expect(claims.roles).toEqual(['OnlineMeetings.ReadWrite.All']);
  expect(claims.idtyp).toBe('app');
});
