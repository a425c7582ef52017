// The properties every answer must keep, whatever the body: checked on a real server over a real
// database (SQLite file or PostgreSQL). Used by test/fuzz.test.ts (bounded) and `npm run fuzz` (long).
//   never a 5xx · every error Graph-shaped with request-id · a 2xx means the meeting is stored and
//   holds its key until its expiryDateTime · a 4xx means nothing was stored or changed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { connect } from 'node:net';
import pg from 'pg';
import { ALICE, BOB, CRM_APP, DIRECTORY, FRANK } from '../helpers/fixtures.js';
import { GRAPH_DATE_TIME, type Json } from '../helpers/graph-assert.js';
import { freshDatabase, testPostgres } from '../helpers/postgres-cluster.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TestIssuer } from '../helpers/test-issuer.js';
import { hostileDateTime, hostileString, hostileValue, mutate, mutationOf, toJsonText } from './arbitraries.js';

export type Engine = 'sqlite' | 'postgres';

/** A server under test, the database behind it, and a clock the properties may move. */
export interface FuzzTarget {
  engine: Engine;
  server: RunningServer;
  alice: string;
  crmApp: string;
  countMeetings(): Promise<number>;
  /** Moves the server's clock to `ms` since the epoch (undefined: real time). */
  setClock(ms: number | undefined): void;
  /** Status codes seen, per property, for the campaign's figures. */
  statuses: Map<string, Map<number, number>>;
  close(): Promise<void>;
}

export async function startFuzzTarget(engine: Engine): Promise<FuzzTarget> {
  const issuer = await TestIssuer.start();
  let fixedNow: number | undefined;
  const clock = { now: () => fixedNow ?? Date.now() };
  let pgUrl: string | undefined;
  if (engine === 'postgres') pgUrl = await freshDatabase((await testPostgres()).url);
  const server = await startServer({
    issuer,
    directory: DIRECTORY,
    config: { clock, maxBody: 1024 * 1024, ...(pgUrl ? { db: pgUrl, dbPool: 4 } : {}) },
  });
  let counter: { count(): Promise<number>; close(): Promise<void> };
  if (pgUrl) {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    counter = {
      count: async () => Number((await client.query('SELECT count(*) AS n FROM meetings')).rows[0].n),
      close: () => client.end(),
    };
  } else {
    const db = new Database(server.dbPath, { readonly: true });
    const statement = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM meetings');
    counter = { count: async () => statement.get()!.n, close: async () => void db.close() };
  }
  return {
    engine,
    server,
    alice: await issuer.userToken(ALICE),
    crmApp: await issuer.appToken(CRM_APP),
    countMeetings: () => counter.count(),
    setClock(ms) {
      fixedNow = ms;
    },
    statuses: new Map(),
    async close() {
      await counter.close();
      await server.close();
      await issuer.stop();
    },
  };
}

const ME = '/v1.0/me/onlineMeetings';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Json;
}

async function send(target: FuzzTarget, path: string, method: string, text: string | undefined, token = target.alice): Promise<Answer> {
  const res = await target.server.request(path, {
    method,
    token,
    ...(text === undefined ? {} : { body: text, headers: { 'content-type': 'application/json' } }),
  });
  const body = await res.text();
  let parsed: Json;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text: body, body: parsed };
}

function record(target: FuzzTarget, property: string, status: number) {
  let counts = target.statuses.get(property);
  if (!counts) target.statuses.set(property, (counts = new Map()));
  counts.set(status, (counts.get(status) ?? 0) + 1);
}

/** Never a 5xx; an error is Graph's shape with the request-id header in it. */
function assertWellFormed(answer: Answer, context: string) {
  assert.ok(answer.status < 500, `${context}: ${answer.status} ${answer.text.slice(0, 500)}`);
  const requestId = answer.headers.get('request-id');
  assert.match(requestId ?? '', /^[0-9a-f-]{36}$/, `${context}: request-id header`);
  if (answer.status >= 400) {
    const error = answer.body?.error;
    assert.ok(error && typeof error.code === 'string' && typeof error.message === 'string', `${context}: Graph error shape: ${answer.text.slice(0, 300)}`);
    assert.equal(error.innerError?.['request-id'], requestId, `${context}: innerError.request-id`);
    assert.doesNotMatch(answer.text, /\n\s+at /, `${context}: stack trace in the body`);
  }
}

/** A stored meeting's dates are Graph's form, and its expiry is not before its end. */
function assertMeetingDates(meeting: Json, context: string) {
  for (const name of ['creationDateTime', 'startDateTime', 'endDateTime', 'expiryDateTime']) {
    assert.match(String(meeting[name]), GRAPH_DATE_TIME, `${context}: ${name} ${meeting[name]}`);
  }
  assert.ok(meeting.expiryDateTime >= meeting.endDateTime, `${context}: expiry ${meeting.expiryDateTime} before end ${meeting.endDateTime}`);
  assert.ok(meeting.endDateTime >= meeting.startDateTime, `${context}: end before start`);
}

/** The key is held: createOrGet again answers 200 with the same meeting, and GET finds it. */
async function assertHoldsKey(target: FuzzTarget, meeting: Json, context: string) {
  const again = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify({ externalId: meeting.externalId }));
  assert.equal(again.status, 200, `${context}: the key is not held: ${again.status} ${again.text.slice(0, 300)}`);
  assert.equal(again.body.id, meeting.id, `${context}: a second meeting for the same key`);
  const read = await send(target, `${ME}/${encodeURIComponent(meeting.id)}`, 'GET', undefined);
  assert.equal(read.status, 200, `${context}: GET by id ${read.status}`);
}

/** Until its expiryDateTime the key returns this meeting; just after, the key is free. */
async function assertHoldsKeyUntilExpiry(target: FuzzTarget, meeting: Json, context: string) {
  const expiryMs = Date.parse(`${meeting.expiryDateTime.slice(0, 23)}Z`);
  try {
    target.setClock(expiryMs - 1);
    await assertHoldsKey(target, meeting, `${context} (1 ms before expiry)`);
    if (expiryMs + 1 < Date.UTC(10000, 0, 1)) {
      target.setClock(expiryMs + 1);
      const after = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify({ externalId: meeting.externalId }));
      assert.equal(after.status, 201, `${context}: expired key not freed: ${after.status}`);
      assert.notEqual(after.body.id, meeting.id);
    }
  } finally {
    target.setClock(undefined);
  }
}

const CREATE_OR_GET_PATHS: readonly string[][] = [
  ['externalId'],
  ['subject'],
  ['startDateTime'],
  ['endDateTime'],
  ['participants'],
  ['participants', 'organizer'],
  ['participants', 'organizer', 'identity'],
  ['participants', 'organizer', 'identity', 'user'],
  ['participants', 'organizer', 'identity', 'user', 'id'],
  ['participants', 'attendees'],
  ['participants', 'attendees', '0'],
  ['participants', 'attendees', '1'],
  ['participants', 'attendees', '0', 'upn'],
  ['participants', 'attendees', '0', 'role'],
  ['participants', 'attendees', '0', 'identity'],
  ['participants', 'attendees', '0', 'identity', 'user'],
  ['participants', 'attendees', '0', 'identity', 'user', 'id'],
  ['participants', 'attendees', '0', 'identity', 'user', 'displayName'],
  ['participants', 'attendees', '0', 'identity', 'application'],
  ['chatInfo'],
  ['chatInfo', 'threadId'],
  ['chatInfo', 'messageId'],
];

function validCreateOrGetBody(): Record<string, unknown> {
  return {
    externalId: `fuzz-${randomUUID()}`,
    subject: 'Fuzzed',
    startDateTime: '2030-01-01T10:00:00Z',
    endDateTime: '2030-01-01T11:00:00Z',
    participants: {
      attendees: [
        { upn: BOB.upn, role: 'presenter', identity: { user: { id: BOB.id, displayName: 'Bob' } } },
        { upn: 'guest@elsewhere.example', identity: { user: { displayName: 'Guest' } } },
      ],
    },
  };
}

/** What a createOrGet (or create) answer must mean for the database. */
async function checkCreation(target: FuzzTarget, property: string, answer: Answer, before: number, keyed: boolean, readAs = { base: ME, token: target.alice }) {
  record(target, property, answer.status);
  assertWellFormed(answer, property);
  const after = await target.countMeetings();
  if (answer.status >= 400) {
    assert.equal(after, before, `${property}: a ${answer.status} stored something`);
    return;
  }
  assert.ok(answer.status === 200 || answer.status === 201, `${property}: unexpected ${answer.status}`);
  assert.equal(after - before, answer.status === 201 ? 1 : 0, `${property}: ${answer.status} but ${after - before} rows added`);
  assertMeetingDates(answer.body, property);
  if (keyed) await assertHoldsKey(target, answer.body, property);
  else {
    const read = await send(target, `${readAs.base}/${encodeURIComponent(answer.body.id)}`, 'GET', undefined, readAs.token);
    assert.equal(read.status, 200, `${property}: created meeting not readable`);
  }
}

export function createOrGetBodyProperty(target: FuzzTarget) {
  const body = fc.oneof(
    { weight: 8, arbitrary: mutationOf(CREATE_OR_GET_PATHS).map((m) => mutate(validCreateOrGetBody(), m)) },
    { weight: 2, arbitrary: fc.tuple(mutationOf(CREATE_OR_GET_PATHS), mutationOf(CREATE_OR_GET_PATHS)).map(([a, b]) => mutate(mutate(validCreateOrGetBody(), a) as Record<string, unknown>, b)) },
    { weight: 1, arbitrary: hostileValue },
  );
  return fc.asyncProperty(body, async (value) => {
    const before = await target.countMeetings();
    const answer = await send(target, `${ME}/createOrGet`, 'POST', toJsonText(value));
    await checkCreation(target, 'createOrGet body', answer, before, true);
  });
}

export function createBodyProperty(target: FuzzTarget) {
  const paths = [...CREATE_OR_GET_PATHS, ['lobbyBypassSettings'], ['lobbyBypassSettings', 'scope'], ['allowedPresenters'], ['joinMeetingIdSettings'], ['joinMeetingIdSettings', 'isPasscodeRequired'], ['anonymizeIdentityForRoles'], ['anonymizeIdentityForRoles', '0'], ['watermarkProtection'], ['allowRecording'], ['meetingTemplateId']];
  const base = () => {
    const { externalId: _key, ...rest } = validCreateOrGetBody();
    return { ...rest, lobbyBypassSettings: { scope: 'organization' }, allowRecording: true };
  };
  const body = fc.oneof({ weight: 8, arbitrary: mutationOf(paths).map((m) => mutate(base(), m)) }, { weight: 1, arbitrary: hostileValue });
  return fc.asyncProperty(body, async (value) => {
    const before = await target.countMeetings();
    const answer = await send(target, ME, 'POST', toJsonText(value));
    await checkCreation(target, 'create body', answer, before, false);
  });
}

const PATCH_PATHS: readonly string[][] = [
  ['subject'],
  ['startDateTime'],
  ['endDateTime'],
  ['participants'],
  ['participants', 'organizer', 'identity', 'user', 'id'],
  ['participants', 'attendees'],
  ['participants', 'attendees', '0'],
  ['participants', 'attendees', '0', 'role'],
  ['lobbyBypassSettings'],
  ['lobbyBypassSettings', 'scope'],
  ['lobbyBypassSettings', 'isDialInBypassEnabled'],
  ['allowedPresenters'],
  ['allowMeetingChat'],
  ['isEntryExitAnnounced'],
  ['joinMeetingIdSettings'],
  ['joinMeetingIdSettings', 'isPasscodeRequired'],
  ['anonymizeIdentityForRoles'],
  ['chatRestrictions', 'allowTextOnly'],
  ['watermarkProtection'],
  ['meetingSpokenLanguageTag'],
  ['meetingTemplateId'],
  ['externalId'],
  ['id'],
  ['expiryDateTime'],
];

export function patchBodyProperty(target: FuzzTarget) {
  const base = () => ({
    subject: 'Patched',
    startDateTime: '2031-05-05T10:00:00Z',
    endDateTime: '2031-05-05T11:00:00Z',
    participants: { attendees: [{ upn: BOB.upn, role: 'presenter' }] },
    lobbyBypassSettings: { scope: 'everyone', isDialInBypassEnabled: true },
    allowedPresenters: 'roleIsPresenter',
  });
  const body = fc.oneof({ weight: 8, arbitrary: mutationOf(PATCH_PATHS).map((m) => mutate(base(), m)) }, { weight: 1, arbitrary: hostileValue });
  return fc.asyncProperty(body, async (value) => {
    const created = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify(validCreateOrGetBody()));
    assert.equal(created.status, 201, created.text);
    const path = `${ME}/${encodeURIComponent(created.body.id)}`;
    const before = await send(target, path, 'GET', undefined);
    const answer = await send(target, path, 'PATCH', toJsonText(value));
    record(target, 'PATCH body', answer.status);
    assertWellFormed(answer, 'PATCH body');
    const after = await send(target, path, 'GET', undefined);
    assert.equal(after.status, 200, 'PATCH: the meeting is gone');
    if (answer.status >= 400) {
      assert.deepEqual(after.body, before.body, `PATCH: a ${answer.status} changed the meeting`);
      return;
    }
    assert.equal(answer.status, 200);
    const { '@odata.context': _a, ...patched } = answer.body;
    const { '@odata.context': _b, ...stored } = after.body;
    assert.deepEqual(stored, patched, 'PATCH: the answer is not what was stored');
    assertMeetingDates(stored, 'PATCH');
    await assertHoldsKey(target, stored, 'PATCH');
  });
}

/** A $batch of fuzzed createOrGet items, or a fuzzed envelope: never a 5xx, items' errors Graph-shaped. */
export function batchBodyProperty(target: FuzzTarget) {
  // Mostly well-formed items, so that the fuzzed bodies reach the routes; sometimes any value.
  const mostly = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: hostileValue });
  const item = fc.record(
    {
      id: mostly(fc.integer({ min: 1, max: 5 }).map(String)),
      method: mostly(fc.constantFrom('POST', 'post', 'GET', 'PATCH')),
      url: mostly(fc.constantFrom('/me/onlineMeetings/createOrGet', 'me/onlineMeetings/createOrGet', '/me/onlineMeetings', '/users/bob@contoso.example/onlineMeetings/createOrGet')),
      headers: mostly(fc.constant({ 'content-type': 'application/json' })),
      body: mostly(mutationOf(CREATE_OR_GET_PATHS).map((m) => mutate(validCreateOrGetBody(), m))),
      dependsOn: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: mostly(fc.array(fc.integer({ min: 1, max: 5 }).map(String), { maxLength: 2 })) }),
    },
    { requiredKeys: ['id', 'method', 'url', 'headers', 'body'] },
  );
  const envelope = fc.oneof(
    { weight: 6, arbitrary: fc.uniqueArray(item, { minLength: 1, maxLength: 4, selector: (i) => JSON.stringify(toJsonText(i.id)) }).map((requests) => ({ requests })) },
    { weight: 1, arbitrary: hostileValue.map((requests) => ({ requests })) },
    { weight: 1, arbitrary: hostileValue },
  );
  return fc.asyncProperty(envelope, async (value) => {
    const before = await target.countMeetings();
    const answer = await send(target, '/v1.0/$batch', 'POST', toJsonText(value));
    record(target, '$batch body', answer.status);
    assertWellFormed(answer, '$batch');
    const after = await target.countMeetings();
    if (answer.status >= 400) {
      assert.equal(after, before, `$batch: a ${answer.status} stored something`);
      return;
    }
    let created = 0;
    for (const response of answer.body.responses as Json[]) {
      record(target, '$batch item', response.status);
      assert.ok(response.status < 500, `$batch item: ${JSON.stringify(response).slice(0, 500)}`);
      if (response.status >= 400) {
        assert.equal(typeof response.body?.error?.code, 'string', `$batch item error shape: ${JSON.stringify(response)}`);
      }
      if (response.status === 201) {
        created++;
        assertMeetingDates(response.body, '$batch item');
        if (response.body.externalId) await assertHoldsKey(target, response.body, '$batch item');
      }
    }
    assert.equal(after - before, created, '$batch: rows added differ from 201 items');
  });
}

/** externalId and subject from any Unicode: a 201 round-trips them exactly and holds the key. */
export function unicodeProperty(target: FuzzTarget) {
  return fc.asyncProperty(hostileString, hostileString, async (externalId, subject) => {
    const before = await target.countMeetings();
    const answer = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify({ externalId, subject }));
    if (answer.status === 200 || answer.status === 201) {
      assert.equal(answer.body.externalId, externalId, 'externalId changed on the way');
      if (answer.status === 201) assert.equal(answer.body.subject, subject, 'subject changed on the way');
    }
    await checkCreation(target, 'unicode', answer, before, true);
  });
}

/** Any start/end at the edges of time: a 201 holds its key until exactly its expiryDateTime. */
export function dateTimeProperty(target: FuzzTarget) {
  const times = fc.record({ start: fc.option(hostileDateTime, { nil: undefined }), end: fc.option(hostileDateTime, { nil: undefined }) });
  return fc.asyncProperty(times, fc.boolean(), async ({ start, end }, viaPatch) => {
    const before = await target.countMeetings();
    let answer: Answer;
    if (viaPatch) {
      const created = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify(validCreateOrGetBody()));
      answer = await send(target, `${ME}/${encodeURIComponent(created.body.id)}`, 'PATCH', JSON.stringify({ startDateTime: start, endDateTime: end }));
      record(target, 'date-time (PATCH)', answer.status);
      assertWellFormed(answer, 'date-time PATCH');
      if (answer.status !== 200) return;
      assertMeetingDates(answer.body, 'date-time PATCH');
      await assertHoldsKeyUntilExpiry(target, answer.body, `PATCH ${start} → ${end}`);
      return;
    }
    answer = await send(target, `${ME}/createOrGet`, 'POST', JSON.stringify({ externalId: `dates-${randomUUID()}`, startDateTime: start, endDateTime: end }));
    await checkCreation(target, 'date-time', answer, before, true);
    if (answer.status === 201) await assertHoldsKeyUntilExpiry(target, answer.body, `${start} → ${end}`);
  });
}

/** Application callers name the organizer in the body: any value there is a 4xx or a stored meeting. */
export function applicationOrganizerProperty(target: FuzzTarget) {
  const organizer = fc.oneof(hostileValue, fc.constantFrom(ALICE.id, BOB.id, FRANK.id, ALICE.upn, ALICE.id.toUpperCase(), 'a\u0000b', `${BOB.id}\u0000`));
  return fc.asyncProperty(organizer, async (id) => {
    const before = await target.countMeetings();
    const body = { ...validCreateOrGetBody(), participants: { organizer: { identity: { user: { id } } } } };
    const base = '/v1.0/communications/onlineMeetings';
    const answer = await send(target, `${base}/createOrGet`, 'POST', toJsonText(body), target.crmApp);
    await checkCreation(target, 'application organizer', answer, before, false, { base, token: target.crmApp });
  });
}

/** Any text in the path's user and meeting segments and in $filter/$select: never a 5xx. */
export function pathProperty(target: FuzzTarget) {
  const segment = fc.oneof(hostileString, fc.constantFrom(BOB.id, BOB.upn, 'a\u0000b', '%00', '..', '%2F', "a'b", '(', ')'));
  const request = fc.record({
    user: segment,
    meeting: fc.option(segment, { nil: undefined }),
    filter: fc.option(fc.oneof(segment.map((v) => `JoinWebUrl eq '${v}'`), segment), { nil: undefined }),
    select: fc.option(segment, { nil: undefined }),
    method: fc.constantFrom('GET', 'PATCH', 'DELETE', 'POST'),
  });
  return fc.asyncProperty(request, async (r) => {
    const query = new URLSearchParams();
    if (r.filter !== undefined) query.set('$filter', r.filter);
    if (r.select !== undefined) query.set('$select', r.select);
    // A URL carries UTF-8, which has no lone surrogates: those become U+FFFD on the way.
    const segment = (value: string) => encodeURIComponent(value.toWellFormed());
    const path = `/v1.0/users/${segment(r.user)}/onlineMeetings${r.meeting === undefined ? '' : `/${segment(r.meeting)}`}${query.size ? `?${query}` : ''}`;
    const before = await target.countMeetings();
    const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : '{"subject":"path fuzz"}';
    const answer = await send(target, path, r.method, body, target.crmApp);
    record(target, 'path', answer.status);
    assertWellFormed(answer, `path ${r.method} ${path.slice(0, 200)}`);
    if (answer.status >= 400) assert.equal(await target.countMeetings(), before, `path: a ${answer.status} stored something`);
  });
}

/** Sends raw bytes on a new connection; the answer as text (empty when the server closed without one). */
async function sendRaw(target: FuzzTarget, bytes: Buffer): Promise<string> {
  const { port } = new URL(target.server.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => resolve(Buffer.concat(chunks).toString('latin1'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', done);
    socket.on('close', done);
    // A request that is still incomplete waits for more: half-close so the parser sees the end.
    socket.end(bytes);
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

const TOKEN_CHARS = fc.constantFrom(...'abcXYZ019-._~!$&\'()*+,;=:@/?%#[] \t"<>\\^`{|}'.split(''));

/** Raw HTTP/1.x requests with hostile request lines, headers and framing: whatever answer comes is Graph's. */
export function rawHttpProperty(target: FuzzTarget) {
  const token = fc.string({ unit: TOKEN_CHARS, maxLength: 12 });
  const request = fc.record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'CONNECT', 'G@T', ''), token),
    target: fc.oneof(
      fc.constantFrom('/v1.0/me/onlineMeetings/createOrGet', '/v1.0/$batch', '/healthz', '*', '', 'http://x/v1.0/me/onlineMeetings', '/%', '/%zz'),
      fc.integer({ min: 1, max: 40 }).map((n) => `/v1.0/${'a'.repeat(n * 1000)}`),
      token.map((t) => `/v1.0/me/onlineMeetings/${t}`),
    ),
    version: fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 ', '', 'HTTP/1') }),
    headers: fc.array(
      fc.oneof(
        fc.constantFrom('Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Content-Length: -1', 'Content-Length: 1x', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue', 'Expect: nothing', 'Authorization: Bearer x.y.z', 'Connection: close', 'Host: x\r\nHost: y'),
        fc.tuple(token, token).map(([name, value]) => `${name}: ${value}`),
        fc.integer({ min: 1, max: 70 }).map((n) => `X-Big: ${'b'.repeat(n * 1000)}`),
      ),
      { maxLength: 6 },
    ),
    lineEnd: fc.oneof({ weight: 8, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: fc.constantFrom('\n', '\r') }),
    body: fc.oneof(fc.constant(''), fc.constant('{}'), fc.constant('5\r\nhello\r\n0\r\n\r\n'), fc.constant('zz\r\n'), hostileValue.map(toJsonText)),
  });
  return fc.asyncProperty(request, async (r) => {
    const head = [`${r.method} ${r.target} ${r.version}`.trimEnd(), 'Host: fuzz', ...r.headers].join(r.lineEnd);
    const answer = await sendRaw(target, Buffer.from(`${head}${r.lineEnd}${r.lineEnd}${r.body}`, 'latin1'));
    if (answer === '') return record(target, 'raw HTTP', 0); // closed without an answer
    // A connection may carry several answers (the body read as a further request): check each.
    let rest = answer;
    while (rest.length > 0) {
      const headEnd = rest.indexOf('\r\n\r\n');
      assert.ok(headEnd > 0, `raw HTTP: a cut-off answer: ${rest.slice(0, 300)}`);
      const headPart = rest.slice(0, headEnd);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headPart)?.[1]);
      record(target, 'raw HTTP', status);
      // 505 is the one 5xx a client can cause: an HTTP version this server does not speak.
      assert.ok(status >= 100 && (status < 500 || status === 505), `raw HTTP: ${headPart.slice(0, 300)}`);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(headPart)?.[1] ?? 0);
      // An answer to HEAD has no body, unless the parser refused the request before knowing its method.
      const hasBody = !/^HEAD /.test(head) || rest.startsWith('{', headEnd + 4);
      const body = hasBody ? rest.slice(headEnd + 4, headEnd + 4 + length) : '';
      if (status >= 400) {
        assert.match(headPart, /\r\nrequest-id: [0-9a-f-]{36}\r\n/i, `raw HTTP: no request-id: ${headPart.slice(0, 300)}`);
        if (body) assert.equal(typeof (JSON.parse(body) as Json).error?.code, 'string', `raw HTTP: not Graph's error: ${body.slice(0, 300)}`);
      }
      rest = rest.slice(headEnd + 4 + (hasBody ? length : 0));
    }
  });
}

type PropertyOf = (target: FuzzTarget) => fc.IAsyncProperty<[unknown, ...unknown[]]>;

export const PROPERTIES: Record<'createOrGet' | 'create' | 'patch' | 'batch' | 'unicode' | 'dateTime' | 'applicationOrganizer' | 'path' | 'rawHttp', PropertyOf> = {
  createOrGet: createOrGetBodyProperty,
  create: createBodyProperty,
  patch: patchBodyProperty,
  batch: batchBodyProperty,
  unicode: unicodeProperty,
  dateTime: dateTimeProperty,
  applicationOrganizer: applicationOrganizerProperty,
  path: pathProperty,
  rawHttp: rawHttpProperty,
} as Record<string, PropertyOf>;
