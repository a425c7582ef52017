// Two counters that tell a reader on the main connection whether the database may have changed
// since it last looked, at a fraction of a read's cost.
import type Database from 'better-sqlite3';

export class ChangeMarks {
  private readonly dataVersion: Database.Statement<[], number>;
  private readonly totalChanges: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.totalChanges = db.prepare<[], number>('SELECT total_changes()').pluck();
  }

  /** Moves whenever another connection (the writer thread, another process) has committed: one read transaction. */
  others(): number {
    return this.dataVersion.get()!;
  }

  /** Moves with every row this connection changes: no transaction (~40 ns). */
  own(): number {
    return this.totalChanges.get()!;
  }
}
