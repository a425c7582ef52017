// Turns a --db URL into a Store. One adapter per engine; new engines add a case here.
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export class InvalidDatabaseUrl extends Error {}

export interface ParsedDatabaseUrl {
  engine: 'sqlite';
  path: string;
}

export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/.exec(url);
  if (sqlite?.[1]) return { engine: 'sqlite', path: sqlite[1] };
  throw new InvalidDatabaseUrl(`invalid --db '${url}': expected sqlite:<path> (for example sqlite:./data/meetings.db)`);
}

export async function openStore(url: string): Promise<Store> {
  const parsed = parseDatabaseUrl(url);
  return SqliteStore.open(parsed.path, url);
}
