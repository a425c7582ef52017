// `graph-meetings clock get|set|advance|reset`: the virtual clock (/__admin/clock).
import type { Command } from 'commander';
import { type AdminTargetFlags, printJson, runAdminCall, withAdminTarget } from './client.js';
import type { RunAction } from './index.js';

export function registerClockCommands(program: Command, run: RunAction) {
  const clock = program.command('clock').description("the server's virtual clock (meeting times, expiry, limit and fault windows)");
  withAdminTarget(clock.command('get').description('print the clock: {"now","frozen"}')).action((flags: AdminTargetFlags) =>
    run(async () => printJson(await runAdminCall(flags, 'GET', '/clock'))),
  );
  withAdminTarget(
    clock
      .command('set <now>')
      .description('set the clock to an ISO 8601 date-time (e.g. 2027-01-01T09:00:00Z); it runs on from there unless --frozen')
      .option('--frozen', 'stop the clock at that instant'),
  ).action((now: string, flags: AdminTargetFlags & { frozen?: boolean }) =>
    run(async () => printJson(await runAdminCall(flags, 'PUT', '/clock', { now, frozen: flags.frozen ?? false }))),
  );
  withAdminTarget(
    clock.command('advance <by>').description('move the clock by an ISO 8601 duration (P61D, PT2H) or a number of milliseconds'),
  ).action((by: string, flags: AdminTargetFlags) =>
    run(async () => printJson(await runAdminCall(flags, 'POST', '/clock/advance', { by: /^-?\d+$/.test(by) ? Number(by) : by }))),
  );
  withAdminTarget(clock.command('reset').description('back to real time')).action((flags: AdminTargetFlags) =>
    run(async () => printJson(await runAdminCall(flags, 'DELETE', '/clock'))),
  );
}
