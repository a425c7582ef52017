// The control API under /__admin (testing toolkit): JSON in and out, errors in Graph's shape,
// every route behind the admin key. Without a key (oidc mode and none configured) it does not
// exist: its paths answer 404 like any unknown path.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adminKeyMatches } from '../../../auth/admin-key.js';
import type { ControlState } from '../../../control/control-state.js';
import type { VirtualClock } from '../../../control/virtual-clock.js';
import type { Store } from '../../../store/store.js';
import { GraphError } from '../../graph-errors.js';
import { registerClockRoutes } from './clock.js';

export const ADMIN_PREFIX = '/__admin';

export interface AdminDeps {
  key: string | undefined;
  store: Store;
  control: ControlState;
  clock: VirtualClock;
}

const unauthorized = () =>
  new GraphError(401, 'Unauthorized', "The control API needs 'Authorization: Bearer <admin key>' with the server's admin key.", {
    'www-authenticate': 'Bearer realm="graph-meetings admin"',
  });

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

export async function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps) {
  const key = deps.key;
  if (!key) return;
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => {
        if (!adminKeyMatches(key, presentedKey(request))) throw unauthorized();
      });
      registerClockRoutes(admin, deps);
    },
    { prefix: ADMIN_PREFIX },
  );
}
