// Route conformance: every path and method with `onlineMeetings` in Graph's own OpenAPI files (v1.0
// and beta; the CloudCommunications workload and the Users.Actions extract) is called with real
// ids, and must be ROUTED: never the unknown-route answer ("Resource not found for the segment …"),
// never 405, never a 5xx other than 501. The operations this server implements (lookup, create,
// createOrGet, get/patch/delete by id and by the beta alternate key, reading attendance reports)
// answer as Graph does; the sub-resources outside its scope (recordings, transcripts, virtual
// appointments, writing attendance reports, …) answer
// a Graph-shaped 501 NotImplemented. Each /users/{user-id} path is also called as its /me twin with
// a delegated token (the PowerShell OpenAPI models /me as an alias of /users/{user-id}).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { BOB, CRM_APP, DIRECTORY } from './helpers/fixtures.js';
import { expectGraphError, type Json } from './helpers/graph-assert.js';
import { SPEC_DIR } from './helpers/openapi.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

type Version = 'v1.0' | 'beta';
type Kind = 'lookup' | 'create' | 'createOrGet' | 'entity' | 'alternateKey' | 'attendance' | 'notImplemented';

const FILES: Record<Version, string[]> = {
  'v1.0': ['v1.0-CloudCommunications.yml', 'v1.0-Users.Actions.onlineMeetings.trimmed.yml'],
  beta: ['beta-CloudCommunications.yml', 'beta-Users.Actions.onlineMeetings.trimmed.yml'],
};
const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const;
const OWNER_PREFIX = /^\/(communications|users\/\{user-id\})\/onlineMeetings/;
/** Values for function parameters such as getAllRecordings(meetingOrganizerUserId='@meetingOrganizerUserId',…). */
const FUNCTION_ARGUMENTS: Record<string, string> = {
  meetingOrganizerUserId: BOB.id,
  startDateTime: '2026-01-01T00:00:00Z',
  endDateTime: '2026-12-31T23:59:59Z',
};
/** Any other key ({meetingAttendanceReport-id}, {callRecording-id}, …). */
const OTHER_ID = 'd3b07384-d9a0-4c9b-8f3e-0123456789ab';

interface Operation {
  version: Version;
  method: (typeof METHODS)[number];
  /** The OpenAPI path, e.g. /users/{user-id}/onlineMeetings/{onlineMeeting-id}/recordings */
  template: string;
  kind: Kind;
}

/** What this server implements; everything else is out of scope (spec §2.1 sub-resources, §2.2). */
function classify(template: string, method: string): Kind {
  const rest = template.replace(OWNER_PREFIX, '');
  const is = (path: string, methods: string[]) => rest === path && methods.includes(method);
  if (is('', ['get'])) return 'lookup';
  if (is('', ['post'])) return 'create';
  if (is('/microsoft.graph.createOrGet', ['post'])) return 'createOrGet';
  if (is('/{onlineMeeting-id}', ['get', 'patch', 'delete'])) return 'entity';
  if (is("(joinWebUrl='{joinWebUrl}')", ['get', 'patch', 'delete'])) return 'alternateKey';
  // Attendance reports: read-only, for users' meetings (Graph documents no /communications form).
  const attendance = /^\/\{onlineMeeting-id\}\/attendanceReports(\/\{meetingAttendanceReport-id\}(\/attendanceRecords)?)?$/;
  if (template.startsWith('/users/') && attendance.test(rest) && method === 'get') return 'attendance';
  return 'notImplemented';
}

function operationsOf(version: Version): Operation[] {
  const seen = new Map<string, Operation>();
  for (const file of FILES[version]) {
    const doc = parseYaml(readFileSync(`${SPEC_DIR}/openapi/${file}`, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
    for (const [template, item] of Object.entries(doc.paths)) {
      if (!template.includes('onlineMeetings')) continue;
      for (const method of METHODS) {
        if (item[method]) seen.set(`${method} ${template}`, { version, method, template, kind: classify(template, method) });
      }
    }
  }
  return [...seen.values()];
}

let issuer: TestIssuer;
let server: RunningServer;
let appToken: string; // CRM_APP: OnlineMeetings.ReadWrite.All, global policy that covers Bob
let bobToken: string;

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  appToken = await issuer.appToken(CRM_APP);
  bobToken = await issuer.userToken(BOB);
});
after(async () => {
  await server?.close();
  await issuer?.stop();
});

interface Meeting {
  id: string;
  joinWebUrl: string;
}

/** A meeting Bob organizes, created by the application. */
async function newMeeting(): Promise<Meeting> {
  const res = await server.request(`/v1.0/users/${BOB.id}/onlineMeetings`, { method: 'POST', token: appToken, json: {} });
  const body = (await res.json()) as Json;
  assert.equal(res.status, 201, JSON.stringify(body));
  return body;
}

/** The OpenAPI path with real values: parameter aliases first, then the keys. */
function concretePath(template: string, meeting: Meeting): string {
  const argument = (name: string) => {
    const value = FUNCTION_ARGUMENTS[name];
    if (value === undefined) throw new Error(`no value for the function parameter @${name} in ${template}`);
    return value;
  };
  return template
    .replace(/'@(\w+)'/g, (_m, name: string) => `'${argument(name)}'`)
    .replace(/@(\w+)/g, (_m, name: string) => argument(name))
    .replace('{user-id}', BOB.id)
    .replace('{onlineMeeting-id}', encodeURIComponent(meeting.id))
    .replace('{joinWebUrl}', encodeURIComponent(meeting.joinWebUrl))
    .replace(/\{[\w-]+\}/g, OTHER_ID);
}

/** As the application (template as is), or as Bob on the /me twin of a /users/{user-id} path. */
type Caller = 'application' | 'delegated /me';

function bodyFor(op: Operation, caller: Caller): unknown {
  if (op.method === 'get' || op.method === 'delete') return undefined;
  const organizer = op.template.startsWith('/communications') ? { participants: { organizer: { identity: { user: { id: BOB.id } } } } } : {};
  if (op.kind === 'create') return organizer;
  if (op.kind === 'createOrGet') return { externalId: `conformance-${caller}-${randomUUID()}`, ...organizer };
  return {};
}

const EXPECTED_STATUS: Record<Exclude<Kind, 'notImplemented'>, Partial<Record<Operation['method'], number>>> = {
  lookup: { get: 400 }, // no $filter: InvalidArgument, the lookup's own answer (spec §5.3)
  create: { post: 201 },
  createOrGet: { post: 201 },
  entity: { get: 200, patch: 200, delete: 204 },
  alternateKey: { get: 200, patch: 200, delete: 204 },
  // Routed and authorized (see attendanceStatus): attendance-reports.test.ts reads them in full.
  attendance: { get: 200 },
};

/**
 * The organizer reads reports with the permissions that read the meeting; applications also need
 * OnlineMeetingArtifact.Read.All, which this app token lacks. The meeting has not ended: no report
 * yet (an empty collection; a report id names nothing).
 */
function attendanceStatus(op: Operation, caller: Caller): number {
  if (caller === 'application') return 403;
  return op.template.endsWith('/attendanceReports') ? 200 : 404;
}

interface Outcome {
  line: string;
  problems: string[];
}

/** Calls one operation and lists everything wrong with the answer. */
async function check(op: Operation, caller: Caller, shared: Meeting): Promise<Outcome> {
  // Implemented operations get a meeting of their own: one of them deletes it.
  const meeting = op.kind === 'notImplemented' ? shared : await newMeeting();
  let path = concretePath(op.template, meeting);
  if (caller === 'delegated /me') path = path.replace(`/users/${BOB.id}/`, '/me/');
  path = `/${op.version}${path}`;
  const json = bodyFor(op, caller);
  const res = await server.request(path, { method: op.method.toUpperCase(), token: caller === 'application' ? appToken : bobToken, json });
  const text = await res.text();
  let body: Json;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const code = body?.error?.code;
  const message = body?.error?.message;
  const owner = caller === 'application' ? '' : ' (as /me)';
  const answer = `${res.status}${code ? ` ${code}: ${message}` : ''}`;
  const line = `${op.method.toUpperCase().padEnd(6)} /${op.version}${op.template}${owner}  [${op.kind}] → ${answer}\n        at ${path}`;
  const problems: string[] = [];
  if (res.status === 400 && /^Resource not found for the segment/.test(message ?? '')) problems.push('not routed (unknown segment)');
  if (res.status === 405) problems.push('method not routed (405)');
  if (res.status >= 500 && res.status !== 501) problems.push('server error');
  if (op.kind === 'notImplemented') {
    if (res.status !== 501 || code !== 'NotImplemented') problems.push('expected 501 NotImplemented');
  } else {
    if (res.status === 501) problems.push('implemented operation answered 501');
    const expected = op.kind === 'attendance' ? attendanceStatus(op, caller) : EXPECTED_STATUS[op.kind][op.method];
    if (res.status !== expected) problems.push(`expected ${expected}`);
    if (op.kind === 'lookup' && code !== 'InvalidArgument') problems.push('expected the lookup’s InvalidArgument');
    if (op.kind === 'attendance' && res.status === 200 && !Array.isArray(body?.value)) problems.push('no collection in the body');
    else if (op.kind !== 'attendance' && res.status < 300 && op.method !== 'delete' && body?.id === undefined) problems.push('no meeting in the body');
  }
  if (res.status >= 400) {
    try {
      await expectGraphError(new Response(text, { status: res.status, headers: res.headers }), res.status);
    } catch (error) {
      problems.push(`not a Graph error: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return { line, problems };
}

function summary(outcomes: Outcome[]): string {
  const failed = outcomes.filter((o) => o.problems.length > 0);
  return `${failed.length} of ${outcomes.length} operations failed:\n${failed.map((o) => `  ${o.line}\n      ✗ ${o.problems.join('; ')}`).join('\n')}`;
}

// The implemented operations the OpenAPI files list (beta adds the alternate key).
const IMPLEMENTED: Record<Version, string[]> = {
  'v1.0': [
    'get /communications/onlineMeetings [lookup]',
    'post /communications/onlineMeetings [create]',
    'get /communications/onlineMeetings/{onlineMeeting-id} [entity]',
    'patch /communications/onlineMeetings/{onlineMeeting-id} [entity]',
    'delete /communications/onlineMeetings/{onlineMeeting-id} [entity]',
    'post /communications/onlineMeetings/microsoft.graph.createOrGet [createOrGet]',
    'get /users/{user-id}/onlineMeetings [lookup]',
    'post /users/{user-id}/onlineMeetings [create]',
    'get /users/{user-id}/onlineMeetings/{onlineMeeting-id} [entity]',
    'patch /users/{user-id}/onlineMeetings/{onlineMeeting-id} [entity]',
    'delete /users/{user-id}/onlineMeetings/{onlineMeeting-id} [entity]',
    'post /users/{user-id}/onlineMeetings/microsoft.graph.createOrGet [createOrGet]',
    'get /users/{user-id}/onlineMeetings/{onlineMeeting-id}/attendanceReports [attendance]',
    'get /users/{user-id}/onlineMeetings/{onlineMeeting-id}/attendanceReports/{meetingAttendanceReport-id} [attendance]',
    'get /users/{user-id}/onlineMeetings/{onlineMeeting-id}/attendanceReports/{meetingAttendanceReport-id}/attendanceRecords [attendance]',
  ],
  beta: [],
};
IMPLEMENTED.beta = [
  ...IMPLEMENTED['v1.0'],
  ...['communications', 'users/{user-id}'].flatMap((owner) =>
    ['get', 'patch', 'delete'].map((m) => `${m} /${owner}/onlineMeetings(joinWebUrl='{joinWebUrl}') [alternateKey]`),
  ),
];

for (const version of ['v1.0', 'beta'] as const) {
  describe(`${version}: every onlineMeetings operation of Graph's OpenAPI is routed`, () => {
    const operations = operationsOf(version);
    const implemented = operations.filter((op) => op.kind !== 'notImplemented');
    const outOfScope = operations.filter((op) => op.kind === 'notImplemented');
    let shared: Meeting;
    before(async () => {
      shared = await newMeeting();
    });

    test('the walk classifies the implemented operations and finds the out-of-scope ones', () => {
      assert.deepEqual(implemented.map((op) => `${op.method} ${op.template} [${op.kind}]`).sort(), [...IMPLEMENTED[version]].sort());
      const templates = outOfScope.map((op) => op.template);
      const expectedParts = ['/attendanceReports', '/attendeeReport', '/recordings', '/transcripts', '/$count'];
      expectedParts.push('getVirtualAppointmentJoinWebUrl', 'sendVirtualAppointmentSms', 'getAllRecordings', 'getAllTranscripts');
      for (const part of expectedParts) {
        assert.ok(templates.some((t) => t.includes(part)), `no out-of-scope path with ${part}`);
      }
      if (version === 'beta') {
        for (const part of ['/recording', '/registration', '/aiInsights', '/meetingAttendanceReport', "(joinWebUrl='{joinWebUrl}')/microsoft.graph."]) {
          assert.ok(templates.some((t) => t.includes(part)), `no out-of-scope beta path with ${part}`);
        }
      }
    });

    for (const caller of ['application', 'delegated /me'] as const) {
      const applicable = (ops: Operation[]) => (caller === 'application' ? ops : ops.filter((op) => op.template.startsWith('/users/')));

      test(`${caller}: implemented operations answer as Graph does, never 501`, async (t) => {
        const outcomes: Outcome[] = [];
        for (const op of applicable(implemented)) outcomes.push(await check(op, caller, shared));
        t.diagnostic(`${outcomes.length} implemented operations called`);
        assert.ok(outcomes.length > 0);
        assert.ok(outcomes.every((o) => o.problems.length === 0), summary(outcomes));
      });

      test(`${caller}: every other operation is a Graph-shaped 501 NotImplemented`, async (t) => {
        const outcomes: Outcome[] = [];
        for (const op of applicable(outOfScope)) outcomes.push(await check(op, caller, shared));
        t.diagnostic(`${outcomes.length} out-of-scope operations called`);
        assert.ok(outcomes.length > 0);
        assert.ok(outcomes.every((o) => o.problems.length === 0), summary(outcomes));
      });
    }
  });
}

test('out-of-scope paths still need a token: 401 before 501', async () => {
  for (const path of ['/v1.0/me/onlineMeetings/abc/recordings', '/beta/users/x/onlineMeetings/$count']) {
    const res = await server.request(path);
    await expectGraphError(res, 401, { code: 'InvalidAuthenticationToken' });
  }
});
