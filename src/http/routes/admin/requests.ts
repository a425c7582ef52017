// /__admin/requests (this process's request log, filtered), its HAR export, and
// /__admin/guidance?app= (what the log shows an app doing against Graph's guidance).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { guidanceFor } from '../../../control/guidance.js';
import { toHar } from '../../../control/har.js';
import { InvalidRequestFilter, parseRequestFilter, publicEntry, type RequestFilter } from '../../../control/request-log.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

function filterOf(request: FastifyRequest): RequestFilter {
  try {
    return parseRequestFilter(request.query as Record<string, unknown>);
  } catch (error) {
    if (error instanceof InvalidRequestFilter) throw graphErrors.badRequest(error.message);
    throw error;
  }
}

export function registerRequestLogRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const log = deps.requestLog;

  registerResource(admin, '/requests', {
    GET: { handler: async (request) => ({ value: log.find(filterOf(request)).map(publicEntry) }) },
    DELETE: {
      handler: async (_request, reply) => {
        log.clear();
        return reply.code(204).send();
      },
    },
  });
  registerResource(admin, '/requests.har', {
    GET: {
      handler: async (request, reply) => reply.type('application/json; charset=utf-8').send(toHar(log.find(filterOf(request)))),
    },
  });
  registerResource(admin, '/guidance', {
    GET: {
      handler: async (request) => {
        const { app, ...rest } = request.query as Record<string, unknown>;
        if (typeof app !== 'string' || app.trim() === '') {
          throw graphErrors.badRequest("The query parameter 'app' is required: the application (client) id to give guidance for.");
        }
        const unknown = Object.keys(rest)[0];
        if (unknown !== undefined) throw graphErrors.badRequest(`Unknown query parameter '${unknown}'; guidance takes only 'app'.`);
        return guidanceFor(app.trim(), log.find());
      },
    },
  });
}
