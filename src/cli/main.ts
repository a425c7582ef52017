// The graph-meetings command line: serve, token.
import { Command, Option } from 'commander';
import { ConfigError } from '../config/config.js';
import { IssuerUnavailable } from '../auth/oidc-discovery.js';
import { DatabaseUnreachable, InvalidDatabaseUrl, openStore, redactPassword } from '../store/open-store.js';
import { audienceOption, dbOption, envName, serveOptions } from './options.js';
import { serve, type ServeFlags } from './serve.js';
import { token, type TokenFlags } from './token.js';
import { registerAdminCommands } from './admin/index.js';
import { storedAdminKey } from '../auth/admin-key.js';

/** Configuration mistakes end the process with one line, not a stack trace. */
function fail(error: unknown): never {
  const known =
    error instanceof ConfigError ||
    error instanceof InvalidDatabaseUrl ||
    error instanceof DatabaseUnreachable ||
    error instanceof IssuerUnavailable;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`graph-meetings: ${known ? message : `failed to start: ${message}`}\n`);
  process.exit(known ? 2 : 1);
}

const list = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  ...value.split(/[ ,]+/).filter(Boolean),
];

const program = new Command('graph-meetings')
  .description('A self-hostable, Microsoft Graph-compatible online-meetings server (see --help of each command).')
  // Usage mistakes read like every other start-up failure: one line, prefixed with the program name.
  .configureOutput({ outputError: (text, write) => write(`graph-meetings: ${text.replace(/^error: /, '')}`) });

const serveCommand = program
  .command('serve')
  .description(
    'run the server; each option can also be set as GRAPH_MEETINGS_<OPTION> (e.g. GRAPH_MEETINGS_PORT=9000)',
  );
for (const option of serveOptions()) serveCommand.addOption(option);
serveCommand.action((flags: ServeFlags) => serve(flags).catch(fail));

program
  .command('migrate')
  .description('bring the database schema up to date and exit (serve also does this at start-up, safely from many processes)')
  .addOption(dbOption())
  .action(async (flags: { db: string }) => {
    try {
      const store = await openStore(flags.db);
      await store.close();
      process.stdout.write(`graph-meetings: ${redactPassword(flags.db)} is up to date\n`);
    } catch (error) {
      fail(error);
    }
  });

program
  .command('token')
  .description(
    'print an access token from the built-in dev issuer (--auth dev) for a user (delegated) or an app (application); uses the same --db as serve',
  )
  .addOption(dbOption())
  .option('--user <upn-or-id>', 'signed-in user: userPrincipalName or object id (provisioned if unknown)')
  .option('--app <appId>', "application (client) id, for an app-only token")
  .addOption(new Option('--tenant <tenantId>', 'tenant GUID (default: the user\'s tenant, or the dev tenant)').env(envName('--tenant')))
  .option('--name <displayName>', 'display name for a newly provisioned user')
  .option('--scopes <scopes>', 'delegated scopes, space- or comma-separated (default: OnlineMeetings.ReadWrite User.Read)', list)
  .option('--roles <roles>', 'application roles, comma-separated (default: OnlineMeetings.ReadWrite.All)', list)
  .addOption(audienceOption("the token's audience (aud): the first --audience, as serve reads it (default: https://graph.microsoft.com)"))
  .addOption(new Option('--directory <file>', 'directory seed file to load first').env(envName('--directory')))
  .option('--lifetime <seconds>', 'token lifetime in seconds', (v) => Number(v), 3600)
  .action(async (flags: TokenFlags) => {
    try {
      process.stdout.write(`${await token(flags)}\n`);
    } catch (error) {
      fail(error);
    }
  });

program
  .command('admin-key')
  .description("print the dev-mode admin key for the control API /__admin (generated once, kept in the database; uses the same --db as serve)")
  .addOption(dbOption())
  .action(async (flags: { db: string }) => {
    try {
      const store = await openStore(flags.db);
      try {
        process.stdout.write(`${await storedAdminKey(store)}\n`);
      } finally {
        await store.close();
      }
    } catch (error) {
      fail(error);
    }
  });

registerAdminCommands(program, async (action) => {
  try {
    await action();
  } catch (error) {
    fail(error);
  }
});

await program.parseAsync(process.argv);
