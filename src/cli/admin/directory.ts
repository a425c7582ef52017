// `graph-meetings directory …`: directory administration through /__admin/directory (tenants,
// users, apps and roles, named application access policies, import/export of the seed format).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError } from '../../config/config.js';
import { type AdminTargetFlags, printJson, runAdminCall, withAdminTarget } from './client.js';
import type { RunAction } from './index.js';

type TenantFlags = AdminTargetFlags & { tenant: string };

const many = (value: string, previous: string[] = []) => [...previous, value];
const segment = encodeURIComponent;
const tenantPath = (flags: TenantFlags) => `/directory/tenants/${segment(flags.tenant)}`;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path === '-' ? '/dev/stdin' : path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${what}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readText(path, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${what}: ${path} is not valid JSON (${(error as Error).message})`);
  }
}

/** A subcommand that addresses one tenant. */
function tenantCommand(parent: Command, spec: string, description: string): Command {
  return withAdminTarget(parent.command(spec).description(description).requiredOption('--tenant <tenantId>', 'the tenant (GUID)'));
}

export function registerDirectoryCommands(program: Command, run: RunAction) {
  const directory = program.command('directory').description('directory administration: tenants, users, apps, roles, application access policies');
  const call = (flags: AdminTargetFlags, method: string, path: string, body?: unknown) =>
    run(async () => printJson(await runAdminCall(flags, method, path, body)));

  withAdminTarget(directory.command('import <file>').description('load a directory file (the --directory format; secrets and passwords are stored hashed)')).action(
    (file: string, flags: AdminTargetFlags) => run(async () => printJson(await runAdminCall(flags, 'POST', '/directory/import', await readJson(file, 'directory import')))),
  );
  withAdminTarget(
    directory
      .command('export')
      .description('print the directory in the --directory format (secrets and passwords as hashes only)')
      .option('--tenant <tenantId>', 'only this tenant (repeatable)', many)
      .option('--out <file>', 'write to this file instead of standard output'),
  ).action((flags: AdminTargetFlags & { tenant?: string[]; out?: string }) =>
    run(async () => {
      const query = (flags.tenant ?? []).map((t) => `tenant=${segment(t)}`).join('&');
      const document = await runAdminCall(flags, 'GET', `/directory/export${query ? `?${query}` : ''}`);
      if (flags.out === undefined) return printJson(document);
      await writeFile(flags.out, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
    }),
  );

  const tenants = directory.command('tenants').description('tenants');
  withAdminTarget(tenants.command('add <tenantId>').description('add a tenant (or rename it)').option('--name <displayName>', 'display name')).action(
    (id: string, flags: AdminTargetFlags & { name?: string }) => call(flags, 'POST', '/directory/tenants', { id, ...(flags.name ? { displayName: flags.name } : {}) }),
  );
  withAdminTarget(tenants.command('list').description('list tenants')).action((flags: AdminTargetFlags) => call(flags, 'GET', '/directory/tenants'));
  withAdminTarget(tenants.command('remove <tenantId>').description("remove a tenant's directory (users, apps, policies; meetings stay)")).action(
    (id: string, flags: AdminTargetFlags) => call(flags, 'DELETE', `/directory/tenants/${segment(id)}`),
  );

  const users = directory.command('users').description('users');
  tenantCommand(users, 'add <userPrincipalName>', 'add a user (or update it)')
    .option('--id <objectId>', 'object id (GUID; default: a new one)')
    .option('--name <displayName>', 'display name')
    .option('--password <password>', 'a password for sign-in (stored hashed); see also --password-file')
    .option('--password-file <file>', "read the password from a file ('-' for standard input), keeping it out of the process list")
    .action((upn: string, flags: TenantFlags & { id?: string; name?: string; password?: string; passwordFile?: string }) =>
      run(async () => {
        const password = flags.passwordFile ? (await readText(flags.passwordFile, 'users add')).replace(/\r?\n$/, '') : flags.password;
        const body = { userPrincipalName: upn, ...(flags.id ? { id: flags.id } : {}), ...(flags.name ? { displayName: flags.name } : {}), ...(password ? { password } : {}) };
        printJson(await runAdminCall(flags, 'POST', `${tenantPath(flags)}/users`, body));
      }),
    );
  tenantCommand(users, 'list', "list a tenant's users").action((flags: TenantFlags) => call(flags, 'GET', `${tenantPath(flags)}/users`));
  tenantCommand(users, 'remove <user>', 'remove a user (object id or userPrincipalName) and its policy grants').action((user: string, flags: TenantFlags) =>
    call(flags, 'DELETE', `${tenantPath(flags)}/users/${segment(user)}`),
  );

  const apps = directory.command('apps').description('app registrations');
  tenantCommand(apps, 'add', 'register an app; prints its client id and a new client secret (shown once, stored hashed)')
    .option('--app-id <appId>', 'client id (GUID; default: a new one)')
    .option('--name <displayName>', 'display name')
    .option('--role <role>', 'an application permission, e.g. OnlineMeetings.ReadWrite.All (repeatable)', many)
    .option('--redirect-uri <uri>', 'a redirect URI for the authorization-code flow (repeatable)', many)
    .option('--certificate <file>', 'a PEM certificate for certificate credentials (repeatable)', many)
    .option('--public', 'a public client: no secret')
    .action(
      (flags: TenantFlags & { appId?: string; name?: string; role?: string[]; redirectUri?: string[]; certificate?: string[]; public?: boolean }) =>
        run(async () => {
          const certificates = await Promise.all((flags.certificate ?? []).map((file) => readText(file, 'apps add')));
          printJson(
            await runAdminCall(flags, 'POST', `${tenantPath(flags)}/apps`, {
              ...(flags.appId ? { appId: flags.appId } : {}),
              ...(flags.name ? { displayName: flags.name } : {}),
              roles: flags.role ?? [],
              redirectUris: flags.redirectUri ?? [],
              certificates,
              secret: !flags.public,
            }),
          );
        }),
    );
  tenantCommand(apps, 'list', "list a tenant's apps (secrets by hint only)").action((flags: TenantFlags) => call(flags, 'GET', `${tenantPath(flags)}/apps`));
  tenantCommand(apps, 'remove <appId>', 'remove an app registration and its credentials').action((appId: string, flags: TenantFlags) =>
    call(flags, 'DELETE', `${tenantPath(flags)}/apps/${segment(appId)}`),
  );

  const roles = directory.command('roles').description("an app's application permissions");
  tenantCommand(roles, 'grant <appId> <role>', 'grant an application permission (e.g. OnlineMeetings.ReadWrite.All)').action(
    (appId: string, role: string, flags: TenantFlags) => call(flags, 'POST', `${tenantPath(flags)}/apps/${segment(appId)}/roles`, { role }),
  );
  tenantCommand(roles, 'revoke <appId> <role>', 'revoke an application permission').action((appId: string, role: string, flags: TenantFlags) =>
    call(flags, 'DELETE', `${tenantPath(flags)}/apps/${segment(appId)}/roles/${segment(role)}`),
  );

  const policies = directory.command('policies').description('application access policies (as New-/Grant-CsApplicationAccessPolicy)');
  tenantCommand(policies, 'add <name>', 'create a policy or replace its app ids (New-/Set-CsApplicationAccessPolicy)')
    .requiredOption('--app <appId>', 'an app id the policy allows (repeatable)', many)
    .action((name: string, flags: TenantFlags & { app: string[] }) => call(flags, 'PUT', `${tenantPath(flags)}/policies/${segment(name)}`, { appIds: flags.app }));
  tenantCommand(policies, 'list', "list a tenant's policies and whom they are granted to").action((flags: TenantFlags) =>
    call(flags, 'GET', `${tenantPath(flags)}/policies`),
  );
  tenantCommand(policies, 'remove <name>', 'remove a policy and its grants').action((name: string, flags: TenantFlags) =>
    call(flags, 'DELETE', `${tenantPath(flags)}/policies/${segment(name)}`),
  );
  const grantee = (command: Command) =>
    command.option('--user <user>', 'object id or userPrincipalName (-Identity)').option('--global', 'tenant-wide (-Global)');
  const identity = (flags: { user?: string; global?: boolean }) => {
    if (Boolean(flags.user) === Boolean(flags.global)) throw new ConfigError('give either --user <user> or --global');
    return flags.user;
  };
  grantee(tenantCommand(policies, 'grant <name>', 'grant a policy to a user or tenant-wide; a user holds one policy, which overrides the global one')).action(
    (name: string, flags: TenantFlags & { user?: string; global?: boolean }) =>
      run(async () => {
        const user = identity(flags);
        printJson(await runAdminCall(flags, 'POST', `${tenantPath(flags)}/policies/${segment(name)}/grants`, user ? { user } : { global: true }));
      }),
  );
  grantee(tenantCommand(policies, 'revoke <name>', "withdraw a policy's grant from a user or the tenant")).action(
    (name: string, flags: TenantFlags & { user?: string; global?: boolean }) =>
      run(async () => {
        const user = identity(flags);
        printJson(await runAdminCall(flags, 'DELETE', `${tenantPath(flags)}/policies/${segment(name)}/grants/${user ? segment(user) : 'global'}`));
      }),
  );
}
