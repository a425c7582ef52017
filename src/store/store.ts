// The one persistence contract. Every engine (SQLite now, PostgreSQL next) implements all of it,
// asynchronously, so callers never depend on which engine answers.
import type { DirectoryRepository, MeetingRepository, StoreHealth } from '../domain/ports.js';

export interface Store extends MeetingRepository, DirectoryRepository, StoreHealth {
  /** Short description for start-up output, e.g. `sqlite:./data/meetings.db`. */
  readonly description: string;
  /**
   * A small named value kept with the data (the dev issuer's signing key). When several
   * processes race to create it, all of them get the one that was stored first.
   */
  getOrCreateSetting(name: string, create: () => Promise<string>): Promise<string>;
  close(): Promise<void>;
}
