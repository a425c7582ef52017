// Registers a path with its supported methods; every other method on that path answers 405.
import type { FastifyInstance, RouteOptions } from 'fastify';
import { graphErrors } from './graph-errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'OPTIONS';
const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'];

export type MethodRoute = Omit<RouteOptions, 'method' | 'url'>;

export function registerResource(app: FastifyInstance, url: string, methods: Partial<Record<HttpMethod, MethodRoute>>) {
  for (const method of METHODS) {
    const route = methods[method];
    if (route) app.route({ ...route, method, url });
    else
      app.route({
        method,
        url,
        handler: async () => {
          throw graphErrors.methodNotAllowed();
        },
      });
  }
}
