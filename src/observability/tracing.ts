// Tracing: W3C Trace Context (https://www.w3.org/TR/trace-context/) and, when an OTLP endpoint is
// configured, OpenTelemetry. Without OTEL_EXPORTER_OTLP_ENDPOINT (or its traces-only variant) none of
// OpenTelemetry is loaded: a valid incoming `traceparent` only names the request's log lines.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';

/** The parts of a `traceparent` header this server uses. */
export interface TraceParent {
  traceId: string;
  parentId: string;
}

// version-traceid-parentid-flags; lower-case hex only. Versions after 00 may append fields.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** The header's trace and parent ids, or undefined when it is absent or not valid (then it is ignored). */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (!match) return undefined;
  const [, version, traceId, parentId, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { traceId: traceId!, parentId: parentId! };
}

/** A fresh span id: this server's part of a trace it was called in. */
export function newSpanId(): string {
  return randomBytes(8).toString('hex');
}

/** OpenTelemetry, running: server spans for requests, child spans for store calls, export over OTLP/HTTP. */
export interface Tracing {
  /** One server span per request (parented by the incoming traceparent), its ids in the request's logs. */
  registerServerSpans(app: FastifyInstance): void;
  /** The store, each call a child span of the request's span. */
  traceStore(store: Store): Store;
  /** Exports what is pending (bounded in time) and stops. */
  shutdown(): Promise<void>;
}

export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** OpenTelemetry when configured in the environment, loaded on demand; otherwise undefined. */
export async function startTracing(engine: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  if (!tracingConfigured(env)) return undefined;
  const { startOpenTelemetry } = await import('./open-telemetry.js');
  return startOpenTelemetry(engine, env);
}
