// DirectoryAdmin (store/directory-admin.ts) on PostgreSQL: its transaction ends by moving the
// control version with a NOTIFY, so every process's next request sees the change.
import { DirectoryAdmin, type SqlSession } from '../directory-admin.js';
import { bumpVersion, lockDirectory, type PostgresAccess } from './control-store.js';

type Query = (sql: string, params: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;

/** PostgreSQL text cannot hold U+0000, so nothing stored matches such a value (as on SQLite). */
const hasNul = (params: unknown[]) => params.some((v) => typeof v === 'string' && v.includes('\u0000'));

function session(query: Query): SqlSession {
  return {
    all: async <R>(sql: string, params: unknown[] = []) => (hasNul(params) ? [] : ((await query(sql, params)).rows as R[])),
    run: async (sql, params = []) => (hasNul(params) ? 0 : ((await query(sql, params)).rowCount ?? 0)),
  };
}

export function postgresDirectoryAdmin(db: PostgresAccess): DirectoryAdmin {
  return new DirectoryAdmin({
    ...session((sql, params) => db.query(sql, params)),
    transaction: (work) =>
      db.transaction(async (client) => {
        await lockDirectory(client);
        const result = await work(session((sql, params) => client.query(sql, params)));
        await bumpVersion(client);
        return result;
      }),
  });
}
