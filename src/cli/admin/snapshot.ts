// `graph-meetings snapshot export|import`: one tenant, whole, to a file and back (/__admin/snapshot).
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError } from '../../config/config.js';
import { type AdminTargetFlags, printJson, runAdminCall, withAdminTarget } from './client.js';
import type { RunAction } from './index.js';

async function readDocument(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`snapshot import: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`snapshot import: ${path} is not valid JSON (${(error as Error).message})`);
  }
}

export function registerSnapshotCommands(program: Command, run: RunAction) {
  const snapshot = program.command('snapshot').description("one tenant's directory and meetings as a JSON document, and back");
  withAdminTarget(
    snapshot
      .command('export')
      .description('print the snapshot of a tenant (or write it to --out)')
      .requiredOption('--tenant <tenantId>', 'the tenant to export')
      .option('--out <file>', 'write the document to this file instead of standard output'),
  ).action((flags: AdminTargetFlags & { tenant: string; out?: string }) =>
    run(async () => {
      const document = await runAdminCall(flags, 'GET', `/snapshot?tenant=${encodeURIComponent(flags.tenant)}`);
      if (flags.out === undefined) return printJson(document);
      try {
        await writeFile(flags.out, `${JSON.stringify(document, null, 2)}\n`);
      } catch (error) {
        throw new ConfigError(`snapshot export: cannot write ${flags.out} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }),
  );
  withAdminTarget(
    snapshot
      .command('import <file>')
      .description("replace the snapshot's tenant (its directory and meetings) with the one in the file; prints what it now holds"),
  ).action((file: string, flags: AdminTargetFlags) =>
    run(async () => printJson(await runAdminCall(flags, 'POST', '/snapshot', await readDocument(file)))),
  );
}
