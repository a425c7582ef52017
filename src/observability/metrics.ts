// The server's Prometheus metrics (prom-client), one registry per process. This module is loaded
// only when metrics are on (--metrics or --metrics-port): a server without them never loads prom-client.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';
import type { PoolUse, StoreObserver } from '../store/observer.js';

/** What a /metrics endpoint serves: this process's registry, or the cluster primary's sum of its workers'. */
export interface MetricsSource {
  readonly contentType: string;
  scrape(): Promise<string>;
}

const PREFIX = 'graph_meetings_';
// The server answers in well under a millisecond when idle; the buckets start there.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/** One (route, method, status) series: its counter and latency histogram children, found by one Map lookup. */
interface RouteSeries {
  count: { inc(): void };
  latency: { observe(seconds: number): void };
}

export class Metrics implements MetricsSource {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: `${PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by route template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`,
    help: 'Time from receiving a request to its answer being sent, by route template and method.',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: `${PREFIX}graph_errors_total`,
    help: 'Graph error responses, by error code and status.',
    labelNames: ['code', 'status'] as const,
    registers: [this.registry],
  });
  private readonly created = new Counter({
    name: `${PREFIX}meetings_created_total`,
    help: 'Meetings created (POST onlineMeetings, and createOrGet when it created one), by API version.',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  private readonly commitBatches = new Histogram({
    name: `${PREFIX}sqlite_commit_batch_size`,
    help: 'Meetings inserted per SQLite group commit.',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  /** Keyed by `method status route`: a Map lookup per request instead of hashing label objects. */
  private readonly series = new Map<string, RouteSeries>();
  private poolGauges = false;

  readonly storeObserver: StoreObserver = {
    writeBatch: (size) => this.commitBatches.observe(size),
    poolUse: (read) => this.observePool(read),
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  request(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = { count: this.requests.labels(route, method, String(status)), latency: this.latency.labels(route, method) };
      this.series.set(key, series);
    }
    series.count.inc();
    series.latency.observe(seconds);
  }

  graphError(code: string, status: number): void {
    this.errors.inc({ code, status: String(status) });
  }

  meetingCreated(version: string): void {
    this.created.inc({ version });
  }

  /** In a cluster worker: answers the primary's requests for this registry (--metrics-port). */
  answerClusterPrimary(): void {
    process.on('message', (message: ClusterMessage) => {
      if (message?.type !== SCRAPE_REQUEST) return;
      void this.registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: SCRAPE_RESPONSE, id: message.id, metrics }),
        (error: Error) => process.send?.({ type: SCRAPE_RESPONSE, id: message.id, error: error.message }),
      );
    });
  }

  /** Pool gauges, read when scraped. */
  private observePool(read: () => PoolUse): void {
    if (this.poolGauges) return;
    this.poolGauges = true;
    const gauge = (name: string, help: string, pick: (use: PoolUse) => number) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(read()));
        },
      });
    gauge('db_pool_connections', 'Open database connections (busy and idle) of this process.', (use) => use.total);
    gauge('db_pool_idle_connections', 'Idle database connections of this process.', (use) => use.idle);
    gauge('db_pool_waiting_requests', 'Store calls waiting for a database connection in this process.', (use) => use.waiting);
  }
}

const SCRAPE_REQUEST = 'graph-meetings:metrics-request';
const SCRAPE_RESPONSE = 'graph-meetings:metrics-response';
/** A ready worker that does not answer in time fails the scrape: a gap, rather than counters going down. */
const WORKER_ANSWER_MS = 5_000;

type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];
interface ClusterMessage {
  type?: string;
  id?: number;
  metrics?: WorkerMetrics;
  error?: string;
}

/**
 * The cluster primary's view (--workers with --metrics-port): the metrics of every worker that has
 * started serving (it sent 'ready'), summed by prom-client's aggregation. Create it before forking.
 */
export function clusterMetricsSource(): MetricsSource {
  const ready = new Set<Worker>();
  cluster.on('message', (worker, message) => {
    if (message === 'ready') ready.add(worker);
  });
  cluster.on('exit', (worker) => ready.delete(worker));
  let nextId = 0;
  return {
    contentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async scrape() {
      const answers = await Promise.all([...ready].map((worker) => askWorker(worker, nextId++)));
      return AggregatorRegistry.aggregate(answers).metrics();
    },
  };
}

function askWorker(worker: Worker, id: number): Promise<WorkerMetrics> {
  return new Promise((resolve, reject) => {
    const finish = (error: Error | undefined, metrics: WorkerMetrics = []) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (error) reject(error);
      else resolve(metrics);
    };
    const onMessage = (message: ClusterMessage) => {
      if (message?.type !== SCRAPE_RESPONSE || message.id !== id) return;
      finish(message.error === undefined ? undefined : new Error(message.error), message.metrics);
    };
    // A worker that exits meanwhile has nothing more to count.
    const onExit = () => finish(undefined);
    const timer = setTimeout(() => finish(new Error(`worker ${worker.id} did not send its metrics in time`)), WORKER_ANSWER_MS);
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    worker.send({ type: SCRAPE_REQUEST, id });
  });
}
