// What the testing toolkit (faults, virtual clock, limits, reset, snapshots) needs from persistence.
// Everything here is shared by every process on the database, so two processes behind one load
// balancer behave as one server. store/ implements it once per engine.
import type { AccessPolicy, DirectoryUser, Tenant, TenantCredentials } from '../domain/directory.js';

/** The shared control settings, as stored. `version` changes with every write to them. */
export interface ControlRecord {
  version: number;
  /** The virtual clock's setting (JSON, see virtual-clock.ts), or null for real time. */
  clock: string | null;
  /** How many whole resets there have been: a process that sees it change clears its own state. */
  resets: number;
  /** Fault rules in the order they were added, as JSON text. */
  faults: { id: string; rule: string }[];
}

/** One tenant, whole: its directory and its meetings, as `GET /__admin/snapshot` exports it. */
export interface TenantSnapshot {
  tenant: Tenant;
  users: Omit<DirectoryUser, 'tenantId'>[];
  applicationAccessPolicies: AccessPolicy[];
  /** Each meeting's stored JSON text, exactly as stored (so it reads back byte-identical). */
  meetings: { organizerId: string; properties: string }[];
  /**
   * Apps, named access policies and password hashes (snapshot version 2): exportTenant reads them and
   * importTenant writes them with the rest, in the same transaction. Absent in a version 1 document.
   */
  credentials?: TenantCredentials;
}

export interface ResetScope {
  /** Only this tenant's meetings (faults, clock and counters stay); absent: everything. */
  tenantId?: string;
  /**
   * Also the directory (tenants, users, access policies); for a whole reset, also the dev issuer's
   * signing key.
   */
  directory?: boolean;
}

export interface ResetOutcome {
  meetingsDeleted: number;
}

/** importTenant: a meeting id of the snapshot is another tenant's meeting's (ids are unique server-wide). */
export class MeetingIdTaken extends Error {
  constructor(
    readonly meetingId: string,
    readonly tenantId: string,
  ) {
    super(`Meeting id ${meetingId} already belongs to a meeting of tenant ${tenantId}.`);
  }
}

export interface ControlRepository {
  /**
   * The current `version` of the control record, so that a change made through one process is seen
   * by the next request on any other: read once per event-loop pass, or per round trip, for the
   * requests that share it (control-state.ts). Synchronous where the engine answers at once (SQLite).
   * Every request waits for a check that began after it arrived, so an adapter may also take the
   * check as the point from which it answers them (SQLite's cache of recent meetings, revalidated here).
   */
  controlVersion(): number | Promise<number>;
  readControl(): Promise<ControlRecord>;
  setClock(clock: string | null): Promise<void>;
  /** Adds the rule; nothing when a rule with this id exists (rules loaded at start-up by every process). */
  addFault(id: string, rule: string): Promise<void>;
  /** True when a rule was deleted. */
  deleteFault(id: string): Promise<boolean>;
  clearFaults(): Promise<void>;
  /**
   * Counts one more request matching the rule, atomically across processes; returns its number
   * (1 for the first), or undefined when the rule is gone.
   */
  countFaultMatch(id: string): Promise<number | undefined>;
  /**
   * Takes one of `limit` creations of (tenant, organizer) in `window` (e.g. '2026-12'); false,
   * taking nothing, when all are taken.
   */
  reserveCreation(tenantId: string, organizerId: string, window: string, limit: number): Promise<boolean>;
  /** Gives back a reservation whose creation did not happen. */
  releaseCreation(tenantId: string, organizerId: string, window: string): Promise<void>;
  /**
   * A whole reset (no tenantId) also deletes every fault rule and creation counter, sets the clock
   * back to real time and moves `resets`.
   */
  reset(scope: ResetScope): Promise<ResetOutcome>;
  /**
   * The tenant with its credentials, all read in one transaction; undefined when the tenant has
   * neither a directory entry nor meetings.
   */
  exportTenant(tenantId: string): Promise<TenantSnapshot | undefined>;
  /**
   * Replaces the tenant (directory with its apps, named policies and password hashes, meetings and
   * its creation counters) with the snapshot, in one transaction: all of it or, on any failure,
   * nothing. Throws MeetingIdTaken when a meeting id is another tenant's. The snapshot is taken as
   * valid (control/snapshot.ts checks documents).
   */
  importTenant(snapshot: TenantSnapshot): Promise<void>;
}
