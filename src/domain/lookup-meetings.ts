// Looking meetings up by join URL, join meeting id or video-conferencing id (spec §5.3), and deleting.
import type { Clock } from './clock.js';
import type { DirectoryUser } from './directory.js';
import { MeetingNotFound, NotOrganizer } from './errors.js';
import { isExpired } from './expiry.js';
import type { Meeting } from './meeting.js';
import type { MeetingLookup, MeetingRepository } from './ports.js';
import { readMeetingAs } from './read-meeting.js';

/** A user's lookups find only meetings that user organizes; /communications finds any in the tenant. */
export async function lookupMeetings(
  deps: { meetings: MeetingRepository; clock: Clock },
  tenantId: string,
  lookup: MeetingLookup,
  organizer?: DirectoryUser,
): Promise<Meeting[]> {
  const nowMs = deps.clock.now();
  const found = await deps.meetings.findMeetings(tenantId, lookup);
  return found.filter((m) => !isExpired(m, nowMs) && (!organizer || m.organizerId === organizer.id));
}

export async function deleteMeeting(
  deps: { meetings: MeetingRepository; clock: Clock },
  user: DirectoryUser,
  meetingId: string,
): Promise<void> {
  const meeting = await readMeetingAs(deps.meetings, user, meetingId, deps.clock.now());
  if (meeting.organizerId !== user.id) throw new NotOrganizer();
  if (!(await deps.meetings.deleteMeeting(user.tenantId, meeting.properties.id))) throw new MeetingNotFound();
}
