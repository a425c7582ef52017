// One OpenTelemetry server span per request, parented by the caller's `traceparent` (or, for a $batch
// item, by the batch's span). The span is the active context while the request is served, so store
// calls become its children; its ids go into the request's log lines. Loaded only with tracing on.
import {
  type Context,
  context,
  defaultTextMapGetter,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The context holding this request's server span (tracing on). */
    traceContext: Context | null;
  }
}

export function registerServerSpans(app: FastifyInstance, tracer: Tracer, propagator: TextMapPropagator) {
  app.decorateRequest('traceContext', null);

  app.addHook('onRequest', (request, reply, done) => {
    // An invalid traceparent is ignored by the propagator: the span then starts a trace (or joins the batch's).
    const parent = propagator.extract(context.active(), request.headers, defaultTextMapGetter);
    const route = request.routeOptions.url;
    const span = tracer.startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0],
          'url.scheme': request.protocol,
          ...(route ? { 'http.route': route } : {}),
          'http.response.header.request-id': [request.id],
        },
      },
      parent,
    );
    const { traceId, spanId } = span.spanContext();
    request.log = reply.log = request.log.child({ trace_id: traceId, span_id: spanId });
    request.traceContext = trace.setSpan(parent, span);
    context.with(request.traceContext, done);
  });

  // The handler runs after the body has been read, outside the context entered above: enter it again.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.traceContext) context.with(request.traceContext, done);
    else done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    endSpan(request, reply);
    done();
  });

  app.addHook('onRequestAbort', (request, done) => {
    const span = spanOf(request);
    span?.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection' });
    span?.end();
    done();
  });
}

function spanOf(request: FastifyRequest): Span | undefined {
  const span = request.traceContext ? trace.getSpan(request.traceContext) : undefined;
  return span?.isRecording() ? span : undefined;
}

function endSpan(request: FastifyRequest, reply: FastifyReply) {
  const span = spanOf(request);
  if (!span) return;
  span.setAttribute('http.response.status_code', reply.statusCode);
  if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  if (request.graphError) span.setAttribute('error.type', request.graphError.code);
  span.end();
}
