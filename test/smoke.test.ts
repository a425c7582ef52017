import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

let issuer: TestIssuer;
let server: RunningServer;
before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
});
after(async () => {
  await server.close();
  await issuer.stop();
});

test('createOrGet creates once, then returns the same meeting', async () => {
  const token = await issuer.userToken(ALICE);
  const first = await server.request('/v1.0/me/onlineMeetings/createOrGet', { method: 'POST', token, json: { externalId: 'smoke-1' } });
  assert.equal(first.status, 201);
  const created = (await first.json()) as { id: string };
  const second = await server.request('/v1.0/me/onlineMeetings/createOrGet', { method: 'POST', token, json: { externalId: 'smoke-1' } });
  assert.equal(second.status, 200);
  assert.equal(((await second.json()) as { id: string }).id, created.id);
});
