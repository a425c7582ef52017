// `graph-meetings reset`: a clean server between tests (/__admin/reset).
import type { Command } from 'commander';
import { type AdminTargetFlags, printJson, runAdminCall, withAdminTarget } from './client.js';
import type { RunAction } from './index.js';

export function registerResetCommand(program: Command, run: RunAction) {
  withAdminTarget(
    program
      .command('reset')
      .description(
        'delete every meeting, fault rule and limit counter, set the clock back to real time and empty the request logs; ' +
          "with --tenant only that tenant's meetings; with --directory also the directory and the dev issuer's signing key",
      )
      .option('--tenant <tenantId>', "only this tenant's meetings (fault rules, clock and counters stay)")
      .option('--directory', 'also tenants, users and access policies, and the dev signing key (tokens issued before stop working)'),
  ).action((flags: AdminTargetFlags & { tenant?: string; directory?: boolean }) =>
    run(async () => {
      const body = { ...(flags.tenant === undefined ? {} : { tenant: flags.tenant }), ...(flags.directory ? { directory: true } : {}) };
      printJson(await runAdminCall(flags, 'POST', '/reset', body));
    }),
  );
}
