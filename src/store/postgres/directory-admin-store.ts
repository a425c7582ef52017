// DirectoryAdmin (store/directory-admin.ts) on PostgreSQL: a write takes the directory's lock and
// ends by moving the control version, so every process's next request sees the change; reads that
// belong together share one REPEATABLE READ snapshot.
import { DirectoryAdmin } from '../directory-admin.js';
import { bumpVersion, lockDirectory, type PostgresAccess } from './control-store.js';
import { hasNul, runWork } from './sql-work.js';

export function postgresDirectoryAdmin(db: PostgresAccess): DirectoryAdmin {
  return new DirectoryAdmin({
    all: async <R>(sql: string, params: unknown[] = []) => (hasNul(params) ? [] : ((await db.query(sql, params)).rows as R[])),
    read: (work) =>
      db.transaction(async (client) => {
        await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        return runWork(client, work());
      }),
    write: (work) =>
      db.transaction(async (client) => {
        await lockDirectory(client);
        const result = await runWork(client, work());
        await bumpVersion(client);
        return result;
      }),
  });
}
