// Records Graph API requests (/v1.0, /beta) into the request log. On the way through, only
// references are taken (arrival time, the serialized answer); the entry is built and redacted once
// the answer has gone out, so the client never waits for it. With the log off no hook is added.
import { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PERMISSIONS } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import {
  mentionsKey,
  REDACTED,
  redactJson,
  Scrubber,
  SENSITIVE_REQUEST_KEYS,
  SENSITIVE_RESPONSE_KEYS,
  truncate,
} from '../control/redaction.js';
import type { KeptTexts, LoggedRequest, RequestLog } from '../control/request-log.js';
import { verifiedTokenOf } from '../auth/token-verifier.js';
import { bearerOf } from './authenticate.js';

/** The most of each body the log keeps, in characters. */
export const MAX_LOGGED_BODY_CHARS = 32 * 1024;

const LOGGED_PATH = /^\/(?:v1\.0|beta)(?:[/?#]|$)/i;
const BATCH_PATH = /\/\$batch\/?(?:\?|$)/i;
const REQUEST_HEADERS = ['content-type', 'client-request-id', 'user-agent', 'prefer'] as const;
const RESPONSE_HEADERS = ['content-type', 'request-id', 'client-request-id', 'retry-after', 'location', 'odata-version'] as const;

/**
 * One logged request. On the request path it holds references only (no copies, no redaction); once
 * answered it keeps just what its entry needs, which `build()` makes, redacted, when the log is read.
 *
 * A capture the log pushes out unread is used again for a later request (`start`): an entry lives
 * ~1,000 requests, long enough for V8 to promote it, and with a new capture per request the old
 * generation's collector ran every ~0.7 s under read load (11 full collections in 8 s, 2 with
 * reuse), each pausing the loop for 3–4 ms. Every field is set by `start`.
 */
class Capture {
  /** Until answered: where the rest of the facts are read from. */
  live!: { request: FastifyRequest; reply: FastifyReply } | null;
  batchRequestId!: string | null;
  /** When Fastify started on the request: wall clock (ms since the epoch) and monotonic (performance.now()). */
  arrivedAt!: number;
  startedAt!: number;
  payload!: unknown;
  dropped!: boolean;
  status!: number;
  elapsedMs!: number;
  id!: string;
  method!: string;
  originalUrl!: string;
  /** The Authorization header, kept for a $batch request only (its items are linked to it by it). */
  authorization!: string | undefined;
  /** The bearer token, which no logged field may show: the verifier's cached copy when it has one. */
  bearer!: string | undefined;
  /** REQUEST_HEADERS' and RESPONSE_HEADERS' values, in those orders. */
  requestHeaders!: readonly (string | undefined)[];
  responseHeaders!: readonly (string | undefined)[];
  protocol!: string;
  host!: string;
  httpVersion!: string;
  principal!: Principal | undefined;
  body!: unknown;
  operation!: FastifyRequest['operation'];
  fault!: FastifyRequest['fault'];
  /** Set when answered: a body that is cut to size at once rather than kept whole. */
  mayBeLarge!: boolean;

  constructor(
    request: FastifyRequest,
    reply: FastifyReply,
    batchRequestId: string | null,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.start(request, reply, batchRequestId);
  }

  /** (Re)starts this capture on a request: nothing of an earlier one is left. */
  start(request: FastifyRequest, reply: FastifyReply, batchRequestId: string | null): this {
    this.live = { request, reply };
    this.batchRequestId = batchRequestId;
    this.arrivedAt = Date.now() - reply.elapsedTime;
    this.startedAt = performance.now() - reply.elapsedTime;
    this.payload = undefined;
    this.dropped = false;
    this.status = 0;
    this.elapsedMs = 0;
    this.id = this.method = this.originalUrl = this.protocol = this.host = this.httpVersion = '';
    this.authorization = this.bearer = undefined;
    this.requestHeaders = this.responseHeaders = NO_HEADERS;
    this.principal = undefined;
    this.body = undefined;
    this.operation = undefined;
    this.fault = undefined;
    this.mayBeLarge = false;
    request.requestLogCapture = this;
    return this;
  }

  /** Copies what the entry needs and lets go of the request; false when already done. */
  answered(dropped: boolean): boolean {
    if (!this.live) return false;
    const { request, reply } = this.live;
    this.live = null;
    // The request's later hooks (a held request answering after its connection was reset) must not
    // reach this capture once it may be reused.
    request.requestLogCapture = null;
    const { headers } = request;
    this.dropped = dropped;
    this.status = dropped ? 0 : reply.statusCode;
    this.elapsedMs = reply.elapsedTime;
    this.id = request.id;
    this.method = request.method;
    this.originalUrl = request.originalUrl;
    const authorization = headerValue(headers.authorization);
    if (BATCH_PATH.test(this.originalUrl)) this.authorization = authorization;
    // Every request carries its own copy of the token; a log of 1000 would keep 1000 copies alive.
    // A principal the verifier cached was verified from exactly this request's token: keep its copy.
    this.bearer = (request.principal && verifiedTokenOf(request.principal)) ?? bearerOf(authorization);
    this.requestHeaders = REQUEST_HEADERS.map((name) => headerValue(headers[name]));
    if (!dropped) this.responseHeaders = RESPONSE_HEADERS.map((name) => headerValue(reply.getHeader(name)));
    this.protocol = request.protocol;
    this.host = request.host;
    this.httpVersion = request.raw.httpVersion;
    this.principal = request.principal;
    this.body = request.body;
    this.operation = request.operation;
    this.fault = request.fault;
    if (dropped) this.payload = undefined;
    // A large body is cut to size at once rather than held whole until the log is read (memory).
    const sent = headers['content-length'];
    this.mayBeLarge =
      (sent === undefined ? headers['transfer-encoding'] !== undefined : Number(sent) > MAX_LOGGED_BODY_CHARS) ||
      ((typeof this.payload === 'string' || Buffer.isBuffer(this.payload)) && this.payload.length > MAX_LOGGED_BODY_CHARS);
    return true;
  }

  /**
   * The texts the log may keep off the heap for this entry: the answer's body (when a string), the
   * request body (as JSON text), this request's own strings, then (from HEADERS_AT) the headers.
   */
  texts(): KeptTexts {
    const body = this.body;
    return [
      typeof this.payload === 'string' ? this.payload : undefined,
      typeof body === 'string' ? body : isParsedJson(body) ? JSON.stringify(body) : undefined,
      this.id,
      this.originalUrl,
      this.host,
      this.httpVersion,
      ...this.requestHeaders,
      ...(this.responseHeaders.length > 0 ? this.responseHeaders : NO_RESPONSE_HEADERS),
    ];
  }

  /** The log holds this entry's texts now: drop the copies, to be given back to `build`. */
  release() {
    if (typeof this.payload === 'string') this.payload = KEPT_BY_LOG;
    if (typeof this.body === 'string') this.body = KEPT_BY_LOG;
    else if (isParsedJson(this.body)) this.body = KEPT_AS_JSON;
    this.id = this.originalUrl = this.host = this.httpVersion = '';
    this.requestHeaders = this.responseHeaders = NO_HEADERS;
  }

  private restore(kept: KeptTexts) {
    const [payload, body, id, originalUrl, host, httpVersion] = kept;
    if (this.payload === KEPT_BY_LOG) this.payload = payload;
    if (this.body === KEPT_BY_LOG) this.body = body;
    else if (this.body === KEPT_AS_JSON) this.body = JSON.parse(body!);
    this.id = id!;
    this.originalUrl = originalUrl!;
    this.host = host!;
    this.httpVersion = httpVersion!;
    this.requestHeaders = kept.slice(HEADERS_AT, HEADERS_AT + REQUEST_HEADERS.length);
    this.responseHeaders = kept.slice(HEADERS_AT + REQUEST_HEADERS.length);
  }

  build(kept: KeptTexts | undefined): LoggedRequest | undefined {
    try {
      if (kept) this.restore(kept);
      return buildEntry(this);
    } catch (error) {
      // The log is a testing aid: an entry it cannot build is left out.
      this.logger.error({ err: error, reqId: this.id }, 'request log: entry not recorded');
      return undefined;
    }
  }

  requestHeader(name: (typeof REQUEST_HEADERS)[number]): string | undefined {
    return this.requestHeaders[REQUEST_HEADERS.indexOf(name)];
  }

  responseHeader(name: (typeof RESPONSE_HEADERS)[number]): string | null {
    return this.responseHeaders[RESPONSE_HEADERS.indexOf(name)] ?? null;
  }
}

const NO_HEADERS: readonly (string | undefined)[] = [];
/** Where the headers begin in a capture's texts(). */
const HEADERS_AT = 6;
const NO_RESPONSE_HEADERS: readonly undefined[] = RESPONSE_HEADERS.map(() => undefined);
/** A capture's payload or body once the log holds its text (handed back to `build`). */
const KEPT_BY_LOG = Symbol('kept by the request log');
/** A capture's parsed JSON body once the log holds its JSON text. */
const KEPT_AS_JSON = Symbol('kept by the request log as JSON text');

/** A body a JSON parser made (an object or array), which its JSON text stands for exactly. */
function isParsedJson(body: unknown): body is object {
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body);
}
// Connections with requests still unanswered, for those the connection's end leaves without an answer.
const UNANSWERED = Symbol('unanswered requests');
type TrackedSocket = Socket & { [UNANSWERED]?: Set<Capture> };

declare module 'fastify' {
  interface FastifyRequest {
    requestLogCapture: Capture | null;
  }
}

// Scopes and roles arrive lower-cased (principal.ts); the table's spelling reads better.
const CANONICAL_PERMISSIONS = new Map(
  Object.values(PERMISSIONS).flatMap((accepted) => [...accepted.delegated, ...accepted.application].map((p) => [p.toLowerCase(), p])),
);

/** Captures kept for reuse at most (the log pushes out about one per request, and a request takes one). */
const MAX_SPARE_CAPTURES = 64;

export function registerRequestLogHooks(app: FastifyInstance, log: RequestLog) {
  if (!log.enabled) return;
  const batches = new InFlightBatches();
  const logger = app.log;
  app.decorateRequest('requestLogCapture', null);
  const spare: Capture[] = [];
  log.onEvicted = (entry) => {
    if (entry instanceof Capture && spare.length < MAX_SPARE_CAPTURES) spare.push(entry);
  };

  const record = (capture: Capture, dropped: boolean) => {
    if (!capture.answered(dropped)) return;
    if (BATCH_PATH.test(capture.originalUrl)) batches.end(capture.authorization, capture.id);
    if (capture.mayBeLarge) log.add(capture.build(undefined) ?? { build: () => undefined });
    else if (log.add(capture, capture.texts())) capture.release(); // the log holds them now, off the heap
  };

  app.addHook('onRequest', (request, reply, done) => {
    if (LOGGED_PATH.test(request.originalUrl)) {
      const socket = request.raw.socket as TrackedSocket;
      const injected = !(socket instanceof Socket);
      const authorization = headerValue(request.headers.authorization);
      const batchRequestId = injected ? batches.find(authorization) : null;
      const capture = spare.pop()?.start(request, reply, batchRequestId) ?? new Capture(request, reply, batchRequestId, logger);
      if (!injected) {
        if (BATCH_PATH.test(request.originalUrl)) batches.start(authorization, request.id);
        // A connection closed before the answer (a `drop` fault, a client giving up) has no onResponse.
        // One listener per connection, not per request: a keep-alive connection carries many.
        let unanswered = socket[UNANSWERED];
        if (!unanswered) {
          const pending = new Set<Capture>();
          unanswered = socket[UNANSWERED] = pending;
          socket.once('close', () => {
            for (const capture of pending) record(capture, true);
            pending.clear();
          });
        }
        unanswered.add(capture);
      }
    }
    done();
  });

  app.addHook('onSend', (request, _reply, payload, done) => {
    const capture = request.requestLogCapture;
    if (capture?.live) capture.payload = payload;
    done(null, payload);
  });

  app.addHook('onResponse', (request, _reply, done) => {
    const capture = request.requestLogCapture;
    if (capture) {
      (request.raw.socket as TrackedSocket)[UNANSWERED]?.delete(capture);
      record(capture, false);
    }
    done();
  });
}

/**
 * $batch requests in flight, by their Authorization header: the items they replay through inject()
 * carry the same header, which links each item to its batch. Nothing here outlives the request.
 */
class InFlightBatches {
  private readonly byAuthorization = new Map<string, string[]>();

  start(authorization: string | undefined, requestId: string) {
    if (authorization === undefined) return;
    const ids = this.byAuthorization.get(authorization);
    if (ids) ids.push(requestId);
    else this.byAuthorization.set(authorization, [requestId]);
  }

  end(authorization: string | undefined, requestId: string) {
    if (authorization === undefined) return;
    const ids = this.byAuthorization.get(authorization)?.filter((id) => id !== requestId);
    if (ids?.length) this.byAuthorization.set(authorization, ids);
    else this.byAuthorization.delete(authorization);
  }

  find(authorization: string | undefined): string | null {
    if (this.byAuthorization.size === 0 || authorization === undefined) return null;
    return this.byAuthorization.get(authorization)?.[0] ?? null;
  }
}

function buildEntry(capture: Capture): LoggedRequest {
  const scrubber = new Scrubber(capture.bearer);
  const url = capture.originalUrl;
  const queryStart = url.indexOf('?');
  const clientRequestId = capture.requestHeader('client-request-id');
  const responseContentType = capture.dropped ? null : capture.responseHeader('content-type');
  const retryAfter = Number.parseFloat(capture.responseHeader('retry-after') ?? '');
  return {
    arrivedAt: capture.arrivedAt,
    startedAt: capture.startedAt,
    method: capture.method,
    path: scrubber.string(queryStart < 0 ? url : url.slice(0, queryStart)),
    query: queryStart < 0 ? [] : redactQuery(url.slice(queryStart + 1), scrubber),
    status: capture.status,
    durationMs: Math.round(capture.elapsedMs * 1000) / 1000,
    requestId: capture.id,
    clientRequestId: clientRequestId === undefined ? null : scrubber.string(clientRequestId),
    ...principalFields(capture.principal),
    requestBody: requestBody(capture.body, scrubber),
    requestContentType: capture.body === undefined ? null : (capture.requestHeader('content-type') ?? null),
    responseText: capture.dropped ? null : responseText(capture.payload, responseContentType, scrubber),
    responseContentType,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
    operation: capture.operation ?? null,
    fault: capture.fault ?? null,
    batchRequestId: capture.batchRequestId,
    origin: `${capture.protocol}://${scrubber.string(capture.host)}`,
    httpVersion: `HTTP/${capture.httpVersion}`,
    requestHeaders: namedValues(REQUEST_HEADERS, capture.requestHeaders).map(([name, value]) => [name, scrubber.string(value)]),
    responseHeaders: namedValues(RESPONSE_HEADERS, capture.responseHeaders).map(([name, value]) => [name, scrubber.string(value)]),
  };
}

function principalFields(principal: Principal | undefined): Pick<LoggedRequest, 'tenant' | 'app' | 'user' | 'permissions'> {
  if (!principal) return { tenant: null, app: null, user: null, permissions: null };
  const granted = principal.kind === 'delegated' ? principal.scopes : principal.roles;
  return {
    tenant: principal.tenantId,
    app: principal.appId,
    user: principal.kind === 'delegated' ? { id: principal.userId, userPrincipalName: principal.userPrincipalName } : null,
    permissions: Array.from(granted, (p) => CANONICAL_PERMISSIONS.get(p) ?? p),
  };
}

function requestBody(body: unknown, scrubber: Scrubber): unknown {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return truncate(scrubber.jsonText(body, SENSITIVE_REQUEST_KEYS), MAX_LOGGED_BODY_CHARS);
  return redactJson(body, scrubber, SENSITIVE_REQUEST_KEYS, MAX_LOGGED_BODY_CHARS);
}

/** The answer's body as text, redacted; null when there was none. */
function responseText(payload: unknown, contentType: string | null, scrubber: Scrubber): string | null {
  let text: string;
  if (typeof payload === 'string') text = payload;
  else if (Buffer.isBuffer(payload)) {
    if (!/json|text|xml/i.test(contentType ?? '')) return `[${payload.length} bytes of ${contentType ?? 'binary data'}]`;
    text = payload.subarray(0, MAX_LOGGED_BODY_CHARS * 4).toString('utf8');
  } else if (payload === undefined || payload === null) return null;
  else return '[a streamed body, not recorded]';
  if (text === '') return null;
  if (text.length > MAX_LOGGED_BODY_CHARS) return truncate(scrubber.jsonText(text, SENSITIVE_RESPONSE_KEYS), MAX_LOGGED_BODY_CHARS);
  text = scrubber.string(text);
  if (!mentionsKey(text, SENSITIVE_RESPONSE_KEYS)) return text;
  try {
    return JSON.stringify(redactJson(JSON.parse(text), scrubber, SENSITIVE_RESPONSE_KEYS, MAX_LOGGED_BODY_CHARS));
  } catch {
    return scrubber.jsonText(text, SENSITIVE_RESPONSE_KEYS);
  }
}

function redactQuery(search: string, scrubber: Scrubber): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of new URLSearchParams(search)) {
    pairs.push([scrubber.string(name), SENSITIVE_REQUEST_KEYS.has(name.toLowerCase()) ? REDACTED : scrubber.string(value)]);
  }
  return pairs;
}

function headerValue(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** [name, value] for each header that had a value. */
function namedValues(names: readonly string[], values: readonly (string | undefined)[]): [string, string][] {
  const pairs: [string, string][] = [];
  names.forEach((name, i) => {
    const value = values[i];
    if (value !== undefined) pairs.push([name, value]);
  });
  return pairs;
}
