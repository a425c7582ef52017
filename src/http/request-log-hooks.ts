// Records Graph API requests (/v1.0, /beta) into the request log. On the way through, only
// references are taken (arrival time, the serialized answer); the entry is built and redacted once
// the answer has gone out, so the client never waits for it. With the log off no hook is added.
import { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
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
import type { LoggedRequest, RequestLog } from '../control/request-log.js';
import { bearerToken } from './authenticate.js';

/** The most of each body the log keeps, in characters. */
export const MAX_LOGGED_BODY_CHARS = 32 * 1024;

const LOGGED_PATH = /^\/(?:v1\.0|beta)(?:[/?#]|$)/i;
const BATCH_PATH = /\/\$batch\/?(?:\?|$)/i;
const REQUEST_HEADERS = ['content-type', 'client-request-id', 'user-agent', 'prefer'];
const RESPONSE_HEADERS = ['content-type', 'request-id', 'client-request-id', 'retry-after', 'location', 'odata-version'];

/** What is known of a request before its answer has gone out. */
interface Capture {
  arrivedAt: number;
  /** performance.now() when Fastify started on the request. */
  startedAt: number;
  payload: unknown;
  responseHeaders: [string, string][];
  recorded: boolean;
  batchRequestId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    requestLogCapture: Capture | null;
  }
}

// Scopes and roles arrive lower-cased (principal.ts); the table's spelling reads better.
const CANONICAL_PERMISSIONS = new Map(
  Object.values(PERMISSIONS).flatMap((accepted) => [...accepted.delegated, ...accepted.application].map((p) => [p.toLowerCase(), p])),
);

export function registerRequestLogHooks(app: FastifyInstance, log: RequestLog) {
  if (!log.enabled) return;
  const batches = new InFlightBatches();
  app.decorateRequest('requestLogCapture', null);

  app.addHook('onRequest', (request, reply, done) => {
    if (LOGGED_PATH.test(request.originalUrl)) {
      const injected = !(request.raw.socket instanceof Socket);
      const capture: Capture = {
        arrivedAt: Date.now(),
        startedAt: performance.now() - reply.elapsedTime,
        payload: undefined,
        responseHeaders: [],
        recorded: false,
        batchRequestId: injected ? batches.find(request.headers.authorization) : null,
      };
      request.requestLogCapture = capture;
      if (!injected) {
        if (BATCH_PATH.test(request.originalUrl)) batches.start(request.headers.authorization, request.id);
        // A connection closed before the answer (a `drop` fault, a client giving up) has no onResponse.
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) record(log, batches, request, reply, true);
        });
      }
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const capture = request.requestLogCapture;
    if (capture) {
      capture.payload = payload;
      capture.responseHeaders = pickHeaders(RESPONSE_HEADERS, (name) => reply.getHeader(name));
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    if (request.requestLogCapture) record(log, batches, request, reply, false);
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

function record(log: RequestLog, batches: InFlightBatches, request: FastifyRequest, reply: FastifyReply, dropped: boolean) {
  const capture = request.requestLogCapture!;
  if (capture.recorded) return;
  capture.recorded = true;
  if (BATCH_PATH.test(request.originalUrl)) batches.end(request.headers.authorization, request.id);
  // Only what the entry needs is kept (not the request, its socket or the reply); the entry is built
  // and redacted when the log is read, so the request path pays for a few references, not a redaction.
  const { headers } = request;
  const kept = {
    id: request.id,
    method: request.method,
    originalUrl: request.originalUrl,
    headers: Object.fromEntries([['authorization', headers.authorization], ...REQUEST_HEADERS.map((name) => [name, headers[name]])]),
    principal: request.principal,
    body: request.body,
    operation: request.operation,
    fault: request.fault,
    protocol: request.protocol,
    host: request.host,
    raw: { httpVersion: request.raw.httpVersion },
  } as unknown as FastifyRequest;
  const answered = { statusCode: reply.statusCode, elapsedTime: reply.elapsedTime } as FastifyReply;
  const logger = request.log;
  const build = () => {
    try {
      return buildEntry(kept, answered, capture, dropped);
    } catch (error) {
      // The log is a testing aid: an entry it cannot build is left out.
      logger.error({ err: error }, 'request log: entry not recorded');
      return undefined;
    }
  };
  // A large body is cut to size now rather than held whole until the log is read (memory).
  if (mayBeLarge(headers, capture.payload)) {
    log.add(build() ?? (() => undefined));
    capture.payload = undefined;
  } else log.add(build);
}

function mayBeLarge(headers: FastifyRequest['headers'], payload: unknown): boolean {
  const sent = headers['content-length'];
  if (sent === undefined ? headers['transfer-encoding'] !== undefined : Number(sent) > MAX_LOGGED_BODY_CHARS) return true;
  if (typeof payload === 'string') return payload.length > MAX_LOGGED_BODY_CHARS;
  return Buffer.isBuffer(payload) && payload.length > MAX_LOGGED_BODY_CHARS;
}

function buildEntry(request: FastifyRequest, reply: FastifyReply, capture: Capture, dropped: boolean): LoggedRequest {
  const scrubber = new Scrubber(bearerToken(request));
  const url = request.originalUrl;
  const queryStart = url.indexOf('?');
  const clientRequestId = headerValue(request.headers['client-request-id']);
  const responseHeaders = dropped ? [] : capture.responseHeaders;
  const responseContentType = dropped ? null : headerOf(responseHeaders, 'content-type');
  const retryAfter = Number.parseFloat(headerOf(responseHeaders, 'retry-after') ?? '');
  return {
    arrivedAt: capture.arrivedAt,
    startedAt: capture.startedAt,
    method: request.method,
    path: scrubber.string(queryStart < 0 ? url : url.slice(0, queryStart)),
    query: queryStart < 0 ? [] : redactQuery(url.slice(queryStart + 1), scrubber),
    status: dropped ? 0 : reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
    requestId: request.id,
    clientRequestId: clientRequestId === undefined ? null : scrubber.string(clientRequestId),
    ...principalFields(request.principal),
    requestBody: requestBody(request.body, scrubber),
    requestContentType: request.body === undefined ? null : (headerValue(request.headers['content-type']) ?? null),
    responseText: dropped ? null : responseText(capture.payload, responseContentType, scrubber),
    responseContentType,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
    operation: request.operation ?? null,
    fault: request.fault ?? null,
    batchRequestId: capture.batchRequestId,
    origin: `${request.protocol}://${scrubber.string(request.host)}`,
    httpVersion: `HTTP/${request.raw.httpVersion}`,
    requestHeaders: pickHeaders(REQUEST_HEADERS, (name) => request.headers[name]).map(([name, value]) => [name, scrubber.string(value)]),
    responseHeaders: responseHeaders.map(([name, value]) => [name, scrubber.string(value)]),
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

function headerOf(headers: readonly [string, string][], name: string): string | null {
  return headers.find(([key]) => key === name)?.[1] ?? null;
}

function pickHeaders(names: readonly string[], get: (name: string) => string | string[] | number | undefined): [string, string][] {
  const picked: [string, string][] = [];
  for (const name of names) {
    const value = headerValue(get(name));
    if (value !== undefined) picked.push([name, value]);
  }
  return picked;
}
