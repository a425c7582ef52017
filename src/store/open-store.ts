// Turns a --db URL into a Store. One adapter per engine; new engines add a case here.
import { DEFAULT_POSTGRES_OPTIONS, PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export class InvalidDatabaseUrl extends Error {}
export class DatabaseUnreachable extends Error {}

export type ParsedDatabaseUrl = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

export interface StoreOptions {
  /** Connections per process (PostgreSQL). */
  poolSize?: number;
}

export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(url);
  if (sqlite?.[1]) return { engine: 'sqlite', path: sqlite[1] };
  if (/^postgres(ql)?:\/\/[^/]/.test(url)) {
    try {
      new URL(url);
      return { engine: 'postgres', url };
    } catch {
      // fall through to the error below
    }
  }
  throw new InvalidDatabaseUrl(
    `invalid --db '${redactPassword(url)}': expected sqlite:<path> (e.g. sqlite:./data/meetings.db) or postgres://user@host:5432/db`,
  );
}

/** The URL without its password, for messages and logs. */
export function redactPassword(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const parsed = parseDatabaseUrl(url);
  if (parsed.engine === 'sqlite') return SqliteStore.open(parsed.path, url);
  try {
    return await PostgresStore.open(parsed.url, redactPassword(url), {
      ...DEFAULT_POSTGRES_OPTIONS,
      ...(options.poolSize ? { poolSize: options.poolSize } : {}),
    });
  } catch (error) {
    throw new DatabaseUnreachable(`cannot use the database ${redactPassword(url)}: ${(error as Error).message}`);
  }
}
