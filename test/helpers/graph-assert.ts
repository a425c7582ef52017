// Assertions on Graph's wire conventions (graph-protocol.md §3, §5), shared by the HTTP tests.
import assert from 'node:assert/strict';

export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** innerError.date: UTC, `yyyy-MM-ddTHH:mm:ss`, no zone, no fraction. */
export const INNER_ERROR_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/;
/** Graph's DateTimeOffset output: UTC with exactly 7 fractional digits. */
export const GRAPH_DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;

// JSON bodies are checked field by field; `any` keeps those checks readable.
export type Json = any;

export interface GraphErrorBody {
  error: {
    code: string;
    message: string;
    innerError: { date: string; 'request-id': string; 'client-request-id': string };
  };
}

/** request-id is a GUID; client-request-id is the one sent, or request-id when none was sent. */
export function assertRequestIds(res: Response, sentClientRequestId?: string): string {
  const requestId = res.headers.get('request-id');
  assert.match(requestId ?? '', GUID, 'request-id header must be a GUID');
  assert.equal(res.headers.get('client-request-id'), sentClientRequestId ?? requestId);
  return requestId!;
}

/** Status, Graph error shape, ids in innerError, and no leaked stack trace. Returns the body. */
export async function expectGraphError(
  res: Response,
  status: number,
  expected: { code?: string; message?: string | RegExp; clientRequestId?: string } = {},
): Promise<GraphErrorBody> {
  const text = await res.text();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as GraphErrorBody;
  const { code, message, innerError } = body.error;
  assert.equal(typeof code, 'string');
  assert.equal(typeof message, 'string');
  if (expected.code !== undefined) assert.equal(code, expected.code);
  if (typeof expected.message === 'string') assert.equal(message, expected.message);
  else if (expected.message) assert.match(message, expected.message);
  assert.doesNotMatch(text, /\n\s+at |    at /, 'error body must not carry a stack trace');
  const requestId = assertRequestIds(res, expected.clientRequestId);
  assert.equal(innerError['request-id'], requestId);
  assert.equal(innerError['client-request-id'], expected.clientRequestId ?? requestId);
  assert.match(innerError.date, INNER_ERROR_DATE);
  return body;
}

/** Splits a Graph date-time into epoch milliseconds and its 4 sub-millisecond digits. */
export function parseGraphDateTime(value: string): { ms: number; ticks: string } {
  assert.match(value, GRAPH_DATE_TIME);
  return { ms: Date.parse(`${value.slice(0, 23)}Z`), ticks: value.slice(23, 27) };
}

/** The Graph date-time `ms` milliseconds later, keeping all 7 fractional digits. */
export function addToGraphDateTime(value: string, ms: number): string {
  const parsed = parseGraphDateTime(value);
  return `${new Date(parsed.ms + ms).toISOString().slice(0, 23)}${parsed.ticks}Z`;
}
