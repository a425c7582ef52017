// `graph-meetings requests`: a running server's request log (/__admin/requests), as JSON or HAR.
// The log lives in each server process's memory, so this needs --url: the database has none of it.
import type { Command } from 'commander';
import { ConfigError } from '../../config/config.js';
import { adminTargetOptions, type AdminTargetFlags, printJson, runAdminCall } from './client.js';
import type { RunAction } from './index.js';

const FILTERS = ['tenant', 'app', 'user', 'method', 'path', 'status', 'limit'] as const;

type RequestsFlags = AdminTargetFlags & Partial<Record<(typeof FILTERS)[number], string>> & { har?: boolean };

export function registerRequestCommands(program: Command, run: RunAction) {
  const command = program
    .command('requests')
    .description("print a running server's request log, newest first (needs --url: the log is kept per server process)")
    .option('--tenant <tid>', 'only calls with tokens of this tenant')
    .option('--app <appId>', "only calls of this application (the token's appid/azp)")
    .option('--user <id-or-upn>', 'only calls of this delegated user')
    .option('--method <method>', 'only this HTTP method')
    .option('--path <glob>', "only paths matching this case-insensitive glob ('*' matches anything), e.g. '/v1.0/me/*'")
    .option('--status <status>', 'only this status (429) or class (5xx); 0 is a connection closed without an answer')
    .option('--limit <n>', 'at most this many entries')
    .option('--har', 'print HAR 1.2 (oldest first) instead of {"value":[…]}');
  for (const option of adminTargetOptions()) command.addOption(option);
  command.action((flags: RequestsFlags) =>
    run(async () => {
      if (!flags.url) {
        throw new ConfigError('requests: the request log is kept in each server process, not in the database; pass --url <server> and --admin-key');
      }
      const query = new URLSearchParams();
      for (const name of FILTERS) if (flags[name] !== undefined) query.set(name, flags[name]!);
      const search = query.size > 0 ? `?${query}` : '';
      printJson(await runAdminCall(flags, 'GET', `${flags.har ? '/requests.har' : '/requests'}${search}`));
    }),
  );
}
