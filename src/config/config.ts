// Server configuration: one object, filled by the CLI (flags and GRAPH_MEETINGS_* variables) or by tests.
import type { Clock } from '../domain/clock.js';

export type AuthMode = 'dev' | 'oidc';

export interface Config {
  host: string;
  port: number;
  /** `sqlite:<path>` or `postgres://…` */
  db: string;
  /** Database connections per process (PostgreSQL). */
  dbPool: number;
  auth: AuthMode;
  /** OIDC issuer URL (required with auth 'oidc'). */
  issuer?: string;
  /** Accepted `aud` values. */
  audiences: string[];
  /** Tenant allow-list (`--tenant`): tokens of other tenants get 401. Absent or empty: any tenant. */
  tenants?: string[];
  /** Refuse Entra's v1 tokens (`iss` https://sts.windows.net/{tid}/) for an Entra v2 issuer. */
  rejectV1Tokens?: boolean;
  /** Directory seed file loaded at start-up. */
  directory?: string;
  /** Base URL for join links and @odata.context; defaults to the listening address. */
  publicUrl?: string;
  logLevel: string;
  /** Largest accepted request body, in bytes. */
  maxBody: number;
  /** Time source (tests inject one); the control API's virtual clock runs on top of it. */
  clock?: Clock;
  /** Key guarding `/__admin` (generated and kept in the database in dev mode when absent). */
  adminKey?: string;
  /** JSON file of fault rules loaded at start-up (`serve --faults`). */
  faults?: string;
  /** Graph's limits: 'off', 'graph' (the documented numbers) or a JSON file of numbers. */
  limits: string;
  /** Requests kept in this process's request log (`/__admin/requests`). */
  requestLogSize: number;
  /** Seconds an application access policy change may take to hold (0: at once). */
  policyPropagationDelay?: number;
  /** Serve `/metrics` (Prometheus) on the main port, without authentication. */
  metrics: boolean;
  /** Serve `/metrics` on a port of its own (same host); 0 picks a free one. */
  metricsPort?: number;
  /** Serve HTTPS with a local CA's certificate, made once in `tlsDir` (implied by tlsCert/tlsKey). */
  tls?: boolean;
  /** Where the local CA and server certificate live; default tls/ beside the SQLite file, else ./data/tls. */
  tlsDir?: string;
  /** An operator's own PEM certificate (chain) and private key, instead of the local CA's. */
  tlsCert?: string;
  tlsKey?: string;
}

export const GRAPH_AUDIENCES = [
  'https://graph.microsoft.com',
  'https://graph.microsoft.com/',
  '00000003-0000-0000-c000-000000000000',
];

export const DEFAULT_CONFIG: Config = {
  host: '127.0.0.1',
  port: 8080,
  db: 'sqlite:./data/meetings.db',
  dbPool: 10,
  auth: 'dev',
  audiences: GRAPH_AUDIENCES,
  logLevel: 'info',
  maxBody: 1024 * 1024,
  limits: 'off',
  requestLogSize: 1000,
  metrics: false,
};

export class ConfigError extends Error {}

export function validateConfig(config: Config): Config {
  if (config.auth === 'oidc' && !config.issuer) throw new ConfigError('--auth oidc needs --issuer <url>');
  if (config.auth !== 'dev' && config.auth !== 'oidc') throw new ConfigError(`invalid --auth '${config.auth}': expected dev or oidc`);
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) {
    throw new ConfigError(`invalid --port '${config.port}'`);
  }
  if (!Number.isInteger(config.maxBody) || config.maxBody < 1024) throw new ConfigError(`invalid --max-body '${config.maxBody}': at least 1024 bytes`);
  if (!Number.isInteger(config.dbPool) || config.dbPool < 1) throw new ConfigError(`invalid --db-pool '${config.dbPool}': at least 1`);
  if (!Number.isInteger(config.requestLogSize) || config.requestLogSize < 0) {
    throw new ConfigError(`invalid --request-log-size '${config.requestLogSize}': a whole number, 0 to turn the log off`);
  }
  if (config.metricsPort !== undefined) {
    if (!Number.isInteger(config.metricsPort) || config.metricsPort < 0 || config.metricsPort > 65535) {
      throw new ConfigError(`invalid --metrics-port '${config.metricsPort}'`);
    }
    if (config.metricsPort !== 0 && config.metricsPort === config.port) throw new ConfigError('--metrics-port must differ from --port');
  }
  if (Boolean(config.tlsCert) !== Boolean(config.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together: give both');
  const delay = config.policyPropagationDelay;
  if (delay !== undefined && !(Number.isFinite(delay) && delay >= 0 && delay <= 86_400)) {
    throw new ConfigError(`invalid --policy-propagation-delay '${delay}': seconds, 0 to 86400`);
  }
  if (config.adminKey !== undefined && config.adminKey.length < 8) throw new ConfigError('--admin-key must be at least 8 characters');
  if (config.audiences.length === 0) throw new ConfigError('at least one --audience is needed');
  for (const tenant of config.tenants ?? []) {
    if (!/^[A-Za-z0-9.-]+$/.test(tenant)) throw new ConfigError(`invalid --tenant '${tenant}': expected a tenant id (GUID)`);
  }
  for (const [name, url] of [['--issuer', config.issuer], ['--public-url', config.publicUrl]] as const) {
    if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) throw new ConfigError(`invalid ${name} '${url}': expected an http(s) URL`);
  }
  return config;
}
