// The body of a JSON batch (protocol §7), checked as a whole before any item runs: Graph rejects a
// malformed batch with one 400 rather than answering some of its items.
import { graphErrors } from './graph-errors.js';
import type { HttpMethod } from './resource.js';

export const MAX_BATCH_REQUESTS = 20;

const BATCH_METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'];
// RFC 9110 token characters; values may not carry control characters (no header injection).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]*$/;

export interface BatchItem {
  id: string;
  method: HttpMethod;
  /** As sent: relative to the version root, with or without a leading '/'. */
  url: string;
  headers: Record<string, string>;
  /** undefined when the item has no body (absent or null). */
  body?: unknown;
  dependsOn: string[];
}

/** Ids are compared case-insensitively (protocol §7). */
export function batchKey(id: string): string {
  return id.toLowerCase();
}

const bad = graphErrors.badRequest;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a parsed `$batch` body; throws a 400 GraphError for anything malformed. */
export function parseBatchRequest(body: unknown): BatchItem[] {
  const requests = isObject(body) ? body.requests : undefined;
  if (!Array.isArray(requests)) throw bad("The batch request body must be a JSON object with a 'requests' array.");
  if (requests.length === 0) throw bad('The batch request must contain at least one request.');
  if (requests.length > MAX_BATCH_REQUESTS) throw bad('Number of requests inside batch exceeds the limit.');
  const items = requests.map(parseItem);
  checkUniqueIds(items);
  checkDependencies(items);
  return items;
}

function parseItem(raw: unknown, index: number): BatchItem {
  if (!isObject(raw)) throw bad(`The batch request at index ${index} must be a JSON object.`);
  const { id, method, url, headers, body, dependsOn } = raw;
  if (typeof id !== 'string' || id === '') throw bad(`The batch request at index ${index} must have a non-empty string 'id'.`);
  const verb = typeof method === 'string' ? BATCH_METHODS.find((m) => m === method.toUpperCase()) : undefined;
  if (!verb) throw bad(`Request id : ${id} must have a 'method' of ${BATCH_METHODS.join(', ')}.`);
  if (typeof url !== 'string' || url.trim() === '') throw bad(`Request id : ${id} must have a non-empty string 'url'.`);
  return {
    id,
    method: verb,
    url: url.trim(),
    headers: parseHeaders(id, headers),
    body: body ?? undefined,
    dependsOn: parseDependsOn(id, dependsOn),
  };
}

function parseHeaders(id: string, headers: unknown): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (!isObject(headers)) throw bad(`The 'headers' of request id : ${id} must be an object of string values.`);
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw bad(`The 'headers' of request id : ${id} must be an object of string values.`);
    if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) throw bad(`Request id : ${id} has an invalid header '${name}'.`);
  }
  return headers as Record<string, string>;
}

function parseDependsOn(id: string, dependsOn: unknown): string[] {
  if (dependsOn === undefined || dependsOn === null) return [];
  if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === 'string')) {
    throw bad(`The 'dependsOn' of request id : ${id} must be an array of request ids.`);
  }
  return dependsOn;
}

function checkUniqueIds(items: readonly BatchItem[]) {
  const seen = new Set<string>();
  for (const { id } of items) {
    if (seen.has(batchKey(id))) throw bad(`Request Id ${id} has to be unique in a batch.`);
    seen.add(batchKey(id));
  }
}

/** Every dependsOn names an item of this batch, and following them never comes back (no cycle). */
function checkDependencies(items: readonly BatchItem[]) {
  const byKey = new Map(items.map((item) => [batchKey(item.id), item]));
  for (const item of items) {
    const unknown = item.dependsOn.find((dep) => !byKey.has(batchKey(dep)));
    if (unknown !== undefined) {
      throw bad(`Invalid dependency for request Id ${item.id}: '${unknown}' is not a request of this batch.`);
    }
  }
  // Depth-first search; at most 20 nodes, so recursion depth is bounded.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (item: BatchItem) => {
    const key = batchKey(item.id);
    if (state.get(key) === 'done') return;
    if (state.get(key) === 'visiting') throw bad(`Invalid dependency for request Id ${item.id}: the dependsOn chain forms a cycle.`);
    state.set(key, 'visiting');
    for (const dep of item.dependsOn) visit(byKey.get(batchKey(dep))!);
    state.set(key, 'done');
  };
  items.forEach(visit);
}
