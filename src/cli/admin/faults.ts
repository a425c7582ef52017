// `graph-meetings faults add|list|delete|clear`: fault rules (/__admin/faults).
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError } from '../../config/config.js';
import { type AdminTargetFlags, printJson, runAdminCall, withAdminTarget } from './client.js';
import type { RunAction } from './index.js';

/** A rule as JSON text, or `@file` holding one rule or an array of them. */
async function rulesFrom(argument: string): Promise<unknown[]> {
  let text = argument;
  if (argument.startsWith('@')) {
    const path = argument.slice(1);
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`faults add: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`faults add: the rule is not valid JSON (${(error as Error).message})`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

export function registerFaultCommands(program: Command, run: RunAction) {
  const faults = program
    .command('faults')
    .description('fault rules: make matching Graph calls fail, stall or drop (deterministically)');
  withAdminTarget(
    faults
      .command('add <rule>')
      .description(
        'add a rule given as JSON (\'{"match":{"method":"POST"},"count":1,"respond":{"status":429,"retryAfter":2}}\') or @file (one rule or an array); prints the stored rules with their ids',
      ),
  ).action((rule: string, flags: AdminTargetFlags) =>
    run(async () => {
      const stored: unknown[] = [];
      for (const body of await rulesFrom(rule)) stored.push(await runAdminCall(flags, 'POST', '/faults', body));
      printJson(stored.length === 1 ? stored[0] : stored);
    }),
  );
  withAdminTarget(faults.command('list').description('print the rules: {"value":[…]}')).action((flags: AdminTargetFlags) =>
    run(async () => printJson(await runAdminCall(flags, 'GET', '/faults'))),
  );
  withAdminTarget(faults.command('delete <id>').description('delete one rule')).action((id: string, flags: AdminTargetFlags) =>
    run(() => runAdminCall(flags, 'DELETE', `/faults/${encodeURIComponent(id)}`)),
  );
  withAdminTarget(faults.command('clear').description('delete every rule')).action((flags: AdminTargetFlags) =>
    run(() => runAdminCall(flags, 'DELETE', '/faults')),
  );
}
