// `graph-meetings serve`: start, print how to use it, stop gracefully on SIGTERM/SIGINT.
// With --workers N, a primary process runs N server processes that share the port (Node cluster).
import cluster from 'node:cluster';
import { buildServer } from '../app.js';
import { createMetricsServer, listenMetrics } from '../http/routes/metrics.js';
import { type AuthMode, type Config, DEFAULT_CONFIG } from '../config/config.js';
import { startMemoryReducer } from './memory-reducer.js';

export interface ServeFlags {
  host: string;
  port: number;
  db: string;
  dbPool: number;
  workers: number;
  auth: AuthMode;
  issuer?: string;
  audience?: string[];
  tenant?: string[];
  rejectV1Tokens?: boolean;
  directory?: string;
  publicUrl?: string;
  logLevel: string;
  maxBody: number;
  adminKey?: string;
  faults?: string;
  limits: string;
  requestLogSize: number;
  policyPropagationDelay?: number;
  metrics?: boolean;
  metricsPort?: number;
  tls?: boolean;
  tlsDir?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function configOf(flags: ServeFlags): Config {
  return {
    host: flags.host,
    port: flags.port,
    db: flags.db,
    dbPool: flags.dbPool,
    auth: flags.auth,
    issuer: flags.issuer,
    audiences: flags.audience?.length ? flags.audience : DEFAULT_CONFIG.audiences,
    tenants: flags.tenant,
    rejectV1Tokens: flags.rejectV1Tokens,
    directory: flags.directory,
    publicUrl: flags.publicUrl,
    logLevel: flags.logLevel,
    maxBody: flags.maxBody,
    adminKey: flags.adminKey,
    faults: flags.faults,
    limits: flags.limits,
    requestLogSize: flags.requestLogSize,
    policyPropagationDelay: flags.policyPropagationDelay,
    metrics: flags.metrics ?? false,
    metricsPort: flags.metricsPort,
    tls: flags.tls ?? false,
    tlsDir: flags.tlsDir,
    tlsCert: flags.tlsCert,
    tlsKey: flags.tlsKey,
  };
}

export async function serve(flags: ServeFlags) {
  const config = configOf(flags);
  if (flags.workers > 1 && cluster.isPrimary) return superviseWorkers(config, flags.workers);
  const { app, store, issuer, adminKey, metrics, metricsServer, tls } = await buildServer(config);
  const stopMemoryReducer = startMemoryReducer();
  app.addHook('onClose', async () => stopMemoryReducer());
  // Installed before anything is printed: whoever reads the banner may stop the server at once, and
  // a signal without a handler would kill the process instead of closing it.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  // --metrics-port: a cluster's primary serves the sum of its workers' metrics; each worker answers it.
  if (cluster.isWorker && config.metricsPort !== undefined) metrics?.answerClusterPrimary();
  const metricsUrl = metricsServer && cluster.isPrimary ? await listenMetrics(metricsServer, config.host, config.metricsPort!) : undefined;
  // Under a cluster, the first worker speaks for all of them.
  if (cluster.isPrimary || process.env.GRAPH_MEETINGS_WORKER_INDEX === '0') {
    const address = app.addresses().find((a) => typeof a !== 'string');
    const url = address ? `${tls ? 'https' : 'http'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : '';
    const lines = [
      `graph-meetings listening on ${url} (Graph base URLs ${url}/v1.0 and ${url}/beta)`,
      `  database: ${store.description}${flags.workers > 1 ? ` (${flags.workers} worker processes)` : ''}`,
      config.auth === 'dev'
        ? `  auth: dev (built-in issuer ${issuer}; discovery at ${url}/dev-issuer/.well-known/openid-configuration)`
        : `  auth: oidc (issuer ${issuer}${config.tenants?.length ? `; tenants ${config.tenants.join(', ')}` : ''})`,
      config.auth === 'dev'
        ? `  get a token: TOKEN=$(npx graph-meetings token --user alice@contoso.example --db ${config.db})`
        : `  get a token from ${issuer} for audience ${config.audiences[0]}`,
    ];
    if (tls?.caFile) {
      lines.push(`  tls: certificate from the local CA ${tls.caFile}; let Node.js clients trust it with`);
      lines.push(`    NODE_EXTRA_CA_CERTS=${tls.caFile}`);
    } else if (tls) lines.push(`  tls: certificate ${config.tlsCert}`);
    // The link signs a browser in and leaves the address bar without the key (routes/console.ts).
    if (adminKey) lines.push(`  console: ${url}/console?key=${encodeURIComponent(adminKey)}`);
    if (config.metrics) lines.push(`  metrics: ${url}/metrics${flags.workers > 1 ? ' (each worker process its own)' : ''}`);
    if (metricsUrl) lines.push(`  metrics: ${metricsUrl}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.send?.('ready');

}

/**
 * The cluster primary: checks the configuration once (a bad one fails here with one line), forks
 * the workers, replaces a worker that dies unexpectedly, and on SIGTERM/SIGINT stops them all
 * gracefully before exiting 0.
 */
async function superviseWorkers(config: Config, count: number) {
  const preflight = await buildServer({ ...config, logLevel: 'silent' });
  await preflight.app.close();

  let stopping = false;
  let ready = 0;
  const fork = (index: number) => {
    const worker = cluster.fork({ GRAPH_MEETINGS_WORKER_INDEX: String(index) });
    worker.on('message', (message) => {
      if (message === 'ready') ready++;
    });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      if (ready === 0 && code !== 0) {
        process.stderr.write(`graph-meetings: worker ${index} failed to start (exit ${code ?? signal})\n`);
        process.exit(code || 1);
      }
      process.stderr.write(`graph-meetings: worker ${index} exited (${code ?? signal}); starting a new one\n`);
      fork(index);
    });
  };
  if (config.metricsPort !== undefined) {
    const { clusterMetricsSource } = await import('../observability/metrics.js');
    const url = await listenMetrics(createMetricsServer(clusterMetricsSource()), config.host, config.metricsPort);
    process.stdout.write(`  metrics: ${url} (the sum of all ${count} worker processes)\n`);
  }
  for (let i = 0; i < count; i++) fork(i);

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    let remaining = workers.length;
    if (remaining === 0) process.exit(0);
    for (const worker of workers) {
      worker.once('exit', () => {
        if (--remaining === 0) process.exit(0);
      });
      worker.process.kill(signal);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
