// GET /metrics in Prometheus' text format: on the main port with --metrics, or alone on a port of its
// own with --metrics-port. No authentication, as Prometheus scrapers expect: it is off by default.
import Fastify, { type FastifyInstance } from 'fastify';
import type { MetricsSource } from '../../observability/metrics.js';

export function registerMetricsRoute(app: FastifyInstance, source: MetricsSource) {
  app.get('/metrics', async (_request, reply) => reply.type(source.contentType).send(await source.scrape()));
}

/** A server that serves only /metrics (built, not started: the caller listens). */
export function createMetricsServer(source: MetricsSource): FastifyInstance {
  const server = Fastify({ logger: false, forceCloseConnections: true });
  registerMetricsRoute(server, source);
  return server;
}

/** Starts the metrics server on `host` and returns its /metrics URL. */
export async function listenMetrics(server: FastifyInstance, host: string, port: number): Promise<string> {
  await server.listen({ host, port });
  const address = server.addresses().find((a) => typeof a !== 'string')!;
  return `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`;
}
