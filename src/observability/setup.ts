// Metrics and tracing as the configuration and environment ask: what buildServer adds to the store
// and the app. prom-client is loaded only with metrics on, OpenTelemetry only with an OTLP endpoint.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { registerMetricsHooks } from '../http/metrics-hooks.js';
import { createMetricsServer, registerMetricsRoute } from '../http/routes/metrics.js';
import { registerTraceContextLogging } from '../http/trace-context.js';
import type { StoreObserver } from '../store/observer.js';
import { parseDatabaseUrl } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';
import { startTracing, type Tracing } from './tracing.js';

export class Observability {
  private constructor(
    /** This process's metrics; undefined unless --metrics or --metrics-port. */
    readonly metrics: Metrics | undefined,
    private readonly tracing: Tracing | undefined,
    private readonly config: Config,
  ) {}

  static async start(config: Config): Promise<Observability> {
    const metrics = config.metrics || config.metricsPort !== undefined ? new (await import('./metrics.js')).Metrics() : undefined;
    // OpenTelemetry's name for the engine (db.system.name).
    const engine = parseDatabaseUrl(config.db).engine === 'postgres' ? 'postgresql' : 'sqlite';
    return new Observability(metrics, await startTracing(engine), config);
  }

  get storeObserver(): StoreObserver | undefined {
    return this.metrics?.storeObserver;
  }

  traceStore(store: Store): Store {
    return this.tracing ? this.tracing.traceStore(store) : store;
  }

  /**
   * Adds the request hooks (before any other hook, so every log line of a request carries its trace
   * ids) and /metrics on the main port with --metrics. Returns the server for --metrics-port, built
   * but not started; it closes with the app.
   */
  register(app: FastifyInstance): FastifyInstance | undefined {
    if (this.tracing) this.tracing.registerServerSpans(app);
    else registerTraceContextLogging(app);
    let server: FastifyInstance | undefined;
    if (this.metrics) {
      registerMetricsHooks(app, this.metrics);
      if (this.config.metrics) registerMetricsRoute(app, this.metrics);
      if (this.config.metricsPort !== undefined) server = createMetricsServer(this.metrics);
    }
    app.addHook('onClose', async () => {
      await server?.close();
      await this.close();
    });
    return server;
  }

  /** Exports the spans still pending. */
  async close(): Promise<void> {
    await this.tracing?.shutdown();
  }
}
