// DirectoryAdmin (store/directory-admin.ts) on SQLite: $n placeholders become positional ones.
// A transaction is BEGIN IMMEDIATE … COMMIT on the main connection; its steps are synchronous
// calls wrapped in promises, so no other request's statement runs between them.
import type Database from 'better-sqlite3';
import { DirectoryAdmin, type SqlAccess, type SqlSession, type SqlWrite } from '../directory-admin.js';
import { StoreUnavailable } from '../errors.js';

const statements = new WeakMap<Database.Database, Map<string, { statement: Database.Statement; order: number[] }>>();

/** A statement of store/directory-admin.ts (prepared once), with its parameters in SQLite's order. */
function bound(db: Database.Database, sql: string, params: unknown[]) {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let entry = cache.get(sql);
  if (!entry) {
    const order: number[] = [];
    const statement = db.prepare(sql.replace(/\$(\d+)/g, (_, n: string) => (order.push(Number(n) - 1), '?')));
    cache.set(sql, (entry = { statement, order }));
  }
  return { statement: entry.statement, values: entry.order.map((i) => params[i]) };
}

/** Runs one of store/directory-admin.ts's writes synchronously, e.g. inside a snapshot import's transaction. */
export function runWrite(db: Database.Database, { sql, params }: SqlWrite): number {
  const { statement, values } = bound(db, sql, params);
  return statement.run(...values).changes;
}

function session(db: Database.Database): SqlSession {
  return {
    async all<R>(sql: string, params: unknown[] = []) {
      const { statement, values } = bound(db, sql, params);
      return statement.all(...values) as R[];
    },
    async run(sql: string, params: unknown[] = []) {
      return runWrite(db, { sql, params });
    },
  };
}

export function sqliteDirectoryAdmin(db: Database.Database): DirectoryAdmin {
  const plain = session(db);
  const access: SqlAccess = {
    ...plain,
    async transaction(work) {
      try {
        db.exec('BEGIN IMMEDIATE');
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') throw new StoreUnavailable((error as Error).message);
        throw error;
      }
      try {
        const result = await work(plain);
        db.exec('UPDATE control_state SET version = version + 1 WHERE id = 1');
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },
  };
  return new DirectoryAdmin(access);
}
