import type { FastifyInstance } from 'fastify';
import type { StoreHealth } from '../../domain/ports.js';
import { graphErrors } from '../graph-errors.js';

/** 200 once the store answers; load balancers and start-up scripts poll it. */
export function registerHealthRoute(app: FastifyInstance, store: StoreHealth) {
  app.get('/healthz', async () => {
    try {
      await store.ping();
    } catch {
      throw graphErrors.unavailable(5);
    }
    return { status: 'ok' };
  });
}
