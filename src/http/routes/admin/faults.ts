// /__admin/faults: add, list, read, delete and clear fault rules (see control/fault-rules.ts).
import type { FastifyInstance } from 'fastify';
import { InvalidFaultRule, parseFaultRule } from '../../../control/fault-rules.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

const noRule = (id: string) => graphErrors.notFound(`There is no fault rule with id '${id}'.`);

export function registerFaultRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { faults } = deps;

  registerResource(admin, '/faults', {
    GET: { handler: async () => ({ value: faults.list() }) },
    POST: {
      handler: async (request, reply) => {
        let rule;
        try {
          rule = parseFaultRule(request.body);
        } catch (error) {
          if (error instanceof InvalidFaultRule) throw graphErrors.badRequest(error.message);
          throw error;
        }
        const stored = await faults.add(rule);
        return reply.code(201).header('location', `/__admin/faults/${stored.id}`).send(stored);
      },
    },
    DELETE: {
      handler: async (_request, reply) => {
        await faults.clear();
        return reply.code(204).send();
      },
    },
  });
  registerResource(admin, '/faults/:id', {
    GET: {
      handler: async (request) => {
        const { id } = request.params as { id: string };
        const rule = faults.find(id);
        if (!rule) throw noRule(id);
        return rule;
      },
    },
    DELETE: {
      handler: async (request, reply) => {
        const { id } = request.params as { id: string };
        if (!(await faults.remove(id))) throw noRule(id);
        return reply.code(204).send();
      },
    },
  });
}
