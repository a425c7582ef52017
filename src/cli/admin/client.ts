// How the control commands reach the control API: over HTTP to a running server (--url with
// --admin-key), or straight on the database (--db) through an in-process, never-listening copy of
// the server, so both paths run exactly the same code.
import { randomBytes } from 'node:crypto';
import { type Command, Option } from 'commander';
import { ConfigError } from '../../config/config.js';
import { dbOption, envName } from '../options.js';

export interface AdminTargetFlags {
  url?: string;
  adminKey?: string;
  db: string;
}

export interface AdminResponse {
  status: number;
  body: unknown;
  text: string;
}

export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<AdminResponse>;
  close(): Promise<void>;
}

/** --url, --admin-key and --db, for every command that talks to the control API. */
export function adminTargetOptions(): Option[] {
  return [
    new Option('--url <url>', 'a running server (e.g. http://127.0.0.1:8080); otherwise the database given by --db is used directly').env(
      envName('--url'),
    ),
    new Option('--admin-key <key>', "the server's admin key (with --url; see `graph-meetings admin-key`)").env(envName('--admin-key')),
    dbOption(),
  ];
}

/** Adds --url, --admin-key and --db to a command. */
export function withAdminTarget(command: Command): Command {
  for (const option of adminTargetOptions()) command.addOption(option);
  return command;
}

export async function openAdminClient(flags: AdminTargetFlags): Promise<AdminClient> {
  if (flags.url) {
    if (!flags.adminKey) throw new ConfigError('--url needs --admin-key (or GRAPH_MEETINGS_ADMIN_KEY); `graph-meetings admin-key --db …` prints the dev key');
    const base = flags.url.replace(/\/+$/, '');
    return {
      async call(method, path, body) {
        let response: Response;
        try {
          response = await fetch(`${base}/__admin${path}`, {
            method,
            headers: { authorization: `Bearer ${flags.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
        } catch (error) {
          throw new ConfigError(`cannot reach ${base}: ${(error as Error).cause ?? (error as Error).message}`);
        }
        const text = await response.text();
        return { status: response.status, text, body: parseJson(text) };
      },
      async close() {},
    };
  }
  const { buildServer } = await import('../../app.js');
  const adminKey = randomBytes(24).toString('base64url');
  const { app } = await buildServer({ db: flags.db, adminKey, logLevel: 'silent', requestLogSize: 0 });
  return {
    async call(method, path, body) {
      const response = await app.inject({
        method: method as 'GET',
        url: `/__admin${path}`,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: response.statusCode, text: response.body, body: parseJson(response.body) };
    },
    close: () => app.close(),
  };
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** Runs one control call and prints its answer as JSON; a Graph error ends the process with its message. */
export async function runAdminCall(flags: AdminTargetFlags, method: string, path: string, body?: unknown): Promise<unknown> {
  const client = await openAdminClient(flags);
  try {
    const response = await client.call(method, path, body);
    if (response.status >= 400) {
      const message = (response.body as { error?: { message?: string } } | undefined)?.error?.message ?? response.text;
      throw new ConfigError(`${method} /__admin${path}: ${response.status} ${message}`);
    }
    return response.body;
  } finally {
    await client.close();
  }
}

export function printJson(value: unknown) {
  if (value !== undefined) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
