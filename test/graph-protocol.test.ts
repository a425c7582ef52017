// Graph/OData protocol conventions over real HTTP (graph-protocol.md §1–5): request ids, media types,
// framework errors in Graph's shape, unknown paths and methods, and auth before body.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { assertRequestIds, expectGraphError, type Json } from './helpers/graph-assert.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings/createOrGet';
const JSON_TYPE = { 'content-type': 'application/json' };

let issuer: TestIssuer;
let server: RunningServer;
let alice: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  alice = await issuer.userToken(ALICE);
});
after(async () => {
  await server.close();
  await issuer.stop();
});

const newKey = () => `protocol-${randomUUID()}`;

/** POST createOrGet with a raw body and headers; a null token sends no Authorization header. */
function post(body: string | Uint8Array | undefined, headers: Record<string, string> = JSON_TYPE, token: string | null = alice, target = server) {
  return target.request(ME, { method: 'POST', token: token ?? undefined, body, headers });
}

/** A createOrGet body of at least `bytes` bytes. */
const bodyOfSize = (bytes: number) => JSON.stringify({ externalId: newKey(), subject: 's'.repeat(bytes) });

describe('request ids (protocol §3, §5.1)', () => {
  test('every response carries a GUID request-id; client-request-id defaults to it', async () => {
    const responses = [
      await server.request(ME, { method: 'POST', token: alice, json: { externalId: newKey() } }),
      await server.request('/healthz'),
      await server.request('/v1.0/foo'),
      await server.request('/'),
      await post('{}', JSON_TYPE, null),
    ];
    const ids = responses.map((res) => assertRequestIds(res));
    assert.equal(new Set(ids).size, ids.length, 'request-ids must be unique');
  });

  test('a sent client-request-id is echoed in the header and in innerError', async () => {
    const clientRequestId = randomUUID();
    const headers = { 'client-request-id': clientRequestId };
    const ok = await server.request(ME, { method: 'POST', token: alice, json: { externalId: newKey() }, headers });
    assert.equal(ok.status, 201);
    assertRequestIds(ok, clientRequestId);
    const bad = await server.request(ME, { method: 'POST', token: alice, json: {}, headers });
    await expectGraphError(bad, 400, { code: 'BadRequest', clientRequestId });
    const unauthenticated = await server.request(ME, { method: 'POST', json: {}, headers });
    await expectGraphError(unauthenticated, 401, { code: 'InvalidAuthenticationToken', clientRequestId });
  });

  test('without a client-request-id, innerError carries request-id twice and a yyyy-MM-ddTHH:mm:ss date', async () => {
    const { error } = await expectGraphError(await post('{}', JSON_TYPE, null), 401);
    assert.equal(error.innerError['client-request-id'], error.innerError['request-id']);
    assert.ok(Math.abs(Date.parse(`${error.innerError.date}Z`) - Date.now()) < 60_000, error.innerError.date);
  });
});

describe('success responses (protocol §3)', () => {
  test('OData media type and OData-Version on created, existing and read meetings', async () => {
    const externalId = newKey();
    const created = await server.request(ME, { method: 'POST', token: alice, json: { externalId } });
    const existing = await server.request(ME, { method: 'POST', token: alice, json: { externalId } });
    const { id } = (await existing.clone().json()) as Json;
    const read = await server.request(`/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`, { token: alice });
    for (const [res, status] of [[created, 201], [existing, 200], [read, 200]] as const) {
      assert.equal(res.status, status);
      assert.ok(res.headers.get('content-type')?.startsWith('application/json;odata.metadata=minimal'), res.headers.get('content-type') ?? '');
      assert.equal(res.headers.get('odata-version'), '4.0');
    }
  });
});

describe('request bodies: framework errors in Graph shape, never 500', () => {
  test('malformed JSON → 400 BadRequest', async () => {
    for (const text of ['{"externalId":', '{externalId: "x"}', '{"externalId":"x"} trailing']) {
      await expectGraphError(await post(text), 400, { code: 'BadRequest' });
    }
  });

  test('a JSON body that is not an object → 400', async () => {
    for (const text of ['[]', `[{"externalId":"${newKey()}"}]`, '"x"', '42', 'null', 'true']) {
      await expectGraphError(await post(text), 400, { code: 'BadRequest' });
    }
  });

  test('a non-JSON content type → 415', async () => {
    const text = JSON.stringify({ externalId: newKey() });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      await expectGraphError(await post(text, { 'content-type': type }), 415);
    }
  });

  test('a body without a content type → 415', async () => {
    // fetch adds no Content-Type for a byte body.
    await expectGraphError(await post(new TextEncoder().encode(JSON.stringify({ externalId: newKey() })), {}), 415);
  });

  test('an empty application/json body → 400 (externalId is required)', async () => {
    await expectGraphError(await post(''), 400, { code: 'BadRequest', message: /externalId/ });
  });

  test("'application/json; charset=utf-8' is accepted", async () => {
    const res = await post(JSON.stringify({ externalId: newKey() }), { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(res.status, 201);
  });

  test('a body over 1 MB → 413', async () => {
    await expectGraphError(await post(bodyOfSize(1024 * 1024 + 1)), 413);
  });

  test('a configured maxBody is enforced', async () => {
    const small = await startServer({ issuer, directory: DIRECTORY, config: { maxBody: 2048 } });
    try {
      await expectGraphError(await post(bodyOfSize(3 * 1024), JSON_TYPE, alice, small), 413);
      assert.equal((await post(bodyOfSize(1024), JSON_TYPE, alice, small)).status, 201);
    } finally {
      await small.close();
    }
  });

  test('JSON nested 10,000 deep → 400 quickly, and the server keeps answering', async () => {
    // Inside a member the server otherwise ignores, so only the depth limit can refuse it.
    const text = `{"externalId":"${newKey()}","extra":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const started = Date.now();
    await expectGraphError(await post(text), 400, { code: 'BadRequest' });
    assert.ok(Date.now() - started < 2000, 'deep nesting must be refused quickly');
    assert.equal((await server.request('/healthz')).status, 200);
    assert.equal((await post(JSON.stringify({ externalId: newKey() }))).status, 201);
  });

  test('1001 attendees → 400; 1000 are accepted', async () => {
    const attendees = (n: number) => Array.from({ length: n }, (_, i) => ({ upn: `guest${i}@external.example` }));
    const tooMany = JSON.stringify({ externalId: newKey(), participants: { attendees: attendees(1001) } });
    await expectGraphError(await post(tooMany), 400, { code: 'BadRequest' });
    const res = await post(JSON.stringify({ externalId: newKey(), participants: { attendees: attendees(1000) } }));
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as Json).participants.attendees.length, 1000);
  });

  test('a "__proto__" member neither crashes the server nor pollutes objects', async () => {
    const externalId = newKey();
    const text = `{"externalId":"${externalId}","__proto__":{"subject":"polluted","isAdmin":true},"participants":{"__proto__":{"attendees":5}}}`;
    const res = await post(text);
    assert.equal(res.status, 201);
    const meeting = (await res.json()) as Json;
    assert.equal(meeting.externalId, externalId);
    assert.equal(meeting.subject, null);
    assert.deepEqual(meeting.participants.attendees, []);
    assert.equal(({} as Json).isAdmin, undefined);
    assert.equal(((await (await post(JSON.stringify({ externalId: newKey() }))).json()) as Json).subject, null);
  });
});

describe('unknown paths and methods (protocol §1)', () => {
  const cases: Array<{ method: string; path: string; status: number; code?: string; message?: string }> = [
    { method: 'GET', path: '/v1.0/foo', status: 400, code: 'BadRequest', message: "Resource not found for the segment 'foo'." },
    { method: 'POST', path: '/v1.0/foo', status: 400, code: 'BadRequest', message: "Resource not found for the segment 'foo'." },
    { method: 'GET', path: '/v9/me', status: 400, code: 'BadRequest', message: 'Invalid version: v9' },
    { method: 'GET', path: ME, status: 405 },
    { method: 'DELETE', path: ME, status: 405 },
    { method: 'OPTIONS', path: ME, status: 405 },
    { method: 'GET', path: '/', status: 404 },
    // A malformed escape fails before routing; it still gets Graph's shape and request ids.
    { method: 'GET', path: '/v1.0/me/onlineMeetings/a%zz', status: 400, code: 'BadRequest' },
  ];
  for (const { method, path, status, code, message } of cases) {
    for (const authenticated of [true, false]) {
      test(`${method} ${path} ${authenticated ? 'with' : 'without'} a token → ${status}`, async () => {
        const res = await server.request(path, { method, token: authenticated ? alice : undefined });
        const { error } = await expectGraphError(res, status, { code, message });
        if (status === 405) assert.ok(['Request_BadRequest', 'MethodNotAllowed'].includes(error.code), error.code);
      });
    }
  }

  test('on a real route, a missing token is reported before any body error', async () => {
    const bodies: Array<[string, Record<string, string>]> = [
      ['{"externalId":', JSON_TYPE],
      ['[]', JSON_TYPE],
      [JSON.stringify({ externalId: 'x' }), { 'content-type': 'text/plain' }],
      [bodyOfSize(1024 * 1024 + 1), JSON_TYPE],
    ];
    for (const [text, headers] of bodies) {
      await expectGraphError(await post(text, headers, null), 401, { code: 'InvalidAuthenticationToken' });
    }
  });
});

test('GET /healthz → 200', async () => {
  const res = await server.request('/healthz');
  assert.equal(res.status, 200);
  assertRequestIds(res);
});
