// W3C traceparent without OpenTelemetry: a request that arrives with a valid one logs under its
// trace id (and a span id of its own), so its lines join the caller's trace in a log search.
// An invalid header is ignored. With OpenTelemetry on, server-spans.ts does this and more.
import type { FastifyInstance } from 'fastify';
import { newSpanId, parseTraceparent } from '../observability/tracing.js';

export function registerTraceContextLogging(app: FastifyInstance) {
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers.traceparent;
    if (header !== undefined) {
      const parent = parseTraceparent(header);
      if (parent) request.log = reply.log = request.log.child({ trace_id: parent.traceId, span_id: newSpanId() });
    }
    done();
  });
}
