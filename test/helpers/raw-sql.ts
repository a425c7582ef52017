// SQL run on a test database behind the server's back (a trigger, a look into a table), on either engine.
import Database from 'better-sqlite3';
import pg from 'pg';

/** Runs one statement on `db` (a sqlite: or PostgreSQL URL, as --db takes it); its rows, if any. */
export async function rawSql<R = Record<string, unknown>>(db: string, sql: string): Promise<R[]> {
  if (db.startsWith('sqlite:')) {
    const connection = new Database(db.slice('sqlite:'.length));
    try {
      const statement = connection.prepare(sql);
      if (statement.reader) return statement.all() as R[];
      statement.run();
      return [];
    } finally {
      connection.close();
    }
  }
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    return (await client.query(sql)).rows as R[];
  } finally {
    await client.end();
  }
}
