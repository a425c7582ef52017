// Answers from below the router in Graph's error shape: requests Node's HTTP parser rejects
// (clientError), what Node's http server would otherwise answer itself (no Host, an unknown Expect,
// CONNECT), HTTP versions other than 1.x, and bodies over the limit, which get a 413 the client can
// actually read (lingering close). One guard per server: pass `clientErrorHandler` and `httpOptions`
// to Fastify(), then call `register(app)` before any route or hook.
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES, type ServerOptions, type ServerResponse, maxHeaderSize as nodeMaxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { type GraphError, errorBody, graphErrors, sendGraphError } from './graph-errors.js';
import { DEFAULT_LINGER_BOUNDS, type LingerBounds, LingeringCloser } from './lingering-close.js';

/** What Node's parser attaches to its errors (rawPacket: the chunk being parsed, bytesParsed: where in it parsing stopped). */
export interface ParserError {
  code?: string;
  rawPacket?: unknown;
  bytesParsed?: unknown;
}

const LF = 0x0a;
/** `METHOD SP request-target` with no end yet: a request line (a header line has a ':' before any space). */
const REQUEST_LINE_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ [^ \r\n]*$/;
/** The version llhttp refused, at the point parsing stopped. */
const VERSION_AT_END = /HTTP\/(\d)\.(\d)\r?\n?$/;

function parsedPart(error: ParserError): Buffer | undefined {
  if (!Buffer.isBuffer(error.rawPacket)) return undefined;
  const at = typeof error.bytesParsed === 'number' ? Math.min(error.bytesParsed, error.rawPacket.length) : error.rawPacket.length;
  return error.rawPacket.subarray(0, at);
}

/**
 * Whether a header overflow happened inside the request line. Node counts the request target against
 * the header limit and reports HPE_HEADER_OVERFLOW for both; the line being parsed when it stopped
 * tells them apart. When that line began in an earlier chunk (a client trickling its request), the
 * chunk cannot say which line it is, and the answer is 431.
 */
export function requestLineOverflowed(error: ParserError): boolean {
  const parsed = parsedPart(error);
  if (!parsed) return false;
  const lineStart = parsed.lastIndexOf(LF) + 1;
  // Only request-line characters matter and the line is bounded by the chunk: latin1 decodes byte for byte.
  return REQUEST_LINE_START.test(parsed.toString('latin1', lineStart, Math.min(parsed.length, lineStart + 64 * 1024)));
}

/** HPE_INVALID_VERSION is also llhttp's error for a bad line end after a valid version; only a well-formed other version is a 505. */
function unsupportedVersion(error: ParserError): boolean {
  const parsed = parsedPart(error);
  if (!parsed) return false;
  const match = VERSION_AT_END.exec(parsed.toString('latin1', Math.max(0, parsed.length - 16)));
  return match !== null && !(match[1] === '1' && (match[2] === '0' || match[2] === '1'));
}

const BAD_REQUEST_MESSAGES: Record<string, string> = {
  HPE_INVALID_METHOD: 'The request line has an invalid method.',
  HPE_INVALID_URL: 'The request line has an invalid request target.',
  HPE_INVALID_VERSION: 'The request line has an invalid HTTP version.',
  HPE_INVALID_HEADER_TOKEN: 'The request has an invalid header.',
  HPE_INVALID_CONSTANT: 'The request is not valid HTTP.',
  HPE_LF_EXPECTED: 'The request has a line not ended by CRLF.',
  HPE_CR_EXPECTED: 'The request has a line not ended by CRLF.',
  HPE_INVALID_CHUNK_SIZE: 'The chunked request body is malformed.',
  HPE_STRICT: 'The chunked request body is malformed.',
  HPE_INVALID_CONTENT_LENGTH: 'The request has an invalid Content-Length header.',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'The request has conflicting Content-Length and Transfer-Encoding headers.',
  HPE_INVALID_TRANSFER_ENCODING: 'The request has conflicting Content-Length and Transfer-Encoding headers.',
  HPE_INVALID_EOF_STATE: 'The request ended before it was complete.',
};

/** The answer to a connection-level error; every code not listed is a 400. Messages never quote the request. */
export function clientErrorFor(error: ParserError, maxHeaderSize = nodeMaxHeaderSize): GraphError {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return graphErrors.requestTimeout();
    case 'HPE_HEADER_OVERFLOW':
      return requestLineOverflowed(error) ? graphErrors.uriTooLong(maxHeaderSize) : graphErrors.headersTooLarge(maxHeaderSize);
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return graphErrors.chunkExtensionsTooLarge();
    case 'HPE_INVALID_VERSION':
      if (unsupportedVersion(error)) return graphErrors.httpVersionNotSupported();
  }
  return graphErrors.badRequest(BAD_REQUEST_MESSAGES[error.code ?? ''] ?? 'The request is malformed or incorrect.');
}

/** A complete HTTP/1.1 answer carrying a Graph error, for sockets with no request to reply through. */
export function rawErrorResponse(error: GraphError, requestId: string = randomUUID(), clientRequestId: string = requestId): Buffer {
  const body = Buffer.from(JSON.stringify(errorBody(error, requestId, clientRequestId)));
  const headers = {
    date: new Date().toUTCString(),
    'request-id': requestId,
    'client-request-id': clientRequestId,
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(body.length),
    connection: 'close',
  };
  const head = `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

export interface EdgeGuard {
  /** Fastify's `clientErrorHandler` option. */
  clientErrorHandler(error: ParserError & Error, socket: Socket): void;
  /** Fastify's `http` option: Host is checked here, so that its absence is answered in Graph's shape. */
  httpOptions: ServerOptions;
  /** Server listeners and hooks; call right after Fastify(). */
  register(app: FastifyInstance): void;
}

export function createEdgeGuard(options: { bodyLimit: number; linger?: LingerBounds; maxHeaderSize?: number }): EdgeGuard {
  const closer = new LingeringCloser(options.linger ?? DEFAULT_LINGER_BOUNDS);
  const maxHeaderSize = options.maxHeaderSize ?? nodeMaxHeaderSize;
  /** Requests Node would have answered 417 itself. */
  const failedExpectations = new WeakSet<IncomingMessage>();
  let log: FastifyBaseLogger | undefined;

  function answerRaw(socket: Socket, error: GraphError) {
    socket.write(rawErrorResponse(error));
    closer.close(socket);
  }

  return {
    httpOptions: { requireHostHeader: false, maxHeaderSize },

    clientErrorHandler(error, socket) {
      // The socket was answered already; llhttp repeats its error for any later input.
      if (closer.isLingering(socket)) return;
      const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable || inFlight?.headersSent) {
        socket.destroy();
        return;
      }
      // The client ended the connection before the body it declared: a request still on its way to
      // its answer (its control check is made at the end of the loop pass) would have refused a
      // declared body over the limit without reading it, so that is the answer, whenever the end came.
      const declared = Number(inFlight?.req?.headers['content-length']);
      const graphError =
        error.code === 'HPE_INVALID_EOF_STATE' && declared > options.bodyLimit
          ? graphErrors.payloadTooLarge(options.bodyLimit)
          : clientErrorFor(error, maxHeaderSize);
      // The code only: the error also carries the raw bytes (tokens included).
      log?.debug({ code: error.code, status: graphError.status }, 'client error');
      answerRaw(socket, graphError);
    },

    register(app) {
      log = app.log;
      const server = app.server;
      // A client that half-closes once its requests are sent (HTTP/1.0 scripts, `nc`) still gets
      // every answer, then the close: Node's default ends the connection at the client's FIN,
      // dropping the answers not yet written (any request still waiting on its control check or
      // its database). Node reads this server property at each FIN.
      (server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
      // Final answer instead of 100 Continue when the declared body is already too large.
      server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
        if (!(Number(request.headers['content-length']) > options.bodyLimit)) response.writeContinue();
        server.emit('request', request, response);
      });
      server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
        failedExpectations.add(request);
        server.emit('request', request, response);
      });
      // No CONNECT tunnels here; Node would drop the connection without an answer.
      server.on('connect', (_request: IncomingMessage, socket: Socket) => answerRaw(socket, graphErrors.methodNotAllowed()));

      app.addHook('onRequest', (request, reply, done) => {
        const raw = request.raw;
        let error: GraphError | undefined;
        // llhttp accepts 0.9 (what a request line without a version reads as) and 2.0; other versions failed in the parser.
        if (raw.httpVersionMajor === 0) error = graphErrors.badRequest('The request line has no valid HTTP version.');
        else if (raw.httpVersionMajor !== 1) error = graphErrors.httpVersionNotSupported();
        else if (raw.httpVersionMinor === 1 && raw.headers.host === undefined) error = graphErrors.badRequest('An HTTP/1.1 request must have a Host header.');
        else if (failedExpectations.has(raw)) error = graphErrors.expectationFailed();
        if (!error) return done();
        // Answered here, so the chain stops: no done().
        reply.header('connection', 'close');
        sendGraphError(request, reply, error);
      });
      // Answered before the body was read (too large, or refused early): let the client finish sending.
      app.addHook('onSend', (request, _reply, payload, done) => {
        if (!request.raw.complete) closer.answeredEarly(request.raw);
        done(null, payload);
      });
      app.addHook('preClose', (done) => {
        closer.closeAll();
        done();
      });
    },
  };
}
