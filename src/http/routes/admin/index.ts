// The control API under /__admin (testing toolkit): JSON in and out, errors in Graph's shape,
// every route behind the admin key. Without a key (oidc mode and none configured) it does not
// exist: its paths answer 404 like any unknown path.
import type { FastifyInstance } from 'fastify';
import { adminKeyMatches } from '../../../auth/admin-key.js';
import type { DevIssuer } from '../../../auth/dev-issuer.js';
import type { ControlState } from '../../../control/control-state.js';
import type { FaultInjector } from '../../../control/fault-injector.js';
import type { RequestLog } from '../../../control/request-log.js';
import type { VirtualClock } from '../../../control/virtual-clock.js';
import type { Store } from '../../../store/store.js';
import { crossOriginRefused, hasConsoleSession, isSameOriginRequest } from '../../console-session.js';
import { bearerToken } from '../../authenticate.js';
import { GraphError } from '../../graph-errors.js';
import { registerClockRoutes } from './clock.js';
import { AdminRateLimit } from './admin-rate-limit.js';
import { registerDirectoryRoutes } from './directory.js';
import { registerDirectoryAdminRoutes } from './directory-admin.js';
import { registerFaultRoutes } from './faults.js';
import { registerMeetingRoutes } from './meetings.js';
import { registerRequestLogRoutes } from './requests.js';
import { registerResetRoutes } from './reset.js';
import { registerSnapshotRoutes } from './snapshot.js';
import { registerTokenRoutes } from './tokens.js';

export const ADMIN_PREFIX = '/__admin';

export interface AdminDeps {
  key: string | undefined;
  store: Store;
  control: ControlState;
  clock: VirtualClock;
  faults: FaultInjector;
  /** The built-in issuer (--auth dev) that /__admin/tokens mints with; undefined with --auth oidc. */
  devIssuer: DevIssuer | undefined;
  /** The `aud` of minted tokens: the first audience this server accepts. */
  audience: string;
  /** This process's request log (never shared). */
  requestLog: RequestLog;
}

const unauthorized = () =>
  new GraphError(401, 'Unauthorized', "The control API needs 'Authorization: Bearer <admin key>' with the server's admin key.", {
    'www-authenticate': 'Bearer realm="graph-meetings admin"',
  });

export async function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps) {
  const key = deps.key;
  if (!key) return;
  const rateLimit = new AdminRateLimit();
  await app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => {
        rateLimit.admit(request.ip);
        if (adminKeyMatches(key, bearerToken(request))) return;
        // The web console's cookie (console-session.ts), from the console's own pages only.
        if (!hasConsoleSession(request, key)) throw rateLimit.refuse(request.ip, unauthorized());
        if (!isSameOriginRequest(request)) throw crossOriginRefused();
      });
      registerClockRoutes(admin, deps);
      registerFaultRoutes(admin, deps);
      registerTokenRoutes(admin, deps);
      registerRequestLogRoutes(admin, deps);
      registerResetRoutes(admin, deps);
      registerSnapshotRoutes(admin, deps);
      registerMeetingRoutes(admin, deps);
      registerDirectoryRoutes(admin, deps);
      registerDirectoryAdminRoutes(admin, deps);
    },
    { prefix: ADMIN_PREFIX },
  );
}
