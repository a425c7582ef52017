// What the domain needs from persistence. store/ implements these; the domain never sees SQL.
import type { AccessPolicyGrants, DirectorySeed, DirectoryUser } from './directory.js';
import type { Meeting } from './meeting.js';

export interface MeetingRepository {
  /**
   * Atomically stores `meeting` unless a meeting already holds its key
   * (tenant, organizer, externalId); then returns that one untouched.
   */
  insertOrGetMeeting(meeting: Meeting): Promise<{ meeting: Meeting; created: boolean }>;
  getMeeting(tenantId: string, meetingId: string): Promise<Meeting | undefined>;
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
