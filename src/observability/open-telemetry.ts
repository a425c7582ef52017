// OpenTelemetry's SDK, set up from the standard environment variables. Loaded only when an OTLP
// endpoint is configured (tracing.ts). Spans go over OTLP/HTTP as JSON, which every OpenTelemetry
// Collector, Jaeger and Tempo accept on their OTLP/HTTP port (4318).
// The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS and _TIMEOUT itself; the SDK
// package no longer reads the sampler and batch settings, so they are read here.
import { context, diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { registerServerSpans } from '../http/server-spans.js';
import { traceStore } from './traced-store.js';
import type { Tracing } from './tracing.js';

/** How long stopping the server waits for the last spans to be exported. */
const SHUTDOWN_GRACE_MS = 3_000;

let processWideSetUp = false;

export function startOpenTelemetry(engine: string, env: NodeJS.ProcessEnv): Tracing {
  if (!processWideSetUp) {
    processWideSetUp = true;
    // Async context: store calls find the span of the request they serve.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // Failed exports (collector down or refusing) are said on stderr, not swallowed.
    diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  }
  const provider = new TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the default name.
    resource: defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'graph-meetings' }))
      .merge(detectResources({ detectors: [envDetector] })),
    sampler: samplerFrom(env),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        scheduledDelayMillis: numberFrom(env.OTEL_BSP_SCHEDULE_DELAY),
        exportTimeoutMillis: numberFrom(env.OTEL_BSP_EXPORT_TIMEOUT),
        maxQueueSize: numberFrom(env.OTEL_BSP_MAX_QUEUE_SIZE),
        maxExportBatchSize: numberFrom(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
      }),
    ],
  });
  const tracer = provider.getTracer('graph-meetings');
  const propagator = new W3CTraceContextPropagator();
  return {
    registerServerSpans: (app) => registerServerSpans(app, tracer, propagator),
    traceStore: (store) => traceStore(store, tracer, engine),
    async shutdown() {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS).unref()));
      await Promise.race([provider.shutdown().catch(() => undefined), grace]);
      clearTimeout(timer);
    },
  };
}

function numberFrom(value: string | undefined): number | undefined {
  const number = Number(value);
  return value?.trim() && Number.isFinite(number) && number >= 0 ? number : undefined;
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, as the specification names them; parentbased_always_on by default. */
function samplerFrom(env: NodeJS.ProcessEnv): Sampler {
  const arg = numberFrom(env.OTEL_TRACES_SAMPLER_ARG);
  const ratio = () => new TraceIdRatioBasedSampler(arg !== undefined && arg <= 1 ? arg : 1);
  switch (env.OTEL_TRACES_SAMPLER?.trim().toLowerCase()) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio();
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: ratio() });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
