// Counts every answered request for /metrics: by route template (never the raw URL, whose ids would
// make a series per meeting), method and status; its latency; the Graph error it carried; a meeting
// it created. One hook, run after the answer has gone out. With metrics off it is not added.
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';

/** The route label of requests no route matched (unknown paths); templates always start with '/'. */
const UNMATCHED_ROUTE = '(unmatched)';

export function registerMetricsHooks(app: FastifyInstance, metrics: Metrics) {
  app.decorateRequest('graphError', undefined);
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const status = reply.statusCode;
    metrics.request(route, request.method, status, reply.elapsedTime / 1000);
    const error = request.graphError;
    if (error) metrics.graphError(error.code, error.status);
    else if (status === 201 && (request.operation === 'create' || request.operation === 'createOrGet')) {
      metrics.meetingCreated(route.startsWith('/beta/') ? 'beta' : 'v1.0');
    }
    done();
  });
}
