// Tracing through the real CLI: a W3C traceparent names the log lines of its request (an invalid
// one is ignored); with OTEL_EXPORTER_OTLP_ENDPOINT set, spans reach an OTLP/HTTP collector started
// here (a server span parented by the incoming traceparent, child spans for store calls); without
// it, none of OpenTelemetry (nor prom-client, without metrics) is loaded.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { parseTraceparent } from '../src/observability/tracing.js';
import { type CliServer, killAllChildren, startCliServer } from './helpers/cli.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { tempDir, writeDirectory } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
const SPAN_KIND_INTERNAL = 1;
const SPAN_KIND_SERVER = 2;
const STATUS_ERROR = 2;

let issuer: TestIssuer;
let dir: string;
let serveArgs: string[];

before(async () => {
  issuer = await TestIssuer.start();
  dir = tempDir();
  serveArgs = ['--port', '0', '--auth', 'oidc', '--issuer', issuer.url, '--directory', writeDirectory(dir, DIRECTORY), '--log-level', 'info'];
});
after(async () => {
  await killAllChildren();
  await issuer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparent = (traceId: string, parentId: string, flags = '01') => `00-${traceId}-${parentId}-${flags}`;

/** Polls until `find` returns something (the child writes its logs and exports spans asynchronously). */
async function eventually<T>(what: string, find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** The access-log line ("request completed") of the request answered with this request-id. */
function logLineOf(server: CliServer, requestId: string): Promise<Record<string, unknown>> {
  return eventually(`the log line of request ${requestId}`, () =>
    server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.reqId === requestId && line.msg === 'request completed'),
  );
}

async function createOrGet(server: CliServer, headers: Record<string, string> = {}) {
  const response = await server.request(CREATE_OR_GET, { token: await issuer.userToken(ALICE), json: { externalId: randomUUID() }, headers });
  assert.equal(response.status, 201, await response.text());
  return response.headers.get('request-id')!;
}

test('traceparent: what is valid and what is ignored', () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const parentId = '00f067aa0ba902b7';
  assert.deepEqual(parseTraceparent(`00-${traceId}-${parentId}-01`), { traceId, parentId });
  assert.deepEqual(parseTraceparent(`00-${traceId}-${parentId}-00`), { traceId, parentId }, 'not sampled is still a trace');
  assert.deepEqual(parseTraceparent(`cc-${traceId}-${parentId}-01-more`), { traceId, parentId }, 'a later version may add fields');
  for (const invalid of [
    undefined,
    '',
    `00-${traceId.toUpperCase()}-${parentId}-01`,
    `00-${'0'.repeat(32)}-${parentId}-01`,
    `00-${traceId}-${'0'.repeat(16)}-01`,
    `ff-${traceId}-${parentId}-01`,
    `00-${traceId}-${parentId}-01-more`,
    `00-${traceId.slice(1)}-${parentId}-01`,
    `00-${traceId}-${parentId}`,
  ]) {
    assert.equal(parseTraceparent(invalid), undefined, String(invalid));
  }
  assert.equal(parseTraceparent([`00-${traceId}-${parentId}-01`, `00-${traceId}-${parentId}-01`]), undefined, 'sent twice');
});

describe('without OpenTelemetry', () => {
  let server: CliServer;
  before(async () => {
    server = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/logs.db`]);
  });
  after(async () => {
    await server?.stop();
  });

  test("a valid traceparent puts its trace id, and this server's span id, in the request's log line", async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const requestId = await createOrGet(server, { traceparent: traceparent(traceId, parentId) });
    const line = await logLineOf(server, requestId);
    assert.equal(line.trace_id, traceId);
    assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
    assert.notEqual(line.span_id, parentId);
    assert.equal(line.statusCode, 201);
  });

  test('an invalid traceparent is ignored, and the request is served', async () => {
    const requestIds = [
      await createOrGet(server, { traceparent: traceparent(hex(16).toUpperCase(), hex(8)) }),
      await createOrGet(server, { traceparent: traceparent('0'.repeat(32), hex(8)) }),
      await createOrGet(server, { traceparent: 'not a traceparent' }),
      await createOrGet(server),
    ];
    for (const requestId of requestIds) {
      const line = await logLineOf(server, requestId);
      assert.equal(line.trace_id, undefined, JSON.stringify(line));
      assert.equal(line.span_id, undefined);
    }
  });
});

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/** A minimal OTLP/HTTP collector: keeps every span POSTed to /v1/traces (JSON, gzip or not). */
class Collector {
  readonly spans: OtlpSpan[] = [];
  readonly resources: Record<string, unknown>[] = [];
  readonly contentTypes = new Set<string>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Collector> {
    const server = createServer();
    const collector = new Collector(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (request.method === 'POST' && request.url === '/v1/traces') {
          collector.contentTypes.add(String(request.headers['content-type']));
          collector.receive(JSON.parse(body.toString('utf8')));
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else response.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return collector;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private receive(payload: { resourceSpans?: { resource?: { attributes?: OtlpSpan['attributes'] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] }) {
    for (const resourceSpans of payload.resourceSpans ?? []) {
      this.resources.push(attributesOf(resourceSpans.resource?.attributes));
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) this.spans.push(...(scopeSpans.spans ?? []));
    }
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function attributesOf(attributes: OtlpSpan['attributes'] = []): Record<string, unknown> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
}

describe('with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  let collector: Collector;
  let server: CliServer;
  before(async () => {
    collector = await Collector.start();
    server = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/otlp.db`], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: 'graph-meetings-under-test' },
    });
  });
  after(async () => {
    await server?.stop();
    await collector?.stop();
  });

  test('a server span parented by the incoming traceparent, with child spans for the store calls', async () => {
    const traceId = hex(16);
    const parentId = hex(8);
    const requestId = await createOrGet(server, { traceparent: traceparent(traceId, parentId) });

    const serverSpan = await eventually('the server span', () => collector.spans.find((s) => s.traceId === traceId && s.kind === SPAN_KIND_SERVER));
    assert.equal(serverSpan.parentSpanId, parentId);
    assert.equal(serverSpan.name, `POST ${CREATE_OR_GET}`);
    const attributes = attributesOf(serverSpan.attributes);
    assert.equal(attributes['http.request.method'], 'POST');
    assert.equal(attributes['http.route'], CREATE_OR_GET);
    assert.equal(attributes['url.path'], CREATE_OR_GET);
    assert.equal(Number(attributes['http.response.status_code']), 201);
    assert.notEqual(serverSpan.status?.code, STATUS_ERROR);

    // Children end before their parent, so they are exported with it or earlier.
    const children = collector.spans.filter((s) => s.traceId === traceId && s.parentSpanId === serverSpan.spanId);
    const storeSpans = children.filter((s) => s.name.startsWith('store.'));
    assert.ok(storeSpans.some((s) => s.name === 'store.insertOrGetMeeting'), JSON.stringify(children.map((s) => s.name)));
    for (const span of storeSpans) {
      assert.equal(span.kind, SPAN_KIND_INTERNAL);
      assert.equal(attributesOf(span.attributes)['db.system.name'], 'sqlite');
    }
    assert.ok(!storeSpans.some((s) => s.name === 'store.control.controlVersion'), 'the per-request version check is not traced');

    assert.equal(collector.resources.at(-1)?.['service.name'], 'graph-meetings-under-test');
    assert.deepEqual([...collector.contentTypes], ['application/json']);
    const line = await logLineOf(server, requestId);
    assert.equal(line.trace_id, traceId);
    assert.equal(line.span_id, serverSpan.spanId);
  });

  test('without a traceparent the request starts a trace; an unsampled one exports nothing', async () => {
    const unsampled = hex(16);
    await createOrGet(server, { traceparent: traceparent(unsampled, hex(8), '00') });
    const requestId = await createOrGet(server);
    const line = await logLineOf(server, requestId);
    const serverSpan = await eventually('the server span', () =>
      collector.spans.find((s) => s.kind === SPAN_KIND_SERVER && s.traceId === line.trace_id),
    );
    assert.equal(serverSpan.spanId, line.span_id);
    assert.ok(!serverSpan.parentSpanId, 'a root span');
    // Spans are exported in the order they ended: the unsampled request's would have come first.
    assert.ok(!collector.spans.some((s) => s.traceId === unsampled));
  });

  test("a $batch item's span is a child of the batch's", async () => {
    const traceId = hex(16);
    const response = await server.request('/v1.0/$batch', {
      token: await issuer.userToken(ALICE),
      headers: { traceparent: traceparent(traceId, hex(8)) },
      json: {
        requests: [
          { id: '1', method: 'POST', url: '/me/onlineMeetings/createOrGet', headers: { 'content-type': 'application/json' }, body: { externalId: randomUUID() } },
        ],
      },
    });
    const body = (await response.json()) as { responses: { status: number }[] };
    assert.equal(body.responses[0]?.status, 201, JSON.stringify(body));
    const item = await eventually('the item span', () => collector.spans.find((s) => s.traceId === traceId && s.name === `POST ${CREATE_OR_GET}`));
    // The batch ends after its items: its span may come in a later export.
    const batch = await eventually('the batch span', () => collector.spans.find((s) => s.traceId === traceId && s.name === 'POST /v1.0/$batch'));
    assert.equal(item.parentSpanId, batch.spanId);
    assert.equal(item.kind, SPAN_KIND_SERVER);
    assert.ok(collector.spans.some((s) => s.parentSpanId === item.spanId && s.name === 'store.insertOrGetMeeting'));
  });

  test('a Graph error marks the span; an unknown path still gets one', async () => {
    const traceId = hex(16);
    const response = await server.request('/v1.0/noSuchThing', { headers: { traceparent: traceparent(traceId, hex(8)) } });
    assert.equal(response.status, 400);
    const span = await eventually('the server span', () => collector.spans.find((s) => s.traceId === traceId));
    assert.equal(span.name, 'GET');
    assert.equal(attributesOf(span.attributes)['error.type'], 'BadRequest');
    assert.equal(Number(attributesOf(span.attributes)['http.response.status_code']), 400);
  });
});

describe('loaded only when asked for', () => {
  const loaded = (stderr: string, pkg: string) => stderr.includes(`node_modules/${pkg}/`);

  test('without an OTLP endpoint and without metrics, neither OpenTelemetry nor prom-client is loaded', async () => {
    const server = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/lean.db`, '--log-level', 'warn'], { env: { NODE_DEBUG: 'module' } });
    try {
      await createOrGet(server, { traceparent: traceparent(hex(16), hex(8)) });
      // The check sees modules: fastify is there.
      assert.ok(loaded(server.stderr(), 'fastify'));
      assert.ok(!loaded(server.stderr(), '@opentelemetry/api'));
      assert.ok(!loaded(server.stderr(), 'prom-client'));
    } finally {
      await server.stop();
    }
  });

  test('with both, both are', async () => {
    const collector = await Collector.start();
    const server = await startCliServer([...serveArgs, '--db', `sqlite:${dir}/full.db`, '--log-level', 'warn', '--metrics'], {
      env: { NODE_DEBUG: 'module', OTEL_EXPORTER_OTLP_ENDPOINT: collector.url },
    });
    try {
      assert.ok(loaded(server.stderr(), '@opentelemetry/sdk-trace'));
      assert.ok(loaded(server.stderr(), '@opentelemetry/exporter-trace-otlp-http'));
      assert.ok(loaded(server.stderr(), 'prom-client'));
    } finally {
      await server.stop();
      await collector.stop();
    }
  });
});
