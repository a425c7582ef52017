// buildApp(config): the whole server, wired and ready to listen but not started, so the CLI and the
// tests run exactly the same thing.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { AccessLog, createLogger } from './logger.js';
import { resolveAdminKey } from './auth/admin-key.js';
import { Authorizer } from './auth/authorize.js';
import { loadDevIssuer } from './auth/dev-issuer.js';
import { devIssuerPolicy } from './auth/entra/issuer.js';
import { discoverIssuer } from './auth/oidc-discovery.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { type Config, DEFAULT_CONFIG, validateConfig } from './config/config.js';
import { loadDirectoryFile } from './config/directory-file.js';
import { AppRateLimit } from './control/app-rate-limit.js';
import { ControlState } from './control/control-state.js';
import { FaultInjector } from './control/fault-injector.js';
import { loadLimits } from './control/limits.js';
import { MonthlyCreationLimit } from './control/monthly-creation-limit.js';
import { RequestLog } from './control/request-log.js';
import { VirtualClock } from './control/virtual-clock.js';
import { systemClock } from './domain/clock.js';
import { normalizeObjectId } from './domain/directory.js';
import { appRateLimitStep } from './http/app-rate-limit-step.js';
import { RequestGate } from './http/authenticate.js';
import { publicUrlResolver } from './http/base-url.js';
import { createEdgeGuard } from './http/client-errors.js';
import { registerRequestLogHooks } from './http/request-log-hooks.js';
import { clientRequestIdOf, sendGraphError, toGraphError } from './http/graph-errors.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { rewriteODataPath } from './http/odata-path.js';
import { nextSendTurn } from './http/send-turn.js';
import { registerAdminRoutes } from './http/routes/admin/index.js';
import { registerAttendanceReportRoutes } from './http/routes/attendance-reports.js';
import { registerBatchRoutes } from './http/routes/batch.js';
import { registerConsoleRoutes } from './http/routes/console.js';
import { registerDevIssuerRoutes } from './http/routes/dev-issuer.js';
import { registerEntraRoutes } from './http/routes/entra/index.js';
import { registerHealthRoute } from './http/routes/health.js';
import { registerJoinPageRoutes } from './http/routes/join-page.js';
import { registerOnlineMeetingRoutes } from './http/routes/online-meetings.js';
import { registerUnknownRouteHandler } from './http/routes/unknown-route.js';
import { formatValidationErrors } from './http/validation-errors.js';
import type { Metrics } from './observability/metrics.js';
import { Observability } from './observability/setup.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { type ServerTls, resolveServerTls } from './tls/server-tls.js';

export interface BuiltApp {
  app: FastifyInstance;
  store: Store;
  /** How callers get tokens: the dev issuer's URL, or the external issuer. */
  issuer: string;
  /** The control API's key; undefined when /__admin is off. */
  adminKey: string | undefined;
  /** This process's metrics (--metrics or --metrics-port). */
  metrics: Metrics | undefined;
  /** /metrics alone, for --metrics-port: built, not started (the caller listens); closes with the app. */
  metricsServer: FastifyInstance | undefined;
  /** The certificate served (--tls, --tls-cert); undefined for plain HTTP. */
  tls: ServerTls | undefined;
}

export async function buildApp(overrides: Partial<Config> = {}): Promise<FastifyInstance> {
  return (await buildServer(overrides)).app;
}

export async function buildServer(overrides: Partial<Config> = {}): Promise<BuiltApp> {
  const config = validateConfig({ ...DEFAULT_CONFIG, ...overrides });
  const limits = await loadLimits(config.limits);
  const observability = await Observability.start(config);
  const store = observability.traceStore(await openStore(config.db, { poolSize: config.dbPool, observer: observability.storeObserver }));
  try {
    if (config.directory) await store.seedDirectory(await loadDirectoryFile(config.directory));
    const keys =
      config.auth === 'oidc'
        ? await discoverIssuer(config.issuer!, { acceptV1Tokens: !config.rejectV1Tokens, now: () => (config.clock ?? systemClock).now() })
        : await loadDevIssuer(store);
    const verifier = new TokenVerifier({
      // --auth dev: the dev issuer's own `iss`, and the Entra-compatible token service's per-tenant ones.
      issuer: 'issuers' in keys ? keys.issuers : devIssuerPolicy(config.publicUrl),
      audiences: config.audiences,
      keys: keys.keys,
      tenants: config.tenants?.map(normalizeObjectId),
    });
    const gate = new RequestGate(verifier);
    // Per process, on real time (see app-rate-limit.ts); checked before anything else admits the request.
    if (limits.requestsPerSecondPerApp) {
      gate.use(appRateLimitStep(new AppRateLimit(limits.requestsPerSecondPerApp, config.clock ?? systemClock)));
    }
    // The testing toolkit's shared state: this process's copy, checked at the start of every request.
    const clock = new VirtualClock(config.clock ?? systemClock);
    const control = new ControlState(store.control);
    control.subscribe((record) => clock.apply(record.clock));
    // Per process (not in the store); a whole reset made through any process empties it here too.
    const requestLog = new RequestLog(config.requestLogSize);
    control.subscribe((record, previous) => {
      if (previous && record.resets !== previous.resets) requestLog.clear();
    });
    // After a whole reset, users provisioned on their first call are provisioned again (the directory
    // may be gone), and the dev issuer's key is read again (a directory reset replaced it).
    const authorizer = new Authorizer(store, (config.policyPropagationDelay ?? 0) * 1000);
    // Any control change may be a directory change (a user removed through any process): cheap to re-provision.
    control.subscribe((_record, previous) => (previous ? authorizer.forgetProvisionedUsers() : undefined));
    control.subscribe(async (record, previous) => {
      if (!previous || record.resets === previous.resets) return;
      authorizer.forgetProvisionedUsers();
      if ('reload' in keys && (await keys.reload())) verifier.replaceKeys(keys.keys);
    });
    const faults = new FaultInjector({ control: store.control, directory: store, state: control, clock });
    gate.use(faults.step);
    await control.refresh();
    if (config.faults) await faults.loadFile(config.faults);
    const adminKey = await resolveAdminKey(store, config);
    // Answers from below the router (parser errors, 413s while the body is still arriving) in Graph's shape.
    const edge = createEdgeGuard({ bodyLimit: config.maxBody });
    const tls = await resolveServerTls(config);
    // Fastify's types tie the instance to http.Server; an https.Server serves the same app.
    const serverOptions = (tls ? { https: { ...edge.httpOptions, key: tls.key, cert: tls.cert } } : { http: edge.httpOptions }) as {
      http: typeof edge.httpOptions;
    };
    const app = Fastify({
      loggerInstance: createLogger(config.logLevel),
      logController: new AccessLog(),
      genReqId: () => randomUUID(),
      requestIdHeader: false,
      bodyLimit: config.maxBody,
      ...serverOptions,
      clientErrorHandler: edge.clientErrorHandler,
      forceCloseConnections: 'idle',
      // In-flight and pipelined requests are served while closing; keep-alive sockets are told to close.
      return503OnClosing: false,
      rewriteUrl: (request) => rewriteODataPath(request.url ?? '/'),
      routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 4096 },
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
      schemaErrorFormatter: formatValidationErrors,
      // Malformed URLs (a bad % escape) fail before routing; answer them in Graph's shape too.
      frameworkErrors: (error, request, reply) => {
        sendGraphError(request, reply, toGraphError(error, config.maxBody));
      },
    });
    edge.register(app);
    const metricsServer = observability.register(app);
    registerRequestLogHooks(app, requestLog);
    const publicUrl = publicUrlResolver(app, config.publicUrl, tls ? 'https' : 'http');

    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
      faults.close();
    });
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('request-id', request.id).header('client-request-id', clientRequestIdOf(request));
      // Not an async hook: the requests of a pass share one check (control-state.ts), and so one promise.
      control.refresh().then(() => done(), done);
    });
    app.addHook('onSend', async (_request, reply) => {
      // Also lets the parser reach a malformed body that came in the same packet (a bad chunk size on
      // an unknown path), which is then answered 400 rather than 404.
      await nextSendTurn();
      // A pooled connection would otherwise keep a stopping server alive until its keep-alive timeout.
      if (closing) reply.header('connection', 'close');
    });
    app.setErrorHandler((error, request, reply) => {
      const graphError = toGraphError(error, config.maxBody);
      if (graphError.status === 503) request.log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'unavailable');
      else if (graphError.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendGraphError(request, reply, graphError);
    });
    registerJsonBodyParser(app);
    registerUnknownRouteHandler(app);
    registerHealthRoute(app, store);
    if ('sign' in keys) registerDevIssuerRoutes(app, keys, publicUrl);
    if ('sign' in keys) await registerEntraRoutes(app, { store, issuer: keys, audience: config.audiences[0]!, publicUrl: config.publicUrl, clock });
    registerOnlineMeetingRoutes(app, {
      meetings: {
        meetings: store,
        directory: store,
        clock,
        quota: limits.meetingsPerUserPerMonth ? new MonthlyCreationLimit(store.control, limits.meetingsPerUserPerMonth) : undefined,
      },
      gate,
      authorizer,
      publicUrl,
    });
    registerBatchRoutes(app, { gate });
    registerAttendanceReportRoutes(app, { meetings: { meetings: store, clock }, attendance: store.attendance, gate, authorizer, publicUrl });
    registerJoinPageRoutes(app, { meetings: store, directory: store, attendance: store.attendance, clock, verifier, publicUrl });
    await registerAdminRoutes(app, {
      key: adminKey,
      store,
      control,
      clock,
      faults,
      requestLog,
      devIssuer: 'sign' in keys ? keys : undefined,
      audience: config.audiences[0]!,
    });
    await registerConsoleRoutes(app, { key: adminKey });
    app.addHook('onClose', async () => store.close());
    return { app, store, issuer: keys.issuer, adminKey, metrics: observability.metrics, metricsServer, tls };
  } catch (error) {
    await observability.close();
    await store.close();
    throw error;
  }
}
