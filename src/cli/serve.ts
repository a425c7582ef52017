// `graph-meetings serve`: start, print how to use it, stop gracefully on SIGTERM/SIGINT.
import { buildServer } from '../app.js';
import { type AuthMode, type Config, DEFAULT_CONFIG } from '../config/config.js';

export interface ServeFlags {
  host: string;
  port: number;
  db: string;
  auth: AuthMode;
  issuer?: string;
  audience?: string[];
  directory?: string;
  publicUrl?: string;
  logLevel: string;
  maxBody: number;
}

export async function serve(flags: ServeFlags) {
  const config: Config = {
    host: flags.host,
    port: flags.port,
    db: flags.db,
    auth: flags.auth,
    issuer: flags.issuer,
    audiences: flags.audience?.length ? flags.audience : DEFAULT_CONFIG.audiences,
    directory: flags.directory,
    publicUrl: flags.publicUrl,
    logLevel: flags.logLevel,
    maxBody: flags.maxBody,
  };
  const { app, store, issuer } = await buildServer(config);
  await app.listen({ host: config.host, port: config.port });
  const address = app.addresses().find((a) => typeof a !== 'string');
  const url = address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : '';
  const lines = [
    `graph-meetings listening on ${url} (Graph base URLs ${url}/v1.0 and ${url}/beta)`,
    `  database: ${store.description}`,
    config.auth === 'dev'
      ? `  auth: dev (built-in issuer ${issuer}; discovery at ${url}/dev-issuer/.well-known/openid-configuration)`
      : `  auth: oidc (issuer ${issuer})`,
    config.auth === 'dev'
      ? `  get a token: TOKEN=$(npx graph-meetings token --user alice@contoso.example --db ${config.db})`
      : `  get a token from ${issuer} for audience ${config.audiences[0]}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
