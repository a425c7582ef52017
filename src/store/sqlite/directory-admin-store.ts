// DirectoryAdmin (store/directory-admin.ts) on SQLite: $n placeholders become positional ones.
// A transaction is BEGIN IMMEDIATE … COMMIT on the main connection; its steps are synchronous
// calls wrapped in promises, so no other request's statement runs between them.
import type Database from 'better-sqlite3';
import { DirectoryAdmin, type SqlAccess, type SqlSession } from '../directory-admin.js';
import { StoreUnavailable } from '../errors.js';

const statements = new WeakMap<Database.Database, Map<string, { statement: Database.Statement; order: number[] }>>();

function prepared(db: Database.Database, sql: string) {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let entry = cache.get(sql);
  if (!entry) {
    const order: number[] = [];
    const statement = db.prepare(sql.replace(/\$(\d+)/g, (_, n: string) => (order.push(Number(n) - 1), '?')));
    cache.set(sql, (entry = { statement, order }));
  }
  return entry;
}

function session(db: Database.Database): SqlSession {
  const bind = (order: number[], params: unknown[]) => order.map((i) => params[i]);
  return {
    async all<R>(sql: string, params: unknown[] = []) {
      const { statement, order } = prepared(db, sql);
      return statement.all(...bind(order, params)) as R[];
    },
    async run(sql: string, params: unknown[] = []) {
      const { statement, order } = prepared(db, sql);
      return statement.run(...bind(order, params)).changes;
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
