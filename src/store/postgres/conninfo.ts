// libpq connection URIs, multi-host form included, as `psql` and `pg_autoctl show uri` write them:
//   postgres://user:password@host1:5432,host2:5433,[::1]/db?target_session_attrs=read-write&sslmode=prefer
// node-postgres parses only single-host URLs, so --db is parsed here (no driver is loaded) and each
// host becomes an ordinary single-host connection config (primary-pool.ts).
// https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS

export class InvalidConninfo extends Error {}

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export type TargetSessionAttrs = 'any' | 'read-write' | 'primary';

export interface PostgresHost {
  /** A name, an IP address, or a directory holding a Unix-domain socket (starts with '/'). */
  host: string;
  port: number;
}

export interface Conninfo {
  /** Tried in this order; at least one. */
  hosts: PostgresHost[];
  user?: string;
  password?: string;
  database?: string;
  /** libpq's connect_timeout, per host, in ms; undefined when the URL does not set it; 0 waits forever. */
  connectTimeoutMs?: number;
  sslmode: SslMode;
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  targetSessionAttrs: TargetSessionAttrs;
  applicationName?: string;
  /** Server options sent at start-up, e.g. `-c search_path=meetings`. */
  options?: string;
}

export const DEFAULT_PORT = 5432;

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'primary'];
const PARAMETERS = [
  'host', 'port', 'dbname', 'user', 'password', 'connect_timeout', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey',
  'target_session_attrs', 'application_name', 'options', 'ssl',
] as const;
type Parameter = (typeof PARAMETERS)[number];

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new InvalidConninfo(`invalid percent-encoding in the ${what}`);
  }
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_535) {
    throw new InvalidConninfo(`invalid port '${text}': expected a number from 1 to 65535`);
  }
  return Number(text);
}

/** `host1:5432,[::1]:5433,host3` → hosts with the ports written next to them (undefined when none). */
function parseHostList(spec: string): { host: string; port?: string }[] {
  const hosts: { host: string; port?: string }[] = [];
  for (const item of spec.split(',')) {
    let host: string;
    let rest: string;
    if (item.startsWith('[')) {
      const close = item.indexOf(']');
      if (close < 0) throw new InvalidConninfo(`unterminated IPv6 address in '${item}'`);
      host = item.slice(1, close);
      rest = item.slice(close + 1);
    } else {
      const colon = item.indexOf(':');
      host = colon < 0 ? item : item.slice(0, colon);
      rest = colon < 0 ? '' : item.slice(colon);
    }
    if (rest !== '' && !rest.startsWith(':')) throw new InvalidConninfo(`unexpected '${rest}' after host '${host}'`);
    const port = rest.slice(1);
    hosts.push({ host: decode(host, 'host'), ...(port !== '' ? { port: decode(port, 'port') } : {}) });
  }
  return hosts;
}

/** Parses a postgres:// or postgresql:// URI; throws InvalidConninfo, whose message never holds the password. */
export function parseConninfo(uri: string): Conninfo {
  const scheme = /^postgres(?:ql)?:\/\//.exec(uri);
  if (!scheme) throw new InvalidConninfo('expected a URI starting with postgres:// or postgresql://');
  let rest = uri.slice(scheme[0].length);

  // [user[:password]@] — libpq ends the user part at the first '@' before any '/'.
  let user: string | undefined;
  let password: string | undefined;
  const endOfAuthority = rest.search(/[/?]/);
  const authority = endOfAuthority < 0 ? rest : rest.slice(0, endOfAuthority);
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = decode(colon < 0 ? userinfo : userinfo.slice(0, colon), 'user name');
    if (colon >= 0) password = decode(userinfo.slice(colon + 1), 'password');
    rest = rest.slice(at + 1);
  }

  // host[:port][,...]
  const endOfHosts = rest.search(/[/?]/);
  const hostSpec = endOfHosts < 0 ? rest : rest.slice(0, endOfHosts);
  rest = endOfHosts < 0 ? '' : rest.slice(endOfHosts);
  let hosts = hostSpec === '' ? [] : parseHostList(hostSpec);

  // [/dbname]
  let database: string | undefined;
  if (rest.startsWith('/')) {
    const query = rest.indexOf('?');
    const name = query < 0 ? rest.slice(1) : rest.slice(1, query);
    if (name !== '') database = decode(name, 'database name');
    rest = query < 0 ? '' : rest.slice(query);
  }

  // [?param=value&...]
  const params = new Map<Parameter, string>();
  if (rest.startsWith('?')) {
    for (const pair of rest.slice(1).split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw new InvalidConninfo(`missing '=' in URI query parameter '${pair.slice(0, 40)}'`);
      const key = decode(pair.slice(0, eq), 'query');
      if (!(PARAMETERS as readonly string[]).includes(key)) {
        throw new InvalidConninfo(`unsupported URI query parameter '${key.slice(0, 40)}' (supported: ${PARAMETERS.join(', ')})`);
      }
      params.set(key as Parameter, decode(pair.slice(eq + 1), `value of ${key}`));
    }
  }

  // Query parameters win over the URI's parts, as in libpq.
  if (params.has('host')) hosts = parseHostList(params.get('host')!).map(({ host }) => ({ host }));
  if (params.has('port')) {
    const ports = params.get('port')!.split(',');
    if (ports.length !== 1 && ports.length !== hosts.length) {
      throw new InvalidConninfo(`${ports.length} ports given for ${hosts.length} hosts`);
    }
    hosts = hosts.map((h, i) => ({ host: h.host, port: (ports.length === 1 ? ports[0] : ports[i])! }));
  }
  if (hosts.length === 0) throw new InvalidConninfo('no host given');
  const resolved = hosts.map((h) => {
    if (h.host === '') throw new InvalidConninfo('empty host name in the host list');
    return { host: h.host, port: h.port === undefined || h.port === '' ? DEFAULT_PORT : parsePort(h.port) };
  });
  if (params.has('user')) user = params.get('user');
  if (params.has('password')) password = params.get('password');
  if (params.has('dbname')) database = params.get('dbname');

  let connectTimeoutMs: number | undefined;
  if (params.has('connect_timeout')) {
    const text = params.get('connect_timeout')!;
    if (!/^-?\d+$/.test(text)) throw new InvalidConninfo(`invalid connect_timeout '${text.slice(0, 20)}': expected whole seconds`);
    const seconds = Number(text);
    // libpq: zero or negative waits forever; 1 s is raised to 2 s.
    connectTimeoutMs = seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
  }

  let sslmode: SslMode = 'prefer'; // libpq's default
  if (params.get('ssl') === 'true' || params.get('ssl') === '1') sslmode = 'require'; // libpq's one alias
  else if (params.has('ssl')) throw new InvalidConninfo(`invalid ssl '${params.get('ssl')!.slice(0, 20)}': only ssl=true is understood`);
  if (params.has('sslmode')) {
    const mode = params.get('sslmode')!;
    if (!(SSL_MODES as readonly string[]).includes(mode)) {
      throw new InvalidConninfo(`invalid sslmode '${mode.slice(0, 20)}' (expected one of ${SSL_MODES.join(', ')})`);
    }
    sslmode = mode as SslMode;
  }

  // graph-meetings only writes through this URL: several hosts mean "whichever is the writable one".
  let targetSessionAttrs: TargetSessionAttrs = resolved.length > 1 ? 'read-write' : 'any';
  if (params.has('target_session_attrs')) {
    const attrs = params.get('target_session_attrs')!;
    if (!(TARGET_SESSION_ATTRS as readonly string[]).includes(attrs)) {
      throw new InvalidConninfo(
        `unsupported target_session_attrs '${attrs.slice(0, 20)}' (graph-meetings writes, so only ${TARGET_SESSION_ATTRS.join(', ')})`,
      );
    }
    targetSessionAttrs = attrs as TargetSessionAttrs;
  }

  const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    hosts: resolved,
    ...optional('user', user),
    ...optional('password', password),
    ...optional('database', database),
    ...optional('connectTimeoutMs', connectTimeoutMs),
    sslmode,
    ...optional('sslrootcert', params.get('sslrootcert')),
    ...optional('sslcert', params.get('sslcert')),
    ...optional('sslkey', params.get('sslkey')),
    targetSessionAttrs,
    ...optional('applicationName', params.get('application_name')),
    ...optional('options', params.get('options')),
  };
}

/** The URI with any password (in the user part or as ?password=) replaced by ***. */
export function redactConninfo(uri: string): string {
  return uri
    .replace(/^(\w+:\/\/[^:/?@]*:)[^/?]*@/, '$1***@')
    .replace(/([?&]password=)[^&]*/gi, '$1***');
}

/** `host:port` as people write it (IPv6 in brackets). */
export function describeHost({ host, port }: PostgresHost): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
