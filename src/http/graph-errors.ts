// Every error this server sends, declared once, and the one place where domain, auth and framework
// errors become Graph's wire shape: {"error":{"code","message","innerError":{date,request-id,client-request-id}}}.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationFailed, DelegatedOnlyRoute, InsufficientPrivileges, NoAccessPolicy } from '../auth/errors.js';
import {
  CorruptedMeetingId,
  CreationLimitReached,
  InvalidRequest,
  MeetingNotFound,
  NotOrganizer,
  StoreUnavailable,
  UserNotFound,
} from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The Graph error this request was answered with (metrics and traces name its code). */
    graphError?: GraphError;
  }
}

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Further innerError members some errors carry (throttling's code, message and status). */
    readonly innerError: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The catalogue: status and code of each kind of failure. */
export const graphErrors = {
  badRequest: (message: string) => new GraphError(400, 'BadRequest', message),
  invalidArgument: (message: string) => new GraphError(400, 'InvalidArgument', message),
  unauthenticated: (message: string) =>
    new GraphError(401, 'InvalidAuthenticationToken', message, {
      'www-authenticate':
        'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
    }),
  forbidden: (message: string) => new GraphError(403, 'Forbidden', message),
  notFound: (message: string) => new GraphError(404, 'NotFound', message),
  userNotFound: (message: string) => new GraphError(404, 'Request_ResourceNotFound', message),
  methodNotAllowed: () =>
    new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
  requestTimeout: () => new GraphError(408, 'RequestTimeout', 'The request was not received in time.'),
  conflict: (message: string) => new GraphError(409, 'Conflict', message),
  payloadTooLarge: (limit: number) =>
    new GraphError(413, 'RequestEntityTooLarge', `The request body exceeds the maximum allowed size of ${limit} bytes.`),
  chunkExtensionsTooLarge: () =>
    new GraphError(413, 'RequestEntityTooLarge', 'The chunk extensions of the request body exceed the allowed size.'),
  uriTooLong: (limit: number) =>
    new GraphError(414, 'RequestUriTooLong', `The request line exceeds the maximum allowed size of ${limit} bytes.`),
  unsupportedMediaType: () =>
    new GraphError(415, 'UnsupportedMediaType', "The request body must be JSON, sent with 'Content-Type: application/json'."),
  expectationFailed: () => new GraphError(417, 'ExpectationFailed', "Only the 'Expect: 100-continue' expectation is supported."),
  /** A $batch item not run because an item it depends on failed (protocol §7). */
  failedDependency: (dependencyId: string) =>
    new GraphError(424, 'FailedDependency', `Failed dependency: request ${dependencyId} failed.`),
  headersTooLarge: (limit: number) =>
    new GraphError(431, 'RequestHeaderFieldsTooLarge', `The request headers exceed the maximum allowed size of ${limit} bytes.`),
  notImplemented: (message: string) => new GraphError(501, 'NotImplemented', message),
  /** Throttling, as Graph answers it (protocol §8); the wait is rounded up to whole seconds. */
  tooManyRequests: (retryAfterSeconds: number) =>
    new GraphError(
      429,
      'TooManyRequests',
      'Please retry again later.',
      { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
      { code: '429', message: 'Please retry after', status: '429' },
    ),
  internal: () => new GraphError(500, 'InternalServerError', 'An internal server error occurred.'),
  badGateway: () => new GraphError(502, 'BadGateway', 'The server received an invalid response from an upstream server.'),
  gatewayTimeout: () => new GraphError(504, 'GatewayTimeout', 'The upstream server did not answer in time.'),
  unavailable: (retryAfterSeconds: number) =>
    new GraphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Please retry later.', {
      'retry-after': String(retryAfterSeconds),
    }),
  httpVersionNotSupported: () => new GraphError(505, 'HttpVersionNotSupported', 'Only HTTP/1.0 and HTTP/1.1 are supported.'),
};

interface FrameworkError {
  code?: string;
  statusCode?: number;
  validation?: unknown;
  message: string;
}

/** How long a client should wait before retrying while the database is unreachable. */
const STORE_RETRY_AFTER_SECONDS = 5;

/** Maps anything thrown while serving a request to the Graph error to send. */
export function toGraphError(error: unknown, bodyLimit: number): GraphError {
  if (error instanceof GraphError) return error;
  if (error instanceof AuthenticationFailed) return graphErrors.unauthenticated(error.message);
  if (error instanceof DelegatedOnlyRoute) return graphErrors.badRequest(error.message);
  if (error instanceof InsufficientPrivileges || error instanceof NoAccessPolicy || error instanceof NotOrganizer) {
    return graphErrors.forbidden(error.message);
  }
  if (error instanceof InvalidRequest || error instanceof CorruptedMeetingId) return graphErrors.badRequest(error.message);
  if (error instanceof UserNotFound) return graphErrors.userNotFound(error.message);
  if (error instanceof MeetingNotFound) return graphErrors.notFound(error.message);
  if (error instanceof StoreUnavailable) return graphErrors.unavailable(STORE_RETRY_AFTER_SECONDS);
  if (error instanceof CreationLimitReached) return graphErrors.tooManyRequests(error.retryAfterSeconds);
  const framework = error as FrameworkError;
  switch (framework.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return graphErrors.payloadTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return graphErrors.unsupportedMediaType();
  }
  if (framework.validation) return graphErrors.badRequest(framework.message);
  if (typeof framework.statusCode === 'number' && framework.statusCode >= 400 && framework.statusCode < 500) {
    return graphErrors.badRequest('The request is malformed or incorrect.');
  }
  return graphErrors.internal();
}

/** `yyyy-MM-ddTHH:mm:ss`, UTC, no fraction, as in Graph's innerError.date. */
function innerErrorDate(): string {
  return new Date().toISOString().slice(0, 19);
}

export function errorBody(error: GraphError, requestId: string, clientRequestId: string) {
  return {
    error: {
      code: error.code,
      message: error.message,
      innerError: { date: innerErrorDate(), 'request-id': requestId, 'client-request-id': clientRequestId, ...error.innerError },
    },
  };
}

export function sendGraphError(request: FastifyRequest, reply: FastifyReply, error: GraphError) {
  const clientRequestId = clientRequestIdOf(request);
  request.graphError = error;
  return reply
    .code(error.status)
    // Set here too: errors raised before routing (a malformed URL) never ran the onRequest hook.
    .header('request-id', request.id)
    .header('client-request-id', clientRequestId)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send(errorBody(error, request.id, clientRequestId));
}

const CLIENT_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The caller's client-request-id when it sent a sane one, otherwise our request-id (protocol §3). */
export function clientRequestIdOf(request: FastifyRequest): string {
  const sent = request.headers['client-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : request.id;
}
