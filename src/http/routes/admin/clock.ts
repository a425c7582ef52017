// /__admin/clock: read, set, freeze, advance and reset the server's virtual clock.
import type { FastifyInstance } from 'fastify';
import { addDuration, InvalidDuration } from '../../../control/duration.js';
import { ClockOutOfRange } from '../../../control/virtual-clock.js';
import { parseInstant } from '../../../domain/instant.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

const setClockSchema = {
  type: 'object',
  properties: { now: { type: 'string' }, frozen: { type: 'boolean' } },
  additionalProperties: false,
};
const advanceSchema = {
  type: 'object',
  required: ['by'],
  properties: { by: { anyOf: [{ type: 'string' }, { type: 'number' }] } },
  additionalProperties: false,
};

export function registerClockRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { clock, control, store } = deps;
  const store_ = async (setting: string | null) => {
    await store.control.setClock(setting);
    await control.changed();
    return clock.describe();
  };
  const settingAt = (atMs: number, frozen: boolean) => {
    try {
      return clock.settingAt(atMs, frozen);
    } catch (error) {
      if (error instanceof ClockOutOfRange) throw graphErrors.badRequest(error.message);
      throw error;
    }
  };

  registerResource(admin, '/clock', {
    GET: { handler: async () => clock.describe() },
    PUT: {
      schema: { body: setClockSchema },
      handler: async (request) => {
        const body = request.body as { now?: string; frozen?: boolean };
        let atMs = clock.now();
        if (body.now !== undefined) {
          const instant = parseInstant(body.now);
          if (!instant) throw graphErrors.badRequest(`Invalid value for 'now': '${body.now}' is not an ISO 8601 date-time with an offset.`);
          atMs = instant.ms;
        }
        return store_(settingAt(atMs, body.frozen ?? clock.frozen));
      },
    },
    DELETE: { handler: async () => store_(null) },
  });
  registerResource(admin, '/clock/advance', {
    POST: {
      schema: { body: advanceSchema },
      handler: async (request) => {
        const { by } = request.body as { by: string | number };
        const from = clock.now();
        let atMs: number;
        if (typeof by === 'number') {
          if (!Number.isFinite(by)) throw graphErrors.badRequest("Invalid value for 'by': expected milliseconds or an ISO 8601 duration.");
          atMs = from + by;
        } else {
          try {
            atMs = addDuration(from, by);
          } catch (error) {
            if (error instanceof InvalidDuration) throw graphErrors.badRequest(`Invalid value for 'by': ${error.message}.`);
            throw error;
          }
        }
        return store_(settingAt(atMs, clock.frozen));
      },
    },
  });
}
