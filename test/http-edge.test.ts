// Answers from below the router, over real sockets: requests Node's HTTP parser refuses, protocol
// versions, and bodies over the limit, all in Graph's error shape; a 413 the client can read while it
// is still sending (lingering close); and a server that still answers and closes promptly afterwards.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../src/app.js';
import { clientErrorFor, rawErrorResponse, requestLineOverflowed } from '../src/http/client-errors.js';
import { graphErrors } from '../src/http/graph-errors.js';
import { LingeringCloser } from '../src/http/lingering-close.js';
import { ALICE, DIRECTORY } from './helpers/fixtures.js';
import { expectGraphError, GUID, INNER_ERROR_DATE, type GraphErrorBody } from './helpers/graph-assert.js';
import { type RunningServer, startServer, tempDir } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

const ME = '/v1.0/me/onlineMeetings/createOrGet';
const MB = 1024 * 1024;
const TEN_MB = 10 * MB;

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

const portOf = (url: string) => Number(new URL(url).port);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Everything read, for messages. */
  text: string;
  /** An error the client socket saw (EPIPE, ECONNRESET), if any. */
  error?: string;
}

/**
 * Sends bytes over a plain TCP socket (waiting for drain between parts), half-closes, and reads until
 * the server closes. Whatever the server answers is read, including while the client is still sending.
 */
function rawRequest(port: number, parts: (string | Buffer)[], options: { end?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Like an HTTP client: the server's FIN does not end the client's sending.
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let written = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The answer is complete: a client with nothing more to send closes too.
    socket.on('end', () => written && socket.end());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error('client timeout')));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      try {
        resolve({ ...parseResponse(text), text, error });
      } catch (parseError) {
        reject(new Error(`unparsable answer (${error ?? 'no socket error'}): ${JSON.stringify(text.slice(0, 300))}`, { cause: parseError }));
      }
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        if (!socket.write(part)) await new Promise((r) => socket.once('drain', r));
      }
      written = true;
      if (options.end !== false || socket.readableEnded) socket.end();
    });
  });
}

function parseResponse(text: string): Omit<RawResponse, 'text' | 'error'> {
  // A 100 Continue may come first; the final answer is the last head.
  let rest = text;
  while (rest.startsWith('HTTP/1.1 100')) rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
  const headEnd = rest.indexOf('\r\n\r\n');
  assert.ok(headEnd > 0, 'no complete response head');
  const [statusLine, ...lines] = rest.slice(0, headEnd).split('\r\n');
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine!);
  assert.ok(match, `bad status line ${statusLine}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyBytes = Buffer.from(rest.slice(headEnd + 4), 'latin1');
  const length = Number(headers['content-length']);
  assert.ok(Number.isInteger(length), 'content-length must be set');
  return { status: Number(match[1]), headers, body: bodyBytes.subarray(0, length).toString('utf8') };
}

/** Status, Graph body, ids, JSON media type, exact content-length, connection: close. */
function expectRawGraphError(res: RawResponse, status: number, code?: string): GraphErrorBody {
  assert.equal(res.status, status, res.text.slice(0, 400));
  assert.match(res.headers['content-type'] ?? '', /^application\/json; charset=utf-8$/);
  assert.equal(res.headers.connection?.toLowerCase(), 'close');
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
  const body = JSON.parse(res.body) as GraphErrorBody;
  if (code) assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  const requestId = res.headers['request-id'];
  assert.match(requestId ?? '', GUID);
  assert.equal(body.error.innerError['request-id'], requestId);
  assert.equal(res.headers['client-request-id'], requestId);
  assert.equal(body.error.innerError['client-request-id'], requestId);
  assert.match(body.error.innerError.date, INNER_ERROR_DATE);
  return body;
}

describe('requests the HTTP parser refuses get Graph errors', () => {
  test('a 100 KB path → 414', async () => {
    const res = await rawRequest(portOf(server.url), [`GET /v1.0/${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`]);
    expectRawGraphError(res, 414, 'RequestUriTooLong');
    assert.equal(res.error, undefined);
  });

  test('64 KB of headers → 431', async () => {
    const headers = Array.from({ length: 64 }, (_, i) => `X-Filler-${i}: ${'h'.repeat(1000)}\r\n`).join('');
    const res = await rawRequest(portOf(server.url), [`GET /healthz HTTP/1.1\r\nHost: x\r\n${headers}\r\n`]);
    expectRawGraphError(res, 431, 'RequestHeaderFieldsTooLarge');
    assert.equal(res.error, undefined);
  });

  test('a 64 KB bearer token → 431, without echoing the token', async () => {
    const token = `eyJ${'t'.repeat(64 * 1024)}`;
    const res = await rawRequest(portOf(server.url), [`POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 2\r\n\r\n{}`]);
    expectRawGraphError(res, 431, 'RequestHeaderFieldsTooLarge');
    assert.doesNotMatch(res.text, /tttt/);
    // And through fetch: the client reads the 431 rather than a reset.
    const fetched = await server.request(ME, { method: 'POST', token, json: {} });
    const { error } = await expectGraphError(fetched, 431, { code: 'RequestHeaderFieldsTooLarge' });
    assert.doesNotMatch(error.message, /tttt/);
  });

  test('malformed request lines and headers → 400', async () => {
    const cases = [
      'G@T / HTTP/1.1\r\nHost: x\r\n\r\n', // invalid method
      'GET /healthz\r\nHost: x\r\n\r\n', // no version (llhttp reads it as HTTP/0.9)
      'GET / XTTP/1.1\r\nHost: x\r\n\r\n', // not HTTP
      'GET / HTTP/1.1\nHost: x\n\n', // bare LF after the version
      'GET / HTTP/1.1\r\nBad Header: 1\r\n\r\n', // invalid header token
      'GET /healthz HTTP/1.1\r\n\r\n', // HTTP/1.1 without Host
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', // invalid chunk size
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', // invalid Content-Length
    ];
    for (const request of cases) {
      const res = await rawRequest(portOf(server.url), [request]);
      expectRawGraphError(res, 400, 'BadRequest');
    }
  });

  test('conflicting or duplicate Content-Length / Transfer-Encoding → 400', async () => {
    for (const request of [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    ]) {
      const res = await rawRequest(portOf(server.url), [request]);
      const { error } = expectRawGraphError(res, 400, 'BadRequest');
      assert.match(error.message, /Content-Length/);
    }
  });

  test('HTTP versions other than 1.x → 505', async () => {
    // llhttp accepts 2.0 (then the request hook refuses it) and reports HPE_INVALID_VERSION for others.
    for (const version of ['HTTP/2.0', 'HTTP/3.1', 'HTTP/1.2', 'HTTP/9.9']) {
      const res = await rawRequest(portOf(server.url), [`GET /healthz ${version}\r\nHost: x\r\n\r\n`]);
      expectRawGraphError(res, 505, 'HttpVersionNotSupported');
    }
    // HTTP/1.0 is fine.
    const ok = await rawRequest(portOf(server.url), ['GET /healthz HTTP/1.0\r\n\r\n']);
    assert.equal(ok.status, 200);
  });

  test('what Node would answer itself: an unknown Expect → 417, CONNECT → 405', async () => {
    expectRawGraphError(await rawRequest(portOf(server.url), ['GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n']), 417, 'ExpectationFailed');
    expectRawGraphError(await rawRequest(portOf(server.url), ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n']), 405);
  });

  test('headers not received in time → 408', async () => {
    // The server's own timeouts, shortened on its http.Server before it listens (Config has no knob for them).
    const dir = tempDir();
    const app = await buildApp({ db: `sqlite:${join(dir, 'meetings.db')}`, port: 0, logLevel: 'silent' });
    try {
      Object.assign(app.server, { headersTimeout: 300, connectionsCheckingInterval: 50 });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = app.server.address() as AddressInfo;
      const started = Date.now();
      const res = await rawRequest(port, ['GET /healthz HTTP/1.1\r\nHost: x\r\n'], { end: false });
      expectRawGraphError(res, 408, 'RequestTimeout');
      assert.ok(Date.now() - started < 5_000);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the mapping from Node error codes', () => {
    const status = (error: Parameters<typeof clientErrorFor>[0]) => clientErrorFor(error, 16_384).status;
    assert.equal(status({ code: 'ERR_HTTP_REQUEST_TIMEOUT' }), 408);
    assert.equal(status({ code: 'HPE_CHUNK_EXTENSIONS_OVERFLOW' }), 413);
    for (const code of ['HPE_INVALID_METHOD', 'HPE_INVALID_HEADER_TOKEN', 'HPE_INVALID_CONSTANT', 'HPE_LF_EXPECTED', 'HPE_INVALID_CHUNK_SIZE', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_TRANSFER_ENCODING', 'HPE_SOMETHING_NEW', undefined]) {
      assert.equal(status({ code }), 400, String(code));
    }
    const overflow = (raw: string, bytesParsed = raw.length) => ({ code: 'HPE_HEADER_OVERFLOW', rawPacket: Buffer.from(raw), bytesParsed });
    assert.equal(status(overflow(`GET /${'a'.repeat(20_000)}`)), 414);
    // A pipelined request whose line overflows after an earlier one in the same chunk.
    assert.equal(status(overflow(`{}GET /ok HTTP/1.1\r\n\r\nPOST /${'a'.repeat(20_000)}`)), 414);
    assert.equal(status(overflow(`GET / HTTP/1.1\r\nAuthorization: Bearer ${'t'.repeat(20_000)}`)), 431);
    // The line ends after where parsing stopped: still the request line.
    assert.equal(status(overflow(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\n`, 20_005)), 414);
    // A chunk from the middle of a line: which line is unknown, so 431.
    assert.equal(status(overflow('a'.repeat(1024))), 431);
    assert.equal(status({ code: 'HPE_HEADER_OVERFLOW' }), 431);
    assert.equal(requestLineOverflowed({ rawPacket: 'not a buffer' }), false);
    const version = (raw: string) => status({ code: 'HPE_INVALID_VERSION', rawPacket: Buffer.from(`${raw}\r\nHost: x\r\n\r\n`), bytesParsed: raw.length });
    assert.equal(version('GET / HTTP/3.1'), 505);
    assert.equal(version('GET / HTTP/1.2'), 505);
    assert.equal(version('GET / HTTP/1.1\n'), 400);
    assert.equal(version('GET / HTTP/x.1'), 400);
  });

  test('raw answers: exact bytes, Graph body, no request content', () => {
    const raw = rawErrorResponse(graphErrors.headersTooLarge(16_384), 'id-1', 'id-2').toString('utf8');
    const res = parseResponse(raw);
    assert.equal(res.status, 431);
    assert.equal(res.headers['request-id'], 'id-1');
    assert.equal(res.headers['client-request-id'], 'id-2');
    assert.equal(res.headers.connection, 'close');
    assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
    assert.deepEqual(Object.keys((JSON.parse(res.body) as GraphErrorBody).error), ['code', 'message', 'innerError']);
  });
});

describe('a body over the limit: the client reads the 413', () => {
  const tooLarge = Buffer.alloc(TEN_MB, 0x20);

  /** 10 MB in 64 KB chunks, pausing now and then: the client is still sending when the 413 comes. */
  function slowBody() {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= TEN_MB) return controller.close();
        sent += chunk.length;
        if (sent % (16 * chunk.length) === 0) await pause(5);
        controller.enqueue(chunk);
      },
    });
  }

  test('fetch with Content-Length', { timeout: 30_000 }, async () => {
    const res = await server.request(ME, { method: 'POST', token: alice, body: tooLarge, headers: { 'content-type': 'application/json' } });
    await expectGraphError(res, 413, { code: 'RequestEntityTooLarge' });
    assert.equal(res.headers.get('connection'), 'close');
    // Declared up front and sent slowly: refused before any of it is read.
    const declared = await server.request(ME, {
      method: 'POST',
      token: alice,
      body: slowBody(),
      headers: { 'content-type': 'application/json', 'content-length': String(TEN_MB) },
      duplex: 'half',
    } as RequestInit);
    await expectGraphError(declared, 413, { code: 'RequestEntityTooLarge' });
  });

  test('fetch streaming a chunked body (duplex: half), still sending when the 413 comes', { timeout: 30_000 }, async () => {
    const body = slowBody();
    const res = await server.request(ME, { method: 'POST', token: alice, body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    await expectGraphError(res, 413, { code: 'RequestEntityTooLarge' });
  });

  test('curl --data-binary, with and without Expect: 100-continue', { timeout: 60_000, skip: spawnSync('curl', ['--version']).status !== 0 && 'curl is not installed' }, async () => {
    const file = join(server.dir, 'ten-mb.json');
    writeFileSync(file, tooLarge);
    const bodyFile = join(server.dir, 'curl-body.json');
    for (const extra of [[], ['-H', 'Expect:']]) {
      // Rate-limited, so that curl is still uploading when the answer comes.
      const args = ['-s', '--limit-rate', '40M', '-o', bodyFile, '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${alice}`, '--data-binary', `@${file}`, ...extra, `${server.url}${ME}`];
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile('curl', args, { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
        child.stdin?.end();
      });
      assert.equal(code, 0, `curl ${extra.join(' ')} failed: ${stderr}`);
      assert.equal(stdout, '413');
      const body = JSON.parse(readFileSync(bodyFile, 'utf8')) as GraphErrorBody;
      assert.equal(body.error.code, 'RequestEntityTooLarge');
      assert.match(body.error.innerError['request-id'], GUID);
    }
  });

  test('http.request writing 10 MB chunked, slowly', { timeout: 30_000 }, async () => {
    const { status, headers, text, errors } = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string; errors: string[] }>((resolve, reject) => {
      const errors: string[] = [];
      const request = http.request(`${server.url}${ME}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` }, agent: false });
      request.on('error', (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, text: Buffer.concat(chunks).toString('utf8'), errors }));
      });
      // A slow sender: still writing long after the server answered.
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let written = 0;
      const writeMore = () => {
        if (written >= TEN_MB) return void request.end();
        written += chunk.length;
        if (written % (16 * chunk.length) === 0) return void setTimeout(() => request.write(chunk, writeMore), 5);
        request.write(chunk, writeMore);
      };
      writeMore();
    });
    assert.equal(status, 413);
    assert.equal(headers['transfer-encoding'], undefined);
    assert.equal(headers.connection, 'close');
    const body = JSON.parse(text) as GraphErrorBody;
    assert.equal(body.error.code, 'RequestEntityTooLarge');
    assert.equal(body.error.innerError['request-id'], headers['request-id']);
    assert.deepEqual(errors, []);
  });

  test('a raw Content-Length of 10 MB, sent in full', { timeout: 30_000 }, async () => {
    const head = `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`;
    const res = await rawRequest(portOf(server.url), [head, tooLarge]);
    assert.equal(res.error, undefined);
    expectRawGraphError(res, 413, 'RequestEntityTooLarge');
  });

  test('a raw chunked body of 10 MB, sent in full', { timeout: 30_000 }, async () => {
    const head = `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = Buffer.concat([Buffer.from(`${(MB).toString(16)}\r\n`), Buffer.alloc(MB, 0x20), Buffer.from('\r\n')]);
    const res = await rawRequest(portOf(server.url), [head, ...Array.from({ length: 10 }, () => chunk), '0\r\n\r\n']);
    assert.equal(res.error, undefined);
    expectRawGraphError(res, 413, 'RequestEntityTooLarge');
  });

  test('Expect: 100-continue with a Content-Length over the limit → 413 at once, no 100 Continue', async () => {
    const head = `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB}\r\nExpect: 100-continue\r\n\r\n`;
    const res = await rawRequest(portOf(server.url), [head]);
    assert.doesNotMatch(res.text, /^HTTP\/1\.1 100/);
    expectRawGraphError(res, 413, 'RequestEntityTooLarge');
  });

  test('afterwards the server answers normally', async () => {
    assert.equal((await server.request('/healthz')).status, 200);
    const created = await server.request(ME, { method: 'POST', token: alice, json: { externalId: `edge-${randomUUID()}` } });
    assert.equal(created.status, 201);
  });
});

describe('a client that closes its side after its requests', () => {
  test('gets every answer, in order, then the close', async () => {
    const body = JSON.stringify({ externalId: `half-closed-${randomUUID()}` });
    const res = await rawRequest(portOf(server.url), [
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
        `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}` +
        `GET /v1.0/me/onlineMeetings/no-such-meeting HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\n\r\n`,
    ]);
    assert.equal(res.error, undefined);
    const statuses = [...res.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    assert.deepEqual(statuses, [200, 201, 404], res.text.slice(0, 300));
  });

  test('a declared body over the limit, never sent, with a token not seen before: 413', async () => {
    const fresh = await issuer.userToken(ALICE);
    const head = `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${fresh}\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`;
    expectRawGraphError(await rawRequest(portOf(server.url), [head]), 413, 'RequestEntityTooLarge');
  });

  test('a body cut short by the close: 400', async () => {
    const head = `POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"externalId":`;
    const { error } = expectRawGraphError(await rawRequest(portOf(server.url), [head]), 400, 'BadRequest');
    assert.match(error.message, /ended before it was complete/);
  });
});

describe('lingering close is bounded', () => {
  test('close() destroys lingering sockets and finishes promptly', { timeout: 30_000 }, async () => {
    const own = await startServer({ issuer, directory: DIRECTORY });
    let closed = false;
    try {
      // A client that declares 10 MB, sends 2 MB and stalls: the server answers 413 and lingers.
      const socket = net.connect(portOf(own.url), '127.0.0.1');
      socket.on('error', () => {});
      const answered = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('"innerError"')) resolve(text);
        });
      });
      const disconnected = new Promise((resolve) => socket.on('close', resolve));
      socket.write(`POST ${ME} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\nContent-Length: ${TEN_MB}\r\n\r\n`);
      socket.write(Buffer.alloc(2 * MB, 0x20));
      assert.match(await answered, /^HTTP\/1\.1 413 /);
      const started = Date.now();
      await own.close();
      closed = true;
      await disconnected;
      // Well under the 5 s idle bound.
      assert.ok(Date.now() - started < 2_000, `close took ${Date.now() - started} ms`);
    } finally {
      if (!closed) await own.close();
    }
  });

  /** A plain TCP server whose socket lingers at once, with small bounds; resolves when the server side is closed. */
  async function lingerWith(bounds: { idleMs: number; totalMs: number; maxBytes: number }, client: (socket: net.Socket) => void) {
    const closer = new LingeringCloser(bounds);
    let serverClosed!: Promise<void>;
    const accepted = new Promise<void>((resolve) => {
      const tcp = net.createServer({ allowHalfOpen: true }, (socket) => {
        serverClosed = new Promise((done) => socket.on('close', () => done()));
        socket.write('bye\n');
        closer.close(socket);
        resolve();
      });
      tcp.listen(0, '127.0.0.1', () => {
        const socket = net.connect({ port: (tcp.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
        socket.on('error', () => {});
        socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
        client(socket);
        sockets.push(socket);
        servers.push(tcp);
      });
    });
    const sockets: net.Socket[] = [];
    const servers: net.Server[] = [];
    let text = '';
    const started = Date.now();
    try {
      await accepted;
      await serverClosed;
      return { ms: Date.now() - started, text, lingering: closer.size };
    } finally {
      for (const socket of sockets) socket.destroy();
      closer.closeAll();
      await Promise.all(servers.map((tcp) => new Promise((resolve) => tcp.close(resolve))));
    }
  }

  test('a silent client is dropped after the idle bound', async () => {
    const result = await lingerWith({ idleMs: 200, totalMs: 10_000, maxBytes: MB }, () => {});
    assert.equal(result.text, 'bye\n');
    assert.ok(result.ms >= 150 && result.ms < 2_000, `${result.ms} ms`);
    assert.equal(result.lingering, 0);
  });

  test('a client that keeps sending is dropped after the total bound', async () => {
    const result = await lingerWith({ idleMs: 200, totalMs: 600, maxBytes: 100 * MB }, (socket) => {
      const timer = setInterval(() => socket.write('x'.repeat(100)), 50);
      socket.on('close', () => clearInterval(timer));
    });
    assert.ok(result.ms >= 500 && result.ms < 3_000, `${result.ms} ms`);
  });

  test('a client that sends more than the byte bound is dropped early', async () => {
    const result = await lingerWith({ idleMs: 5_000, totalMs: 10_000, maxBytes: 64 * 1024 }, (socket) => {
      const chunk = Buffer.alloc(64 * 1024);
      const timer = setInterval(() => socket.write(chunk), 10);
      socket.on('close', () => clearInterval(timer));
    });
    assert.ok(result.ms < 3_000, `${result.ms} ms`);
  });

  test('a client that finishes is closed at once', async () => {
    const result = await lingerWith({ idleMs: 5_000, totalMs: 10_000, maxBytes: MB }, (socket) => {
      socket.end('the rest of the body');
    });
    assert.equal(result.text, 'bye\n');
    assert.ok(result.ms < 1_000, `${result.ms} ms`);
  });
});
