// POST …/onlineMeetings (spec §5.1): a meeting without an externalId, with the caller's options.
import { buildMeeting, channelOf } from './build-meeting.js';
import type { MeetingDeps } from './create-or-get.js';
import { meetingTimes } from './meeting-times.js';
import type { DirectoryUser } from './directory.js';
import { expiryCutoff } from './expiry.js';
import { InvalidRequest } from './errors.js';
import type { Meeting } from './meeting.js';
import { CREATE_ONLY_SETTINGS, mergeSettings, UPDATABLE_SETTINGS } from './meeting-settings.js';
import { insertNewMeeting } from './insert-new-meeting.js';
import { type ParticipantInput, resolveAttendees } from './participants.js';

export interface CreateMeetingBody extends Record<string, unknown> {
  externalId?: unknown;
  startDateTime?: string | null;
  endDateTime?: string | null;
  subject?: string | null;
  participants?: { organizer?: ParticipantInput | null; attendees?: ParticipantInput[] | null } | null;
  joinMeetingIdSettings?: { isPasscodeRequired?: boolean | null } | null;
  chatInfo?: { threadId?: string | null } | null;
}

export async function createMeeting(
  deps: MeetingDeps,
  organizer: DirectoryUser,
  body: CreateMeetingBody,
  publicUrl: string,
): Promise<Meeting> {
  if (body.externalId !== undefined && body.externalId !== null) {
    throw new InvalidRequest("'externalId' can only be set with createOrGet (POST …/onlineMeetings/createOrGet).");
  }
  const nowMs = deps.clock.now();
  const { start, end } = meetingTimes(body.startDateTime, body.endDateTime, nowMs);
  const attendees = await resolveAttendees(deps.directory, organizer.tenantId, body.participants?.attendees ?? []);
  const channel = channelOf(body.chatInfo, nowMs);
  const meeting = buildMeeting(
    {
      organizer,
      externalId: null,
      start,
      end,
      subject: body.subject ?? null,
      attendees,
      isPasscodeRequired: body.joinMeetingIdSettings?.isPasscodeRequired === true,
      ...(channel ? { channel } : {}),
    },
    nowMs,
    publicUrl,
  );
  meeting.properties = mergeSettings(meeting.properties, body, { ...UPDATABLE_SETTINGS, ...CREATE_ONLY_SETTINGS });
  return (await insertNewMeeting(deps, meeting, expiryCutoff(nowMs), nowMs)).meeting;
}
