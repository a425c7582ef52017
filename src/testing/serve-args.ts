// The `serve` command line for a helper's options: seed objects are written as files in the
// helper's temp directory, since the server reads them from files like any other deployment.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseLimits } from '../control/limits.js';
import type { GraphMeetingsOptions } from './types.js';

async function jsonFile(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

/** The server runs in the helper's temp directory; relative paths are the caller's, so make them absolute. */
function callerDatabase(db: string): string {
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(db);
  return sqlite && sqlite[1] !== ':memory:' ? `sqlite:${resolve(sqlite[1]!)}` : db;
}

export async function serveArgs(dir: string, adminKey: string, options: GraphMeetingsOptions): Promise<string[]> {
  const args = ['--host', '127.0.0.1', '--port', '0', '--workers', '1', '--auth', 'dev', '--log-level', 'warn', '--admin-key', adminKey];
  args.push('--db', options.db === undefined ? `sqlite:${join(dir, 'meetings.db')}` : callerDatabase(options.db));
  if (options.directory !== undefined) {
    args.push('--directory', typeof options.directory === 'string' ? resolve(options.directory) : await jsonFile(dir, 'directory.json', options.directory));
  }
  const { limits } = options;
  if (limits !== undefined) {
    // Checked here so a mistake names the option, not a temp file.
    args.push('--limits', typeof limits === 'string' ? limits : await jsonFile(dir, 'limits.json', parseLimits(limits, 'limits option')));
  }
  if (options.faults !== undefined) args.push('--faults', await jsonFile(dir, 'faults.json', options.faults));
  if (options.publicUrl !== undefined) args.push('--public-url', options.publicUrl);
  return args;
}
