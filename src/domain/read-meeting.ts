// Reading a meeting by id (spec §5.2): id shape, tenant, and who may see it.
import type { DirectoryUser } from './directory.js';
import { CorruptedMeetingId, MeetingNotFound } from './errors.js';
import type { Meeting } from './meeting.js';
import { meetingIdShape } from './meeting-links.js';
import type { MeetingRepository } from './ports.js';
import { isExpired } from './expiry.js';

/** The meeting with this id in the tenant; throws when the id is malformed, unknown or expired. */
export async function findMeeting(meetings: MeetingRepository, tenantId: string, meetingId: string, nowMs: number): Promise<Meeting> {
  const shape = meetingIdShape(meetingId);
  if (shape === 'corrupted') throw new CorruptedMeetingId();
  const meeting = shape === 'valid' ? await meetings.getMeeting(tenantId, meetingId) : undefined;
  if (!meeting || isExpired(meeting, nowMs)) throw new MeetingNotFound();
  return meeting;
}

/** The organizer and invited attendees may read a meeting (spec §3.4). */
export function isVisibleTo(meeting: Meeting, user: Pick<DirectoryUser, 'id' | 'userPrincipalName'>): boolean {
  if (meeting.organizerId === user.id) return true;
  const upn = user.userPrincipalName?.toLowerCase();
  return meeting.properties.participants.attendees.some(
    (a) => a.identity.user.id === user.id || (upn !== undefined && a.upn?.toLowerCase() === upn),
  );
}

export async function readMeetingAs(
  meetings: MeetingRepository,
  user: DirectoryUser,
  meetingId: string,
  nowMs: number,
): Promise<Meeting> {
  const meeting = await findMeeting(meetings, user.tenantId, meetingId, nowMs);
  if (!isVisibleTo(meeting, user)) throw new MeetingNotFound();
  return meeting;
}
