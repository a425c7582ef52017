// What the domain needs from persistence. store/ implements these; the domain never sees SQL.
import type { AccessPolicyGrants, DirectorySeed, DirectoryUser } from './directory.js';
import type { Meeting } from './meeting.js';

/** One indexed value a meeting can be looked up by. */
export type MeetingLookup =
  | { joinWebUrl: string }
  | { joinMeetingId: string }
  | { videoTeleconferenceId: string };

export interface MeetingRepository {
  /**
   * Atomically stores `meeting` unless a live meeting already holds its key
   * (tenant, organizer, externalId); then returns that one untouched. A meeting that expired at
   * or before `expiryCutoff` no longer holds its key: it is replaced. Meetings without an
   * externalId are always inserted.
   */
  insertOrGetMeeting(meeting: Meeting, expiryCutoff: string): Promise<{ meeting: Meeting; created: boolean }>;
  /** The meeting holding the key (tenant, organizer, externalId) that expires after `expiryCutoff`. */
  findLiveMeetingByKey(tenantId: string, organizerId: string, externalId: string, expiryCutoff: string): Promise<Meeting | undefined>;
  /** The stored meeting, expired or not (the domain decides what expiry means). */
  getMeeting(tenantId: string, meetingId: string): Promise<Meeting | undefined>;
  /** Meetings of the tenant holding this value, expired or not. */
  findMeetings(tenantId: string, lookup: MeetingLookup): Promise<Meeting[]>;
  /**
   * Reads, changes and writes one meeting atomically: concurrent updates are serialized, each
   * sees the previous one's result. `change` may throw to abort, and may be called again (on the
   * newer state) when another update came first. Undefined when there is no such meeting.
   */
  updateMeeting(tenantId: string, meetingId: string, change: (current: Meeting) => Meeting): Promise<Meeting | undefined>;
  /** True when a meeting was deleted. */
  deleteMeeting(tenantId: string, meetingId: string): Promise<boolean>;
}

/** Gives back a creation taken from a quota, when the creation did not happen. */
export type GiveBack = () => Promise<void>;

/** How many meetings an organizer may create: Graph's monthly limit, when limits are on. */
export interface CreationQuota {
  /** Takes one creation for the organizer at `nowMs`, or throws CreationLimitReached taking nothing. */
  take(tenantId: string, organizerId: string, nowMs: number): Promise<GiveBack>;
}

/** Whether persistence answers (for health checks). */
export interface StoreHealth {
  /** Resolves when the database answers; rejects otherwise. */
  ping(): Promise<void>;
}

export interface DirectoryRepository {
  /** By object id or (case-insensitive) userPrincipalName, within one tenant. */
  findUser(tenantId: string, idOrUpn: string): Promise<DirectoryUser | undefined>;
  /** Users with this userPrincipalName in any tenant (the dev token command's lookup). */
  findUsersByUpn(upn: string): Promise<DirectoryUser[]>;
  /** Adds the user (and its tenant) unless present; returns what is stored. */
  provisionUser(user: DirectoryUser): Promise<DirectoryUser>;
  accessPolicyGrants(tenantId: string, userId: string): Promise<AccessPolicyGrants>;
  /** Loads tenants, users and policies; safe to run from several processes at once. */
  seedDirectory(seed: DirectorySeed): Promise<void>;
}
