// The request log as HAR 1.2 (`GET /__admin/requests.har`), the format browser dev tools and HAR
// viewers open. Built from the already redacted entries: no Authorization, cookies or tokens.
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoggedRequest } from './request-log.js';

interface NameValue {
  name: string;
  value: string;
}

const pairs = (list: readonly [string, string][]): NameValue[] => list.map(([name, value]) => ({ name, value }));

/** This package's version, from the nearest package.json above this module (src/ or dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'graph-meetings' && manifest.version) return manifest.version;
    } catch {
      // none here: look further up
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0';
    dir = parent;
  }
}

let version: string | undefined;

/** A HAR document of the entries, oldest first as HAR viewers expect. */
export function toHar(entries: readonly LoggedRequest[]) {
  version ??= packageVersion();
  return {
    log: {
      version: '1.2',
      creator: { name: 'graph-meetings', version },
      entries: [...entries].sort((a, b) => a.startedAt - b.startedAt).map(harEntry),
    },
  };
}

function harEntry(entry: LoggedRequest) {
  const dropped = entry.status === 0;
  const time = Math.max(0, entry.durationMs);
  const result: Record<string, unknown> = {
    startedDateTime: new Date(entry.arrivedAt).toISOString(),
    time,
    request: harRequest(entry),
    response: harResponse(entry),
    cache: {},
    timings: { send: 0, wait: time, receive: 0 },
    _requestId: entry.requestId,
  };
  if (dropped) result.comment = 'The connection was closed without an answer.';
  else if (entry.fault) result.comment = `Answered by fault rule ${entry.fault.ruleId}.`;
  return result;
}

function harRequest(entry: LoggedRequest) {
  const search = new URLSearchParams(entry.query).toString();
  const request: Record<string, unknown> = {
    method: entry.method,
    url: `${entry.origin}${entry.path}${search ? `?${search}` : ''}`,
    httpVersion: entry.httpVersion,
    cookies: [],
    headers: pairs(entry.requestHeaders),
    queryString: pairs(entry.query),
    headersSize: -1,
    bodySize: 0,
  };
  if (entry.requestBody !== null) {
    const text = typeof entry.requestBody === 'string' ? entry.requestBody : JSON.stringify(entry.requestBody);
    request.postData = { mimeType: entry.requestContentType ?? 'application/json', params: [], text };
    request.bodySize = Buffer.byteLength(text);
  }
  return request;
}

function harResponse(entry: LoggedRequest) {
  const text = entry.responseText ?? undefined;
  const size = text === undefined ? 0 : Buffer.byteLength(text);
  const content: Record<string, unknown> = { size, mimeType: entry.responseContentType ?? '' };
  if (text !== undefined) content.text = text;
  return {
    status: entry.status,
    statusText: entry.status === 0 ? '' : (STATUS_CODES[entry.status] ?? ''),
    httpVersion: entry.httpVersion,
    cookies: [],
    headers: pairs(entry.responseHeaders),
    content,
    redirectURL: '',
    headersSize: -1,
    bodySize: entry.status === 0 ? -1 : size,
  };
}
