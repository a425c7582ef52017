// The request log (/__admin/requests), its HAR export and /__admin/guidance, over real HTTP on real
// servers: every field of an entry, filters, the log never holding a token, HAR 1.2 checked against
// a schema, each guidance finding (and none for a well-behaved app), clearing and resets, its size
// bound, and the `requests` command.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import { redactJson, Scrubber, SENSITIVE_REQUEST_KEYS } from '../src/control/redaction.js';
import { KEPT_TEXT_BYTES, type KeptTexts, type LoggedRequest, RequestLog } from '../src/control/request-log.js';
import { MAX_LOGGED_BODY_CHARS } from '../src/http/request-log-hooks.js';
import { runCli } from './helpers/cli.js';
import { ALICE, BOB, CONTOSO, CRM_APP, DIRECTORY, FABRIKAM, FRANK } from './helpers/fixtures.js';
import { expectGraphError, GUID, type Json } from './helpers/graph-assert.js';
import { type RunningServer, startServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings';
const CREATE_OR_GET = `${ME}/createOrGet`;
const ENTRY_FIELDS = [
  'time',
  'method',
  'path',
  'query',
  'status',
  'durationMs',
  'requestId',
  'clientRequestId',
  'tenant',
  'app',
  'user',
  'requestBody',
  'responseBody',
  'fault',
  'retryAfter',
  'operation',
  'permissions',
  'batchRequestId',
].sort();

let issuer: TestIssuer;
let server: RunningServer;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

/** A delegated token of Alice's (or another user's) issued to the client `appId`. */
function delegated(appId: string, scopes = 'OnlineMeetings.ReadWrite', user: typeof ALICE = ALICE) {
  return issuer.userToken(user, scopes, { claims: { appid: appId } });
}

interface CallOptions {
  token?: string;
  method?: string;
  json?: unknown;
  headers?: Record<string, string>;
  /** Sends a fresh client-request-id unless false. */
  clientRequestId?: boolean;
}

async function call(path: string, { clientRequestId = true, headers = {}, method, ...rest }: CallOptions = {}, target = server) {
  const all = clientRequestId ? { 'client-request-id': randomUUID(), ...headers } : headers;
  const response = await target.request(path, { ...rest, method: method ?? (rest.json === undefined ? 'GET' : 'POST'), headers: all });
  const text = await response.text();
  return { status: response.status, requestId: response.headers.get('request-id')!, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function admin(method: string, path: string, json?: unknown, target = server) {
  const response = await target.admin(method, path, json);
  const text = await response.text();
  assert.ok(response.status < 300, `${method} /__admin${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const logged = async (query = '', target = server): Promise<Json[]> => (await admin('GET', `/requests${query}`, undefined, target)).value;
const guidance = (app: string): Promise<Json> => admin('GET', `/guidance?app=${app}`);
const kinds = (advice: Json) => advice.findings.map((f: Json) => f.kind);

/** A meeting of `user`'s, created through another client so that it does not count for the app under test. */
async function meetingOf(user: typeof ALICE = ALICE): Promise<string> {
  const token = await delegated(randomUUID(), 'OnlineMeetings.ReadWrite', user);
  const created = await call(CREATE_OR_GET, { token, json: { externalId: randomUUID() } });
  assert.equal(created.status, 201, created.text);
  return created.body.id;
}

beforeEach(async () => {
  await admin('DELETE', '/faults');
  const cleared = await server.admin('DELETE', '/requests');
  assert.equal(cleared.status, 204);
});

describe('entries', () => {
  test('carry every field, newest first', async () => {
    const app = randomUUID();
    const token = await delegated(app);
    const startedAt = Date.now();
    const sent = { externalId: randomUUID(), subject: 'Logged' };
    const created = await call(CREATE_OR_GET, { token, json: sent, headers: { 'client-request-id': 'crid-create-1' } });
    assert.equal(created.status, 201, created.text);
    const readPath = `${ME}/${encodeURIComponent(created.body.id)}`;
    const read = await call(`${readPath}?$select=subject,id`, { token, clientRequestId: false });
    assert.equal(read.status, 200, read.text);

    const [newest, oldest, ...more] = await logged();
    assert.equal(more.length, 0);
    for (const entry of [newest, oldest]) assert.deepEqual(Object.keys(entry).sort(), ENTRY_FIELDS);

    assert.equal(oldest.method, 'POST');
    assert.equal(oldest.path, CREATE_OR_GET);
    assert.deepEqual(oldest.query, {});
    assert.equal(oldest.status, 201);
    assert.ok(Date.parse(oldest.time) >= startedAt - 1 && Date.parse(oldest.time) <= Date.now(), oldest.time);
    assert.equal(new Date(oldest.time).toISOString(), oldest.time);
    assert.ok(typeof oldest.durationMs === 'number' && oldest.durationMs >= 0);
    assert.equal(oldest.requestId, created.requestId);
    assert.equal(oldest.clientRequestId, 'crid-create-1');
    assert.equal(oldest.tenant, CONTOSO);
    assert.equal(oldest.app, app);
    assert.deepEqual(oldest.user, { id: ALICE.id, userPrincipalName: ALICE.upn });
    assert.deepEqual(oldest.requestBody, sent);
    assert.deepEqual(oldest.responseBody, created.body);
    assert.equal(oldest.fault, null);
    assert.equal(oldest.retryAfter, null);
    assert.equal(oldest.operation, 'createOrGet');
    assert.deepEqual(oldest.permissions, ['OnlineMeetings.ReadWrite']);
    assert.equal(oldest.batchRequestId, null);

    assert.equal(newest.method, 'GET');
    assert.equal(newest.path, readPath);
    assert.deepEqual(newest.query, { $select: 'subject,id' });
    assert.equal(newest.status, 200);
    assert.equal(newest.requestId, read.requestId);
    assert.equal(newest.clientRequestId, null, 'none was sent');
    assert.equal(newest.requestBody, null);
    assert.deepEqual(newest.responseBody, read.body);
    assert.equal(newest.operation, 'read');
    assert.ok(Date.parse(newest.time) >= Date.parse(oldest.time));
  });

  test('filters: tenant, app, user (id or UPN), method, path glob, status, limit', async () => {
    const aliceApp = randomUUID();
    const alice = await delegated(aliceApp);
    const frank = await delegated(randomUUID(), 'OnlineMeetings.ReadWrite', FRANK);
    const crm = await issuer.appToken(CRM_APP);
    const aliceCreate = await call(CREATE_OR_GET, { token: alice, json: { externalId: randomUUID() } });
    const frankCreate = await call(CREATE_OR_GET, { token: frank, json: { externalId: randomUUID() } });
    const crmCreate = await call(`/v1.0/users/${BOB.id}/onlineMeetings/createOrGet`, { token: crm, json: { externalId: randomUUID() } });
    const anonymous = await call(ME);
    assert.deepEqual([aliceCreate.status, frankCreate.status, crmCreate.status, anonymous.status], [201, 201, 201, 401]);
    const ids = async (query: string) => (await logged(query)).map((entry) => entry.requestId);

    assert.deepEqual(await ids(''), [anonymous, crmCreate, frankCreate, aliceCreate].map((r) => r.requestId));
    assert.deepEqual(await ids(`?tenant=${FABRIKAM}`), [frankCreate.requestId]);
    assert.deepEqual(await ids(`?app=${CRM_APP.appId.toUpperCase()}`), [crmCreate.requestId]);
    assert.deepEqual(await ids(`?user=${ALICE.upn.toUpperCase()}`), [aliceCreate.requestId]);
    assert.deepEqual(await ids(`?user=${ALICE.id}`), [aliceCreate.requestId]);
    assert.deepEqual(await ids('?method=get'), [anonymous.requestId]);
    assert.deepEqual(await ids(`?path=${encodeURIComponent('/V1.0/USERS/*')}`), [crmCreate.requestId]);
    assert.deepEqual(await ids(`?path=${encodeURIComponent('*/createOrGet')}&tenant=${CONTOSO}`), [crmCreate, aliceCreate].map((r) => r.requestId));
    assert.deepEqual(await ids('?status=401'), [anonymous.requestId]);
    assert.deepEqual(await ids('?status=2xx&limit=2'), [crmCreate, frankCreate].map((r) => r.requestId));
    assert.deepEqual(await ids('?limit=1'), [anonymous.requestId]);

    const [unauthenticated] = await logged('?status=401');
    assert.deepEqual([unauthenticated.tenant, unauthenticated.app, unauthenticated.user, unauthenticated.permissions], [null, null, null, null]);
    const [application] = await logged(`?app=${CRM_APP.appId}`);
    assert.equal(application.user, null);
    assert.deepEqual(application.permissions, ['OnlineMeetings.ReadWrite.All']);

    for (const bad of ['?status=abc', '?limit=0', '?limit=x', '?colour=red', '?method=GET&method=POST']) {
      await expectGraphError(await server.admin('GET', `/requests${bad}`), 400, { code: 'BadRequest' });
    }
  });

  test('$batch items are logged too, each naming its batch', async () => {
    const token = await delegated(randomUUID());
    const batch = await call('/v1.0/$batch', {
      token,
      json: {
        requests: [
          { id: '1', method: 'POST', url: '/me/onlineMeetings/createOrGet', headers: { 'content-type': 'application/json' }, body: { externalId: randomUUID() } },
          { id: '2', method: 'GET', url: '/me/onlineMeetings/nonexistent', dependsOn: ['1'] },
        ],
      },
    });
    assert.equal(batch.status, 200, batch.text);
    const [outer, second, first] = await logged();
    assert.equal(outer.requestId, batch.requestId);
    assert.equal(outer.path, '/v1.0/$batch');
    assert.equal(outer.batchRequestId, null);
    assert.equal(outer.responseBody.responses.length, 2);
    assert.deepEqual([first.method, first.path, first.status, first.batchRequestId], ['POST', CREATE_OR_GET, 201, batch.requestId]);
    assert.deepEqual([second.method, second.path, second.status, second.batchRequestId], ['GET', `${ME}/nonexistent`, 404, batch.requestId]);
    assert.equal(first.clientRequestId, outer.clientRequestId, 'items carry the batch client-request-id');
  });

  test('a connection dropped by a fault is logged with status 0', async () => {
    const app = randomUUID();
    const token = await delegated(app);
    await admin('POST', '/faults', { match: { app }, respond: { drop: true }, count: 1 });
    await assert.rejects(call(ME, { token }));
    const [entry] = await logged(`?app=${app}`);
    assert.equal(entry.status, 0);
    assert.equal(entry.responseBody, null);
    assert.deepEqual(entry.fault.respond, { drop: true });
    assert.ok(entry.durationMs >= 0);
    assert.deepEqual(await logged('?status=0'), [entry]);
  });
});

describe('secrets', () => {
  test('the log and its HAR never hold a token, a secret or a password', async () => {
    const token = await delegated(randomUUID());
    const otherToken = await issuer.userToken(BOB);
    const signature = token.split('.')[2]!;
    const secrets = ['hunter2-password', 'client-secret-value', 'opaque-access-token', 'opaque-query-token', 'auth-code-value'];
    const calls = [
      // Token and secrets in the body (some echoed back in the answer's subject).
      await call(CREATE_OR_GET, {
        token,
        json: {
          externalId: randomUUID(),
          subject: `mine: ${token}, Bob's: ${otherToken}`,
          password: secrets[0],
          extra: { client_secret: secrets[1], list: [{ Access_Token: secrets[2] }] },
        },
        headers: { 'user-agent': `agent ${token}` },
      }),
      // In the query, and in the path.
      await call(`${ME}?access_token=${secrets[3]}&code=${secrets[4]}&note=${token}`, { token }),
      await call(`${ME}/${token}`, { token }),
      // In a $batch item's URL and body.
      await call('/v1.0/$batch', {
        token,
        json: {
          requests: [
            { id: '1', method: 'GET', url: `/me/onlineMeetings?x=${token}` },
            { id: '2', method: 'POST', url: '/me/onlineMeetings/createOrGet', headers: { 'content-type': 'application/json' }, body: { externalId: randomUUID(), subject: token } },
          ],
        },
      }),
    ];
    assert.equal(calls[0]!.status, 201, calls[0]!.text);
    assert.ok(calls[0]!.text.includes(token), 'the answer itself echoes the subject');

    const entries = await logged();
    assert.equal(entries.length, 6, 'four calls and two batch items');
    const har = await (await server.admin('GET', '/requests.har')).text();
    for (const text of [JSON.stringify(entries), har]) {
      for (const secret of [token, otherToken, signature, ...secrets]) assert.ok(!text.includes(secret), `leaked: ${secret.slice(0, 24)}…`);
    }
    assert.ok(!/authorization/i.test(JSON.stringify(entries)));
    for (const entry of JSON.parse(har).log.entries) {
      const headers = [...entry.request.headers, ...entry.response.headers].map((h: Json) => h.name.toLowerCase());
      assert.deepEqual(headers.filter((name: string) => /authorization|cookie/.test(name)), []);
      assert.deepEqual([entry.request.cookies, entry.response.cookies], [[], []]);
    }
    const body = entries.at(-1)!.requestBody;
    assert.equal(body.password, '[redacted]');
    assert.equal(body.extra.client_secret, '[redacted]');
    assert.equal(body.extra.list[0].Access_Token, '[redacted]');
    assert.equal(body.subject, "mine: [redacted], Bob's: [redacted]");
    assert.deepEqual(entries.at(-2)!.query, { access_token: '[redacted]', code: '[redacted]', note: '[redacted]' });
    assert.equal(entries.at(-3)!.path, `${ME}/[redacted]`);
  });
});

describe('redaction', () => {
  test('a clean body is kept by reference; a dirty one is copied only along the way to what changed', () => {
    const scrubber = new Scrubber('the-token');
    const clean = { subject: 'x', participants: { attendees: [{ upn: 'a@b' }] } };
    assert.equal(redactJson(clean, scrubber, SENSITIVE_REQUEST_KEYS, 1000), clean);
    const dirty = { subject: 'has the-token', untouched: { a: 1 }, nested: [{ Password: 'p' }] };
    const redacted = redactJson(dirty, scrubber, SENSITIVE_REQUEST_KEYS, 1000) as Json;
    assert.deepEqual(redacted, { subject: 'has [redacted]', untouched: { a: 1 }, nested: [{ Password: '[redacted]' }] });
    assert.equal(redacted.untouched, dirty.untouched);
    assert.equal(dirty.subject, 'has the-token', 'the original is not modified');
  });

  test('a body over the limit becomes a truncated text, still redacted', async () => {
    const token = await delegated(randomUUID());
    const large = await call(CREATE_OR_GET, {
      token,
      json: { externalId: randomUUID(), password: 'large-body-password', subject: token, padding: 'x'.repeat(MAX_LOGGED_BODY_CHARS) },
    });
    assert.ok(large.status < 500, large.text);
    const [entry] = await logged();
    assert.equal(typeof entry.requestBody, 'string');
    assert.match(entry.requestBody, /…\[truncated by the request log: \d+ characters in all\]$/);
    assert.ok(entry.requestBody.length < MAX_LOGGED_BODY_CHARS + 100);
    assert.ok(entry.requestBody.includes('"password":"[redacted]"'));
    assert.ok(!entry.requestBody.includes(token) && !entry.requestBody.includes('large-body-password'));
  });
});

const nameValue = { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string' } } };
const nameValues = { type: 'array', items: nameValue };
const timing = { type: 'number', minimum: -1 };
// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/): required members and their types;
// members outside the spec must start with '_'.
const HAR_SCHEMA = {
  type: 'object',
  required: ['log'],
  additionalProperties: false,
  properties: {
    log: {
      type: 'object',
      required: ['version', 'creator', 'entries'],
      properties: {
        version: { const: '1.2' },
        creator: { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } },
        pages: { type: 'array' },
        entries: {
          type: 'array',
          items: {
            type: 'object',
            required: ['startedDateTime', 'time', 'request', 'response', 'cache', 'timings'],
            patternProperties: { '^_': {} },
            additionalProperties: false,
            properties: {
              pageref: { type: 'string' },
              startedDateTime: { type: 'string', format: 'date-time' },
              time: { type: 'number', minimum: 0 },
              request: {
                type: 'object',
                required: ['method', 'url', 'httpVersion', 'cookies', 'headers', 'queryString', 'headersSize', 'bodySize'],
                properties: {
                  method: { type: 'string' },
                  url: { type: 'string', format: 'uri' },
                  httpVersion: { type: 'string' },
                  cookies: { type: 'array' },
                  headers: nameValues,
                  queryString: nameValues,
                  postData: {
                    type: 'object',
                    required: ['mimeType', 'params', 'text'],
                    properties: { mimeType: { type: 'string' }, params: { type: 'array' }, text: { type: 'string' } },
                  },
                  headersSize: { type: 'integer' },
                  bodySize: { type: 'integer' },
                },
              },
              response: {
                type: 'object',
                required: ['status', 'statusText', 'httpVersion', 'cookies', 'headers', 'content', 'redirectURL', 'headersSize', 'bodySize'],
                properties: {
                  status: { type: 'integer' },
                  statusText: { type: 'string' },
                  httpVersion: { type: 'string' },
                  cookies: { type: 'array' },
                  headers: nameValues,
                  content: {
                    type: 'object',
                    required: ['size', 'mimeType'],
                    properties: { size: { type: 'integer' }, compression: { type: 'integer' }, mimeType: { type: 'string' }, text: { type: 'string' } },
                  },
                  redirectURL: { type: 'string' },
                  headersSize: { type: 'integer' },
                  bodySize: { type: 'integer' },
                },
              },
              cache: { type: 'object' },
              timings: {
                type: 'object',
                required: ['send', 'wait', 'receive'],
                properties: { blocked: timing, dns: timing, connect: timing, send: timing, wait: timing, receive: timing, ssl: timing },
              },
              serverIPAddress: { type: 'string' },
              connection: { type: 'string' },
              comment: { type: 'string' },
            },
          },
        },
        comment: { type: 'string' },
      },
    },
  },
};

describe('HAR', () => {
  test('GET /__admin/requests.har is HAR 1.2, oldest first', async () => {
    const token = await delegated(randomUUID());
    const created = await call(CREATE_OR_GET, { token, json: { externalId: randomUUID(), subject: 'HAR' } });
    const listed = await call(`${ME}?$filter=${encodeURIComponent("joinWebUrl eq 'https://example.invalid/x'")}`, { token });
    const failed = await call(`${ME}/nonexistent`, { token });
    const response = await server.admin('GET', '/requests.har');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    const har: Json = await response.json();

    const ajv = new Ajv({ allErrors: true, strict: true });
    ajvFormats.default(ajv);
    const valid = ajv.validate(HAR_SCHEMA, har);
    assert.ok(valid, JSON.stringify(ajv.errors, null, 2));
    assert.equal(har.log.creator.name, 'graph-meetings');
    assert.match(har.log.creator.version, /^\d+\.\d+\.\d+/);

    const entries: Json[] = har.log.entries;
    assert.deepEqual(entries.map((e) => e._requestId), [created, listed, failed].map((r) => r.requestId));
    for (const entry of entries) {
      const { send, wait, receive } = entry.timings;
      assert.ok(Math.abs(entry.time - (send + wait + receive)) < 1e-6, 'time is the sum of the timings');
      assert.equal(new URL(entry.request.url).origin, server.url);
      assert.equal(entry.request.httpVersion, 'HTTP/1.1', 'as the client (fetch) spoke it');
      assert.ok(Date.parse(entry.startedDateTime) > 0);
    }
    const [post, list, notFound] = entries;
    assert.equal(post.request.method, 'POST');
    assert.equal(post.request.url, `${server.url}${CREATE_OR_GET}`);
    assert.equal(post.request.postData.mimeType, 'application/json');
    assert.equal(JSON.parse(post.request.postData.text).subject, 'HAR');
    assert.equal(post.request.bodySize, Buffer.byteLength(post.request.postData.text));
    assert.ok(post.request.headers.some((h: Json) => h.name === 'client-request-id'));
    assert.equal(post.response.status, 201);
    assert.equal(post.response.statusText, 'Created');
    assert.deepEqual(JSON.parse(post.response.content.text), created.body);
    assert.match(post.response.content.mimeType, /^application\/json/);
    assert.deepEqual(
      post.response.headers.find((h: Json) => h.name === 'request-id'),
      { name: 'request-id', value: created.requestId },
    );
    assert.deepEqual(list.request.queryString, [{ name: '$filter', value: "joinWebUrl eq 'https://example.invalid/x'" }]);
    assert.equal(new URL(list.request.url).searchParams.get('$filter'), "joinWebUrl eq 'https://example.invalid/x'");
    assert.equal(list.request.postData, undefined);
    assert.equal(notFound.response.status, 404);
    assert.equal(JSON.parse(notFound.response.content.text).error.code, failed.body.error.code);

    // The same filters as /requests.
    const filtered: Json = await (await server.admin('GET', '/requests.har?status=404')).json();
    assert.deepEqual(filtered.log.entries.map((e: Json) => e._requestId), [failed.requestId]);
  });
});

describe('guidance', () => {
  test('an early retry after a 429 is named, with both request ids', async () => {
    const app = randomUUID();
    const token = await delegated(app);
    const rule = await admin('POST', '/faults', { match: { app, path: CREATE_OR_GET }, respond: { status: 429, retryAfter: 5 }, count: 1 });
    const body = { externalId: randomUUID() };
    const throttled = await call(CREATE_OR_GET, { token, json: body });
    assert.equal(throttled.status, 429, throttled.text);
    assert.equal(throttled.headers.get('retry-after'), '5');
    const retry = await call(CREATE_OR_GET, { token, json: body });
    assert.equal(retry.status, 201, retry.text);

    const [, first] = await logged();
    assert.deepEqual(first.fault, { ruleId: rule.id, respond: { status: 429, retryAfter: 5 } });
    assert.equal(first.retryAfter, 5);

    const advice = await guidance(app);
    assert.equal(advice.app, app);
    assert.equal(advice.requests, 2);
    assert.deepEqual(kinds(advice), ['earlyRetry']);
    const [finding] = advice.findings;
    assert.match(finding.message, /Retry-After/);
    assert.equal(finding.count, 1);
    assert.equal(finding.examples.length, 1);
    const [example] = finding.examples;
    assert.equal(example.requestId, retry.requestId);
    assert.equal(example.path, CREATE_OR_GET);
    assert.equal(example.retryOf, throttled.requestId);
    assert.equal(example.retryAfter, 5);
    assert.ok(example.waitedMs >= 0 && example.waitedMs < 5000);
  });

  test('calls to /beta are named', async () => {
    const app = randomUUID();
    const token = await delegated(app, 'OnlineMeetings.Read');
    const id = await meetingOf(ALICE);
    const read = await call(`/beta/me/onlineMeetings/${encodeURIComponent(id)}`, { token });
    assert.equal(read.status, 200, read.text);
    const advice = await guidance(app);
    assert.deepEqual(kinds(advice), ['betaEndpoint']);
    assert.deepEqual(
      advice.findings[0].examples.map((e: Json) => [e.requestId, e.path]),
      [[read.requestId, `/beta/me/onlineMeetings/${encodeURIComponent(id)}`]],
    );
  });

  test('permissions beyond what the calls needed are named, with the least privileged one', async () => {
    const id = await meetingOf(BOB);
    // An application that only reads but holds OnlineMeetings.ReadWrite.All.
    const crm = await issuer.appToken(CRM_APP, ['OnlineMeetings.ReadWrite.All']);
    const appRead = await call(`/v1.0/users/${BOB.id}/onlineMeetings/${encodeURIComponent(id)}`, { token: crm });
    assert.equal(appRead.status, 200, appRead.text);
    let advice = await guidance(CRM_APP.appId);
    assert.deepEqual(kinds(advice), ['excessPermissions']);
    let [finding] = advice.findings;
    assert.equal(finding.tokenType, 'application');
    assert.deepEqual(finding.held, ['OnlineMeetings.ReadWrite.All']);
    assert.deepEqual(finding.operations, ['read']);
    assert.equal(finding.suggested, 'OnlineMeetings.Read.All');
    assert.match(finding.message, /OnlineMeetings\.Read\.All would do/);
    assert.deepEqual(finding.examples.map((e: Json) => e.requestId), [appRead.requestId]);

    // A delegated client that only reads, with OnlineMeetings.ReadWrite.
    const app = randomUUID();
    const token = await delegated(app, 'OnlineMeetings.ReadWrite User.Read', BOB);
    const read = await call(`${ME}/${encodeURIComponent(id)}`, { token });
    assert.equal(read.status, 200, read.text);
    advice = await guidance(app);
    assert.deepEqual(kinds(advice), ['excessPermissions']);
    [finding] = advice.findings;
    assert.equal(finding.tokenType, 'delegated');
    assert.deepEqual(finding.held, ['OnlineMeetings.ReadWrite']);
    assert.equal(finding.suggested, 'OnlineMeetings.Read');
    assert.deepEqual(finding.examples[0].permissions.sort(), ['OnlineMeetings.ReadWrite', 'user.read']);

    // Once it also writes, ReadWrite is what it needs.
    const update = await call(`${ME}/${encodeURIComponent(id)}`, { token, method: 'PATCH', json: { subject: 'Renamed' } });
    assert.equal(update.status, 200, update.text);
    assert.deepEqual(kinds(await guidance(app)), []);
  });

  test('requests without client-request-id are named', async () => {
    const app = randomUUID();
    const token = await delegated(app);
    const without = await call(CREATE_OR_GET, { token, json: { externalId: randomUUID() }, clientRequestId: false });
    const withId = await call(CREATE_OR_GET, { token, json: { externalId: randomUUID() } });
    assert.deepEqual([without.status, withId.status], [201, 201]);
    const advice = await guidance(app);
    assert.deepEqual(kinds(advice), ['missingClientRequestId']);
    assert.deepEqual(
      advice.findings[0].examples.map((e: Json) => [e.requestId, e.path]),
      [[without.requestId, CREATE_OR_GET]],
    );
  });

  test('a well-behaved app gets no findings', async () => {
    const app = randomUUID();
    const token = await delegated(app, 'OnlineMeetings.Read');
    const path = `${ME}/${encodeURIComponent(await meetingOf(ALICE))}`;
    await admin('POST', '/faults', { match: { app }, respond: { status: 429, retryAfter: 1 }, count: 1 });
    const throttled = await call(path, { token });
    assert.equal(throttled.status, 429, throttled.text);
    // Honours Retry-After (1 s) with a margin.
    await sleep(Number(throttled.headers.get('retry-after')) * 1000 + 200);
    const read = await call(path, { token });
    assert.equal(read.status, 200, read.text);
    const advice = await guidance(app);
    assert.equal(advice.requests, 2);
    assert.deepEqual(advice.findings, []);
  });

  test('needs an app', async () => {
    await expectGraphError(await server.admin('GET', '/guidance'), 400, { code: 'BadRequest', message: /'app'/ });
    await expectGraphError(await server.admin('GET', '/guidance?app=x&other=1'), 400, { code: 'BadRequest' });
    assert.deepEqual(await guidance(randomUUID()).then((a) => [a.requests, a.findings]), [0, []]);
  });
});

describe('clearing', () => {
  test('DELETE /__admin/requests and a whole reset empty the log; a tenant reset does not', async () => {
    const token = await delegated(randomUUID());
    await call(ME, { token });
    assert.equal((await logged()).length, 1);
    const deleted = await server.admin('DELETE', '/requests');
    assert.equal(deleted.status, 204);
    assert.deepEqual(await logged(), []);

    await call(ME, { token });
    await admin('POST', '/reset', { tenant: FABRIKAM });
    assert.equal((await logged()).length, 1, 'a tenant reset keeps the log');
    await admin('POST', '/reset', {});
    assert.deepEqual(await logged(), []);
  });

  test('the log is per process, and a whole reset through one process empties every process', async () => {
    const other = await startServer({ issuer, dir: server.dir });
    try {
      const token = await delegated(randomUUID());
      const here = await call(ME, { token });
      const there = await call(ME, { token }, other);
      assert.deepEqual((await logged('', server)).map((e) => e.requestId), [here.requestId]);
      assert.deepEqual((await logged('', other)).map((e) => e.requestId), [there.requestId]);
      await admin('POST', '/reset', {});
      assert.deepEqual(await logged('', other), []);
    } finally {
      await other.close();
    }
  });
});

describe('size', () => {
  test('--request-log-size 3 keeps the newest 3; 0 keeps nothing', async () => {
    for (const size of [3, 0]) {
      const small = await startServer({ issuer, directory: DIRECTORY, config: { requestLogSize: size } });
      try {
        const token = await delegated(randomUUID());
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const response = await call(`${ME}/nonexistent-${i}`, { token }, small);
          assert.equal(response.status, 404, response.text);
          ids.push(response.requestId);
        }
        const entries = await logged('', small);
        assert.deepEqual(entries.map((e) => e.requestId), ids.slice(5 - size).reverse());
        const har: Json = await (await small.admin('GET', '/requests.har')).json();
        assert.equal(har.log.entries.length, size);
      } finally {
        await small.close();
      }
    }
  });

  test('answers of any size and script come back exactly, also once their slots are reused', async () => {
    const small = await startServer({ issuer, directory: DIRECTORY, config: { requestLogSize: 2 } });
    try {
      const token = await delegated(randomUUID());
      const sizes: number[] = [];
      // Answers from ~3 KB to over the log's 8 KB slots, in ASCII, accented and 4-byte characters.
      for (const subject of ['plain', 'Réunion hebdomadaire é'.repeat(60), '🙂'.repeat(1300), 'x'.repeat(3500), 'ü'.repeat(2100)]) {
        const created = await call(CREATE_OR_GET, { token, json: { externalId: randomUUID(), subject } }, small);
        assert.equal(created.status, 201, created.text);
        sizes.push(Buffer.byteLength(created.text));
        const [entry] = await logged('?limit=1', small);
        assert.deepEqual(entry.responseBody, created.body, `subject of ${subject.length} UTF-16 units`);
      }
      assert.ok(Math.min(...sizes) < KEPT_TEXT_BYTES && Math.max(...sizes) > KEPT_TEXT_BYTES, `answer sizes ${sizes}`);
      // Read again, from entries already built, and after newer requests replaced the older slots.
      const entries = await logged('', small);
      assert.equal(entries[0].responseBody.subject, 'ü'.repeat(2100));
      assert.equal(entries[1].responseBody.subject, 'x'.repeat(3500));
    } finally {
      await small.close();
    }
  });

  test('a request held past a reset of its connection does not touch the entry of a later one', async () => {
    // Entries pushed out unread are reused for later requests: the held request's late answer must
    // not reach the later request that took over its capture.
    const small = await startServer({ issuer, directory: DIRECTORY, config: { requestLogSize: 2 } });
    try {
      const [left, later, quick] = [randomUUID(), randomUUID(), randomUUID()];
      await admin('POST', '/faults', { match: { app: left }, respond: { delayMs: 700 }, count: 1 }, small);
      await admin('POST', '/faults', { match: { app: later }, respond: { delayMs: 1400 }, count: 1 }, small);
      const { hostname, port } = new URL(small.url);
      const socket = createConnection({ host: hostname, port: Number(port) });
      await once(socket, 'connect');
      socket.write(`GET ${ME}/nonexistent-left HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${await delegated(left)}\r\n\r\n`);
      await sleep(200);
      socket.resetAndDestroy(); // an RST: the server sees the connection close while it holds the request
      await sleep(100);
      // Logged as dropped; these two push its entry out, unread, so the next request takes over its capture.
      const quickToken = await delegated(quick);
      for (let i = 0; i < 2; i++) assert.equal((await call(`${ME}/nonexistent-quick-${i}`, { token: quickToken }, small)).status, 404);
      // Taken in while the first request is still held; answered after the held one has finished.
      const answer = await call(CREATE_OR_GET, { token: await delegated(later), json: { externalId: 'held-later', subject: 'Later' } }, small);
      assert.equal(answer.status, 201, answer.text);
      await sleep(100);
      const [newest, previous, ...rest] = await logged('', small);
      assert.equal(rest.length, 0);
      assert.deepEqual([newest.app, newest.requestId, newest.status], [later, answer.requestId, 201]);
      assert.deepEqual(newest.responseBody, answer.body);
      assert.deepEqual(newest.requestBody, { externalId: 'held-later', subject: 'Later' });
      assert.equal(newest.fault.respond.delayMs, 1400);
      assert.deepEqual([previous.app, previous.path, previous.status, previous.fault], [quick, `${ME}/nonexistent-quick-1`, 404, null]);
    } finally {
      await small.close();
    }
  });

  test("the ring's text slots keep texts that fill one to the byte and refuse one a byte over", () => {
    const log = new RequestLog(2);
    const pending = (name: string) => ({ build: (kept: KeptTexts | undefined) => ({ requestId: name, responseText: kept?.join('|') ?? null }) as LoggedRequest });
    const texts = {
      full: '€'.repeat(Math.floor(KEPT_TEXT_BYTES / 3)) + 'é', // 3-byte characters, then a 2-byte one: exactly full
      over: 'a'.repeat(KEPT_TEXT_BYTES - 3) + '🙂', // the last character crosses the end
      ascii: 'a'.repeat(KEPT_TEXT_BYTES + 1),
    };
    assert.equal(Buffer.byteLength(texts.full), KEPT_TEXT_BYTES);
    assert.equal(log.add(pending('full'), [texts.full.slice(0, 5), texts.full.slice(5)]), true);
    assert.equal(log.add(pending('over'), [texts.over]), false);
    // The entry whose texts were refused gets none from the log (its caller keeps them).
    assert.deepEqual(log.find().map((e) => [e.requestId, e.responseText]), [['over', null], ['full', `${texts.full.slice(0, 5)}|${texts.full.slice(5)}`]]);
    assert.equal(log.add(pending('ascii'), ['a', texts.ascii.slice(1)]), false);
    assert.equal(log.add(pending('short'), ['short']), true);
    assert.deepEqual(log.find().map((e) => [e.requestId, e.responseText]), [['short', 'short'], ['ascii', null]]);
  });

  test('a slot gives its texts back each as it was: empty, missing, multi-byte and lone surrogates', () => {
    const log = new RequestLog(1);
    let given: KeptTexts | undefined;
    const texts = ['', undefined, 'é🙂€', 'lone \ud800 surrogate', undefined, 'plain', ''];
    assert.equal(log.add({ build: (kept) => ((given = kept), { requestId: 'x' } as LoggedRequest) }, texts), true);
    log.find();
    // A lone surrogate comes back as U+FFFD (one unit, as UTF-8 writes it), every other text exactly.
    assert.deepEqual(given, texts.map((t) => t?.replace('\ud800', '\ufffd')));
  });
});

describe('command line', () => {
  test('`requests --url` prints the log as JSON, `--har` as HAR; without --url it says why not', async () => {
    const token = await delegated(randomUUID());
    const first = await call(ME, { token });
    const second = await call(`${ME}/nonexistent`, { token });
    const target = ['--url', server.url, '--admin-key', TEST_ADMIN_KEY];

    const json = await runCli(['requests', ...target, '--status', '404']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).value.map((e: Json) => e.requestId), [second.requestId]);

    const har = await runCli(['requests', ...target, '--har']);
    assert.equal(har.code, 0, har.stderr);
    const parsed = JSON.parse(har.stdout);
    assert.equal(parsed.log.version, '1.2');
    assert.deepEqual(parsed.log.entries.map((e: Json) => e._requestId), [first.requestId, second.requestId]);

    const bad = await runCli(['requests', ...target, '--limit', 'none']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /limit/);

    const noUrl = await runCli(['requests', '--db', `sqlite:${server.dbPath}`]);
    assert.equal(noUrl.code, 2);
    assert.equal(noUrl.stdout, '');
    assert.match(noUrl.stderr, /^graph-meetings: requests: .*per server process|kept in each server process.*--url/);
    assert.equal(noUrl.stderr.trim().split('\n').length, 1);
  });
});

test('request ids in the log are the ones answered', async () => {
  const token = await delegated(randomUUID());
  const response = await call(ME, { token });
  const [entry] = await logged();
  assert.match(entry.requestId, GUID);
  assert.equal(entry.requestId, response.requestId);
});
