// DirectoryAdmin (store/directory-admin.ts) on SQLite: $n placeholders become positional ones.
// A unit of work runs synchronously (better-sqlite3 answers each statement at once), inside one
// transaction on the main connection: no other request's statement can run while it is open.
import type Database from 'better-sqlite3';
import { DirectoryAdmin, type SqlWork, type SqlWrite } from '../directory-admin.js';
import type { Write } from './main-writes.js';

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

/** Runs a unit of work of store/directory-admin.ts synchronously, in the caller's transaction. */
export function runWork<T>(db: Database.Database, work: SqlWork<T>): T {
  for (let step = work.next(); ; ) {
    if (step.done) return step.value;
    const { kind, sql, params } = step.value;
    const { statement, values } = bound(db, sql, params);
    step = work.next(kind === 'all' ? statement.all(...values) : statement.run(...values).changes);
  }
}

export function sqliteDirectoryAdmin(db: Database.Database, write: Write): DirectoryAdmin {
  const bump = db.prepare('UPDATE control_state SET version = version + 1 WHERE id = 1');
  return new DirectoryAdmin({
    async all<R>(sql: string, params: unknown[] = []) {
      const { statement, values } = bound(db, sql, params);
      return statement.all(...values) as R[];
    },
    async read(work) {
      return db.transaction(() => runWork(db, work()))();
    },
    async write(work) {
      return write(() => {
        const result = runWork(db, work());
        bump.run();
        return result;
      });
    },
  });
}
