// The one persistence contract. Every engine (SQLite now, PostgreSQL next) implements all of it,
// asynchronously, so callers never depend on which engine answers.
import type { BrowseRepository } from '../control/browse-ports.js';
import type { ControlRepository } from '../control/ports.js';
import type { AttendanceRepository } from '../domain/attendance-ports.js';
import type { DirectoryAdmin } from './directory-admin.js';
import type { DirectoryRepository, MeetingRepository, StoreHealth } from '../domain/ports.js';

export interface Store extends MeetingRepository, DirectoryRepository, StoreHealth {
  /** Short description for start-up output, e.g. `sqlite:./data/meetings.db`. */
  readonly description: string;
  /** The testing toolkit's shared state (faults, clock, limits counters, reset, snapshots). */
  readonly control: ControlRepository;
  /** Join-page attendance intervals (attendance reports). */
  readonly attendance: AttendanceRepository;
  /** The web console's reads (meeting search, the whole directory). */
  readonly browse: BrowseRepository;
  /** Directory administration: apps, credentials, passwords, named access policies. */
  readonly directoryAdmin: DirectoryAdmin;
  /**
   * A small named value kept with the data (the dev issuer's signing key). When several
   * processes race to create it, all of them get the one that was stored first.
   */
  getOrCreateSetting(name: string, create: () => Promise<string>): Promise<string>;
  /**
   * Claims an authorization code (its `jti`) for its one redemption: true for the first claim on
   * any process, false ever after. `expiresAt` is the code's `exp` (seconds since the epoch); the
   * claims of codes that expired before `pruneBefore` are deleted in the same call.
   */
  redeemCode(jti: string, expiresAt: number, pruneBefore: number): Promise<boolean>;
  close(): Promise<void>;
}
