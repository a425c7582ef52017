// Runs store/directory-admin.ts's units of work on PostgreSQL: each statement awaited on one client
// (a transaction's, so the work sees and makes one consistent change).
import type pg from 'pg';
import type { SqlWork } from '../directory-admin.js';

/** PostgreSQL text cannot hold U+0000, so nothing stored matches such a value (as on SQLite). */
export const hasNul = (params: unknown[]) => params.some((v) => typeof v === 'string' && v.includes('\u0000'));

export async function runWork<T>(client: pg.ClientBase, work: SqlWork<T>): Promise<T> {
  for (let step = work.next(); ; ) {
    if (step.done) return step.value;
    const { kind, sql, params } = step.value;
    // A lookup by such a value finds nothing; a write of one is refused by PostgreSQL, never dropped
    // (the values an admin request or an import carries are checked before they get here).
    if (kind === 'all' && hasNul(params)) step = work.next([]);
    else {
      const result = await client.query(sql, params);
      step = work.next(kind === 'all' ? result.rows : (result.rowCount ?? 0));
    }
  }
}
