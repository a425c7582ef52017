// JSON batching (protocol §7) over real HTTP: the envelope, validation of the batch as a whole,
// dependsOn ordering and 424s, per-item authorization with the batch's token, and the official
// SDK's BatchRequestContent / BatchResponseContent against this server.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  AllowedHostsValidator,
  BaseBearerTokenAuthenticationProvider,
  HttpMethod,
  ParseNodeFactoryRegistry,
  RequestInformation,
  type UntypedObject,
} from '@microsoft/kiota-abstractions';
import { createGraphServiceClient, GraphRequestAdapter, type GraphServiceClient } from '@microsoft/msgraph-sdk';
import { createOnlineMeetingFromDiscriminatorValue, type OnlineMeeting } from '@microsoft/msgraph-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue, type ODataError } from '@microsoft/msgraph-sdk/models/oDataErrors/index.js';
import '@microsoft/msgraph-sdk-users'; // adds .me and .users to GraphServiceClient
// The SDK's batch support lives in its core package (a dependency of @microsoft/msgraph-sdk).
import { BatchRequestContent, serializeBatchRequestBody } from '@microsoft/msgraph-sdk-core';
import { ALICE, BOB, BOOKING_APP, CRM_APP, DIRECTORY, ROGUE_APP } from './helpers/fixtures.js';
import { expectGraphError, GUID, INNER_ERROR_DATE, type Json } from './helpers/graph-assert.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ODATA_JSON = /^application\/json;odata\.metadata=minimal;odata\.streaming=true;IEEE754Compatible=false;charset=utf-8$/;
const JSON_HEADERS = { 'Content-Type': 'application/json' };

let issuer: TestIssuer;
let server: RunningServer;
let alice: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  alice = await issuer.userToken(ALICE);
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

interface BatchOptions {
  token?: string;
  version?: 'v1.0' | 'beta';
  headers?: Record<string, string>;
}

function postBatch(body: unknown, { token = alice, version = 'v1.0', headers }: BatchOptions = {}) {
  return server.request(`/${version}/$batch`, { method: 'POST', token, json: body, headers });
}

/** A batch that must be accepted: 200, OData JSON, one response per request in request order. */
async function runBatch(requests: Json[], options: BatchOptions = {}): Promise<Json[]> {
  const res = await postBatch({ requests }, options);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', ODATA_JSON);
  assert.equal(res.headers.get('odata-version'), '4.0');
  const { responses } = JSON.parse(text) as { responses: Json[] };
  assert.deepEqual(
    responses.map((r) => r.id),
    requests.map((r) => r.id),
  );
  for (const response of responses) assert.equal(typeof response.status, 'number');
  return responses;
}

/** A batch rejected as a whole with Graph's 400. */
async function expectBatchRejected(body: unknown, message?: string | RegExp) {
  await expectGraphError(await postBatch(body), 400, { code: 'BadRequest', ...(message ? { message } : {}) });
}

/** A Graph error inside a batch response item. */
function expectItemError(item: Json, status: number, code: string, message?: string | RegExp) {
  assert.equal(item.status, status, JSON.stringify(item));
  assert.match(item.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(item.body.error.code, code);
  if (typeof message === 'string') assert.equal(item.body.error.message, message);
  else if (message) assert.match(item.body.error.message, message);
  assert.match(item.body.error.innerError['request-id'], GUID);
  assert.match(item.body.error.innerError.date, INNER_ERROR_DATE);
}

const newKey = (label = 'batch') => `${label}-${randomUUID()}`;

const createOrGetItem = (id: string, externalId: string, extra: Json = {}) => ({
  id,
  method: 'POST',
  url: '/me/onlineMeetings/createOrGet',
  headers: JSON_HEADERS,
  body: { externalId, subject: 'Batched' },
  ...extra,
});

const getItem = (id: string, meetingId: string, extra: Json = {}) => ({
  id,
  method: 'GET',
  url: `/me/onlineMeetings/${encodeURIComponent(meetingId)}`,
  ...extra,
});

/** Alice's meeting, created directly (not batched). */
async function aliceMeeting(): Promise<Json> {
  const res = await server.request('/v1.0/me/onlineMeetings/createOrGet', {
    method: 'POST',
    token: alice,
    json: { externalId: newKey('direct'), subject: 'Direct' },
  });
  assert.equal(res.status, 201);
  return res.json();
}

/** A well-formed Teams meeting id (base64 of `1*{organizer}*0**{thread}`) that names no meeting. */
function unknownMeetingId(): string {
  return Buffer.from(`1*${ALICE.id}*0**19:meeting_${randomUUID()}@thread.v2`).toString('base64');
}

describe('executing items (protocol §7)', () => {
  test('createOrGet then createOrGet dependsOn it: 201 then 200 with the same meeting; then GET by id', async () => {
    const externalId = newKey();
    const [created, again] = await runBatch([
      createOrGetItem('create', externalId),
      createOrGetItem('again', externalId, { dependsOn: ['create'] }),
    ]);
    assert.equal(created.status, 201, JSON.stringify(created));
    assert.equal(again.status, 200, JSON.stringify(again));
    assert.equal(created.body.externalId, externalId);
    assert.equal(again.body.id, created.body.id);

    const [read, readAgain] = await runBatch([
      getItem('read', created.body.id),
      getItem('readAgain', created.body.id, { dependsOn: ['READ'] }), // ids compare case-insensitively
    ]);
    assert.equal(read.status, 200, JSON.stringify(read));
    assert.equal(read.body.id, created.body.id);
    assert.equal(read.body.subject, 'Batched');
    assert.equal(readAgain.status, 200);
    assert.equal(readAgain.body.id, created.body.id);
  });

  test('item response headers: content-type, odata-version and cache-control', async () => {
    const [created] = await runBatch([createOrGetItem('1', newKey())]);
    assert.match(created.headers['content-type'], ODATA_JSON);
    assert.equal(created.headers['odata-version'], '4.0');
    assert.equal(created.headers['cache-control'], 'no-cache');
    assert.match(created.body['@odata.context'], /\/v1\.0\/\$metadata#users\('.+'\)\/onlineMeetings\/\$entity$/);
  });

  test('an empty response (DELETE → 204) has no body and no content-type', async () => {
    const meeting = await aliceMeeting();
    const [deleted, read] = await runBatch([
      { id: 'delete', method: 'DELETE', url: `/me/onlineMeetings/${encodeURIComponent(meeting.id)}` },
      getItem('read', meeting.id, { dependsOn: ['delete'] }),
    ]);
    assert.equal(deleted.status, 204, JSON.stringify(deleted));
    assert.equal('body' in deleted, false);
    assert.deepEqual(deleted.headers, { 'cache-control': 'no-cache' });
    expectItemError(read, 404, 'NotFound');
  });

  test('/beta/$batch resolves item URLs against beta', async () => {
    const meeting = await aliceMeeting();
    const [read] = await runBatch([getItem('1', meeting.id)], { version: 'beta' });
    assert.equal(read.status, 200, JSON.stringify(read));
    assert.equal(read.body.id, meeting.id);
    assert.match(read.body['@odata.context'], /\/beta\/\$metadata#/);
    assert.equal(read.body.joinUrl, meeting.joinWebUrl, 'beta bodies carry joinUrl');
    // The same item in a v1.0 batch gets the v1.0 shape.
    const [v1] = await runBatch([getItem('1', meeting.id)]);
    assert.equal(v1.body.joinUrl, undefined);
  });

  test('item URLs with and without a leading slash; method names in any case', async () => {
    const meeting = await aliceMeeting();
    const path = `me/onlineMeetings/${encodeURIComponent(meeting.id)}`;
    const responses = await runBatch([
      { id: 'slash', method: 'GET', url: `/${path}` },
      { id: 'noSlash', method: 'get', url: path },
    ]);
    for (const item of responses) {
      assert.equal(item.status, 200, JSON.stringify(item));
      assert.equal(item.body.id, meeting.id);
    }
  });

  test('a failed item fails its dependents with 424, transitively; independent items still run', async () => {
    const meeting = await aliceMeeting();
    const [missing, dependent, second, independent] = await runBatch([
      getItem('missing', unknownMeetingId()),
      getItem('dependent', meeting.id, { dependsOn: ['missing'] }),
      getItem('second', meeting.id, { dependsOn: ['dependent'] }),
      getItem('independent', meeting.id),
    ]);
    expectItemError(missing, 404, 'NotFound');
    expectItemError(dependent, 424, 'FailedDependency', 'Failed dependency: request missing failed.');
    expectItemError(second, 424, 'FailedDependency', 'Failed dependency: request dependent failed.');
    assert.equal(independent.status, 200);
    assert.equal(independent.body.id, meeting.id);
  });

  test('a write item without Content-Type: item 400, not run; the other items are answered', async () => {
    const externalId = newKey('no-type');
    const [noType, ok] = await runBatch([
      { id: 'w1', method: 'POST', url: '/me/onlineMeetings/createOrGet', body: { externalId } },
      createOrGetItem('w2', newKey()),
    ]);
    expectItemError(noType, 400, 'BadRequest', 'Write request id : w1 does not contain Content-Type header or body.');
    assert.equal(ok.status, 201);
    // Nothing was created for the rejected item: the first real call creates.
    const [later] = await runBatch([createOrGetItem('later', externalId)]);
    assert.equal(later.status, 201);
  });

  test("each item goes through the route's own authorization with the batch's token", async () => {
    const booking = await issuer.appToken(BOOKING_APP);
    const [me, forAlice] = await runBatch(
      [
        { id: 'me', method: 'GET', url: `/me/onlineMeetings/${encodeURIComponent(unknownMeetingId())}` },
        { ...createOrGetItem('alice', newKey()), url: `/users/${ALICE.id}/onlineMeetings/createOrGet` },
      ],
      { token: booking },
    );
    expectItemError(me, 400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    assert.equal(forAlice.status, 201, JSON.stringify(forAlice));
    assert.equal(forAlice.body.participants.organizer.identity.user.id, ALICE.id);
  });

  test('an application without a policy: its items are 403, the batch itself is 200', async () => {
    const [rogue] = await runBatch(
      [{ ...createOrGetItem('rogue', newKey()), url: `/users/${ALICE.id}/onlineMeetings/createOrGet` }],
      { token: await issuer.appToken(ROGUE_APP) },
    );
    expectItemError(rogue, 403, 'Forbidden', 'No Application Access Policy found for this app');
  });

  test('a global-policy app: the item for a user with her own policy is 403 while the item for Bob succeeds', async () => {
    const [forAlice, forBob] = await runBatch(
      [
        { ...createOrGetItem('alice', newKey()), url: `/users/${ALICE.id}/onlineMeetings/createOrGet` },
        { ...createOrGetItem('bob', newKey()), url: `users/${BOB.upn}/onlineMeetings/createOrGet` },
      ],
      { token: await issuer.appToken(CRM_APP) },
    );
    expectItemError(forAlice, 403, 'Forbidden', 'No Application Access Policy found for this app');
    assert.equal(forBob.status, 201, JSON.stringify(forBob));
    assert.equal(forBob.body.participants.organizer.identity.user.id, BOB.id);
  });

  test('absolute URLs, nested $batch and paths leaving the version root: item 400', async () => {
    const meeting = await aliceMeeting();
    const path = `/me/onlineMeetings/${encodeURIComponent(meeting.id)}`;
    const responses = await runBatch([
      { id: 'https', method: 'GET', url: `https://graph.microsoft.com/v1.0${path}` },
      { id: 'http', method: 'GET', url: `${server.url}/v1.0${path}` },
      { id: 'network', method: 'GET', url: `//127.0.0.1/v1.0${path}` },
      { id: 'nested', method: 'POST', url: '/$batch', headers: JSON_HEADERS, body: { requests: [getItem('1', meeting.id)] } },
      { id: 'nestedEncoded', method: 'POST', url: '%24BATCH', headers: JSON_HEADERS, body: { requests: [getItem('1', meeting.id)] } },
      { id: 'escape', method: 'GET', url: `../beta${path}` },
      { id: 'badEscape', method: 'GET', url: '/me/onlineMeetings/a%zz' },
      { id: 'ok', method: 'GET', url: path },
    ]);
    for (const item of responses.slice(0, 3)) expectItemError(item, 400, 'BadRequest', /absolute URL/);
    for (const item of responses.slice(3, 5)) expectItemError(item, 400, 'BadRequest', /nested \$batch/);
    expectItemError(responses[5], 400, 'BadRequest', /relative to the \/v1\.0 root/);
    expectItemError(responses[6], 400, 'BadRequest', 'Request id : badEscape has an invalid URL.');
    assert.equal(responses[7]!.status, 200);
  });

  test("the batch's client-request-id reaches each item", async () => {
    const clientRequestId = randomUUID();
    const [notFound, failed] = await runBatch(
      [getItem('1', unknownMeetingId()), getItem('2', unknownMeetingId(), { dependsOn: ['1'] })],
      { headers: { 'client-request-id': clientRequestId } },
    );
    expectItemError(notFound, 404, 'NotFound');
    assert.equal(notFound.body.error.innerError['client-request-id'], clientRequestId);
    expectItemError(failed, 424, 'FailedDependency');
    assert.equal(failed.body.error.innerError['client-request-id'], clientRequestId);
  });

  test('20 concurrent createOrGet items with one key: one 201, nineteen 200, one meeting', async () => {
    const externalId = newKey('race');
    const responses = await runBatch(Array.from({ length: 20 }, (_, i) => createOrGetItem(`r${i}`, externalId)));
    assert.deepEqual(responses.map((r) => r.status).sort(), [200, ...Array<number>(18).fill(200), 201].sort());
    assert.equal(new Set(responses.map((r) => r.body.id)).size, 1);
  });

  test('an item on an unknown path or with an unsupported method gets the route error', async () => {
    const meeting = await aliceMeeting();
    const [unknown, method] = await runBatch([
      { id: 'unknown', method: 'GET', url: '/me/calendars' },
      { id: 'method', method: 'PUT', url: '/me/onlineMeetings/createOrGet', headers: JSON_HEADERS, body: {} },
      getItem('ok', meeting.id),
    ]);
    expectItemError(unknown, 400, 'BadRequest', "Resource not found for the segment 'calendars'.");
    expectItemError(method, 405, 'Request_BadRequest');
  });
});

describe('the batch as a whole (protocol §7)', () => {
  test('21 requests → 400', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/me/onlineMeetings/x' }));
    await expectBatchRejected({ requests }, 'Number of requests inside batch exceeds the limit.');
  });

  test('duplicate ids, compared case-insensitively → 400', async () => {
    await expectBatchRejected(
      {
        requests: [
          { id: 'abc', method: 'GET', url: '/me/onlineMeetings/x' },
          { id: 'ABC', method: 'GET', url: '/me/onlineMeetings/y' },
        ],
      },
      'Request Id ABC has to be unique in a batch.',
    );
  });

  test('dependsOn naming an id not in the batch → 400', async () => {
    await expectBatchRejected(
      { requests: [{ id: '1', method: 'GET', url: '/me/onlineMeetings/x', dependsOn: ['2'] }] },
      /^Invalid dependency for request Id 1: '2' is not a request of this batch\.$/,
    );
  });

  test('a dependsOn cycle (or a self-dependency) → 400', async () => {
    await expectBatchRejected(
      {
        requests: [
          { id: '1', method: 'GET', url: '/me/onlineMeetings/x', dependsOn: ['3'] },
          { id: '2', method: 'GET', url: '/me/onlineMeetings/x', dependsOn: ['1'] },
          { id: '3', method: 'GET', url: '/me/onlineMeetings/x', dependsOn: ['2'] },
        ],
      },
      /cycle/,
    );
    await expectBatchRejected({ requests: [{ id: '1', method: 'GET', url: '/me/onlineMeetings/x', dependsOn: ['1'] }] }, /cycle/);
  });

  test('missing, empty or non-array requests → 400', async () => {
    await expectBatchRejected({}, /'requests' array/);
    await expectBatchRejected({ requests: {} }, /'requests' array/);
    await expectBatchRejected([], /'requests' array/);
    await expectBatchRejected({ requests: [] }, 'The batch request must contain at least one request.');
  });

  test('malformed items → 400', async () => {
    const item = { id: '1', method: 'GET', url: '/me/onlineMeetings/x' };
    await expectBatchRejected({ requests: ['GET /me'] }, /index 0 must be a JSON object/);
    await expectBatchRejected({ requests: [{ ...item, id: 1 }] }, /non-empty string 'id'/);
    await expectBatchRejected({ requests: [{ ...item, id: '' }] }, /non-empty string 'id'/);
    await expectBatchRejected({ requests: [{ ...item, method: 'HEAD' }] }, /'method' of GET, POST, PATCH, PUT, DELETE/);
    await expectBatchRejected({ requests: [{ ...item, url: undefined }] }, /non-empty string 'url'/);
    await expectBatchRejected({ requests: [{ ...item, headers: { 'Content-Type': 1 } }] }, /object of string values/);
    await expectBatchRejected({ requests: [{ ...item, headers: { 'X-Bad': 'a\r\nInjected: 1' } }] }, /invalid header 'X-Bad'/);
    await expectBatchRejected({ requests: [{ ...item, dependsOn: '2' }] }, /array of request ids/);
  });

  test('a body that is not valid JSON → 400', async () => {
    const res = await server.request('/v1.0/$batch', {
      method: 'POST',
      token: alice,
      body: '{"requests":[',
      headers: { 'content-type': 'application/json' },
    });
    await expectGraphError(res, 400, { code: 'BadRequest' });
  });

  test('no token or an invalid token → 401 for the whole batch, before the body is looked at', async () => {
    const body = { requests: [{ id: '1', method: 'GET', url: '/me/onlineMeetings/x' }] };
    const anonymous = await server.request('/v1.0/$batch', { method: 'POST', json: body });
    await expectGraphError(anonymous, 401, { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
    assert.ok(anonymous.headers.get('www-authenticate'));
    await expectGraphError(await postBatch({}, { token: 'not-a-jwt' }), 401, { code: 'InvalidAuthenticationToken' });
  });

  test('GET (or any method but POST) on $batch → 405', async () => {
    await expectGraphError(await server.request('/v1.0/$batch', { token: alice }), 405, {
      code: 'Request_BadRequest',
      message: 'Specified HTTP method is not allowed for the request target.',
    });
    await expectGraphError(await server.request('/beta/$batch', { method: 'DELETE', token: alice }), 405, { code: 'Request_BadRequest' });
  });

  test('the batch body, items included, is held to the server body limit (413)', async () => {
    const small = await startServer({ issuer, directory: DIRECTORY, config: { maxBody: 2048 } });
    try {
      const item = (id: string) => ({ ...createOrGetItem(id, newKey()), body: { externalId: newKey(), subject: 'x'.repeat(600) } });
      const res = await small.request('/v1.0/$batch', { method: 'POST', token: alice, json: { requests: [item('1'), item('2'), item('3')] } });
      await expectGraphError(res, 413, { code: 'RequestEntityTooLarge' });
      const ok = await small.request('/v1.0/$batch', { method: 'POST', token: alice, json: { requests: [item('1')] } });
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as Json).responses[0].status, 201);
    } finally {
      await small.close();
    }
  });
});

describe('the official Graph SDK (BatchRequestContent)', () => {
  function sdk(token: string) {
    const allowed = new AllowedHostsValidator(new Set(['127.0.0.1']));
    const auth = new BaseBearerTokenAuthenticationProvider({
      getAuthorizationToken: async (url) => (url && allowed.isUrlHostValid(url) ? token : ''),
      getAllowedHostsValidator: () => allowed,
    });
    const adapter = new GraphRequestAdapter(auth);
    adapter.baseUrl = `${server.url}/v1.0`;
    const parseNodes = adapter.getParseNodeFactory();
    assert.ok(parseNodes instanceof ParseNodeFactoryRegistry);
    return { adapter, client: createGraphServiceClient(adapter), parseNodes };
  }

  const errorMappings = { XXX: createODataErrorFromDiscriminatorValue };

  /** The batch as the SDK builds it from request builders: GET /me/onlineMeetings/{id}, no headers. */
  function twoReads(adapter: GraphRequestAdapter, client: GraphServiceClient, knownId: string, unknownId: string) {
    const batch = new BatchRequestContent(adapter, errorMappings);
    batch.addBatchRequest(client.me.onlineMeetings.byOnlineMeetingId(knownId).toGetRequestInformation(), 'known');
    batch.addBatchRequest(client.me.onlineMeetings.byOnlineMeetingId(unknownId).toGetRequestInformation(), 'unknown');
    return batch;
  }

  test('postAsync: the SDK sends its batch and parses ids, statuses and item headers', async () => {
    const meeting = await aliceMeeting();
    const { adapter, client } = sdk(alice);
    const response = await twoReads(adapter, client, meeting.id, unknownMeetingId()).postAsync();
    assert.ok(response, 'the SDK returned no batch response');
    assert.deepEqual([...(await response.getResponsesStatusCodes())], [
      ['known', 200],
      ['unknown', 404],
    ]);
    // Typed as Record<string, string>; the SDK actually hands back an untyped node.
    const headers = response.getResponseById('known')?.headers as unknown as UntypedObject;
    assert.match(String(headers.getValue()['content-type']?.getValue()), ODATA_JSON);
    assert.equal(headers.getValue()['odata-version']?.getValue(), '4.0');
  });

  test("item bodies: inline JSON on the wire, which the SDK's models deserialize", async () => {
    // BatchResponseContent reads `body` as a base64 byte array (msgraph-sdk-core 1.0.0-preview.17),
    // so it drops the inline JSON bodies Graph sends (protocol §7) and getParsableResponseById gives
    // undefined. The same batch is therefore sent through the SDK's adapter for its raw bytes, and
    // each body goes through the call getParsableResponseById makes: deserializeFromJson.
    const meeting = await aliceMeeting();
    const { adapter, client, parseNodes } = sdk(alice);
    const batch = twoReads(adapter, client, meeting.id, unknownMeetingId());
    const request = new RequestInformation(HttpMethod.POST, '{+baseurl}/$batch');
    request.setContentFromParsable(adapter, 'application/json', batch.getContent(), serializeBatchRequestBody);
    const raw = await adapter.sendPrimitive<ArrayBuffer>(request, 'ArrayBuffer', errorMappings);
    assert.ok(raw);
    const { responses } = JSON.parse(new TextDecoder().decode(raw)) as { responses: Json[] };
    const [known, unknown] = responses;
    assert.equal(typeof known.body, 'object', 'a JSON body is inline JSON, not a base64 string');

    const read = parseNodes.deserializeFromJson(JSON.stringify(known.body), createOnlineMeetingFromDiscriminatorValue) as OnlineMeeting;
    assert.equal(read.id, meeting.id);
    assert.equal(read.subject, 'Direct');
    assert.equal(read.joinWebUrl, meeting.joinWebUrl);
    assert.equal(read.participants?.organizer?.identity?.user?.id, ALICE.id);
    assert.ok(read.startDateTime instanceof Date);

    assert.equal(unknown.status, 404);
    const error = parseNodes.deserializeFromJson(JSON.stringify(unknown.body), createODataErrorFromDiscriminatorValue) as ODataError;
    assert.equal(error.errorEscaped?.code, 'NotFound');
    assert.ok(error.errorEscaped?.innerError?.date instanceof Date);
  });
});
