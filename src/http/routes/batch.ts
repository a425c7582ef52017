// POST /{version}/$batch: JSON batching (protocol §7). Each item is replayed through this very app
// with inject(), so it meets exactly the routes, authorization, validation and errors a direct call
// would; the batch only adds ordering (dependsOn) and the envelope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateToken, type RequestGate } from '../authenticate.js';
import { type BatchItem, batchKey, parseBatchRequest } from '../batch-request.js';
import { clientRequestIdOf, errorBody, type GraphError, graphErrors } from '../graph-errors.js';
import { API_VERSIONS, type ApiVersion, sendOData } from '../odata.js';
import { registerResource } from '../resource.js';

export interface BatchRoutesDeps {
  gate: RequestGate;
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

type InjectResponse = Awaited<ReturnType<FastifyInstance['inject']>>;

// Sub-response headers worth passing on; the rest (request-id, date, content-length…) describe the
// internal hop, not the item.
const FORWARDED_RESPONSE_HEADERS = ['content-type', 'location', 'retry-after', 'odata-version'];
// Request headers the batch decides, never the item: its own token, and framing of the inner request.
const IGNORED_ITEM_HEADERS = new Set(['authorization', 'host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade']);
const ERROR_CONTENT_TYPE = 'application/json; charset=utf-8';
// A URL with a scheme or a network-path ('//host/…') reference is not relative to the version root.
const ABSOLUTE_URL = /^(?:[a-z][a-z\d+.-]*:)?\/\//i;
const INTERNAL_BASE = 'http://localhost';
const CLOSING_RETRY_AFTER_SECONDS = 1;

export function registerBatchRoutes(app: FastifyInstance, deps: BatchRoutesDeps) {
  for (const version of API_VERSIONS) {
    registerResource(app, `/${version}/$batch`, {
      POST: {
        onRequest: authenticateToken(deps.gate),
        handler: async (request, reply) => {
          const items = parseBatchRequest(request.body);
          const responses = await new BatchRun(app, request, version, items).run();
          return sendOData(reply, 200, { responses });
        },
      },
    });
  }
}

/** One batch's execution: items without dependsOn run concurrently, the others after theirs. */
class BatchRun {
  private readonly started = new Map<string, Promise<BatchItemResponse>>();
  private readonly byKey: Map<string, BatchItem>;

  constructor(
    private readonly app: FastifyInstance,
    private readonly request: FastifyRequest,
    private readonly version: ApiVersion,
    private readonly items: readonly BatchItem[],
  ) {
    this.byKey = new Map(items.map((item) => [batchKey(item.id), item]));
  }

  /** The responses in request order. */
  run(): Promise<BatchItemResponse[]> {
    return Promise.all(this.items.map((item) => this.responseOf(item)));
  }

  /** Starts each item once, however many items depend on it; dependencies are acyclic (checked). */
  private responseOf(item: BatchItem): Promise<BatchItemResponse> {
    const key = batchKey(item.id);
    let response = this.started.get(key);
    if (!response) {
      response = this.runAfterDependencies(item);
      this.started.set(key, response);
    }
    return response;
  }

  private async runAfterDependencies(item: BatchItem): Promise<BatchItemResponse> {
    const dependencies = await Promise.all(item.dependsOn.map((dep) => this.responseOf(this.byKey.get(batchKey(dep))!)));
    const failed = dependencies.find((response) => response.status >= 400);
    if (failed) return this.errorResponse(item.id, graphErrors.failedDependency(failed.id));
    return this.execute(item);
  }

  private async execute(item: BatchItem): Promise<BatchItemResponse> {
    const problem = missingContentType(item);
    if (problem) return this.errorResponse(item.id, problem);
    const target = internalUrl(item, this.version);
    if (typeof target !== 'string') return this.errorResponse(item.id, target);
    try {
      const response = await this.app.inject({
        method: item.method,
        url: target,
        headers: this.itemHeaders(item),
        ...(item.body === undefined ? {} : { payload: serializeBody(item) }),
        remoteAddress: this.request.ip,
      });
      return toItemResponse(item.id, response);
    } catch (error) {
      return this.errorResponse(item.id, this.injectFailure(error));
    }
  }

  /** The item's headers, then what the batch imposes: its token, its Host and client-request-id. */
  private itemHeaders(item: BatchItem): Record<string, string> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(item.headers)) {
      const lower = name.toLowerCase();
      if (!IGNORED_ITEM_HEADERS.has(lower)) headers[lower] = value;
    }
    const { authorization, host } = this.request.headers;
    if (typeof authorization === 'string') headers.authorization = authorization;
    // Routes derive public URLs (joinWebUrl, @odata.context) from the Host the client used.
    if (typeof host === 'string') headers.host = host;
    const clientRequestId = this.request.headers['client-request-id'];
    if (typeof clientRequestId === 'string' && headers['client-request-id'] === undefined) {
      headers['client-request-id'] = clientRequestId;
    }
    return headers;
  }

  /** inject() only fails when the server is shutting down, or on a bug: the item reports it, not the batch. */
  private injectFailure(error: unknown): GraphError {
    if ((error as { code?: unknown }).code === 'FST_ERR_REOPENED_CLOSE_SERVER') {
      return graphErrors.unavailable(CLOSING_RETRY_AFTER_SECONDS);
    }
    this.request.log.error({ err: error }, 'batch item failed');
    return graphErrors.internal();
  }

  private errorResponse(id: string, error: GraphError): BatchItemResponse {
    return {
      id,
      status: error.status,
      headers: { ...error.headers, 'content-type': ERROR_CONTENT_TYPE, 'cache-control': 'no-cache' },
      body: errorBody(error, this.request.id, clientRequestIdOf(this.request)),
    };
  }
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

/** protocol §7: an item with a body must say what it is. */
function missingContentType(item: BatchItem): GraphError | undefined {
  if (item.body === undefined || headerOf(item.headers, 'content-type') !== undefined) return undefined;
  return graphErrors.badRequest(`Write request id : ${item.id} does not contain Content-Type header or body.`);
}

/**
 * `/{version}/{url}`, resolved as inject() will resolve it. Refuses what would leave this version's
 * root (absolute URLs, '..' segments) and nested batches, which would multiply the work of one request.
 */
function internalUrl(item: BatchItem, version: ApiVersion): string | GraphError {
  if (ABSOLUTE_URL.test(item.url)) {
    return graphErrors.badRequest(`Request id : ${item.id} must have a URL relative to the /${version} root, not an absolute URL.`);
  }
  let resolved: URL;
  try {
    resolved = new URL(`/${version}/${item.url.replace(/^\/+/, '')}`, INTERNAL_BASE);
  } catch {
    return graphErrors.badRequest(`Request id : ${item.id} has an invalid URL.`);
  }
  const segments = resolved.pathname.split('/').filter(Boolean);
  if (resolved.origin !== INTERNAL_BASE || segments[0] !== version) {
    return graphErrors.badRequest(`Request id : ${item.id} must have a URL relative to the /${version} root.`);
  }
  const decoded = segments.map(decodeSegment);
  // The router would answer a malformed escape (%zz) with its own, non-Graph, error body.
  if (decoded.includes(undefined)) return graphErrors.badRequest(`Request id : ${item.id} has an invalid URL.`);
  if (decoded[1]?.toLowerCase() === '$batch') {
    return graphErrors.badRequest(`Request id : ${item.id} cannot be a nested $batch request.`);
  }
  return resolved.pathname + resolved.search;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** JSON media types carry the body as JSON; others as the string given (protocol §7). */
function serializeBody(item: BatchItem): string {
  const contentType = headerOf(item.headers, 'content-type') ?? '';
  if (typeof item.body === 'string' && !isJson(contentType)) return item.body;
  return JSON.stringify(item.body);
}

function isJson(contentType: string): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType.trim());
}

function toItemResponse(id: string, response: InjectResponse): BatchItemResponse {
  const headers: Record<string, string> = {};
  const hasBody = response.rawPayload.length > 0;
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = response.headers[name];
    if (value === undefined || (name === 'content-type' && !hasBody)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  headers['cache-control'] = 'no-cache';
  const item: BatchItemResponse = { id, status: response.statusCode, headers };
  if (hasBody) item.body = itemBody(response, headers['content-type'] ?? '');
  return item;
}

/** JSON bodies inline; text as a string; anything else base64, as OData JSON batches carry it. */
function itemBody(response: InjectResponse, contentType: string): unknown {
  if (isJson(contentType)) {
    try {
      return JSON.parse(response.payload);
    } catch {
      return response.payload;
    }
  }
  if (/^text\//i.test(contentType)) return response.payload;
  return response.rawPayload.toString('base64');
}
