// Options shared by the commands; each flag also reads GRAPH_MEETINGS_<NAME> from the environment.
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG } from '../config/config.js';

export function envName(flag: string): string {
  return `GRAPH_MEETINGS_${flag.replace(/^--/, '').replace(/-/g, '_').toUpperCase()}`;
}

function option(flags: string, description: string): Option {
  const long = /--[a-z0-9-]+/.exec(flags)![0];
  return new Option(flags, description).env(envName(long));
}

const integer = (name: string) => (value: string) => {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`expected a whole number for ${name}`);
  return Number(value);
};

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

export const dbOption = () =>
  option('--db <url>', 'database URL: sqlite:<path>, postgres://user:password@host:5432/db, or libpq multi-host postgres://user@h1:5432,h2:5432/db?target_session_attrs=read-write').default(DEFAULT_CONFIG.db);

export const dbPoolOption = () =>
  option('--db-pool <n>', 'database connections per server process (PostgreSQL)')
    .default(DEFAULT_CONFIG.dbPool)
    .argParser(integer('--db-pool'));

const ACCEPTED_AUDIENCES =
  'accepted token audience; repeat for several (default: https://graph.microsoft.com, its trailing-slash form, and 00000003-0000-0000-c000-000000000000)';

/** serve's accepted audiences; `token` reads the same flag and variable and puts the first in the token. */
export const audienceOption = (description = ACCEPTED_AUDIENCES) => option('--audience <aud>', description).argParser(collect);

export const serveOptions = () => [
  option('--host <host>', 'address to listen on').default(DEFAULT_CONFIG.host),
  option('--port <port>', 'port to listen on (0 picks a free one)').default(DEFAULT_CONFIG.port).argParser(integer('--port')),
  dbOption(),
  dbPoolOption(),
  option('--workers <n>', 'server processes on this machine sharing the port (Node cluster); 1 runs in-process')
    .default(1)
    .argParser(integer('--workers')),
  option('--auth <mode>', 'token validation: dev (built-in issuer) or oidc (external issuer)')
    .choices(['dev', 'oidc'])
    .default(DEFAULT_CONFIG.auth),
  option(
    '--issuer <url>',
    'OIDC issuer URL for --auth oidc; keys come from its /.well-known/openid-configuration (Entra multi-tenant: https://login.microsoftonline.com/common/v2.0)',
  ),
  audienceOption(),
  new Option('--tenant <tid>', 'accept tokens of this tenant only; repeat or comma-separate for several (default: any tenant)')
    .env('GRAPH_MEETINGS_TENANTS')
    .argParser(collect),
  option('--reject-v1-tokens', "with an Entra v2 issuer, refuse Entra's v1 tokens (iss https://sts.windows.net/{tid}/), accepted by default"),
  option('--directory <file>', 'JSON file of tenants, users and application access policies to load at start-up'),
  option('--public-url <url>', 'base URL for join links and @odata.context (default: the listening address)'),
  option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace or silent').default(DEFAULT_CONFIG.logLevel),
  option('--max-body <bytes>', 'largest accepted request body in bytes').default(DEFAULT_CONFIG.maxBody).argParser(integer('--max-body')),
  adminKeyOption(),
  option('--faults <file>', 'JSON array of fault rules to load at start-up (see /__admin/faults)'),
  option('--limits <mode>', "Graph's limits: off, graph (2,000 meetings per organizer per month, 2,000 requests/s per app) or a JSON file of numbers").default(
    DEFAULT_CONFIG.limits,
  ),
  option('--policy-propagation-delay <seconds>', 'let application access policy changes take up to this long to hold, as in Teams (default 0: at once)').argParser(
    (value: string) => (/^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN),
  ),
  option('--request-log-size <n>', 'requests kept in this process\'s request log (/__admin/requests); 0 turns it off')
    .default(DEFAULT_CONFIG.requestLogSize)
    .argParser(integer('--request-log-size')),
  option('--metrics', 'serve /metrics (Prometheus text format, no authentication) on the main port'),
  option('--metrics-port <port>', 'serve /metrics on this port only (same host; 0 picks a free one); with --workers, the sum of all workers')
    .argParser(integer('--metrics-port')),
  option('--tls', 'serve HTTPS with a local CA made once in --tls-dir (prints the NODE_EXTRA_CA_CERTS line clients need)'),
  option('--tls-dir <dir>', 'where --tls keeps ca.pem, ca-key.pem, server.pem, server-key.pem (default: tls/ beside the SQLite file, else ./data/tls)'),
  option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) instead of the local CA; needs --tls-key'),
  option('--tls-key <file>', 'the PEM private key of --tls-cert'),
];

export const adminKeyOption = () =>
  option('--admin-key <key>', 'key for the control API /__admin (default in --auth dev: generated once and kept in the database; see `graph-meetings admin-key`)');
