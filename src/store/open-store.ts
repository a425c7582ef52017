// Turns a --db URL into a Store. One adapter per engine; new engines add a case here.
// Adapters are imported on first use, so a process loads only its own engine's driver (memory).
import { InvalidConninfo, parseConninfo, redactConninfo } from './postgres/conninfo.js';
import type { StoreObserver } from './observer.js';
import type { Store } from './store.js';

export class InvalidDatabaseUrl extends Error {}
export class DatabaseUnreachable extends Error {}

export type ParsedDatabaseUrl = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

export interface StoreOptions {
  /** Connections per process (PostgreSQL). */
  poolSize?: number;
  /** Metrics' view of the store's work (group commits, pool use). */
  observer?: StoreObserver;
}

export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(url);
  if (sqlite?.[1]) return { engine: 'sqlite', path: sqlite[1] };
  // libpq's URI form, several hosts included (postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write).
  let problem = 'expected sqlite:<path> (e.g. sqlite:./data/meetings.db) or postgres://user@host:5432/db';
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      parseConninfo(url);
      return { engine: 'postgres', url };
    } catch (error) {
      if (!(error instanceof InvalidConninfo)) throw error;
      problem = `${error.message} (e.g. postgres://user@host1:5432,host2:5432/db?target_session_attrs=read-write)`;
    }
  }
  throw new InvalidDatabaseUrl(`invalid --db '${redactPassword(url)}': ${problem}`);
}

/** The URL without its password (in the user part or a password= parameter), for messages and logs. */
export function redactPassword(url: string): string {
  return redactConninfo(url);
}

export async function openStore(url: string, options: StoreOptions = {}): Promise<Store> {
  const parsed = parseDatabaseUrl(url);
  if (parsed.engine === 'sqlite') {
    const { SqliteStore } = await import('./sqlite/sqlite-store.js');
    return SqliteStore.open(parsed.path, url, options.observer);
  }
  const { DEFAULT_POSTGRES_OPTIONS, PostgresStore } = await import('./postgres/postgres-store.js');
  try {
    return await PostgresStore.open(parsed.url, redactPassword(url), {
      ...DEFAULT_POSTGRES_OPTIONS,
      ...(options.poolSize ? { poolSize: options.poolSize } : {}),
      observer: options.observer,
    });
  } catch (error) {
    throw new DatabaseUnreachable(`cannot use the database ${redactPassword(url)}: ${(error as Error).message}`);
  }
}
