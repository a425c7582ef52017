// What the web console (/console, through /__admin/meetings and /__admin/directory) reads from
// persistence: meetings found across tenants, and the whole directory. Read-only; store/ implements
// it once per engine (store.browse).
import type { AccessPolicy, DirectoryUser, Tenant } from '../domain/directory.js';

/** The most meetings one search returns. */
export const MAX_BROWSE_TOP = 200;
/** The most rows of each directory list (users, policy rows) one read returns. */
export const MAX_DIRECTORY_ROWS = 5_000;

export interface MeetingSearch {
  /** Case-insensitive substring of the subject, externalId, organizer id or UPN, or join URL. */
  search?: string;
  tenantId?: string;
  /** The organizer's object id or userPrincipalName (case-insensitive). */
  organizer?: string;
  /** Exact. */
  externalId?: string;
  /** Exact. */
  joinWebUrl?: string;
  /** At most this many, 1 to MAX_BROWSE_TOP. */
  top: number;
}

export interface BrowsedMeeting {
  tenantId: string;
  organizerId: string;
  /** From the directory; null when the organizer is not in it. */
  organizerUpn: string | null;
  organizerDisplayName: string | null;
  /** The stored meeting JSON, as stored. */
  properties: string;
}

export interface TenantSummary extends Tenant {
  users: number;
  meetings: number;
}

/** A tenant's access policy, as the directory file states it. */
export interface TenantAccessPolicy extends AccessPolicy {
  tenantId: string;
}

export interface DirectoryListing {
  /** Every tenant with a directory entry or meetings. */
  tenants: TenantSummary[];
  /** Ordered by tenant, then UPN; at most MAX_DIRECTORY_ROWS (see `truncated`). */
  users: DirectoryUser[];
  /** Ordered by tenant and app; from at most MAX_DIRECTORY_ROWS grants (see `truncated`). */
  accessPolicies: TenantAccessPolicy[];
  /** True when users or policy grants were cut at MAX_DIRECTORY_ROWS. */
  truncated: boolean;
}

export interface BrowseRepository {
  /** Matching meetings, expired or not, newest (creationDateTime) first. */
  searchMeetings(query: MeetingSearch): Promise<BrowsedMeeting[]>;
  directory(): Promise<DirectoryListing>;
}
