// From a join link (`…/l/meetup-join/{threadId}/{messageId}?context={"Tid":…,"Oid":…}`, see
// meeting-links.ts) back to its meeting. The link carries everything the meeting's key is made of:
// the tenant, and the organizer, message and thread its id encodes. So it finds the meeting
// whichever host name the link was opened under.
import { isExpired } from './expiry.js';
import type { Meeting } from './meeting.js';
import { encodeMeetingId } from './meeting-links.js';
import type { MeetingRepository } from './ports.js';

export interface JoinLink {
  threadId: string;
  messageId: string;
  /** The `context` query parameter, decoded once (JSON text). */
  context: unknown;
}

const MAX_CONTEXT_LENGTH = 1024;

/** The tenant and meeting id a join link names, or undefined when it is not one of ours. */
export function meetingKeyOfJoinLink(link: JoinLink): { tenantId: string; meetingId: string } | undefined {
  if (typeof link.context !== 'string' || link.context.length > MAX_CONTEXT_LENGTH) return undefined;
  let context: unknown;
  try {
    context = JSON.parse(link.context);
  } catch {
    return undefined;
  }
  const { Tid, Oid } = (context ?? {}) as { Tid?: unknown; Oid?: unknown };
  if (typeof Tid !== 'string' || typeof Oid !== 'string' || !Tid || !Oid) return undefined;
  if (!link.threadId || !/^\d+$/.test(link.messageId)) return undefined;
  return { tenantId: Tid, meetingId: encodeMeetingId(Oid, link.messageId, link.threadId) };
}

/** The live meeting behind a join link; undefined when it is unknown, deleted or expired at `nowMs`. */
export async function findMeetingByJoinLink(meetings: MeetingRepository, link: JoinLink, nowMs: number): Promise<Meeting | undefined> {
  const key = meetingKeyOfJoinLink(link);
  if (!key) return undefined;
  const meeting = await meetings.getMeeting(key.tenantId, key.meetingId);
  return meeting && !isExpired(meeting, nowMs) ? meeting : undefined;
}
